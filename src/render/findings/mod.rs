//! Renderers for `kcpu check` results (pure core): one file per format, all fed the same
//! [`CheckReport`] and writing into a writer the caller gives.
//!
//! Spans become `file:line:column` here, through the one [`SourceSet`] line index, so every
//! format agrees on positions. Columns count Unicode characters (SARIF `unicodeCodePoints`).

pub mod codeclimate;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use crate::finding::{Applicability, Edit, Finding, Severity};
use crate::lint::CheckReport;
use crate::source::{SourceId, SourceSet, Span};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The output formats of `kcpu check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human text with source snippets and carets.
    Text,
    /// kcpu's own JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML (one test case per workload × rule).
    Junit,
    /// GitHub Actions workflow commands (`::error file=…::`).
    Github,
    /// A Markdown summary for pull-request comments.
    Markdown,
    /// GitLab Code Quality (Code Climate issues, JSON).
    Codeclimate,
}

/// Settings shared by the renderers.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// ANSI colours (text only; the CLI decides: TTY and no `NO_COLOR`).
    pub color: bool,
    /// The `--fail-on` threshold (JUnit failures, Markdown headline).
    pub fail_on: Severity,
    /// The policy file used, for the summary.
    pub policy: Option<String>,
    /// kcpu's version, for SARIF and JSON.
    pub version: String,
    /// True when `--fix` was given (text: the fixes were applied, not suggested).
    pub fix_mode: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            fail_on: Severity::Error,
            policy: None,
            version: env!("CARGO_PKG_VERSION").to_string(),
            fix_mode: false,
        }
    }
}

/// Writes `report` in `format`.
pub fn render(
    format: Format,
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, sources, opts, out),
        Format::Json => json::render(report, sources, opts, out),
        Format::Sarif => sarif::render(report, sources, opts, out),
        Format::Junit => junit::render(report, sources, opts, out),
        Format::Github => github::render(report, sources, opts, out),
        Format::Markdown => markdown::render(report, sources, opts, out),
        Format::Codeclimate => codeclimate::render(report, sources, out),
    }
}

/// A resolved region: 1-based start and end (end column exclusive), in characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Region {
    /// Display name of the file.
    pub file: String,
    /// Start line.
    pub line: usize,
    /// Start column.
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column (exclusive).
    pub end_column: usize,
    /// The text of the start line.
    pub line_text: String,
}

/// The bytes a finding highlights: the span itself, or — for an empty span, which marks a
/// node by its first key — the rest of that line without trailing white space or comment.
pub fn highlight(sources: &SourceSet, span: Span) -> Span {
    if span.end > span.start {
        return span;
    }
    let Some(f) = sources.get(span.source) else {
        return span;
    };
    f.with_text(|text, _| {
        let start = span.start.min(text.len());
        let rest = &text[start..];
        let line = rest.split(['\n', '\r']).next().unwrap_or("");
        let mut end = line.len();
        // Cut a trailing comment (` #` outside quotes is good enough for the highlighted line).
        if let Some(i) = line.find(" #") {
            end = i;
        }
        let trimmed = line[..end].trim_end().len();
        Span::new(span.source, start, start + trimmed.max(line.len().min(1)))
    })
}

/// Resolves a span to a region.
pub fn region(sources: &SourceSet, span: Span) -> Region {
    let hl = highlight(sources, span);
    match sources.get(span.source) {
        Some(f) => {
            let (line, column) = f.line_col(hl.start);
            let (end_line, end_column) = f.line_col(hl.end);
            Region {
                file: f.name.clone(),
                line,
                column,
                end_line,
                end_column,
                line_text: f.line_text_at(hl.start),
            }
        }
        None => Region {
            file: "?".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            line_text: String::new(),
        },
    }
}

/// The highlighted text of a finding (for SARIF snippets).
pub fn snippet(sources: &SourceSet, span: Span) -> String {
    let hl = highlight(sources, span);
    sources
        .get(span.source)
        .and_then(|f| f.slice(hl.start, hl.end))
        .unwrap_or_default()
}

/// Mechanical edits per source (what `--fix` applies), in source order.
pub fn mechanical_edits(findings: &[Finding]) -> BTreeMap<SourceId, Vec<Edit>> {
    edits_where(findings, |a| a == Applicability::Mechanical)
}

