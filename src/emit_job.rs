//! `kcpu run --emit-job` (pure core): turn one workload's pod spec into an indexed Kubernetes
//! Job whose pods measure one container with `kcpu probe`, one run per completion index.
//!
//! What the pods keep from the original, so that the pod and container cgroups are the real
//! ones: every container (app, regular init, sidecar = init container with
//! `restartPolicy: Always`) with its `resources` verbatim (except `claims`, which need the
//! pod's resource claims), pod-level `resources`, `runtimeClassName` (the RuntimeClass
//! admission controller sets `overhead` from it; an explicit `overhead` is dropped because
//! admission rejects one that differs from the RuntimeClass's), `nodeSelector`, `tolerations`
//! and `affinity` (the same node types).
//!
//! What they replace: images (the kcpu image), commands, probes, ports, volumes, env (they
//! would need the app's secrets), the pod's labels (the app's Services must not select the
//! probe pods), and the security context: non-root (65534), no privilege escalation, all
//! capabilities dropped, read-only root, RuntimeDefault seccomp; `kcpu probe` only reads
//! `/proc` and `/sys/fs/cgroup`.
//!
//! The measured container runs `kcpu probe --load … --duration …`; the other app containers
//! idle for the probe's duration plus [`IDLE_MARGIN_S`] (so the pod finishes), regular init
//! containers exit at once, sidecars idle until the kubelet stops them. Every object carries
//! `kcpu.dev/run=<id>` (cleanup: `kubectl delete job,configmap -l kcpu.dev/run=<id>`) and the
//! Job is deleted `ttlSecondsAfterFinished` after it finished. Pods spread over nodes with a
//! `kubernetes.io/hostname` topology spread constraint (ScheduleAnyway) unless `--node-selector`
//! pins them.
//!
//! Job fields follow `k8s.io/api/batch/v1/types.go` (completionMode Indexed: the index is in the
//! `JOB_COMPLETION_INDEX` environment variable of every container).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Seconds the other app containers idle beyond the probe's duration (calibration, start-up).
pub const IDLE_MARGIN_S: u64 = 10;
/// Label every emitted object carries: the run id.
pub const RUN_LABEL: &str = "kcpu.dev/run";
/// Where the trace ConfigMap is mounted in the measured container.
pub const TRACE_DIR: &str = "/kcpu-trace";
/// Largest trace a ConfigMap can carry (the API server's 1 MiB object limit, with headroom).
pub const MAX_TRACE_BYTES: usize = 1_000_000;

/// What the Job runs and how.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    /// The kcpu image (`registry.example/kcpu:0.2`).
    pub image: String,
    /// Run id (label value, part of the names).
    pub run_id: String,
    /// Completions (one run each).
    pub runs: u32,
    /// Pods at a time.
    pub parallelism: u32,
    /// The load, in the `--load` grammar (a trace path already rewritten to [`TRACE_DIR`]).
    pub load: String,
    /// Duration per run, whole seconds.
    pub duration_s: u64,
    /// Seed of run 0 (run i uses seed + i).
    pub seed: u64,
    /// Extra node selector (pins the node type; no spread constraint then).
    pub node_selector: BTreeMap<String, String>,
    /// `ttlSecondsAfterFinished`.
    pub ttl_seconds: u32,
    /// A trace file to ship in a ConfigMap: (file name, content).
    pub trace: Option<(String, String)>,
}

/// The workload and container measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Kind of the workload.
    pub kind: String,
    /// Namespace (empty = the namespace `kubectl apply` uses).
    pub namespace: String,
    /// Workload name.
    pub name: String,
    /// The measured container.
    pub container: String,
}

/// Why a Job cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The object has no pod spec where its kind keeps it.
    #[error("{0}: no pod spec found")]
    NoPodSpec(String),
    /// The container is not in the pod spec.
    #[error("container {container:?} is not in {workload}")]
    NoContainer {
        /// The workload.
        workload: String,
        /// The container.
        container: String,
    },
    /// The trace file is too large for a ConfigMap.
    #[error("the trace is {0} bytes; a ConfigMap holds at most {MAX_TRACE_BYTES}")]
    TraceTooLarge(usize),
}

