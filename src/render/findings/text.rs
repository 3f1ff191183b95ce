//! Human output for `kcpu check` (pure core): rustc/ruff-style snippets with a caret under the
//! offending value, notes, help and fixes, then a summary. ANSI colours only when asked for
//! (the CLI asks on a terminal without `NO_COLOR`).

use super::{count, diff_of_edits, edits_where, mechanical_edits, plural, region, RenderOptions};
use crate::finding::{Applicability, Finding, Severity};
use crate::lint::CheckReport;
use crate::render::escape::{escape, escape_keep_lines};
use crate::source::SourceSet;
use std::io::{self, Write};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity, s: &str) -> String {
        let code = match sev {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.wrap(code, s)
    }
    fn gutter(&self, s: &str) -> String {
        self.wrap("1;34", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
}

/// Writes the text report.
pub fn render(
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let p = Paint { on: opts.color };
    for e in &report.read_errors {
        writeln!(
            out,
            "{}: {}: {}\n",
            p.severity(Severity::Error, "error"),
            escape(&e.path),
            escape(&e.message)
        )?;
    }
    for f in &report.findings {
        finding(f, sources, opts, &p, out)?;
    }
    let edits = mechanical_edits(&report.findings);
    if !edits.is_empty() && !opts.fix_mode {
        writeln!(
            out,
            "{}",
            p.bold("Fixes `kcpu check --fix` would apply (other bytes unchanged):")
        )?;
        write_diff(&diff_of_edits(sources, &edits), &p, out)?;
        writeln!(out)?;
    }
    let suggestions = edits_where(&report.findings, |a| a == Applicability::Suggestion);
    if !suggestions.is_empty() {
        writeln!(
            out,
            "{}",
            p.bold("Suggested edits (review them; `--fix` does not apply these):")
        )?;
        write_diff(&diff_of_edits(sources, &suggestions), &p, out)?;
        writeln!(out)?;
    }
    summary(report, opts, &p, out)
}

fn write_diff(diff: &str, p: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let diff = escape_keep_lines(diff);
    for line in diff.lines() {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            p.bold(line)
        } else if line.starts_with('+') {
            p.green(line)
        } else if line.starts_with('-') {
            p.wrap("31", line)
        } else if line.starts_with("@@") {
            p.wrap("36", line)
        } else {
            line.to_string()
        };
        writeln!(out, "{styled}")?;
    }
    Ok(())
}

fn finding(
    f: &Finding,
    sources: &SourceSet,
    opts: &RenderOptions,
    p: &Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    let r = region(sources, f.span);
    let sev = f.severity.as_str();
    writeln!(
        out,
        "{}{} {}",
        p.severity(f.severity, &format!("{sev}[{} {}]", f.rule, f.name)),
        p.bold(":"),
        p.bold(&escape(&f.message))
    )?;
    let num = r.line.to_string();
    let pad = " ".repeat(num.len());
    let object = f
        .subject
        .as_ref()
        .map(|s| format!(" ({})", escape(&s.object())))
        .unwrap_or_default();
    writeln!(
        out,
        "{pad}{} {}:{}:{}{object}",
        p.gutter("-->"),
        escape(&r.file),
        r.line,
        r.column
    )?;
    if r.line_text.is_empty() && r.line == 0 {
        return Ok(());
    }
    let text = escape(&r.line_text.replace('\t', " ")).into_owned();
    writeln!(out, "{pad} {}", p.gutter("|"))?;
    writeln!(out, "{} {} {text}", p.gutter(&num), p.gutter("|"))?;
    let width = if r.end_line == r.line {
        r.end_column.saturating_sub(r.column).max(1)
    } else {
        text.chars().count().saturating_sub(r.column - 1).max(1)
    };
    let carets = "^".repeat(width);
    let label = f
        .label
        .as_ref()
        .map(|l| format!(" {}", escape(l)))
        .unwrap_or_default();
    writeln!(
        out,
        "{pad} {} {}{}",
        p.gutter("|"),
        " ".repeat(r.column.saturating_sub(1)),
        p.severity(f.severity, &format!("{carets}{label}"))
    )?;
    let has_tail = !f.notes.is_empty()
        || f.help.is_some()
        || f.fix.is_some()
        || f.subject.as_ref().is_some_and(|s| s.container.is_some());
    if has_tail {
        writeln!(out, "{pad} {}", p.gutter("|"))?;
    }
    for n in &f.notes {
        writeln!(
            out,
            "{pad} {} {} {}",
            p.gutter("="),
            p.bold("note:"),
            escape(n)
        )?;
    }
    if let Some(h) = &f.help {
        writeln!(
            out,
            "{pad} {} {} {}",
            p.gutter("="),
            p.bold("help:"),
            escape(h)
        )?;
    }
    if let Some(fix) = &f.fix {
        let how = match (fix.applicability, opts.fix_mode) {
            (Applicability::Mechanical, false) => "fix (kcpu check --fix):",
            (Applicability::Mechanical, true) => "fixed:",
            (Applicability::Suggestion, _) => "suggestion:",
        };
        writeln!(
            out,
            "{pad} {} {} {}",
            p.gutter("="),
            p.green(how),
            escape(&fix.title)
        )?;
    }
    writeln!(out)?;
    Ok(())
}

fn summary(
    report: &CheckReport,
    opts: &RenderOptions,
    p: &Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = &report.stats;
    let policy = match &opts.policy {
        Some(path) => format!(" with policy {}", escape(path)),
        None => " with the default policy".to_string(),
    };
    let excluded = if s.excluded > 0 {
        format!("; the policy excluded {}", plural(s.excluded, "workload"))
    } else {
        String::new()
    };
    writeln!(
        out,
        "Checked {} in {} ({}){policy}{excluded}.",
        plural(s.workloads, "workload"),
        plural(s.files, "file"),
        plural(s.documents, "document"),
    )?;
    let (e, w, i) = (
        count(report, Severity::Error),
        count(report, Severity::Warning),
        count(report, Severity::Info),
    );
    let mut line = format!(
        "Found {}, {}, {}",
        p.severity(Severity::Error, &plural(e, "error")),
        p.severity(Severity::Warning, &plural(w, "warning")),
        p.severity(Severity::Info, &plural(i, "info")),
    );
    let by_rule = report.suppressed_by_rule();
    if !by_rule.is_empty() {
        let parts: Vec<String> = by_rule.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        line.push_str(&format!(
            "; {} suppressed by kcpu.dev/ignore ({})",
            report.suppressed.len(),
            parts.join(", ")
        ));
    }
    writeln!(out, "{line}.")?;
    if !s.omitted.is_empty() {
        let parts: Vec<String> = s
            .omitted
            .iter()
            .map(|((code, _), n)| format!("{code} × {n}"))
            .collect();
        writeln!(
            out,
            "{} repeated input diagnostics not listed (only the first {} of each kind are): {}.",
            s.omitted.values().sum::<usize>(),
            crate::manifest::MAX_ISSUES_PER_CODE,
            parts.join(", ")
        )?;
    }
    if !report.read_errors.is_empty() {
        writeln!(
            out,
            "{} could not be read.",
            plural(report.read_errors.len(), "input")
        )?;
    }
    let fixable = report.fixable();
    if fixable > 0 {
        if opts.fix_mode {
            writeln!(out, "{} fixed.", plural(fixable, "finding"))?;
        } else {
            writeln!(
                out,
                "{} fixable with `kcpu check --fix`.",
                plural(fixable, "finding")
            )?;
        }
    }
    Ok(())
}
