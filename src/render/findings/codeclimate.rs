//! GitLab Code Quality report for `kcpu check --format codeclimate` (pure core).
//!
//! GitLab reads a JSON array of Code Climate issues and requires, per issue, `description`,
//! `check_name`, `fingerprint`, `severity` (`info`, `minor`, `major`, `critical`,
//! `blocker`), `location.path` and `location.lines.begin` (or `location.positions`)
//! — <https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format>. kcpu
//! writes `location.positions` (line and column of start and end) and `type: "issue"` and
//! `categories` from the Code Climate spec
//! (<https://github.com/codeclimate/platform/blob/master/spec/analyzers/SPEC.md>).
//!
//! The fingerprint is the SHA-256 of rule, file, object, container and message — no line
//! number, so moving a workload inside a file keeps its issues the same in GitLab's
//! merge-request comparison — with an occurrence counter appended when two findings would
//! otherwise share one (GitLab shows only the first issue of a fingerprint).

use super::region;
use crate::finding::Severity;
use crate::lint::CheckReport;
use crate::source::SourceSet;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Write};

#[derive(Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: String,
    description: String,
    categories: [&'static str; 1],
    severity: &'static str,
    fingerprint: String,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    positions: Positions,
}

#[derive(Serialize)]
struct Positions {
    begin: Position,
    end: Position,
}

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

/// GitLab's severity for a kcpu severity: errors fail the build (`major`), warnings are
/// `minor`, infos `info`.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

fn fingerprint(parts: &[&str], seen: &mut BTreeMap<String, usize>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let base: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let n = seen.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base
    } else {
        let mut h = Sha256::new();
        h.update(base.as_bytes());
        h.update(n.to_string().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Writes the report: a JSON array (empty when there is nothing to report), pretty-printed.
pub fn render(report: &CheckReport, sources: &SourceSet, out: &mut dyn Write) -> io::Result<()> {
    let mut seen = BTreeMap::new();
    let mut issues = Vec::new();
    for e in &report.read_errors {
        issues.push(Issue {
            kind: "issue",
            check_name: "kcpu/input-error".into(),
            description: e.message.clone(),
            categories: ["Bug Risk"],
            severity: "critical",
            fingerprint: fingerprint(&["input-error", &e.path, &e.message], &mut seen),
            location: Location {
                path: e.path.clone(),
                positions: Positions {
                    begin: Position { line: 1, column: 1 },
                    end: Position { line: 1, column: 1 },
                },
            },
        });
    }
    for f in &report.findings {
        let r = region(sources, f.span);
        let object = f.subject.as_ref().map(|s| s.object()).unwrap_or_default();
        let container = f
            .subject
            .as_ref()
            .and_then(|s| s.container.clone())
            .unwrap_or_default();
        let mut description = f.message.clone();
        if let Some(s) = &f.subject {
            description.push_str(&format!(" ({s})"));
        }
        issues.push(Issue {
            kind: "issue",
            check_name: format!("kcpu/{} {}", f.rule, f.name),
            description,
            categories: ["Bug Risk"],
            severity: severity(f.severity),
            fingerprint: fingerprint(
                &[f.rule, &r.file, &object, &container, &f.message],
                &mut seen,
            ),
            location: Location {
                path: r.file,
                positions: Positions {
                    begin: Position {
                        line: r.line,
                        column: r.column,
                    },
                    end: Position {
                        line: r.end_line,
                        column: r.end_column,
                    },
                },
            },
        });
    }
    if let Some(note) = super::omitted_note(report) {
        // A bare array has no summary: one issue says what was left out.
        let path = sources
            .iter()
            .next()
            .map_or_else(|| "kcpu".to_string(), |(_, f)| f.name.clone());
        issues.push(Issue {
            kind: "issue",
            check_name: "kcpu/findings-not-listed".into(),
            description: note,
            categories: ["Bug Risk"],
            severity: "info",
            fingerprint: fingerprint(&["findings-not-listed", &path], &mut seen),
            location: Location {
                path,
                positions: Positions {
                    begin: Position { line: 1, column: 1 },
                    end: Position { line: 1, column: 1 },
                },
            },
        });
    }
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}
