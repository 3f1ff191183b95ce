//! The manifest model: what kcpu keeps of a workload document, with spans (pure core).
//!
//! Only the fields that CPU translation, linting and capacity planning read are kept; every
//! value that reaches a result carries the [`Span`] of its YAML node.

use crate::quantity::{Quantity, QuantityError};
use crate::source::Span;
use std::collections::BTreeMap;

/// A container's role in the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An entry of `spec.containers`.
    Container,
    /// An entry of `spec.initContainers` that runs to completion before the app starts.
    Init,
    /// A restartable init container (`restartPolicy: Always`, KEP-753 native sidecar).
    Sidecar,
}

impl Role {
    /// Lower-case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Container => "container",
            Role::Init => "init",
            Role::Sidecar => "sidecar",
        }
    }
}

/// One quantity value as written in the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityValue {
    /// The scalar text as written (numbers keep their YAML spelling, e.g. `0.5`, `2`).
    pub raw: String,
    /// Span of the value node.
    pub span: Span,
    /// Span of the key (`cpu:`).
    pub key_span: Span,
    /// The parsed amount (after trimming surrounding white space, as `Quantity.UnmarshalJSON`
    /// does), or why it does not parse.
    pub parsed: Result<Quantity, QuantityError>,
}

/// A `requests:` or `limits:` map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceList {
    /// Resource name → value (`cpu`, `memory`, …), in key order.
    pub entries: BTreeMap<String, QuantityValue>,
    /// Span of the map node, when the map is present.
    pub span: Option<Span>,
}

impl ResourceList {
    /// The entry for `cpu`, if present.
    pub fn cpu(&self) -> Option<&QuantityValue> {
        self.entries.get("cpu")
    }
    /// The entry for `memory`, if present.
    pub fn memory(&self) -> Option<&QuantityValue> {
        self.entries.get("memory")
    }
    /// True when the map is absent or empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A `resources:` block (container or pod level).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resources {
    /// `requests`.
    pub requests: ResourceList,
    /// `limits`.
    pub limits: ResourceList,
    /// Span of the `resources` node, when present.
    pub span: Option<Span>,
    /// Keys under `resources` that Kubernetes ignores (`limit`, `request`, `cpus`, …), with the
    /// span of each key.
    pub unknown_keys: Vec<(String, Span)>,
}

impl Resources {
    /// True when `resources:` was written at all.
    pub fn is_present(&self) -> bool {
        self.span.is_some()
    }
}

/// One container, init container or sidecar.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// `name` (empty when missing).
    pub name: String,
    /// Role in the pod.
    pub role: Role,
    /// Its resources.
    pub resources: Resources,
    /// Span of the container's mapping node.
    pub span: Span,
}

/// The parts of a pod spec kcpu reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodSpec {
    /// `spec.containers`.
    pub containers: Vec<Container>,
    /// `spec.initContainers` (roles `Init` or `Sidecar`), in declaration order.
    pub init_containers: Vec<Container>,
    /// `spec.overhead` (RuntimeClass overhead), as a resource list.
    pub overhead: ResourceList,
    /// Pod-level `spec.resources` (KEP-2837), when present.
    pub resources: Option<Resources>,
    /// Span of the pod spec node.
    pub span: Span,
}

impl PodSpec {
    /// App containers, then init containers, in declaration order.
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(self.containers.iter())
    }
}

/// A string value with the span of its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpannedStr {
    /// The text.
    pub value: String,
    /// Span of the value node.
    pub span: Span,
}

