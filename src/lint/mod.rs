//! The linter behind `kcpu check` (pure core): rule registry, policy, inline ignores and the
//! engine that runs the rules over loaded manifests.
//!
//! Flow of [`check_sources`]:
//! 1. a first pass reads only the documents that mention a LimitRange or ResourceQuota
//!    ([`manifest::visit_documents_containing`]) and groups those objects by namespace;
//! 2. every source is then read document by document by [`manifest::visit_source`];
//! 3. every workload selected by the policy gets its namespace's LimitRange defaults
//!    ([`defaults`]) and is checked by the workload rules, in parallel batches, then dropped;
//!    findings named in its `kcpu.dev/ignore` annotation are moved to the suppressed list
//!    ([`ignore`]);
//! 4. namespace rules (ResourceQuota totals) run over the per-workload totals;
//! 5. loader diagnostics become findings (KCPU000 for YAML and input errors);
//! 6. findings are sorted by source, position and rule, so output is deterministic.
//!
//! Each rule lives in its own file under [`rules`] with its documentation as a constant
//! ([`RuleMeta::doc`]), used by `kcpu check --explain` and by the SARIF rule metadata.

pub mod defaults;
pub mod ignore;
pub mod policy;
pub mod rules;

use crate::finding::{Finding, Severity, Subject};
use crate::manifest::model::{
    Container, IssueLevel, LimitRange, LoadIssue, Object, QuantityValue, ResourceQuota, Workload,
};
use crate::manifest::{self, LoadOptions};
use crate::predict;
use crate::profile::Assumptions;
use crate::quantity::Quantity;
use crate::source::{SourceSet, Span};
use crate::translate::{self, PodPlan};
use defaults::{ContainerRef, Defaulted, Field};
pub use policy::Policy;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Whether a rule can propose fixes, and of which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    /// No fix.
    None,
    /// Fixes shown as a suggested diff, never applied by `--fix`.
    Suggestion,
    /// Some fixes are mechanical and applied by `--fix`.
    Mechanical,
}

impl FixKind {
    /// `none`, `suggestion` or `mechanical`.
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::None => "none",
            FixKind::Suggestion => "suggestion",
            FixKind::Mechanical => "mechanical",
        }
    }
}

/// The documented identity of a rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable id, `KCPU` + three digits.
    pub id: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// Severity unless the policy says otherwise.
    pub default_severity: Severity,
    /// One sentence.
    pub summary: &'static str,
    /// Markdown with the sections `## What it checks`, `## Why it matters for CFS`,
    /// `## Example`, `## Fix` and `## References`, in that order.
    pub doc: &'static str,
    /// Fixes offered.
    pub fix: FixKind,
    /// False for rules the policy cannot turn off or re-grade (input errors).
    pub configurable: bool,
}

/// The fixed section headings of a rule's documentation, in order.
pub const DOC_SECTIONS: [&str; 5] = [
    "What it checks",
    "Why it matters for CFS",
    "Example",
    "Fix",
    "References",
];

impl RuleMeta {
    /// A finding of this rule with its default severity (the engine applies the policy).
    pub fn finding(&self, message: impl Into<String>, span: Span) -> Finding {
        Finding::new(self.id, self.name, self.default_severity, message, span)
    }

    /// The text of one documentation section (without its heading), trimmed.
    pub fn section(&self, heading: &str) -> Option<&'static str> {
        let marker = format!("## {heading}\n");
        let start = self.doc.find(&marker)? + marker.len();
        let rest = &self.doc[start..];
        let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
        Some(rest[..end].trim())
    }
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// One workload at a time (after LimitRange defaults).
    Workload(fn(&WorkloadCx<'_>, &mut Vec<Finding>)),
    /// All workloads of each namespace against its ResourceQuotas.
    Namespace(fn(&NamespaceCx<'_>, &mut Vec<Finding>)),
    /// Produced by the engine itself (input diagnostics, ignore annotations).
    Engine,
}

/// A rule: its documentation and its check.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Identity and documentation.
    pub meta: RuleMeta,
    /// The check.
    pub check: Check,
}

/// Where an effective CPU value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// Written in the workload.
    Written,
    /// A request the API server defaults from the limit (`SetDefaults_Pod`).
    FromLimit,
    /// Filled in by the named LimitRange.
    LimitRange(&'a str),
}

/// An effective CPU request or limit of a container.
#[derive(Debug, Clone, Copy)]
pub struct CpuValue<'a> {
    /// The value node (in the workload, or in the LimitRange that supplied it).
    pub value: &'a QuantityValue,
    /// Where it came from.
    pub origin: Origin<'a>,
}

impl CpuValue<'_> {
    /// The parsed amount when it parses and is not negative.
    pub fn quantity(&self) -> Option<Quantity> {
        self.value
            .parsed
            .as_ref()
            .ok()
            .copied()
            .filter(|q| !q.is_negative())
    }
    /// True when written in the workload itself.
    pub fn is_written(&self) -> bool {
        self.origin == Origin::Written
    }
}

