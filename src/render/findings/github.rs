//! GitHub Actions workflow commands for `kcpu check --format github` (pure core):
//! `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`, one per finding
//! (warnings as `::warning`, infos as `::notice`), then a plain summary line.

use super::{count, plural, region, RenderOptions};
use crate::finding::Severity;
use crate::lint::CheckReport;
use crate::source::SourceSet;
use std::io::{self, Write};

/// Escapes a message (workflow-command data): `%`, CR and LF, then every other control
/// character as in text output (an ESC would still colour or hide parts of the log).
pub fn escape_data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    crate::render::escape::escape(&s).into_owned()
}

/// Escapes a property value: as data, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Writes the annotations.
pub fn render(
    report: &CheckReport,
    sources: &SourceSet,
    _opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    for e in &report.read_errors {
        writeln!(
            out,
            "::error file={},title={}::{}",
            escape_property(&e.path),
            escape_property("kcpu: input error"),
            escape_data(&e.message)
        )?;
    }
    for f in &report.findings {
        let r = region(sources, f.span);
        let cmd = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut msg = f.message.clone();
        if let Some(s) = &f.subject {
            msg.push_str(&format!("\n({})", s));
        }
        for n in &f.notes {
            msg.push_str(&format!("\nnote: {n}"));
        }
        if let Some(h) = &f.help {
            msg.push_str(&format!("\nhelp: {h}"));
        }
        let mut props = format!(
            "file={},line={},col={}",
            escape_property(&r.file),
            r.line,
            r.column
        );
        if r.end_line == r.line {
            props.push_str(&format!(
                ",endLine={},endColumn={}",
                r.end_line, r.end_column
            ));
        }
        writeln!(
            out,
            "::{cmd} {props},title={}::{}",
            escape_property(&format!("{} {}", f.rule, f.name)),
            escape_data(&msg)
        )?;
    }
    if let Some(note) = super::omitted_note(report) {
        writeln!(
            out,
            "::warning title={}::{}",
            escape_property("kcpu: findings not listed"),
            escape_data(&note)
        )?;
    }
    writeln!(
        out,
        "kcpu check: {}, {}, {} in {} ({} suppressed)",
        plural(count(report, Severity::Error), "error"),
        plural(count(report, Severity::Warning), "warning"),
        plural(count(report, Severity::Info), "info"),
        plural(report.stats.workloads, "workload"),
        report.suppressed_total()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50% of\nperiods"), "50%25 of%0Aperiods");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(escape_data("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
    }
}
