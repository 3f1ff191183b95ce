//! SARIF 2.1.0 for `kcpu check --format sarif` (pure core), built with serde-sarif's types.
//!
//! One run; the driver lists every rule with its documentation as help text (plain and
//! Markdown) and its default level. Results carry the rule id and index, the level, a region
//! with start and end line/column (Unicode code points, `columnKind`) and the highlighted
//! snippet, fixes as artifact changes, and the workload in the property bag. Suppressed
//! findings are included with an `inSource` suppression, as SARIF viewers expect. Inputs that
//! could not be read become tool execution notifications and `executionSuccessful: false`.

use super::{region, snippet, RenderOptions};
use crate::finding::{Finding, Severity};
use crate::lint::{rules, CheckReport, Rule, Suppressed, DOC_SECTIONS};
use crate::source::SourceSet;
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, Fix, Invocation, Location, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region, Replacement,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif,
    Suppression, Tool, ToolComponent,
};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The SARIF 2.1.0 schema URI written into `$schema` (OASIS errata 01).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Info => ResultLevel::Note,
    }
}

/// A relative URI reference for a display path (percent-encodes what is not allowed).
pub fn uri(path: &str) -> String {
    let p = if path == "<stdin>" { "stdin" } else { path };
    let mut out = String::new();
    if p.starts_with('/') {
        out.push_str("file://");
    }
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let m = &rule.meta;
    let what = m.section(DOC_SECTIONS[0]).unwrap_or(m.summary);
    let mut props = BTreeMap::new();
    props.insert("fix".to_string(), json!(m.fix.as_str()));
    ReportingDescriptor::builder()
        .id(m.id)
        .name(m.name)
        .short_description(MultiformatMessageString::builder().text(m.summary).build())
        .full_description(MultiformatMessageString::builder().text(what).build())
        .help(
            MultiformatMessageString::builder()
                .text(m.doc)
                .markdown(m.doc)
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level(m.default_severity).to_string()))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec!["kubernetes".to_string(), "cpu".to_string()])
                .additional_properties(props)
                .build(),
        )
        .build()
}

fn sarif_region(sources: &SourceSet, span: crate::source::Span, with_snippet: bool) -> Region {
    let r = region(sources, span);
    let base = Region::builder()
        .start_line(r.line as i64)
        .start_column(r.column as i64)
        .end_line(r.end_line as i64)
        .end_column(r.end_column as i64);
    let text = snippet(sources, span);
    if with_snippet && !text.is_empty() {
        base.snippet(ArtifactContent::builder().text(text).build())
            .build()
    } else {
        base.build()
    }
}

fn result(f: &Finding, sources: &SourceSet, suppression: Option<&Suppressed>) -> SarifResult {
    let index = rules::RULES
        .iter()
        .position(|r| r.meta.id == f.rule)
        .unwrap_or(0) as i64;
    let file = sources
        .get(f.span.source)
        .map_or_else(|| "?".to_string(), |s| s.name.clone());
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(uri(&file)).build())
                .region(sarif_region(sources, f.span, true))
                .build(),
        )
        .build();
    let mut text = f.message.clone();
    for n in &f.notes {
        text.push_str("\nnote: ");
        text.push_str(n);
    }
    if let Some(h) = &f.help {
        text.push_str("\nhelp: ");
        text.push_str(h);
    }
    let mut props = BTreeMap::new();
    if let Some(s) = &f.subject {
        props.insert("kind".to_string(), json!(s.kind));
        props.insert("namespace".to_string(), json!(s.namespace));
        props.insert("name".to_string(), json!(s.name));
        if let Some(c) = &s.container {
            props.insert("container".to_string(), json!(c));
        }
    }
    let fixes: Vec<Fix> = f
        .fix
        .iter()
        .filter(|x| x.applicability == crate::finding::Applicability::Mechanical)
        .map(|x| fix(x, sources))
        .collect();
    let builder = SarifResult::builder()
        .rule_id(f.rule)
        .rule_index(index)
        .level(level(f.severity))
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .properties(PropertyBag::builder().additional_properties(props).build());
    match (fixes.is_empty(), suppression) {
        (true, None) => builder.build(),
        (false, None) => builder.fixes(fixes).build(),
        (true, Some(s)) => builder.suppressions(vec![suppressed(s)]).build(),
        (false, Some(s)) => builder
            .fixes(fixes)
            .suppressions(vec![suppressed(s)])
            .build(),
    }
}