/// One container with its effective CPU values.
#[derive(Debug, Clone)]
pub struct ContainerCx<'a> {
    /// The container (after LimitRange defaults).
    pub container: &'a Container,
    /// Which container.
    pub cref: ContainerRef,
    /// Effective CPU request.
    pub request: Option<CpuValue<'a>>,
    /// Effective CPU limit.
    pub limit: Option<CpuValue<'a>>,
}

impl ContainerCx<'_> {
    /// Where to point when `field` is missing: the `requests`/`limits` map, else the
    /// `resources` node, else the container.
    pub fn missing_span(&self, field: Field) -> Span {
        let r = &self.container.resources;
        let list = match field {
            Field::Request => &r.requests,
            Field::Limit => &r.limits,
        };
        list.span.or(r.span).unwrap_or(self.container.span)
    }
}

/// What a workload rule sees.
#[derive(Debug)]
pub struct WorkloadCx<'a> {
    /// The workload after LimitRange defaults.
    pub workload: &'a Workload,
    /// Values filled in by LimitRanges.
    pub defaulted: &'a [Defaulted],
    /// Containers (init containers first, then app containers) with their CPU values.
    pub containers: Vec<ContainerCx<'a>>,
    /// LimitRanges of the namespace.
    pub limit_ranges: &'a [&'a LimitRange],
    /// The policy.
    pub policy: &'a Policy,
    /// The translation target derived from the policy.
    pub assumptions: &'a Assumptions,
    /// The exact translation of the (defaulted) workload; `None` when a quantity does not
    /// parse (KCPU003 reports it).
    pub plan: Option<PodPlan>,
    /// Text of the workload's source (for quoting in fixes).
    pub text: &'a str,
    /// The source's name as given (`<stdin>` for standard input): `trace:` paths in its
    /// annotations are relative to its directory.
    pub manifest: &'a str,
    /// Where `trace:` loads are read from (none in [`WorkloadCx::new`]).
    pub traces: &'a dyn predict::TraceSource,
}

impl<'a> WorkloadCx<'a> {
    /// Builds the context and translates the workload (public so rules can be tested on
    /// single workloads).
    pub fn new(
        workload: &'a Workload,
        defaulted: &'a [Defaulted],
        limit_ranges: &'a [&'a LimitRange],
        policy: &'a Policy,
        assumptions: &'a Assumptions,
        text: &'a str,
    ) -> WorkloadCx<'a> {
        let lr_name = |cref: ContainerRef, field: Field| {
            defaulted
                .iter()
                .find(|d| d.container == cref && d.field == field && d.resource == "cpu")
                .map(|d| d.limit_range.as_str())
        };
        let mut containers = Vec::new();
        let lists = [
            (true, &workload.pod.init_containers),
            (false, &workload.pod.containers),
        ];
        for (init, list) in lists {
            for (index, c) in list.iter().enumerate() {
                let cref = ContainerRef { init, index };
                let origin = |field| match lr_name(cref, field) {
                    Some(n) => Origin::LimitRange(n),
                    None => Origin::Written,
                };
                let limit = c.resources.limits.cpu().map(|v| CpuValue {
                    value: v,
                    origin: origin(Field::Limit),
                });
                let request = match c.resources.requests.cpu() {
                    Some(v) => Some(CpuValue {
                        value: v,
                        origin: origin(Field::Request),
                    }),
                    None => limit.filter(|l| l.is_written()).map(|l| CpuValue {
                        value: l.value,
                        origin: Origin::FromLimit,
                    }),
                };
                containers.push(ContainerCx {
                    container: c,
                    cref,
                    request,
                    limit,
                });
            }
        }
        let plan = translate::translate_workload(workload, assumptions).ok();
        WorkloadCx {
            workload,
            defaulted,
            containers,
            limit_ranges,
            policy,
            assumptions,
            plan,
            text,
            manifest: "",
            traces: &predict::NoTraces,
        }
    }

    /// The same context for a workload of the source named `manifest`, reading `trace:` loads
    /// from `traces`.
    pub fn with_traces(
        self,
        manifest: &'a str,
        traces: &'a dyn predict::TraceSource,
    ) -> WorkloadCx<'a> {
        WorkloadCx {
            manifest,
            traces,
            ..self
        }
    }

    /// The subject of a finding about this workload (and optionally one container).
    pub fn subject(&self, container: Option<&Container>) -> Subject {
        Subject {
            kind: self.workload.kind.clone(),
            namespace: self.workload.namespace().to_string(),
            name: self.workload.metadata.name.clone(),
            container: container.map(|c| c.name.clone()),
        }
    }

    /// The text of `span` in this workload's source (empty when out of range).
    pub fn text_of(&self, span: Span) -> &'a str {
        if span.source != self.workload.span.source {
            return "";
        }
        self.text.get(span.start..span.end).unwrap_or("")
    }
}