/// Object metadata kcpu uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// `metadata.name` (or `generateName`, or empty).
    pub name: String,
    /// `metadata.namespace`, `None` when absent (the caller defaults it to `default`).
    pub namespace: Option<String>,
    /// `metadata.uid`, when present (used in cgroup paths).
    pub uid: Option<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`, with spans (for `kcpu.dev/*` annotations).
    pub annotations: BTreeMap<String, SpannedStr>,
}

/// One workload: any object that carries a pod spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// `kind` as written (`Deployment`, `Rollout`, …).
    pub kind: String,
    /// `apiVersion` as written (empty when missing).
    pub api_version: String,
    /// Object metadata.
    pub metadata: Metadata,
    /// Metadata of the pod template (empty for a bare Pod).
    pub template_metadata: Metadata,
    /// `spec.replicas` (`None` when absent or not applicable).
    pub replicas: Option<u32>,
    /// `status.qosClass` of a stored Pod (wins over recomputation, as in `GetPodQOS`).
    pub status_qos: Option<String>,
    /// The pod spec.
    pub pod: PodSpec,
    /// Span of the object's mapping node (its first key).
    pub span: Span,
    /// 0-based index of the YAML document in its source.
    pub doc_index: usize,
    /// Index path inside `kind: List` items (empty for a top-level object).
    pub list_path: Vec<usize>,
}

/// The annotation that declares the load of a pod's first app container, in the load grammar
/// of `kcpu simulate`/`kcpu run` (read by `check` KCPU016, `simulate`, `run` and `report`).
pub const LOAD_ANNOTATION: &str = "kcpu.dev/load";
/// Per-container form, `kcpu.dev/load.<container>`; it wins over [`LOAD_ANNOTATION`].
pub const LOAD_ANNOTATION_PREFIX: &str = "kcpu.dev/load.";

/// The load text of a `kcpu.dev/load*` annotation with a relative `trace:` path made relative to
/// the manifest's directory (`manifest` is the manifest's path as given; `<stdin>` and absolute
/// paths are left alone). Other profiles are returned unchanged.
pub fn resolve_annotation_load(text: &str, manifest: &str) -> String {
    let Some(path) = text.trim().strip_prefix("trace:") else {
        return text.to_string();
    };
    let p = std::path::Path::new(path);
    if p.is_absolute() || manifest == "<stdin>" || manifest == "-" {
        return text.to_string();
    }
    match std::path::Path::new(manifest).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => format!("trace:{}", dir.join(p).display()),
        _ => text.to_string(),
    }
}

impl Workload {
    /// The declared load of `container` and the annotation key it came from:
    /// `kcpu.dev/load.<container>`, else `kcpu.dev/load` when `first_app` (the container is
    /// the pod's first app container). Object annotations win over the pod template's.
    pub fn declared_load(&self, container: &str, first_app: bool) -> Option<(String, &SpannedStr)> {
        let per = format!("{LOAD_ANNOTATION_PREFIX}{container}");
        if let Some(a) = self.annotation(&per) {
            return Some((per, a));
        }
        if first_app {
            return self
                .annotation(LOAD_ANNOTATION)
                .map(|a| (LOAD_ANNOTATION.to_string(), a));
        }
        None
    }

    /// The namespace, defaulting to `default`.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// An annotation from the object or its pod template (object wins).
    pub fn annotation(&self, key: &str) -> Option<&SpannedStr> {
        self.metadata
            .annotations
            .get(key)
            .or_else(|| self.template_metadata.annotations.get(key))
    }
}

/// Other objects kcpu understands besides workloads (for `check` and `report`).
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A workload with a pod spec.
    Workload(Box<Workload>),
    /// A `LimitRange`: per-namespace container defaults.
    LimitRange(LimitRange),
    /// A `ResourceQuota`: per-namespace totals.
    ResourceQuota(ResourceQuota),
    /// A `HorizontalPodAutoscaler`.
    Hpa(Hpa),
}

/// The CPU-relevant part of a `LimitRange` item of `type: Container`.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitRange {
    /// Object name.
    pub name: String,
    /// Namespace (`None` → `default`).
    pub namespace: Option<String>,
    /// `default` (default limits).
    pub default_limits: ResourceList,
    /// `defaultRequest`.
    pub default_requests: ResourceList,
    /// `max`.
    pub max: ResourceList,
    /// `min`.
    pub min: ResourceList,
    /// Span of the object.
    pub span: Span,
}

/// The CPU-relevant part of a `ResourceQuota`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceQuota {
    /// Object name.
    pub name: String,
    /// Namespace (`None` → `default`).
    pub namespace: Option<String>,
    /// `spec.hard` (keys such as `requests.cpu`, `limits.cpu`, `cpu`).
    pub hard: ResourceList,
    /// Span of the object.
    pub span: Span,
}

/// The scaling bounds of a `HorizontalPodAutoscaler`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hpa {
    /// Object name.
    pub name: String,
    /// Namespace (`None` → `default`).
    pub namespace: Option<String>,
    /// `spec.scaleTargetRef.kind`.
    pub target_kind: String,
    /// `spec.scaleTargetRef.name`.
    pub target_name: String,
    /// `spec.minReplicas`.
    pub min_replicas: Option<u32>,
    /// `spec.maxReplicas`.
    pub max_replicas: u32,
    /// Span of the object.
    pub span: Span,
}

/// Severity of a loader diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueLevel {
    /// Information (a document recognised and skipped on purpose, such as a patch).
    Note,
    /// The document still produced a result.
    Warning,
    /// The document (or a value in it) could not be used.
    Error,
}

/// A loader diagnostic (syntax error, budget exceeded, unknown `resources` key, bad quantity).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoadIssue {
    /// Warning or error.
    pub level: IssueLevel,
    /// Short stable code, e.g. `yaml-syntax`, `unknown-resources-key`, `invalid-quantity`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
    /// Where the object starts in its source.
    pub span: Span,
}

#[cfg(test)]
mod load_path_tests {
    use super::*;

    #[test]
    fn annotation_paths_follow_the_manifest() {
        assert_eq!(
            resolve_annotation_load("trace:t.csv", "deploy/app.yaml"),
            "trace:deploy/t.csv"
        );
        assert_eq!(
            resolve_annotation_load("trace:t.csv", "app.yaml"),
            "trace:t.csv"
        );
        assert_eq!(
            resolve_annotation_load("trace:/x/t.csv", "d/a.yaml"),
            "trace:/x/t.csv"
        );
        assert_eq!(
            resolve_annotation_load("trace:t.csv", "<stdin>"),
            "trace:t.csv"
        );
        assert_eq!(
            resolve_annotation_load("spin:threads=1", "d/a.yaml"),
            "spin:threads=1"
        );
    }
}