/// The pod spec of a manifest object (`list_path` indexes into `kind: List` items).
pub fn pod_spec<'a>(object: &'a Value, list_path: &[usize]) -> Option<&'a Value> {
    let mut o = object;
    for &i in list_path {
        o = o.get("items")?.get(i)?;
    }
    let kind = o.get("kind")?.as_str()?;
    use crate::manifest::kinds::{pod_path, PodPath};
    let path: &[&str] = match pod_path(kind) {
        Some(PodPath::Spec) => &["spec"],
        Some(PodPath::SpecTemplate) => &["spec", "template", "spec"],
        Some(PodPath::JobTemplate) => &["spec", "jobTemplate", "spec", "template", "spec"],
        Some(PodPath::Template) => &["template", "spec"],
        None => {
            return o
                .pointer("/spec/template/spec")
                .or_else(|| o.pointer("/spec/jobTemplate/spec/template/spec"))
        }
    };
    let mut v = o;
    for k in path {
        v = v.get(k)?;
    }
    v.is_object().then_some(v)
}

/// A DNS-1123 label of at most `max` characters from `parts` joined by `-`.
pub fn dns_label(parts: &[&str], max: usize) -> String {
    let joined = parts.join("-").to_ascii_lowercase();
    let mut s: String = joined
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.truncate(max);
    s.trim_matches('-').to_string()
}

/// A run id from the inputs (stable, so re-emitting gives the same objects): 10 hex digits.
pub fn run_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn labels(s: &JobSettings, t: &Target) -> Value {
    json!({
        "app.kubernetes.io/managed-by": "kcpu",
        RUN_LABEL: s.run_id,
        "kcpu.dev/workload": dns_label(&[&t.name], 63),
        "kcpu.dev/container": dns_label(&[&t.container], 63),
    })
}

fn security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]},
    })
}

fn field_env(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// One container of the probe pod: name and resources from `orig`, the kcpu image, `args`.
fn container(orig: &Value, image: &str, args: Vec<String>) -> Value {
    let mut c = Map::new();
    c.insert(
        "name".into(),
        orig.get("name").cloned().unwrap_or(json!("")),
    );
    c.insert("image".into(), json!(image));
    c.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    c.insert("args".into(), json!(args));
    if let Some(Value::Object(r)) = orig.get("resources") {
        let mut r = r.clone();
        r.remove("claims");
        c.insert("resources".into(), Value::Object(r));
    }
    if let Some(p) = orig.get("restartPolicy") {
        c.insert("restartPolicy".into(), p.clone());
    }
    c.insert("securityContext".into(), security_context());
    Value::Object(c)
}

fn idle_args(seconds: Option<u64>) -> Vec<String> {
    let mut a = vec!["probe".to_string(), "--idle".to_string()];
    if let Some(s) = seconds {
        a.push("--duration".into());
        a.push(format!("{s}s"));
    }
    a
}

/// The objects for one target: the trace ConfigMap (when a trace is shipped) and the Job.
pub fn emit(pod: &Value, t: &Target, s: &JobSettings) -> Result<Vec<Value>, EmitError> {
    let workload = format!("{} {}/{}", t.kind, t.namespace, t.name);
    let containers = pod
        .get("containers")
        .and_then(Value::as_array)
        .ok_or_else(|| EmitError::NoPodSpec(workload.clone()))?;
    let inits: &[Value] = pod
        .get("initContainers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let is_target = |c: &Value| c.get("name").and_then(Value::as_str) == Some(t.container.as_str());
    if !containers.iter().chain(inits).any(is_target) {
        return Err(EmitError::NoContainer {
            workload,
            container: t.container.clone(),
        });
    }
    let name = dns_label(&["kcpu", &s.run_id, &t.name, &t.container], 52);
    let trace_cm = s.trace.as_ref().map(|_| dns_label(&[&name, "trace"], 63));
    let probe_args = probe_args(t, s);
    let build = |c: &Value, role_args: Vec<String>| -> Value {
        if is_target(c) {
            probe_container(c, &s.image, probe_args.clone(), trace_cm.is_some())
        } else {
            container(c, &s.image, role_args)
        }
    };
    let app: Vec<Value> = containers
        .iter()
        .map(|c| build(c, idle_args(Some(s.duration_s + IDLE_MARGIN_S))))
        .collect();
    let init: Vec<Value> = inits
        .iter()
        .map(|c| {
            let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
            build(c, idle_args(if sidecar { None } else { Some(0) }))
        })
        .collect();
    let labels = labels(s, t);
    let spec = job_pod_spec(pod, s, init, app, trace_cm.as_deref());
    let mut metadata = json!({
        "name": name,
        "labels": labels,
        "annotations": {
            "kcpu.dev/source": workload,
            "kcpu.dev/load": s.load,
        },
    });
    if !t.namespace.is_empty() {
        metadata["namespace"] = json!(t.namespace);
    }
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "completionMode": "Indexed",
            "completions": s.runs,
            "parallelism": s.parallelism.min(s.runs).max(1),
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": s.ttl_seconds,
            "template": {
                "metadata": {"labels": labels},
                "spec": Value::Object(spec),
            },
        },
    });
    let mut out = Vec::new();
    if let (Some(cm), Some((file, text))) = (&trace_cm, &s.trace) {
        out.push(trace_config_map(cm, file, text, &labels, t)?);
    }
    out.push(job);
    Ok(out)
}