/// A pod's CPU totals, for namespace rules.
#[derive(Debug, Clone)]
pub struct PodTotals {
    /// The workload.
    pub subject: Subject,
    /// Span of the workload.
    pub span: Span,
    /// Pods this workload runs (replicas; 1 for Pods and Jobs).
    pub pods: u32,
    /// Effective CPU request of one pod.
    pub request: crate::units::MilliCpu,
    /// Effective CPU limit of one pod; `None` when some container has no CPU limit.
    pub limit: Option<crate::units::MilliCpu>,
    /// Containers without a CPU limit (name, span to point at).
    pub unlimited: Vec<(String, Span)>,
    /// Containers without a CPU request (name, span to point at).
    pub unrequested: Vec<(String, Span)>,
}

/// What a namespace rule sees.
#[derive(Debug)]
pub struct NamespaceCx<'a> {
    /// Namespace name.
    pub namespace: &'a str,
    /// Its ResourceQuotas.
    pub quotas: &'a [&'a ResourceQuota],
    /// Totals of its selected workloads, in input order.
    pub pods: &'a [PodTotals],
    /// The policy.
    pub policy: &'a Policy,
}

/// A finding moved out of the report by a `kcpu.dev/ignore` annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    /// The finding.
    pub finding: Finding,
    /// The reason given in the annotation.
    pub reason: Option<String>,
}

/// An input that could not be read at all (filled in by the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The path as given (`<stdin>` for standard input).
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Counters for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Sources read.
    pub files: usize,
    /// YAML documents read.
    pub documents: usize,
    /// Workloads checked.
    pub workloads: usize,
    /// Workloads left out by the policy's include/exclude.
    pub excluded: usize,
    /// Documents without a pod template, by kind.
    pub skipped: BTreeMap<String, usize>,
    /// Kubernetes objects (documents and list items with a `kind`).
    pub objects: usize,
    /// Documents that did not parse.
    pub unparsed: usize,
    /// Input diagnostics beyond the first few of each code, counted but not reported.
    pub omitted: BTreeMap<(&'static str, IssueLevel), usize>,
}

impl CheckStats {
    /// Why the inputs as a whole are unusable (no document, no Kubernetes object), if so.
    pub fn emptiness(&self) -> Option<&'static str> {
        manifest::emptiness(self.documents, self.objects, self.unparsed)
    }
}

/// Everything `kcpu check` reports.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Findings, sorted by source, position and rule.
    pub findings: Vec<Finding>,
    /// Findings suppressed by `kcpu.dev/ignore`, sorted the same way.
    pub suppressed: Vec<Suppressed>,
    /// Workloads, documents and findings counted.
    pub stats: CheckStats,
    /// Inputs that could not be read.
    pub read_errors: Vec<ReadError>,
    /// Every workload checked (`Kind namespace/name`) with its rules run, for JUnit: the
    /// first [`MAX_CHECKED`].
    pub checked: Vec<CheckedWorkload>,
    /// Workloads checked beyond [`MAX_CHECKED`], counted but not listed.
    pub checked_omitted: usize,
    /// Findings beyond the cap ([`CheckReport::max_findings`]), counted by rule and
    /// severity but not kept; they count in the totals and the exit code.
    pub findings_omitted: BTreeMap<(&'static str, Severity), usize>,
    /// Suppressed findings beyond the cap, counted by rule.
    pub suppressed_omitted: BTreeMap<&'static str, usize>,
    /// Omitted findings `--fix` would have fixed.
    pub fixable_omitted: usize,
    /// The most findings (and, apart, suppressed findings) kept: `kcpu check --max-findings`.
    pub max_findings: usize,
}

/// Default of `kcpu check --max-findings`: the findings kept for the report, the first in
/// output order; the others are counted by rule. A finding costs about 2 kB kept and up to
/// 8 kB more while SARIF or JUnit is built, so 10,000 keep every format below 256 MB.
pub const MAX_FINDINGS: usize = 10_000;

