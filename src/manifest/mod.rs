//! Manifest loading: YAML/JSON text → workloads with spans (pure core).
//!
//! [`visit_source`] splits a source into YAML documents itself (on `---` / `...` marker lines at
//! column 0, as the YAML spec defines document boundaries), so one bad document never hides the
//! others and memory stays proportional to the largest document, not the stream. Each
//! document is read by serde-saphyr into the permissive structs of [`raw`], with budgets on
//! (depth, nodes, aliases, document size), and converted to the [`model`] with absolute byte
//! spans.

pub mod kinds;
pub mod model;
pub(crate) mod raw;
pub mod yaml_number;

use crate::quantity;
use crate::source::{SourceId, Span};
use model::*;
use raw::{Lenient, RawContainer, RawObject, RawResourceList, RawResources, RawSpec, Text};
use serde_saphyr::{Location, Spanned};
use std::collections::BTreeMap;

/// Limits applied to every document.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Largest document, in bytes.
    pub max_document_bytes: usize,
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most nodes in one document, at least; the budget grows with the document's size (one
    /// node per two bytes of text), because a `kubectl get -A -o yaml` dump is a single `kind:
    /// List` document with millions of nodes. Alias bombs are still stopped: their text is small
    /// and it is the aliases that multiply the nodes.
    pub max_nodes: usize,
    /// Most alias references in one document.
    pub max_aliases: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_document_bytes: 32 << 20,
            max_depth: 64,
            max_nodes: 500_000,
            max_aliases: 10_000,
        }
    }
}

/// Most diagnostics kept per code (per [`Loaded`]); the rest are only counted in
/// [`LoadStats::omitted`], so a million bad documents cost neither a million lines nor their
/// memory.
pub const MAX_ISSUES_PER_CODE: usize = 20;

/// What loading a source produced besides the objects themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    /// Documents read (empty documents excluded).
    pub documents: usize,
    /// Kubernetes objects seen (documents and `List` items with a `kind`).
    pub objects: usize,
    /// Documents that are not YAML or JSON at all.
    pub unparsed: usize,
    /// Documents skipped because they hold no pod template, by kind.
    pub skipped: BTreeMap<String, usize>,
    /// Diagnostics not kept beyond [`MAX_ISSUES_PER_CODE`], by code and level.
    pub omitted: BTreeMap<(&'static str, IssueLevel), usize>,
}

impl LoadStats {
    /// Why the input as a whole is unusable, if it is: it holds no document, or no document
    /// is a Kubernetes object (every command then exits 2, so that a failed `helm template |
    /// kcpu check -` fails CI instead of checking nothing).
    pub fn emptiness(&self) -> Option<&'static str> {
        emptiness(self.documents, self.objects, self.unparsed)
    }

    /// Adds another source's counters.
    pub fn add(&mut self, other: LoadStats) {
        self.documents += other.documents;
        self.objects += other.objects;
        self.unparsed += other.unparsed;
        for (k, n) in other.skipped {
            *self.skipped.entry(k).or_default() += n;
        }
        for (k, n) in other.omitted {
            *self.omitted.entry(k).or_default() += n;
        }
    }

    /// Total number of omitted diagnostics.
    pub fn omitted_total(&self) -> usize {
        self.omitted.values().sum()
    }
}

/// Why a whole input of `documents` documents, `objects` Kubernetes objects and `unparsed`
/// unparsable documents is unusable (see [`LoadStats::emptiness`]).
pub fn emptiness(documents: usize, objects: usize, unparsed: usize) -> Option<&'static str> {
    if documents == 0 {
        Some("the input holds no YAML or JSON documents")
    } else if objects == 0 && unparsed < documents {
        Some("the input holds no Kubernetes object (no document has a `kind`)")
    } else {
        None
    }
}