/// `kcpu probe`'s arguments for the target container.
fn probe_args(t: &Target, s: &JobSettings) -> Vec<String> {
    vec![
        "probe".to_string(),
        "--load".into(),
        s.load.clone(),
        "--duration".into(),
        format!("{}s", s.duration_s),
        "--seed".into(),
        s.seed.to_string(),
        "--run-id".into(),
        s.run_id.clone(),
        "--workload".into(),
        format!("{}/{}/{}", t.kind, t.namespace, t.name),
        "--container".into(),
        t.container.clone(),
    ]
}

/// The target container running `kcpu probe`, with the downward-API facts it records and the
/// trace mounted when one is shipped.
fn probe_container(c: &Value, image: &str, args: Vec<String>, trace: bool) -> Value {
    let mut pc = container(c, image, args);
    let env = json!([
        field_env("KCPU_NODE_NAME", "spec.nodeName"),
        field_env("KCPU_POD_NAME", "metadata.name"),
        field_env("KCPU_POD_NAMESPACE", "metadata.namespace"),
        field_env("KCPU_POD_UID", "metadata.uid"),
    ]);
    pc["env"] = env;
    if trace {
        pc["volumeMounts"] =
            json!([{"name": "kcpu-trace", "mountPath": TRACE_DIR, "readOnly": true}]);
    }
    pc
}

/// The Job's pod spec: hardened, the workload's scheduling fields (runtime class, pod
/// resources, tolerations, affinity, node selector plus `--node-selector`), spread over nodes
/// when no selector is given, and the containers.
fn job_pod_spec(
    pod: &Value,
    s: &JobSettings,
    init: Vec<Value>,
    app: Vec<Value>,
    trace_cm: Option<&str>,
) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert("restartPolicy".into(), json!("Never"));
    spec.insert("automountServiceAccountToken".into(), json!(false));
    spec.insert("enableServiceLinks".into(), json!(false));
    spec.insert(
        "securityContext".into(),
        json!({"runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534,
               "seccompProfile": {"type": "RuntimeDefault"}}),
    );
    for key in ["runtimeClassName", "resources", "tolerations", "affinity"] {
        if let Some(v) = pod.get(key) {
            spec.insert(key.into(), v.clone());
        }
    }
    let mut selector: Map<String, Value> = pod
        .get("nodeSelector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in &s.node_selector {
        selector.insert(k.clone(), json!(v));
    }
    if !selector.is_empty() {
        spec.insert("nodeSelector".into(), Value::Object(selector));
    }
    if s.node_selector.is_empty() {
        spec.insert(
            "topologySpreadConstraints".into(),
            json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {RUN_LABEL: s.run_id}}}]),
        );
    }
    if !init.is_empty() {
        spec.insert("initContainers".into(), json!(init));
    }
    spec.insert("containers".into(), json!(app));
    if let Some(cm) = trace_cm {
        spec.insert(
            "volumes".into(),
            json!([{"name": "kcpu-trace", "configMap": {"name": cm}}]),
        );
    }
    spec
}