/// Most workloads [`CheckReport::checked`] lists (JUnit writes one test case per workload ×
/// rule: 10,000 workloads are about 180,000 cases); the others are counted, and their
/// findings still get cases of their own.
pub const MAX_CHECKED: usize = 10_000;

/// One workload and the rules that ran on it (JUnit: one test case per workload × rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedWorkload {
    /// The workload.
    pub subject: Subject,
    /// Its span.
    pub span: Span,
    /// Ids of the rules that ran.
    pub rules: Vec<&'static str>,
}

impl CheckReport {
    /// Number of findings at each severity.
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        for ((_, sev), n) in &self.findings_omitted {
            *m.entry(*sev).or_insert(0) += n;
        }
        m
    }

    /// Findings counted but not kept (beyond [`CheckReport::max_findings`]).
    pub fn omitted(&self) -> usize {
        self.findings_omitted.values().sum()
    }

    /// Findings not kept, per rule id.
    pub fn omitted_by_rule(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for ((rule, _), n) in &self.findings_omitted {
            *m.entry(*rule).or_insert(0) += n;
        }
        m
    }

    /// Every suppressed finding, kept or only counted.
    pub fn suppressed_total(&self) -> usize {
        self.suppressed.len() + self.suppressed_omitted.values().sum::<usize>()
    }

    /// True when an input could not be read or parsed (exit code 2).
    pub fn has_input_errors(&self) -> bool {
        !self.read_errors.is_empty()
            || self
                .stats
                .omitted
                .keys()
                .any(|(_, level)| *level == IssueLevel::Error)
            || self.findings.iter().any(|f| {
                f.rule == rules::input_error::RULE.meta.id && f.severity == Severity::Error
            })
            || self
                .findings_omitted
                .contains_key(&(rules::input_error::RULE.meta.id, Severity::Error))
    }

    /// True when a finding is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
            || self.findings_omitted.keys().any(|(_, s)| *s >= threshold)
    }

    /// Suppressed findings per rule id.
    pub fn suppressed_by_rule(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for s in &self.suppressed {
            *m.entry(s.finding.rule).or_insert(0) += 1;
        }
        for (rule, n) in &self.suppressed_omitted {
            *m.entry(*rule).or_insert(0) += n;
        }
        m
    }

    /// Findings with a fix `--fix` would apply.
    pub fn fixable(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.is_mechanically_fixable())
            .count()
            + self.fixable_omitted
    }
}

/// Loads every source and checks it, keeping the workload list JUnit needs
/// ([`CheckReport::checked`]).
pub fn check_sources(sources: &SourceSet, policy: &Policy, opts: &LoadOptions) -> CheckReport {
    check_streaming(
        sources,
        policy,
        opts,
        true,
        MAX_FINDINGS,
        &predict::NoTraces,
    )
}

/// Workloads checked together (in parallel) before the next ones are read.
const BATCH: usize = 512;

/// Checks every source document by document, so memory follows the findings, not the input:
/// a first pass parses only the documents that mention a LimitRange or ResourceQuota (the
/// objects other documents depend on), then every workload is checked as it is read and
/// dropped. Only the totals of workloads in namespaces with a quota are kept, and the
/// per-workload list for JUnit ([`CheckReport::checked`]) only when `keep_checked`. The first
/// `max_findings` findings in output order are kept (and as many suppressed ones); the others
/// are counted by rule ([`CheckReport::findings_omitted`]), so memory stays bounded however
/// many findings the input has. `trace:` loads are read from `traces`.
pub fn check_streaming(
    sources: &SourceSet,
    policy: &Policy,
    opts: &LoadOptions,
    keep_checked: bool,
    max_findings: usize,
    traces: &dyn predict::TraceSource,
) -> CheckReport {
    let mut policy_objects = Vec::new();
    for (id, f) in sources.iter() {
        f.with_text(|text, _| {
            manifest::visit_documents_containing(
                id,
                text,
                opts,
                &["LimitRange", "ResourceQuota"],
                &mut |o| {
                    if matches!(o, Object::LimitRange(_) | Object::ResourceQuota(_)) {
                        policy_objects.push(o);
                    }
                },
            )
        });
    }
    let mut limit_ranges: BTreeMap<&str, Vec<&LimitRange>> = BTreeMap::new();
    let mut quotas: BTreeMap<&str, Vec<&ResourceQuota>> = BTreeMap::new();
    let mut policy_spans: BTreeSet<Span> = BTreeSet::new();
    for o in &policy_objects {
        match o {
            Object::LimitRange(lr) => {
                for list in [&lr.default_limits, &lr.default_requests, &lr.max, &lr.min] {
                    policy_spans.extend(list.entries.values().map(|v| v.span));
                    policy_spans.extend(list.entries.values().map(|v| v.key_span));
                }
                limit_ranges
                    .entry(lr.namespace.as_deref().unwrap_or("default"))
                    .or_default()
                    .push(lr);
            }
            Object::ResourceQuota(rq) => {
                policy_spans.extend(rq.hard.entries.values().map(|v| v.span));
                policy_spans.extend(rq.hard.entries.values().map(|v| v.key_span));
                quotas
                    .entry(rq.namespace.as_deref().unwrap_or("default"))
                    .or_default()
                    .push(rq);
            }
            _ => {}
        }
    }
    let mut st = Streamer {
        policy,
        assumptions: policy.assumptions(),
        limit_ranges: &limit_ranges,
        quotas: &quotas,
        keep_checked,
        traces,
        report: CheckReport {
            max_findings,
            ..CheckReport::default()
        },
        kept: BinaryHeap::new(),
        kept_suppressed: BinaryHeap::new(),
        seq: 0,
        by_namespace: BTreeMap::new(),
        batch: Vec::new(),
        issue_counts: BTreeMap::new(),
    };
    st.report.stats.files = sources.file_count();
    for (id, f) in sources.iter() {
        let mut stats = manifest::LoadStats::default();
        let mut issues = Vec::new();
        f.with_text(|text, _| {
            manifest::visit_source(
                id,
                text,
                opts,
                &mut |o| st.object(o, &f.name, text),
                &mut issues,
                &mut stats,
            );
            st.flush(text, &f.name);
        });
        st.loaded(stats, &issues, &policy_spans);
    }
    st.finish()
}