/// Appends `issue` unless [`MAX_ISSUES_PER_CODE`] issues of its code are already kept, in
/// which case it is counted in `omitted`.
pub fn push_capped(
    issues: &mut Vec<LoadIssue>,
    counts: &mut BTreeMap<&'static str, usize>,
    omitted: &mut BTreeMap<(&'static str, IssueLevel), usize>,
    issue: LoadIssue,
) {
    let n = counts.entry(issue.code).or_insert(0);
    if *n < MAX_ISSUES_PER_CODE {
        *n += 1;
        issues.push(issue);
    } else {
        *omitted.entry((issue.code, issue.level)).or_insert(0) += 1;
    }
}

fn issue_counts(issues: &[LoadIssue]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for i in issues {
        *counts.entry(i.code).or_insert(0) += 1;
    }
    counts
}

/// Everything loaded from a set of sources (see [`load_source`]).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Workloads and the policy objects kcpu understands, in input order.
    pub objects: Vec<Object>,
    /// Warnings and errors, in input order.
    pub issues: Vec<LoadIssue>,
    /// Documents read, objects kept and kinds skipped.
    pub stats: LoadStats,
}

impl Loaded {
    /// The workloads only.
    pub fn workloads(&self) -> impl Iterator<Item = &Workload> {
        self.objects.iter().filter_map(|o| match o {
            Object::Workload(w) => Some(w.as_ref()),
            _ => None,
        })
    }

    /// True when any issue is an error.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.level == IssueLevel::Error)
    }

    /// Appends another source's result.
    pub fn extend(&mut self, other: Loaded) {
        self.objects.extend(other.objects);
        let mut counts = issue_counts(&self.issues);
        for i in other.issues {
            push_capped(&mut self.issues, &mut counts, &mut self.stats.omitted, i);
        }
        self.stats.add(other.stats);
    }
}

/// Loads every document of one source into memory.
pub fn load_source(id: SourceId, text: &str, opts: &LoadOptions) -> Loaded {
    let mut out = Loaded::default();
    let mut objects = Vec::new();
    let mut issues = Vec::new();
    visit_source(
        id,
        text,
        opts,
        &mut |o| objects.push(o),
        &mut issues,
        &mut out.stats,
    );
    out.objects = objects;
    out.issues = issues;
    out
}

/// Streams the objects of one source to `on_object`, document by document.
pub fn visit_source(
    id: SourceId,
    text: &str,
    opts: &LoadOptions,
    on_object: &mut dyn FnMut(Object),
    issues: &mut Vec<LoadIssue>,
    stats: &mut LoadStats,
) {
    let mut counts = issue_counts(issues);
    for (doc_index, (start, doc)) in split_documents(text).into_iter().enumerate() {
        let mut visit = Visit {
            issues: &mut *issues,
            counts: &mut counts,
            stats: &mut *stats,
            on_object: &mut *on_object,
        };
        visit.document(id, doc_index, start, doc, opts);
    }
}

/// Streams the objects of the documents of one source whose text contains one of
/// `needles` (e.g. `LimitRange`), dropping their diagnostics: a cheap first pass that
/// finds the few objects other documents depend on without parsing the whole stream.
pub fn visit_documents_containing(
    id: SourceId,
    text: &str,
    opts: &LoadOptions,
    needles: &[&str],
    on_object: &mut dyn FnMut(Object),
) {
    let mut counts = BTreeMap::new();
    for (doc_index, (start, doc)) in split_documents(text).into_iter().enumerate() {
        if !needles.iter().any(|n| doc.contains(n)) {
            continue;
        }
        let mut visit = Visit {
            issues: &mut Vec::new(),
            counts: &mut counts,
            stats: &mut LoadStats::default(),
            on_object: &mut *on_object,
        };
        visit.document(id, doc_index, start, doc, opts);
    }
}

/// Where one document's objects, diagnostics and counters go.
struct Visit<'a> {
    issues: &'a mut Vec<LoadIssue>,
    counts: &'a mut BTreeMap<&'static str, usize>,
    stats: &'a mut LoadStats,
    on_object: &'a mut dyn FnMut(Object),
}

