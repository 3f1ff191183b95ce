//! kcpu's JSON document for `kcpu check --format json` (pure core).
//!
//! Schema (version 1): `{version, tool, summary, findings[], suppressed[], read_errors[]}`;
//! every finding has `rule`, `name`, `severity`, `message`, `file`, `line`, `column`,
//! `end_line`, `end_column`, `object`, `container`, `label`, `notes`, `help` and `fix`.

use super::{count, region, RenderOptions};
use crate::finding::{Applicability, Finding, Severity};
use crate::lint::CheckReport;
use crate::source::SourceSet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    tool: Tool<'a>,
    summary: Summary<'a>,
    findings: Vec<JsonFinding<'a>>,
    suppressed: Vec<JsonFinding<'a>>,
    read_errors: Vec<ReadError<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Summary<'a> {
    files: usize,
    documents: usize,
    workloads: usize,
    excluded: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    suppressed: usize,
    fixable: usize,
    input_errors: bool,
    fail_on: Severity,
    failed: bool,
    policy: Option<&'a str>,
    skipped_kinds: &'a BTreeMap<String, usize>,
    /// Only when findings were left out (`--max-findings`).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_listed: Option<NotListed>,
}

/// Findings counted but not listed.
#[derive(Serialize)]
struct NotListed {
    findings: usize,
    by_rule: BTreeMap<&'static str, usize>,
    suppressed: usize,
    max_findings: usize,
    message: String,
}

#[derive(Serialize)]
struct ReadError<'a> {
    path: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct Object<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Location {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    #[serde(flatten)]
    location: Location,
    start_byte: u64,
    end_byte: u64,
    replacement: &'a str,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    title: &'a str,
    applicability: Applicability,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    location: Location,
    object: Option<Object<'a>>,
    container: Option<&'a str>,
    label: Option<&'a str>,
    notes: &'a [String],
    help: Option<&'a str>,
    fix: Option<JsonFix<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed_because: Option<Option<&'a str>>,
}

fn location(sources: &SourceSet, span: crate::source::Span) -> Location {
    let r = region(sources, span);
    Location {
        file: r.file,
        line: r.line,
        column: r.column,
        end_line: r.end_line,
        end_column: r.end_column,
    }
}

fn finding<'a>(
    f: &'a Finding,
    sources: &SourceSet,
    reason: Option<Option<&'a str>>,
) -> JsonFinding<'a> {
    JsonFinding {
        rule: f.rule,
        name: f.name,
        severity: f.severity,
        message: &f.message,
        location: location(sources, f.span),
        object: f.subject.as_ref().map(|s| Object {
            kind: &s.kind,
            namespace: &s.namespace,
            name: &s.name,
        }),
        container: f.subject.as_ref().and_then(|s| s.container.as_deref()),
        label: f.label.as_deref(),
        notes: &f.notes,
        help: f.help.as_deref(),
        fix: f.fix.as_ref().map(|x| JsonFix {
            title: &x.title,
            applicability: x.applicability,
            edits: x
                .edits
                .iter()
                .map(|e| {
                    // Edits replace exactly their bytes: report the span itself, not the
                    // widened highlight.
                    let file = sources.get(e.span.source);
                    let (line, column, end_line, end_column) = match file {
                        Some(f) => {
                            let (l, c) = f.line_col(e.span.start);
                            let (el, ec) = f.line_col(e.span.end);
                            (l, c, el, ec)
                        }
                        None => (1, 1, 1, 1),
                    };
                    JsonEdit {
                        location: Location {
                            file: file.map_or_else(|| "?".to_string(), |f| f.name.clone()),
                            line,
                            column,
                            end_line,
                            end_column,
                        },
                        start_byte: file.map_or(e.span.start as u64, |f| f.file_byte(e.span.start)),
                        end_byte: file.map_or(e.span.end as u64, |f| f.file_byte(e.span.end)),
                        replacement: &e.replacement,
                    }
                })
                .collect(),
        }),
        suppressed_because: reason,
    }
}

/// Writes the JSON document (pretty-printed, one trailing newline).
pub fn render(
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let doc = Doc {
        version: 1,
        tool: Tool {
            name: "kcpu",
            version: &opts.version,
        },
        summary: Summary {
            files: report.stats.files,
            documents: report.stats.documents,
            workloads: report.stats.workloads,
            excluded: report.stats.excluded,
            errors: count(report, Severity::Error),
            warnings: count(report, Severity::Warning),
            infos: count(report, Severity::Info),
            suppressed: report.suppressed_total(),
            fixable: report.fixable(),
            input_errors: report.has_input_errors(),
            fail_on: opts.fail_on,
            failed: report.fails(opts.fail_on),
            policy: opts.policy.as_deref(),
            skipped_kinds: &report.stats.skipped,
            not_listed: super::omitted_note(report).map(|message| NotListed {
                findings: report.omitted(),
                by_rule: report.omitted_by_rule(),
                suppressed: report.suppressed_omitted.values().sum(),
                max_findings: report.max_findings,
                message,
            }),
        },
        findings: report
            .findings
            .iter()
            .map(|f| finding(f, sources, None))
            .collect(),
        suppressed: report
            .suppressed
            .iter()
            .map(|s| finding(&s.finding, sources, Some(s.reason.as_deref())))
            .collect(),
        read_errors: report
            .read_errors
            .iter()
            .map(|e| ReadError {
                path: &e.path,
                message: &e.message,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