struct WorkloadOutcome {
    findings: Vec<Finding>,
    suppressed: Vec<Suppressed>,
    totals: Option<PodTotals>,
    checked: CheckedWorkload,
}

/// The state of [`check_streaming`] between documents.
struct Streamer<'a> {
    policy: &'a Policy,
    assumptions: Assumptions,
    limit_ranges: &'a BTreeMap<&'a str, Vec<&'a LimitRange>>,
    quotas: &'a BTreeMap<&'a str, Vec<&'a ResourceQuota>>,
    keep_checked: bool,
    traces: &'a dyn predict::TraceSource,
    report: CheckReport,
    /// The findings kept so far: at most `report.max_findings`, the first in output order.
    kept: BinaryHeap<Ranked<Finding>>,
    /// The suppressed findings kept so far, bounded the same way.
    kept_suppressed: BinaryHeap<Ranked<Suppressed>>,
    /// Findings seen so far (ties in output order keep the order they were found in).
    seq: u64,
    by_namespace: BTreeMap<String, Vec<PodTotals>>,
    batch: Vec<Workload>,
    /// Loader diagnostics kept so far, by code (over every source).
    issue_counts: BTreeMap<&'static str, usize>,
}

impl Streamer<'_> {
    /// Takes one loaded object of the source named `path` with text `text`.
    fn object(&mut self, o: Object, path: &str, text: &str) {
        if let Object::Workload(w) = o {
            if self.policy.selects(&w, path) {
                self.batch.push(*w);
                if self.batch.len() >= BATCH {
                    self.flush(text, path);
                }
            } else {
                self.report.stats.excluded += 1;
            }
        }
    }

    /// Checks the batched workloads (all from the source named `path` with text `text`) and
    /// drops them.
    fn flush(&mut self, text: &str, path: &str) {
        let empty: Vec<&LimitRange> = Vec::new();
        let batch = std::mem::take(&mut self.batch);
        let outcomes: Vec<WorkloadOutcome> = batch
            .par_iter()
            .map(|w| {
                let lrs = self.limit_ranges.get(w.namespace()).unwrap_or(&empty);
                let source = Source {
                    text,
                    name: path,
                    traces: self.traces,
                };
                check_workload(w, lrs, self.policy, &self.assumptions, &source)
            })
            .collect();
        self.report.stats.workloads += outcomes.len();
        for o in outcomes {
            for f in o.findings {
                self.keep(f);
            }
            for s in o.suppressed {
                self.keep_suppressed(s);
            }
            if self.keep_checked && self.report.checked.len() < MAX_CHECKED {
                self.report.checked.push(o.checked);
            } else if self.keep_checked {
                self.report.checked_omitted += 1;
            }
            if let Some(t) = o.totals {
                if self.quotas.contains_key(t.subject.namespace.as_str()) {
                    self.by_namespace
                        .entry(t.subject.namespace.clone())
                        .or_default()
                        .push(t);
                }
            }
        }
    }

    /// Adds one source's loader counters and turns its diagnostics into findings.
    fn loaded(
        &mut self,
        l: manifest::LoadStats,
        issues: &[LoadIssue],
        policy_spans: &BTreeSet<Span>,
    ) {
        let stats = &mut self.report.stats;
        stats.documents += l.documents;
        stats.objects += l.objects;
        stats.unparsed += l.unparsed;
        for (k, n) in l.omitted {
            *stats.omitted.entry(k).or_insert(0) += n;
        }
        for (k, n) in l.skipped {
            *stats.skipped.entry(k).or_insert(0) += n;
        }
        let mut found = Vec::new();
        for issue in issues {
            // Capped over the whole input, not per piece (each piece is capped already).
            let n = self.issue_counts.entry(issue.code).or_insert(0);
            if *n >= manifest::MAX_ISSUES_PER_CODE {
                *stats.omitted.entry((issue.code, issue.level)).or_insert(0) += 1;
                continue;
            }
            *n += 1;
            if let Some(mut f) = loader_finding(issue, policy_spans) {
                if let Some(rule) = rules::lookup(f.rule).filter(|r| r.meta.configurable) {
                    if !self.policy.enabled(rule.meta.id) {
                        continue;
                    }
                    f.severity = self
                        .policy
                        .severity(rule.meta.id, rule.meta.default_severity);
                }
                found.push(f);
            }
        }
        for f in found {
            self.keep(f);
        }
    }

    /// Keeps `f` if it is among the first `max_findings` in output order; counts the one
    /// that falls out.
    fn keep(&mut self, f: Finding) {
        if let Some(f) = push_bounded(&mut self.kept, &mut self.seq, f, self.report.max_findings) {
            *self
                .report
                .findings_omitted
                .entry((f.rule, f.severity))
                .or_insert(0) += 1;
            if f.is_mechanically_fixable() {
                self.report.fixable_omitted += 1;
            }
        }
    }

    /// [`Streamer::keep`] for a suppressed finding.
    fn keep_suppressed(&mut self, s: Suppressed) {
        let max = self.report.max_findings;
        if let Some(s) = push_bounded(&mut self.kept_suppressed, &mut self.seq, s, max) {
            *self
                .report
                .suppressed_omitted
                .entry(s.finding.rule)
                .or_insert(0) += 1;
        }
    }

    /// Runs the namespace rules and sorts the findings.
    fn finish(mut self) -> CheckReport {
        let policy = self.policy;
        let mut found = Vec::new();
        for (ns, qs) in self.quotas {
            let pods = self.by_namespace.get(*ns).map_or(&[][..], |v| v.as_slice());
            let cx = NamespaceCx {
                namespace: ns,
                quotas: qs,
                pods,
                policy,
            };
            for rule in rules::RULES {
                if let Check::Namespace(f) = rule.check {
                    if policy.enabled(rule.meta.id) {
                        let mut out = Vec::new();
                        f(&cx, &mut out);
                        stamp(&mut out, rule, policy);
                        found.extend(out);
                    }
                }
            }
        }
        for f in found {
            self.keep(f);
        }
        // In output order: by position and rule, then in the order found.
        let kept = std::mem::take(&mut self.kept).into_sorted_vec();
        self.report.findings = kept.into_iter().map(|r| r.item).collect();
        let kept = std::mem::take(&mut self.kept_suppressed).into_sorted_vec();
        self.report.suppressed = kept.into_iter().map(|r| r.item).collect();
        self.report
    }
}