impl Visit<'_> {
    /// Reads document `doc_index` (text `doc`, starting at byte `start` of source `id`).
    fn document(
        &mut self,
        id: SourceId,
        doc_index: usize,
        start: usize,
        doc: &str,
        opts: &LoadOptions,
    ) {
        let (issues, counts, stats) = (&mut *self.issues, &mut *self.counts, &mut *self.stats);
        if is_blank_document(doc) {
            return;
        }
        stats.documents += 1;
        let mut omitted = BTreeMap::new();
        let base = Base {
            source: id,
            offset: start,
        };
        if doc.len() > opts.max_document_bytes {
            stats.unparsed += 1;
            push_capped(
                issues,
                counts,
                &mut stats.omitted,
                LoadIssue {
                    level: IssueLevel::Error,
                    code: "yaml-budget",
                    message: format!(
                        "document is {} bytes, more than the limit of {}",
                        doc.len(),
                        opts.max_document_bytes
                    ),
                    hint: Some(
                        "split the document, or check that this is really a manifest".into(),
                    ),
                    span: Span::new(id, start, start),
                },
            );
            return;
        }
        if let Some(patch) = json_patch(doc) {
            // A JSON 6902 patch (kustomize `patches:`) is not an object: note it, skip it.
            stats.objects += 1;
            *stats.skipped.entry("(JSON patch)".into()).or_default() += 1;
            let span = Span::new(id, start + patch, start + patch);
            push_capped(issues, counts, &mut stats.omitted, LoadIssue {
                level: IssueLevel::Note,
                code: "partial-object",
                message: "a JSON patch (a list of `op`/`path` operations), not an object; skipped".into(),
                hint: Some("kcpu reads rendered manifests: run `kustomize build` (or `kubectl kustomize`) and check its output".into()),
                span,
            });
            return;
        }
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_depth: opts.max_depth,
                max_nodes: opts.max_nodes.max(doc.len() / 2),
                max_events: 1_000_000usize.max(doc.len()),
                max_aliases: opts.max_aliases,
                max_documents: 1,
            },
        };
        match serde_saphyr::from_str_with_options::<Option<Spanned<RawObject>>>(doc, options) {
            Ok(Some(obj)) => {
                let mut cx = Cx {
                    base,
                    issues,
                    doc_index,
                    on_object: &mut *self.on_object,
                    counts,
                    omitted: &mut omitted,
                    json: doc
                        .trim_start_matches(|c: char| c.is_whitespace() || c == '-')
                        .starts_with('\u{7b}'), // an opening brace, escaped for brace counters
                    doc,
                };
                cx.object(obj, Vec::new(), stats);
            }
            Ok(None) => stats.documents -= 1,
            Err(e) => {
                stats.unparsed += 1;
                push_capped(issues, counts, &mut omitted, yaml_error(&e, base, doc));
            }
        }
        for (k, n) in omitted {
            *stats.omitted.entry(k).or_insert(0) += n;
        }
    }
}

/// The offset of the first operation when `doc` is a JSON 6902 patch: a top-level sequence
/// whose first item is a mapping with `op` and `path` keys (block or flow style).
fn json_patch(doc: &str) -> Option<usize> {
    let body = doc
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "---")
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let first = body
        .strip_prefix("- ")
        // "[\u{7b}": a sequence opening a mapping, escaped so that brace counters stay balanced.
        .or_else(|| {
            body.strip_prefix("[\u{7b}")
                .or_else(|| body.strip_prefix("[ \u{7b}"))
        })?;
    let has = |k: &str| {
        first.contains(&format!("{k}:"))
            || first.contains(&format!("\"{k}\":"))
            || first.contains(&format!("\"{k}\" :"))
    };
    (has("op") && has("path")).then(|| doc.find(['-', '[']).unwrap_or(0))
}

/// Splits a stream at YAML document markers. Each piece starts at its `---` line (kept, so
/// positions stay exact) and is returned with its byte offset in `text`.
pub fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut pos = 0usize;
    let mut in_doc_content = false;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        let is_start = l == "---" || l.starts_with("--- ") || l.starts_with("---\t");
        let is_end = l == "..." || l.starts_with("... ");
        if is_start {
            if in_doc_content || pos > start && !is_blank_document(&text[start..pos]) {
                out.push((start, &text[start..pos]));
            }
            start = pos;
            in_doc_content = false;
        } else if is_end {
            out.push((start, &text[start..pos]));
            start = pos + line.len();
            in_doc_content = false;
        } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            in_doc_content = true;
        }
        pos += line.len();
    }
    if start < text.len() {
        out.push((start, &text[start..]));
    }
    out
}