/// A mechanical fix as SARIF replacements, grouped by file.
fn fix(x: &crate::finding::Fix, sources: &SourceSet) -> Fix {
    let mut by_file: BTreeMap<String, Vec<Replacement>> = BTreeMap::new();
    for e in &x.edits {
        let name = sources
            .get(e.span.source)
            .map_or_else(|| "?".to_string(), |s| s.name.clone());
        let deleted = match sources.get(e.span.source) {
            Some(s) => {
                let (l, c) = s.line_col(e.span.start);
                let (el, ec) = s.line_col(e.span.end);
                Region::builder()
                    .start_line(l as i64)
                    .start_column(c as i64)
                    .end_line(el as i64)
                    .end_column(ec as i64)
                    .build()
            }
            None => Region::builder().start_line(1).build(),
        };
        by_file.entry(name).or_default().push(
            Replacement::builder()
                .deleted_region(deleted)
                .inserted_content(
                    ArtifactContent::builder()
                        .text(e.replacement.clone())
                        .build(),
                )
                .build(),
        );
    }
    Fix::builder()
        .description(Message::builder().text(x.title.clone()).build())
        .artifact_changes(
            by_file
                .into_iter()
                .map(|(name, replacements)| {
                    ArtifactChange::builder()
                        .artifact_location(ArtifactLocation::builder().uri(uri(&name)).build())
                        .replacements(replacements)
                        .build()
                })
                .collect::<Vec<_>>(),
        )
        .build()
}

fn suppressed(s: &Suppressed) -> Suppression {
    let b = Suppression::builder().kind(json!("inSource"));
    match &s.reason {
        Some(r) => b.justification(r.clone()).build(),
        None => b.build(),
    }
}

/// Builds the SARIF log.
pub fn build(report: &CheckReport, sources: &SourceSet, opts: &RenderOptions) -> Sarif {
    let driver = ToolComponent::builder()
        .name("kcpu")
        .version(opts.version.clone())
        .semantic_version(opts.version.clone())
        .rules(
            rules::RULES
                .iter()
                .map(|r| descriptor(r))
                .collect::<Vec<_>>(),
        )
        .build();
    let mut results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| result(f, sources, None))
        .collect();
    results.extend(
        report
            .suppressed
            .iter()
            .map(|s| result(&s.finding, sources, Some(s))),
    );
    let mut notifications: Vec<Notification> = report
        .read_errors
        .iter()
        .map(|e| {
            Notification::builder()
                .level(json!("error"))
                .message(
                    Message::builder()
                        .text(format!("{}: {}", e.path, e.message))
                        .build(),
                )
                .locations(vec![Location::builder()
                    .physical_location(
                        PhysicalLocation::builder()
                            .artifact_location(
                                ArtifactLocation::builder().uri(uri(&e.path)).build(),
                            )
                            .build(),
                    )
                    .build()])
                .build()
        })
        .collect();
    if let Some(note) = super::omitted_note(report) {
        notifications.push(
            Notification::builder()
                .level(json!("warning"))
                .message(Message::builder().text(note).build())
                .build(),
        );
    }
    let invocation = Invocation::builder().execution_successful(!report.has_input_errors());
    let invocation = if notifications.is_empty() {
        invocation.build()
    } else {
        invocation
            .tool_execution_notifications(notifications)
            .build()
    };
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// Writes the SARIF log (pretty-printed JSON, one trailing newline).
pub fn render(
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(report, sources, opts))
        .map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("k8s/web app.yaml"), "k8s/web%20app.yaml");
        assert_eq!(uri("<stdin>"), "stdin");
        assert_eq!(uri("a/b-c_d.yaml"), "a/b-c_d.yaml");
        assert_eq!(uri("/tmp/x y.yaml"), "file:///tmp/x%20y.yaml");
    }
}