/// The ConfigMap that ships a trace file to the probe.
fn trace_config_map(
    cm: &str,
    file: &str,
    text: &str,
    labels: &Value,
    t: &Target,
) -> Result<Value, EmitError> {
    if text.len() > MAX_TRACE_BYTES {
        return Err(EmitError::TraceTooLarge(text.len()));
    }
    let mut meta = json!({"name": cm, "labels": labels});
    if !t.namespace.is_empty() {
        meta["namespace"] = json!(t.namespace);
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {file: text},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JobSettings {
        JobSettings {
            image: "registry.example/kcpu:0.2".into(),
            run_id: "abc".into(),
            runs: 3,
            parallelism: 3,
            load: "spin:threads=1".into(),
            duration_s: 5,
            seed: 1,
            node_selector: BTreeMap::new(),
            ttl_seconds: 3600,
            trace: None,
        }
    }

    fn target(c: &str) -> Target {
        Target {
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "web".into(),
            container: c.into(),
        }
    }

    #[test]
    fn keeps_every_container_and_its_resources() {
        let pod = json!({
            "resources": {"limits": {"cpu": "2"}},
            "overhead": {"cpu": "250m"},
            "runtimeClassName": "kata",
            "initContainers": [
                {"name": "migrate", "image": "x", "resources": {"requests": {"cpu": "1"}}},
                {"name": "proxy", "image": "x", "restartPolicy": "Always",
                 "resources": {"requests": {"cpu": "100m"}, "claims": [{"name": "gpu"}]}}
            ],
            "containers": [
                {"name": "app", "image": "x", "ports": [{"containerPort": 80}],
                 "resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1"}}},
                {"name": "log", "image": "y", "resources": {"limits": {"cpu": "50m"}}}
            ]
        });
        let objs = emit(&pod, &target("app"), &settings()).unwrap();
        assert_eq!(objs.len(), 1);
        let spec = &objs[0]["spec"]["template"]["spec"];
        assert_eq!(spec["resources"], pod["resources"]);
        assert_eq!(spec["runtimeClassName"], "kata");
        assert!(spec.get("overhead").is_none());
        assert_eq!(
            spec["containers"][0]["resources"],
            pod["containers"][0]["resources"]
        );
        assert_eq!(spec["containers"][0]["args"][0], "probe");
        assert!(spec["containers"][0].get("ports").is_none());
        assert_eq!(
            spec["containers"][1]["args"],
            json!(["probe", "--idle", "--duration", "15s"])
        );
        assert_eq!(
            spec["initContainers"][0]["args"],
            json!(["probe", "--idle", "--duration", "0s"])
        );
        assert_eq!(
            spec["initContainers"][1]["args"],
            json!(["probe", "--idle"])
        );
        assert_eq!(spec["initContainers"][1]["restartPolicy"], "Always");
        assert!(spec["initContainers"][1]["resources"]
            .get("claims")
            .is_none());
        assert_eq!(objs[0]["spec"]["completionMode"], "Indexed");
    }

    #[test]
    fn unknown_container_is_an_error() {
        let pod = json!({"containers": [{"name": "app"}]});
        assert!(matches!(
            emit(&pod, &target("nope"), &settings()),
            Err(EmitError::NoContainer { .. })
        ));
    }

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(
            dns_label(&["kcpu", "ab", "My_App", "c.1"], 63),
            "kcpu-ab-my-app-c-1"
        );
        let long = "x".repeat(100);
        assert!(dns_label(&["kcpu", &long], 52).len() <= 52);
        assert_eq!(run_id(&["a"]), run_id(&["a"]));
        assert_ne!(run_id(&["a"]), run_id(&["b"]));
    }
}