fn is_blank_document(doc: &str) -> bool {
    doc.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t.starts_with('%')
    })
}

#[derive(Clone, Copy)]
struct Base {
    source: SourceId,
    offset: usize,
}

impl Base {
    fn span(&self, loc: &Location) -> Span {
        let sp = loc.span();
        match sp.byte_offset() {
            Some(off) => {
                let start = self.offset + off as usize;
                Span::new(
                    self.source,
                    start,
                    start + sp.byte_len().unwrap_or(0) as usize,
                )
            }
            None => Span::new(self.source, self.offset, self.offset),
        }
    }
    fn spanned<T>(&self, s: &Spanned<T>) -> Span {
        self.span(&s.referenced)
    }
    /// Span of the text as written (the anchor's node when the value came through an alias).
    fn defined<T>(&self, s: &Spanned<T>) -> Span {
        self.span(&s.defined)
    }
}

/// The parser's message in the user's terms: no configuration names of the YAML library
/// (`set DuplicateKeyPolicy in Options`) and no Rust debug output (`Depth { depth: 65 }`).
pub fn plain_yaml_message(message: &str) -> String {
    if let Some((head, _)) = message.split_once(", set DuplicateKeyPolicy") {
        return format!("{head} (a key may appear only once in a mapping)");
    }
    if let Some(rest) = message.strip_prefix("budget breached: ") {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let mut words = String::new();
        for c in name.chars() {
            if c.is_ascii_uppercase() && !words.is_empty() {
                words.push(' ');
            }
            words.push(c.to_ascii_lowercase());
        }
        let number: String = rest
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        return if number.is_empty() {
            format!("the document exceeds kcpu's limit on {words}")
        } else {
            format!("the document exceeds kcpu's limit on {words} (stopped at {number})")
        };
    }
    message.to_string()
}

/// The message of a YAML parser error without its position and snippet: serde-saphyr's
/// `Display` adds a source snippet; this keeps the first line, minus its
/// `"error: line L column C: "` prefix (kcpu prints its own `file:line:col`). Shared by the
/// manifest loader and the policy loader.
pub fn yaml_error_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
        _ => first.to_string(),
    }
}

fn yaml_error(e: &serde_saphyr::Error, base: Base, doc: &str) -> LoadIssue {
    let message = yaml_error_message(e);
    let offset = e
        .location()
        .map(|l| {
            let idx = crate::source::LineIndex::new(doc);
            let line_start = idx.line_start(l.line() as usize);
            let col = (l.column() as usize).saturating_sub(1);
            let rest = doc.get(line_start..).unwrap_or("");
            line_start + rest.char_indices().nth(col).map_or(rest.len(), |(b, _)| b)
        })
        .unwrap_or(0);
    let budget = message.contains("budget");
    let message = plain_yaml_message(&message);
    LoadIssue {
        level: IssueLevel::Error,
        code: if budget { "yaml-budget" } else { "yaml-syntax" },
        hint: Some(if budget {
            "the document is larger or deeper than kcpu accepts (alias bombs are stopped this way)"
                .into()
        } else {
            "fix the YAML here; the other documents were still read".into()
        }),
        message,
        span: Span::new(base.source, base.offset + offset, base.offset + offset),
    }
}

struct Cx<'a> {
    base: Base,
    issues: &'a mut Vec<LoadIssue>,
    doc_index: usize,
    on_object: &'a mut dyn FnMut(Object),
    counts: &'a mut BTreeMap<&'static str, usize>,
    omitted: &'a mut BTreeMap<(&'static str, IssueLevel), usize>,
    /// The document is JSON (`{` first): numbers keep their text on the API path.
    json: bool,
    /// The document's text (`base.offset` is its start in the source).
    doc: &'a str,
}

fn text(t: Text) -> String {
    t.0.unwrap_or_default()
}