/// A kept finding (or suppressed finding), ordered as the report lists it: by
/// [`Finding::sort_key`], then in the order found (`seq`), so the heap of kept findings drops
/// the last one in output order first.
struct Ranked<T> {
    seq: u64,
    item: T,
}

/// Pushes `item` (numbered by `seq`) into `heap`, which keeps the first `max` in output order;
/// returns the one that fell out, if any.
fn push_bounded<T: HasFinding>(
    heap: &mut BinaryHeap<Ranked<T>>,
    seq: &mut u64,
    item: T,
    max: usize,
) -> Option<T> {
    *seq += 1;
    heap.push(Ranked { seq: *seq, item });
    if heap.len() > max {
        heap.pop().map(|r| r.item)
    } else {
        None
    }
}

/// What [`Ranked`] orders by.
trait HasFinding {
    fn finding(&self) -> &Finding;
}

impl HasFinding for Finding {
    fn finding(&self) -> &Finding {
        self
    }
}

impl HasFinding for Suppressed {
    fn finding(&self) -> &Finding {
        &self.finding
    }
}

impl<T: HasFinding> Ord for Ranked<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.item
            .finding()
            .sort_key()
            .cmp(&other.item.finding().sort_key())
            .then(self.seq.cmp(&other.seq))
    }
}