/// Edits of the given applicability per source.
pub fn edits_where(
    findings: &[Finding],
    keep: impl Fn(Applicability) -> bool,
) -> BTreeMap<SourceId, Vec<Edit>> {
    let mut m: BTreeMap<SourceId, Vec<Edit>> = BTreeMap::new();
    for f in findings {
        if let Some(fix) = &f.fix {
            if keep(fix.applicability) {
                for e in &fix.edits {
                    m.entry(e.span.source).or_default().push(e.clone());
                }
            }
        }
    }
    for v in m.values_mut() {
        v.sort();
        v.dedup();
    }
    m
}

/// A unified diff (`--- a/name`, `+++ b/name`, 3 lines of context) between two texts.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{}", name.trim_start_matches('/')),
            &format!("b/{}", name.trim_start_matches('/')),
        )
        .to_string()
}

/// The diff of applying `edits` to each source, concatenated in source order.
///
/// A large file is read in pieces; the diff of a piece has its hunks numbered in the whole
/// file, and a file's header is written once.
pub fn diff_of_edits(sources: &SourceSet, edits: &BTreeMap<SourceId, Vec<Edit>>) -> String {
    let mut out = String::new();
    let mut last: Option<&str> = None;
    for (id, es) in edits {
        let Some(f) = sources.get(*id) else { continue };
        let diff = f.with_text(|text, _| {
            let (new, _) = crate::finding::apply_edits(text, es);
            unified_diff(&f.name, text, &new)
        });
        let shifted = shift_hunks(&diff, f.first_line);
        let body = if last == Some(f.name.as_str()) {
            // Drop the `---`/`+++` header of a later piece of the same file.
            shifted.splitn(3, '\n').nth(2).unwrap_or("").to_string()
        } else {
            shifted
        };
        out.push_str(&body);
        last = Some(f.name.as_str());
    }
    out
}

/// `diff` with the line numbers of its `@@ -a,b +c,d @@` headers moved down by `lines`.
fn shift_hunks(diff: &str, lines: usize) -> String {
    if lines == 0 {
        return diff.to_string();
    }
    let shift = |range: &str, sign: char| -> String {
        let body = range.trim_start_matches(sign);
        let (start, len) = body
            .split_once(',')
            .map_or((body, None), |(a, b)| (a, Some(b)));
        let start = start
            .parse::<usize>()
            .map_or_else(|_| start.to_string(), |n| (n + lines).to_string());
        match len {
            Some(l) => format!("{sign}{start},{l}"),
            None => format!("{sign}{start}"),
        }
    };
    let mut out = String::with_capacity(diff.len());
    for line in diff.split_inclusive('\n') {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("@@"), Some(old), Some(new), Some(rest))
                if old.starts_with('-') && new.starts_with('+') =>
            {
                out.push_str(&format!(
                    "@@ {} {} {rest}",
                    shift(old, '-'),
                    shift(new, '+')
                ));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// `1 error`, `2 warnings`, `0 infos`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// What every format says when findings were left out (beyond `--max-findings`), or `None`.
pub fn omitted_note(report: &CheckReport) -> Option<String> {
    let suppressed: usize = report.suppressed_omitted.values().sum();
    if report.omitted() == 0 && suppressed == 0 {
        return None;
    }
    let parts: Vec<String> = report
        .omitted_by_rule()
        .iter()
        .map(|(r, n)| format!("{r} × {n}"))
        .collect();
    let mut note = format!(
        "{} not listed, only the first {} are (raise the cap with --max-findings; totals and the exit code count them all)",
        plural(report.omitted(), "finding"),
        report.max_findings
    );
    if !parts.is_empty() {
        note.push_str(&format!(": {}", parts.join(", ")));
    }
    if suppressed > 0 {
        note.push_str(&format!(
            "; {} not listed either",
            plural(suppressed, "suppressed finding")
        ));
    }
    note.push('.');
    Some(note)
}

/// Number of findings of one severity.
pub fn count(report: &CheckReport, s: Severity) -> usize {
    report.counts().get(&s).copied().unwrap_or(0)
}