impl Cx<'_> {
    fn push(
        &mut self,
        level: IssueLevel,
        code: &'static str,
        message: String,
        hint: Option<String>,
        span: Span,
    ) {
        let issue = LoadIssue {
            level,
            code,
            message,
            hint,
            span,
        };
        push_capped(self.issues, self.counts, self.omitted, issue);
    }
    fn note(&mut self, code: &'static str, message: String, hint: Option<String>, span: Span) {
        self.push(IssueLevel::Note, code, message, hint, span);
    }
    fn warn(&mut self, code: &'static str, message: String, hint: Option<String>, span: Span) {
        self.push(IssueLevel::Warning, code, message, hint, span);
    }
    fn error(&mut self, code: &'static str, message: String, hint: Option<String>, span: Span) {
        self.push(IssueLevel::Error, code, message, hint, span);
    }

    fn object(&mut self, obj: Spanned<RawObject>, list_path: Vec<usize>, stats: &mut LoadStats) {
        let span = self.base.spanned(&obj);
        let o = obj.value;
        let kind = o
            .kind
            .as_ref()
            .and_then(|k| k.value.0.clone())
            .unwrap_or_default();
        if !o.items.0.is_empty() {
            for (i, item) in o.items.0.into_iter().enumerate() {
                let mut p = list_path.clone();
                p.push(i);
                self.object(item, p, stats);
            }
            return;
        }
        if kind.is_empty() {
            self.warn(
                "missing-kind",
                "document has no `kind`; skipped".into(),
                Some("add `kind:` (Deployment, Pod, …)".into()),
                span,
            );
            *stats.skipped.entry("(no kind)".into()).or_default() += 1;
            return;
        }
        stats.objects += 1;
        let meta = self.metadata(o.metadata);
        let spec = o
            .spec
            .map(|s| (self.base.spanned(&s), s.value.0.unwrap_or_default()));
        match kind.as_str() {
            "LimitRange" => return self.limit_range(meta, spec.map(|s| s.1), span),
            "ResourceQuota" => return self.resource_quota(meta, spec.map(|s| s.1), span),
            "HorizontalPodAutoscaler" => return self.hpa(meta, spec.map(|s| s.1), span),
            _ => {}
        }
        let (pod, template_meta, replicas) = self.locate_pod(&kind, spec, o.template);
        let builtin = kinds::pod_path(&kind).is_some();
        if builtin && pod.is_none() {
            // No pod spec at all (`spec.template` missing): a strategic-merge patch or an
            // overlay fragment, which kustomize completes. Not an error; nothing to translate.
            self.note(
                "partial-object",
                format!("{kind} {:?} has no pod template: a partial object (a patch or overlay?); skipped", meta.name),
                Some("kcpu reads complete manifests: run `kustomize build` (or `helm template`) and check its output".into()),
                span,
            );
            *stats
                .skipped
                .entry(format!("{kind} (partial)"))
                .or_default() += 1;
            return;
        }
        let Some((pod_span, pod)) = pod.filter(|(_, p)| p.containers.is_some()) else {
            if builtin {
                self.error(
                    "no-containers",
                    format!("{kind} has no pod spec with `containers`"),
                    Some("a pod template needs `spec.containers` (Pod) or `spec.template.spec.containers`".into()),
                    span,
                );
            } else {
                *stats.skipped.entry(kind).or_default() += 1;
            }
            return;
        };
        let status_qos = if kind == "Pod" {
            o.status.0.and_then(|s| s.qos_class.0)
        } else {
            None
        };
        let pod = self.pod_spec(pod, pod_span);
        let template_metadata = template_meta
            .map(|m| self.metadata(Lenient(Some(m))))
            .unwrap_or_default();
        let w = Workload {
            kind,
            api_version: text(o.api_version),
            metadata: meta,
            template_metadata,
            replicas,
            status_qos,
            pod,
            span,
            doc_index: self.doc_index,
            list_path,
        };
        (self.on_object)(Object::Workload(Box::new(w)));
    }

    /// Where `kind` keeps its pod spec: `spec` (Pod), `template.spec` (PodTemplate), or a
    /// workload's `spec.template.spec` / `spec.jobTemplate.spec.template.spec`. Returns the pod
    /// spec with its span, the template's metadata, and `spec.replicas` of a workload.
    fn locate_pod(
        &self,
        kind: &str,
        spec: Option<(Span, RawSpec)>,
        template: Lenient<raw::RawTemplate>,
    ) -> (Option<(Span, RawSpec)>, Option<raw::RawMeta>, Option<u32>) {
        match kinds::pod_path(kind) {
            Some(kinds::PodPath::Spec) => (spec, None, None),
            Some(kinds::PodPath::Template) => {
                let (pod, meta) = self.template_pod(template.0.unwrap_or_default());
                (pod, meta, None)
            }
            _ => match spec {
                Some((_, s)) => {
                    let replicas = s
                        .replicas
                        .0
                        .as_deref()
                        .and_then(|r| r.trim().parse::<u32>().ok());
                    let (pod, meta) = if let Some(jt) = s.job_template.0 {
                        let t = jt
                            .spec
                            .0
                            .and_then(|js| js.template)
                            .and_then(|t| t.value.0)
                            .unwrap_or_default();
                        self.template_pod(t)
                    } else if let Some(t) = s.template.and_then(|t| t.value.0) {
                        self.template_pod(t)
                    } else {
                        (None, None)
                    };
                    (pod, meta, replicas)
                }
                None => (None, None, None),
            },
        }
    }

    /// A pod template's spec (with its span) and metadata.
    fn template_pod(&self, t: raw::RawTemplate) -> (Option<(Span, RawSpec)>, Option<raw::RawMeta>) {
        (
            t.spec
                .map(|s| (self.base.spanned(&s), s.value.0.unwrap_or_default())),
            t.metadata.0,
        )
    }

    fn metadata(&mut self, m: Lenient<raw::RawMeta>) -> Metadata {
        let Some(m) = m.0 else {
            return Metadata::default();
        };
        let name = m.name.0.or(m.generate_name.0).unwrap_or_default();
        let labels = m
            .labels
            .0
            .map(|p| p.0)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| Some((k.0?, v.0.unwrap_or_default())))
            .collect();
        let annotations = m
            .annotations
            .0
            .map(|p| p.0)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| {
                let span = self.base.defined(&v);
                Some((
                    k.0?,
                    SpannedStr {
                        value: v.value.0.unwrap_or_default(),
                        span,
                    },
                ))
            })
            .collect();
        Metadata {
            name,
            namespace: m.namespace.0,
            uid: m.uid.0,
            labels,
            annotations,
        }
    }

    fn pod_spec(&mut self, s: RawSpec, span: Span) -> PodSpec {
        let containers = s
            .containers
            .unwrap_or_default()
            .into_iter()
            .map(|c| self.container(c, false))
            .collect();
        let init_containers = s
            .init_containers
            .unwrap_or_default()
            .into_iter()
            .map(|c| self.container(c, true))
            .collect();
        let overhead = s
            .overhead
            .map(|o| self.resource_list(o, "overhead"))
            .unwrap_or_default();
        let resources = s.resources.map(|r| self.resources(r, "pod-level"));
        PodSpec {
            containers,
            init_containers,
            overhead,
            resources,
            span,
        }
    }

    fn container(&mut self, c: Spanned<RawContainer>, init: bool) -> Container {
        let span = self.base.spanned(&c);
        let c = c.value;
        let role = match (init, c.restart_policy.and_then(|p| p.0).as_deref()) {
            (true, Some("Always")) => Role::Sidecar,
            (true, _) => Role::Init,
            (false, _) => Role::Container,
        };
        let name = c.name.and_then(|n| n.0).unwrap_or_default();
        let resources = c
            .resources
            .map(|r| self.resources(r, &name))
            .unwrap_or_default();
        Container {
            name,
            role,
            resources,
            span,
        }
    }

    fn resources(&mut self, r: Spanned<RawResources>, owner: &str) -> Resources {
        let span = self.base.spanned(&r);
        let r = r.value;
        let mut unknown_keys = Vec::new();
        for k in r.unknown {
            let ks = self.base.spanned(&k);
            let hint = match k.value.as_str() {
                "limit" | "limts" | "limmits" | "Limits" => {
                    Some("did you mean `limits`?".to_string())
                }
                "request" | "requets" | "reqests" | "Requests" => {
                    Some("did you mean `requests`?".to_string())
                }
                "cpu" | "cpus" | "memory" => Some(format!(
                    "`{}` must sit under `requests:` or `limits:`",
                    k.value
                )),
                _ => {
                    Some("Kubernetes reads only `requests`, `limits` and `claims` here".to_string())
                }
            };
            self.warn(
                "unknown-resources-key",
                format!(
                    "unknown key `{}` under `resources` of {owner:?} is ignored by Kubernetes",
                    k.value
                ),
                hint,
                ks,
            );
            unknown_keys.push((k.value, ks));
        }
        let requests = r
            .requests
            .map(|l| self.resource_list(l, owner))
            .unwrap_or_default();
        let limits = r
            .limits
            .map(|l| self.resource_list(l, owner))
            .unwrap_or_default();
        Resources {
            requests,
            limits,
            span: Some(span),
            unknown_keys,
        }
    }

    fn resource_list(&mut self, l: Spanned<RawResourceList>, owner: &str) -> ResourceList {
        let span = self.base.spanned(&l);
        let mut entries = BTreeMap::new();
        for (k, v) in l.value.0 {
            let key_span = self.base.spanned(&k);
            let vspan = self.base.defined(&v);
            let raw = v.value.unwrap_or_default();
            let mut parsed = quantity::parse_manifest(&raw);
            if self.is_plain_scalar(vspan) {
                parsed = self.api_number(&raw, parsed, &k.value, owner, vspan);
            }
            match (&parsed, k.value.as_str()) {
                // Memory decides the QoS class (and so the cgroup tier and shares); any other
                // resource cannot change a CPU value.
                (Err(e), key) if key != "cpu" && key != "memory" => self.warn(
                    "invalid-quantity",
                    format!(
                        "invalid {} quantity {raw:?} in {owner:?}: {}; not a CPU value, so the CPU values are still used",
                        k.value, e.reason
                    ),
                    Some("unless it is substituted before apply (a template placeholder?), the API server rejects the object".into()),
                    vspan,
                ),
                (Err(e), _) => self.error(
                    "invalid-quantity",
                    format!(
                        "invalid {} quantity {raw:?} in {owner:?}: {}",
                        k.value, e.reason
                    ),
                    e.hint.clone(),
                    vspan,
                ),
                (Ok(q), _) if q.is_negative() => self.error(
                    "invalid-quantity",
                    format!("negative {} quantity {raw:?} in {owner:?}", k.value),
                    Some("requests and limits must be zero or more".into()),
                    vspan,
                ),
                (
                    Ok(_),
                    "cpus" | "CPU" | "Cpu" | "cores" | "vcpu" | "vcpus" | "mem" | "Memory" | "ram",
                ) => self.warn(
                    "unknown-resource-name",
                    format!(
                        "resource name `{}` in {owner:?} is not a standard resource",
                        k.value
                    ),
                    Some(format!(
                        "did you mean `{}`?",
                        if k.value.to_lowercase().starts_with('c') || k.value.starts_with('v') {
                            "cpu"
                        } else {
                            "memory"
                        }
                    )),
                    key_span,
                ),
                _ => {}
            }
            entries.insert(
                k.value,
                QuantityValue {
                    raw,
                    span: vspan,
                    key_span,
                    parsed,
                },
            );
        }
        ResourceList {
            entries,
            span: Some(span),
        }
    }

    /// True when the value at `span` is a plain scalar (not quoted, not a block scalar, not
    /// tagged, not an alias) in a YAML document.
    fn is_plain_scalar(&self, span: Span) -> bool {
        if self.json {
            return false;
        }
        let at = span.start.checked_sub(self.base.offset);
        at.and_then(|i| self.doc.get(i..))
            .and_then(|t| t.chars().next())
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
    }

    /// The quantity the API server reads from an unquoted number (see [`yaml_number`]), with
    /// a warning when it differs from the digits as written.
    fn api_number(
        &mut self,
        raw: &str,
        exact: Result<quantity::Quantity, quantity::QuantityError>,
        key: &str,
        owner: &str,
        span: Span,
    ) -> Result<quantity::Quantity, quantity::QuantityError> {
        use yaml_number::ApiScalar;
        let (json, kind) = match yaml_number::api_text(raw) {
            ApiScalar::Text => return exact,
            ApiScalar::Integer(t) => (t, "an integer"),
            ApiScalar::Float(Some(t)) => (t, "a float64"),
            ApiScalar::Float(None) => {
                return Err(quantity::QuantityError {
                    input: raw.to_string(),
                    reason: "an unquoted infinity or NaN is a float64 that JSON cannot encode"
                        .into(),
                    hint: Some("write a number, e.g. \"2\" or \"500m\"".into()),
                    kind: quantity::QuantityErrorKind::Syntax,
                })
            }
        };
        if json == raw {
            return exact;
        }
        let api = quantity::parse_manifest(&json);
        let same = match (&exact, &api) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same {
            let shown = |r: &Result<quantity::Quantity, quantity::QuantityError>| match r {
                Ok(q) => format!("{}m", q.milli_value()),
                Err(_) => "invalid".to_string(),
            };
            let lossy = kind == "a float64";
            self.warn(
                "unquoted-number",
                format!(
                    "unquoted {key} value {raw} in {owner:?} is read by the API server as {kind}{}: {json} ({}), not {} as written",
                    if lossy { " (float64, precision lost)" } else { "" },
                    shown(&api),
                    shown(&exact),
                ),
                Some(format!("quote it to keep the exact value: {key}: \"{raw}\"")),
                span,
            );
        }
        api
    }

    fn limit_range(&mut self, metadata: Metadata, spec: Option<RawSpec>, span: Span) {
        let mut lr = LimitRange {
            name: metadata.name,
            namespace: metadata.namespace,
            default_limits: ResourceList::default(),
            default_requests: ResourceList::default(),
            max: ResourceList::default(),
            min: ResourceList::default(),
            span,
        };
        for item in spec.map(|s| s.limits.0).unwrap_or_default() {
            if item.kind.0.as_deref() != Some("Container") {
                continue;
            }
            let owner = format!("LimitRange {}", lr.name);
            if let Some(l) = item.default {
                lr.default_limits = self.resource_list(l, &owner);
            }
            if let Some(l) = item.default_request {
                lr.default_requests = self.resource_list(l, &owner);
            }
            if let Some(l) = item.max {
                lr.max = self.resource_list(l, &owner);
            }
            if let Some(l) = item.min {
                lr.min = self.resource_list(l, &owner);
            }
        }
        (self.on_object)(Object::LimitRange(lr));
    }

    fn resource_quota(&mut self, metadata: Metadata, spec: Option<RawSpec>, span: Span) {
        let owner = format!("ResourceQuota {}", metadata.name);
        let hard = spec
            .and_then(|s| s.hard)
            .and_then(|h| {
                let sp = h.referenced;
                let d = h.defined;
                h.value.0.map(|v| Spanned::new(v, sp, d))
            })
            .map(|h| self.resource_list(h, &owner))
            .unwrap_or_default();
        (self.on_object)(Object::ResourceQuota(ResourceQuota {
            name: metadata.name,
            namespace: metadata.namespace,
            hard,
            span,
        }));
    }

    fn hpa(&mut self, metadata: Metadata, spec: Option<RawSpec>, span: Span) {
        let Some(s) = spec else { return };
        let t = s.scale_target_ref.0.unwrap_or_default();
        let num = |t: Text| t.0.and_then(|v| v.trim().parse::<u32>().ok());
        let Some(max_replicas) = num(s.max_replicas) else {
            self.warn(
                "hpa-no-max",
                format!(
                    "HorizontalPodAutoscaler {} has no valid maxReplicas",
                    metadata.name
                ),
                None,
                span,
            );
            return;
        };
        (self.on_object)(Object::Hpa(Hpa {
            name: metadata.name,
            namespace: metadata.namespace,
            target_kind: text(t.kind),
            target_name: text(t.name),
            min_replicas: num(s.min_replicas),
            max_replicas,
            span,
        }));
    }
}

#[cfg(test)]
mod tests;