impl<T: HasFinding> PartialOrd for Ranked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: HasFinding> PartialEq for Ranked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl<T: HasFinding> Eq for Ranked<T> {}

/// Loader codes that workload rules report from the model themselves (KCPU003, KCPU017); the
/// loader's copy is used only for values outside workloads (LimitRange, ResourceQuota).
const MODEL_CODES: [&str; 3] = [
    "invalid-quantity",
    "unknown-resources-key",
    "unknown-resource-name",
];

fn loader_finding(issue: &LoadIssue, policy_spans: &BTreeSet<Span>) -> Option<Finding> {
    let meta = if MODEL_CODES.contains(&issue.code) {
        if !policy_spans.contains(&issue.span) {
            return None;
        }
        if issue.code == "invalid-quantity" {
            rules::invalid_quantity::RULE.meta
        } else {
            rules::ignored_resources_key::RULE.meta
        }
    } else {
        rules::input_error::RULE.meta
    };
    let mut f = meta.finding(issue.message.clone(), issue.span);
    if meta.id == rules::input_error::RULE.meta.id {
        f.severity = match issue.level {
            IssueLevel::Error => Severity::Error,
            IssueLevel::Warning => Severity::Warning,
            IssueLevel::Note => Severity::Info,
        };
        f.message = format!("{} [{}]", issue.message, issue.code);
    }
    f.help = issue.hint.clone();
    Some(f)
}

/// Applies the policy's severity to a rule's findings. A finding the rule itself made milder
/// than the rule's default (KCPU003 on a non-CPU resource is a warning) stays at most that
/// mild: the policy can lower it further, not raise it.
fn stamp(out: &mut [Finding], rule: &Rule, policy: &Policy) {
    let sev = policy.severity(rule.meta.id, rule.meta.default_severity);
    for f in out {
        f.severity = if f.severity < rule.meta.default_severity {
            sev.min(f.severity)
        } else {
            sev
        };
    }
}

/// The source a workload comes from, as the rules see it.
struct Source<'a> {
    text: &'a str,
    name: &'a str,
    traces: &'a dyn predict::TraceSource,
}

fn check_workload(
    w: &Workload,
    lrs: &[&LimitRange],
    policy: &Policy,
    assumptions: &Assumptions,
    source: &Source<'_>,
) -> WorkloadOutcome {
    let applied = defaults::apply_limit_ranges(w, lrs);
    let (eff, defaulted): (&Workload, &[Defaulted]) = match &applied {
        Some((copy, d)) => (copy, d),
        None => (w, &[]),
    };
    let cx = WorkloadCx::new(eff, defaulted, lrs, policy, assumptions, source.text)
        .with_traces(source.name, source.traces);
    let subject = cx.subject(None);
    let mut findings = Vec::new();
    let mut ran = Vec::new();
    for rule in rules::RULES {
        if let Check::Workload(f) = rule.check {
            if policy.enabled(rule.meta.id) {
                let mut out = Vec::new();
                f(&cx, &mut out);
                stamp(&mut out, rule, policy);
                findings.extend(out);
                ran.push(rule.meta.id);
            }
        }
    }
    // Inline ignores: the object's annotation, then the pod template's.
    let mut ignores = Vec::new();
    for meta in [&w.metadata, &w.template_metadata] {
        if let Some(a) = meta.annotations.get(ignore::IGNORE_ANNOTATION) {
            ignores.extend(ignore::parse(a));
        }
    }
    let ignore_rule = &rules::ignore_annotation::RULE;
    if policy.enabled(ignore_rule.meta.id) {
        let mut out = rules::ignore_annotation::check_entries(&ignores);
        stamp(&mut out, ignore_rule, policy);
        findings.extend(out);
        ran.push(ignore_rule.meta.id);
    }
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for mut f in findings {
        if f.subject.is_none() {
            f.subject = Some(subject.clone());
        }
        match ignores.iter().find(|e| e.rule == Some(f.rule)) {
            Some(e) if f.rule != ignore_rule.meta.id => suppressed.push(Suppressed {
                finding: f,
                reason: e.reason.clone(),
            }),
            _ => kept.push(f),
        }
    }
    let totals = rules::pod_totals(&cx);
    WorkloadOutcome {
        findings: kept,
        suppressed,
        totals,
        checked: CheckedWorkload {
            subject,
            span: w.span,
            rules: ran,
        },
    }
}

/// Looks a rule up by id (`KCPU004`, case-insensitive) or name (`suspicious-cpu-unit`).
pub fn lookup(id_or_name: &str) -> Option<&'static Rule> {
    rules::lookup(id_or_name)
}

