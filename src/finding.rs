//! Lint findings as data (pure core): rule, severity, message, span, notes and fixes.
//!
//! A finding never leaves the library as an `Err`: `lint` returns a list of them and the
//! renderers in `render::findings` turn that list into text, JSON, SARIF, JUnit, GitHub
//! annotations or Markdown. Spans stay byte offsets until rendering (style.md §6).

use crate::source::Span;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information worth knowing (numbers, consequences); never a problem on its own.
    Info,
    /// Probably wrong or risky.
    Warning,
    /// Wrong: rejected by the API server, never scheduled, or certainly not what was meant.
    Error,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Error];

    /// Lower-case name used in every output and in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown severity name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (expected info, warning or error)")]
pub struct SeverityError(pub String);

impl FromStr for Severity {
    type Err = SeverityError;
    fn from_str(s: &str) -> Result<Self, SeverityError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "note" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            _ => Err(SeverityError(s.to_string())),
        }
    }
}

/// One replacement of a byte range of a source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edit {
    /// The bytes to replace (for a quantity: the value node, quotes included).
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

/// Whether `kcpu check --fix` may apply a fix on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Mechanical and unambiguous (`100M` → `100m`, `1,5` → `1.5`, limit := request under
    /// the `equal-to-request` policy): applied by `--fix`.
    Mechanical,
    /// A likely fix that needs a human decision (`1024m` → `1`): shown, never applied.
    Suggestion,
}

/// A proposed change to the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What the fix does (`replace "100M" with "100m"`).
    pub title: String,
    /// Whether `--fix` applies it.
    pub applicability: Applicability,
    /// The edits, all in one source, non-overlapping.
    pub edits: Vec<Edit>,
}

/// The object (and container) a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    /// `Deployment`, `Pod`, `ResourceQuota`, …
    pub kind: String,
    /// Namespace (`default` when absent).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Container name, when the finding is about one container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl Subject {
    /// `Deployment shop/web`.
    pub fn object(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)?;
        if let Some(c) = &self.container {
            write!(f, " container {c:?}")?;
        }
        Ok(())
    }
}

/// One lint result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable rule id (`KCPU004`).
    pub rule: &'static str,
    /// Rule name (`suspicious-cpu-unit`).
    pub name: &'static str,
    /// Severity after the policy was applied.
    pub severity: Severity,
    /// One-line message.
    pub message: String,
    /// Where: the offending value, or the container / `resources` node when a field is missing.
    pub span: Span,
    /// Short text shown under the caret.
    pub label: Option<String>,
    /// Extra facts (the cgroup consequence, the numbers).
    pub notes: Vec<String>,
    /// How to fix it, in words.
    pub help: Option<String>,
    /// A machine-applicable or suggested edit.
    pub fix: Option<Fix>,
    /// The workload (and container) concerned, when there is one.
    pub subject: Option<Subject>,
}

impl Finding {
    /// A finding with only the required parts; add the rest with the builder methods.
    pub fn new(
        rule: &'static str,
        name: &'static str,
        severity: Severity,
        message: impl Into<String>,
        span: Span,
    ) -> Finding {
        Finding {
            rule,
            name,
            severity,
            message: message.into(),
            span,
            label: None,
            notes: Vec::new(),
            help: None,
            fix: None,
            subject: None,
        }
    }

    /// Sets the caret label.
    pub fn label(mut self, label: impl Into<String>) -> Finding {
        self.label = Some(label.into());
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Finding {
        self.notes.push(note.into());
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }

    /// Sets the fix.
    pub fn fix(mut self, fix: Fix) -> Finding {
        self.fix = Some(fix);
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: Subject) -> Finding {
        self.subject = Some(subject);
        self
    }

    /// True when `--fix` would apply this finding's fix.
    pub fn is_mechanically_fixable(&self) -> bool {
        self.fix
            .as_ref()
            .is_some_and(|f| f.applicability == Applicability::Mechanical)
    }

    /// Deterministic output order: source, position, rule, message.
    pub fn sort_key(&self) -> (Span, &'static str, &str) {
        (self.span, self.rule, self.message.as_str())
    }
}

/// Applies non-overlapping `edits` (byte ranges of `text`) and returns the new text.
///
/// Edits are applied from the end so earlier offsets stay valid. An edit that overlaps an
/// earlier one, or whose range is outside `text` or not on a character boundary, is skipped
/// and reported in the second value.
pub fn apply_edits(text: &str, edits: &[Edit]) -> (String, Vec<Edit>) {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut accepted: Vec<&Edit> = Vec::with_capacity(sorted.len());
    let mut skipped = Vec::new();
    let mut last_end = 0usize;
    for e in sorted {
        let ok = e.span.start >= last_end
            && e.span.end <= text.len()
            && text.is_char_boundary(e.span.start)
            && text.is_char_boundary(e.span.end);
        if ok {
            last_end = e.span.end;
            accepted.push(e);
        } else {
            skipped.push(e.clone());
        }
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut pos = 0usize;
    for e in accepted {
        out.push_str(&text[pos..e.span.start]);
        out.push_str(&e.replacement);
        pos = e.span.end;
    }
    out.push_str(&text[pos..]);
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceId;

    fn edit(start: usize, end: usize, r: &str) -> Edit {
        Edit {
            span: Span::new(SourceId(0), start, end),
            replacement: r.into(),
        }
    }

    #[test]
    fn severity_order_and_parse() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
        assert_eq!("Warning".parse::<Severity>(), Ok(Severity::Warning));
        assert!("fatal".parse::<Severity>().is_err());
    }

    #[test]
    fn edits_apply_from_the_end_and_skip_overlaps() {
        let t = "cpu: 100M\nlimit: 1,5\n";
        let (out, skipped) = apply_edits(
            t,
            &[edit(17, 20, "1.5"), edit(5, 9, "100m"), edit(6, 8, "x")],
        );
        assert_eq!(out, "cpu: 100m\nlimit: 1.5\n");
        assert_eq!(skipped, vec![edit(6, 8, "x")]);
        let (same, _) = apply_edits(t, &[]);
        assert_eq!(same, t);
    }
}
