//! A Markdown summary for pull-request comments: `kcpu check --format markdown` (pure core).

use super::{count, plural, region, RenderOptions};
use crate::finding::Severity;
use crate::lint::{rules, CheckReport};
use crate::render::escape::escape;
use crate::source::SourceSet;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Escapes text for a table cell (control characters first, see [`escape`]).
pub fn cell(s: &str) -> String {
    escape(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

/// Writes the summary.
pub fn render(
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (e, w, i) = (
        count(report, Severity::Error),
        count(report, Severity::Warning),
        count(report, Severity::Info),
    );
    let verdict = if report.has_input_errors() {
        "input errors"
    } else if report.fails(opts.fail_on) {
        "failed"
    } else {
        "passed"
    };
    writeln!(
        out,
        "### kcpu check {verdict}: {}, {}, {}\n",
        plural(e, "error"),
        plural(w, "warning"),
        plural(i, "info")
    )?;
    writeln!(
        out,
        "{} checked in {}; failing at `{}` and above{}.\n",
        plural(report.stats.workloads, "workload"),
        plural(report.stats.files, "file"),
        opts.fail_on,
        opts.policy
            .as_ref()
            .map(|p| format!("; policy `{}`", cell(p)))
            .unwrap_or_default()
    )?;
    for r in &report.read_errors {
        writeln!(
            out,
            "- **could not read** `{}`: {}",
            cell(&r.path),
            cell(&r.message)
        )?;
    }
    if !report.read_errors.is_empty() {
        writeln!(out)?;
    }
    if !report.findings.is_empty() {
        findings_tables(report, sources, out)?;
    } else if report.omitted() == 0 {
        writeln!(out, "No findings.\n")?;
    }
    if let Some(note) = super::omitted_note(report) {
        writeln!(out, "{}\n", cell(&note))?;
    }
    let suppressed = report.suppressed_by_rule();
    if !suppressed.is_empty() {
        let parts: Vec<String> = suppressed
            .iter()
            .map(|(r, n)| format!("`{r}` × {n}"))
            .collect();
        writeln!(
            out,
            "{} suppressed by `kcpu.dev/ignore`: {}.\n",
            plural(report.suppressed_total(), "finding"),
            parts.join(", ")
        )?;
    }
    let fixable = report.fixable();
    if fixable > 0 {
        writeln!(
            out,
            "{} can be fixed with `kcpu check --fix`.",
            plural(fixable, "finding")
        )?;
    }
    Ok(())
}

/// The findings table, then the count per rule (folded).
fn findings_tables(
    report: &CheckReport,
    sources: &SourceSet,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "| Severity | Rule | Location | Object | Message |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for f in &report.findings {
        let r = region(sources, f.span);
        let object = f
            .subject
            .as_ref()
            .map_or_else(String::new, |s| match &s.container {
                Some(c) => format!("{} ({c})", s.object()),
                None => s.object(),
            });
        writeln!(
            out,
            "| {} | `{}` {} | `{}:{}:{}` | {} | {} |",
            f.severity,
            f.rule,
            f.name,
            cell(&r.file),
            r.line,
            r.column,
            cell(&object),
            cell(&f.message)
        )?;
    }
    writeln!(out)?;
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *per_rule.entry(f.rule).or_insert(0) += 1;
    }
    writeln!(out, "<details><summary>Findings per rule</summary>\n")?;
    writeln!(out, "| Rule | Name | Findings |")?;
    writeln!(out, "|---|---|---:|")?;
    for (id, n) in per_rule {
        let name = rules::lookup(id).map_or("", |r| r.meta.name);
        writeln!(out, "| `{id}` | {name} | {n} |")?;
    }
    writeln!(out, "\n</details>\n")?;
    Ok(())
}