/// Convenience for callers that only have one text (tests, benches, stdin): loads `text` as
/// source 0 of a fresh source set named `name` and checks it.
pub fn check_text(name: &str, text: &str, policy: &Policy) -> (SourceSet, CheckReport) {
    let mut set = SourceSet::default();
    set.add(crate::source::SourceFile::new(name, text));
    let report = check_sources(&set, policy, &LoadOptions::default());
    (set, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A LimitRange and a ResourceQuota that come after the workloads they govern, in another
    /// file, still apply: the first pass finds them before any workload is checked.
    #[test]
    fn streaming_sees_policy_objects_that_come_later() {
        let mut set = SourceSet::default();
        set.add(crate::source::SourceFile::new(
            "a.yaml",
            "kind: Deployment\nmetadata: {name: a, namespace: ns}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: c\n        resources: {requests: {cpu: 50m}, limits: {cpu: \"4\"}}\n",
        ));
        set.add(crate::source::SourceFile::new(
            "b.yaml",
            "kind: LimitRange\nmetadata: {name: lr, namespace: ns}\nspec:\n  limits:\n  - type: Container\n    min: {cpu: 100m}\n    max: {cpu: \"2\"}\n---\nkind: ResourceQuota\nmetadata: {name: q, namespace: ns}\nspec:\n  hard: {limits.cpu: \"1\"}\n",
        ));
        let policy = Policy::default();
        let opts = LoadOptions::default();
        let full = check_sources(&set, &policy, &opts);
        let rules: Vec<&str> = full.findings.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules.iter().filter(|r| **r == "KCPU014").count(),
            2,
            "{rules:?}"
        );
        assert!(
            rules.contains(&"KCPU015"),
            "quota over the limits total: {rules:?}"
        );
        assert_eq!(full.checked.len(), 1);
        assert_eq!(full.stats.workloads, 1);
        assert_eq!(full.stats.documents, 3);
        let lean = check_streaming(
            &set,
            &policy,
            &opts,
            false,
            MAX_FINDINGS,
            &predict::NoTraces,
        );
        assert_eq!(lean.findings, full.findings);
        assert!(
            lean.checked.is_empty(),
            "only JUnit keeps the workload list"
        );
    }

    /// Batches end at source boundaries and at `BATCH` workloads; every workload is checked
    /// against its own source's text.
    #[test]
    fn streaming_checks_every_batch() {
        let doc = "---\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {limits: {cpu: 100M}}\n";
        let text = doc.repeat(BATCH + 3);
        let (_, report) = check_text("many.yaml", &text, &Policy::default());
        assert_eq!(report.stats.workloads, BATCH + 3);
        let unit = report
            .findings
            .iter()
            .filter(|f| f.rule == "KCPU004")
            .count();
        assert_eq!(unit, BATCH + 3, "one suspicious-unit finding per pod");
    }

    /// Beyond `max_findings` the first findings in output order are kept and the rest counted
    /// by rule; totals, `--fix` counts and the exit-code checks still see every finding.
    #[test]
    fn findings_beyond_the_cap_are_counted_not_kept() {
        let doc = "---\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {requests: {cpu: 2}, limits: {cpu: 1024m}}\n  - name: d\n    resources: {limits: {cpu: 100M}}\n";
        let mut set = SourceSet::default();
        set.add(crate::source::SourceFile::new("m.yaml", doc.repeat(40)));
        let (policy, opts) = (Policy::default(), LoadOptions::default());
        let all = check_streaming(
            &set,
            &policy,
            &opts,
            false,
            MAX_FINDINGS,
            &predict::NoTraces,
        );
        assert_eq!(all.findings.len(), 120, "three findings per pod");
        assert_eq!(all.omitted(), 0);
        let capped = check_streaming(&set, &policy, &opts, false, 7, &predict::NoTraces);
        assert_eq!(
            capped.findings,
            all.findings[..7],
            "the first in output order"
        );
        assert_eq!(capped.omitted(), 113);
        assert_eq!(capped.counts(), all.counts());
        assert_eq!(capped.fixable(), all.fixable());
        let by_rule = capped.omitted_by_rule();
        assert_eq!(by_rule.values().sum::<usize>(), 113);
        assert_eq!(by_rule.len(), 3, "{by_rule:?}");
        // Nothing kept: the errors still fail the run.
        let none = check_streaming(&set, &policy, &opts, false, 0, &predict::NoTraces);
        assert!(none.findings.is_empty());
        assert!(none.fails(Severity::Error));
        assert!(!none.has_input_errors());
        assert_eq!(none.counts(), all.counts());
    }
}
