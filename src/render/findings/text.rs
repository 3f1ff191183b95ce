//! Human output for `kcpu check` (pure core): rustc/ruff-style snippets with a caret under the
//! offending value, notes, help and fixes, then a summary. ANSI colours only when asked for
//! (the CLI asks on a terminal without `NO_COLOR`).

use super::{count, diff_of_edits, edits_where, mechanical_edits, plural, region, RenderOptions};
use crate::finding::{Applicability, Finding, Severity};
use crate::lint::CheckReport;
use crate::render::escape::{escape, escape_keep_lines};
use crate::source::SourceSet;
use annotate_snippets::{AnnotationKind, Element, Level, Origin, Renderer, Snippet};
use anstyle::{AnsiColor, Style};
use std::io::{self, Write};

/// Styles through `anstyle` (the CLI's `anstream` writer strips them when colour is off).
struct Paint {
    on: bool,
}

impl Paint {
    fn style(&self, style: Style, s: &str) -> String {
        if self.on {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }
    fn fg(&self, c: AnsiColor, bold: bool, s: &str) -> String {
        let mut st = Style::new().fg_color(Some(c.into()));
        if bold {
            st = st.bold();
        }
        self.style(st, s)
    }
    fn severity(&self, sev: Severity, s: &str) -> String {
        let c = match sev {
            Severity::Error => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Info => AnsiColor::Cyan,
        };
        self.fg(c, true, s)
    }
    fn bold(&self, s: &str) -> String {
        self.style(Style::new().bold(), s)
    }
    fn green(&self, s: &str) -> String {
        self.fg(AnsiColor::Green, false, s)
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
            p.fg(AnsiColor::Red, false, line)
        } else if line.starts_with("@@") {
            p.fg(AnsiColor::Cyan, false, line)
        } else {
            line.to_string()
        };
        writeln!(out, "{styled}")?;
    }
    Ok(())
}

/// Byte offset of 1-based character column `col` in `line` (the line's end when beyond it).
fn byte_at(line: &str, col: usize) -> usize {
    line.char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i)
}

/// One finding as a rustc-style snippet, laid out by `annotate-snippets` (the renderer cargo
/// and rustc use), which measures columns in display width: carets stay under the value
/// behind wide (CJK) characters and tabs.
fn finding(
    f: &Finding,
    sources: &SourceSet,
    opts: &RenderOptions,
    p: &Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    let r = region(sources, f.span);
    let level = match f.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let id = format!("{} {}", f.rule, f.name);
    let mut elements: Vec<Element> = Vec::new();
    // Names, messages and source lines come from the manifest: escaped before they reach a
    // terminal or CI log (the caret columns are moved by what the escaping adds).
    let label = escape(f.label.as_deref().unwrap_or_default()).into_owned();
    let file = escape(&r.file).into_owned();
    let message = escape(&f.message).into_owned();
    let subject = f
        .subject
        .as_ref()
        .map(|s| escape(&s.to_string()).into_owned());
    let notes: Vec<String> = f.notes.iter().map(|n| escape(n).into_owned()).collect();
    let help = f.help.as_deref().map(|h| escape(h).into_owned());
    let fix_title = f.fix.as_ref().map(|x| escape(&x.title).into_owned());
    let line_text = escape_keep_lines(&r.line_text).into_owned();
    let moved = |at: usize| escape_keep_lines(&r.line_text[..at]).len();
    if !(r.line_text.is_empty() && r.line == 0) {
        let start = byte_at(&r.line_text, r.column);
        let end = if r.end_line == r.line {
            byte_at(&r.line_text, r.end_column)
        } else {
            r.line_text.trim_end().len()
        };
        let end = if end > start {
            end
        } else {
            r.line_text[start..]
                .chars()
                .next()
                .map_or(start, |c| start + c.len_utf8())
        };
        let mut snippet = Snippet::source(line_text.as_str())
            .line_start(r.line)
            .path(file.as_str())
            .fold(false);
        let ann = AnnotationKind::Primary.span(moved(start)..moved(end));
        snippet = snippet.annotation(if label.is_empty() {
            ann
        } else {
            ann.label(label.as_str())
        });
        elements.push(snippet.into());
    } else {
        elements.push(Origin::path(file.as_str()).line(r.line).into());
    }
    if let Some(s) = &subject {
        elements.push(Level::NOTE.with_name("in").message(s.as_str()).into());
    }
    for n in &notes {
        elements.push(Level::NOTE.message(n.as_str()).into());
    }
    if let Some(h) = &help {
        elements.push(Level::HELP.message(h.as_str()).into());
    }
    if let Some(fix) = &f.fix {
        let how = match (fix.applicability, opts.fix_mode) {
            (Applicability::Mechanical, false) => "fix (kcpu check --fix)",
            (Applicability::Mechanical, true) => "fixed",
            (Applicability::Suggestion, _) => "suggestion",
        };
        elements.push(
            Level::HELP
                .with_name(how)
                .message(fix_title.as_deref().unwrap_or(fix.title.as_str()))
                .into(),
        );
    }
    let group = level
        .primary_title(message.as_str())
        .id(id.as_str())
        .elements(elements);
    let renderer = if p.on {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    writeln!(out, "{}\n", renderer.render(&[group]))
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
            report.suppressed_total(),
            parts.join(", ")
        ));
    }
    writeln!(out, "{line}.")?;
    if let Some(note) = super::omitted_note(report) {
        writeln!(out, "{note}")?;
    }
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
