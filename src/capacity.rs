//! Capacity maths (pure core): translated workloads × replicas → namespace totals, overcommit,
//! node fit → [`CapacityReport`].
//!
//! Replicas: `spec.replicas` (default 1), the `maxReplicas` of a HorizontalPodAutoscaler that
//! targets the workload (the worst case a capacity plan must hold), DaemonSets × the number of
//! nodes, one pod for Pods, Jobs and CronJobs (parallelism is not modelled).
//!
//! Node fit approximates the scheduler's `NodeResourcesFit` filter for CPU only: a pod fits a
//! node when its effective request (init containers, sidecars, overhead and pod-level resources
//! included, as `PodRequests` computes it) is at most the node's allocatable CPU minus what is
//! already requested there. Pods are placed first-fit-decreasing (largest request first, first
//! node that fits), which is close to, but not, the scheduler's scoring; DaemonSet pods are
//! charged to every node before anything else. Memory, affinity, taints and topology spread are
//! ignored. A node also holds at most `max_pods` pods (DaemonSet pods included): the kubelet's
//! `maxPods`, 110 unless configured (kubernetes `pkg/kubelet/apis/config/v1beta1/defaults.go`,
//! `obj.MaxPods = 110`), which the scheduler enforces through the node's allocatable `pods`.

use crate::cpu::CpuMax;
use crate::manifest::model::{Hpa, Role, Workload};
use crate::translate::PodPlan;
use crate::units::MilliCpu;
use serde::Serialize;
use std::collections::BTreeMap;

/// A group of identical nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeShape {
    /// Display name.
    pub name: String,
    /// Number of nodes.
    pub count: u32,
    /// CPU capacity of one node, millicores.
    pub capacity_millicores: i64,
    /// Allocatable CPU of one node (capacity minus system/kube reserved), millicores.
    pub allocatable_millicores: i64,
    /// Most pods one node runs (the kubelet's `maxPods`).
    pub max_pods: u32,
}

/// The kubelet's default `maxPods` (kubernetes `pkg/kubelet/apis/config/v1beta1/defaults.go`).
pub const DEFAULT_MAX_PODS: u32 = 110;

/// Error from [`parse_nodes`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node shapes {input:?}: {reason} (example: \"3x8cpu,2x16cpu\" or \"4x3500m\")")]
pub struct NodeSpecError {
    /// The text.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

/// Parses `--nodes` (`3x8cpu,2x16cpu`, `6x4`, `2x3500m`), subtracting `reserved` from each
/// node's capacity to get its allocatable CPU.
pub fn parse_nodes(text: &str, reserved: MilliCpu) -> Result<Vec<NodeShape>, NodeSpecError> {
    let err = |reason: String| NodeSpecError {
        input: text.to_string(),
        reason,
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (count, cpu) = part
            .split_once(['x', 'X', '×'])
            .ok_or_else(|| err(format!("{part:?} is not COUNTxCPU")))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| err(format!("bad node count in {part:?}")))?;
        if count == 0 || count > 100_000 {
            return Err(err(format!("node count in {part:?} must be 1..=100000")));
        }
        let cpu = cpu.trim().trim_end_matches("cpus").trim_end_matches("cpu");
        let capacity =
            crate::quantity::parse_cpu(cpu).map_err(|e| err(format!("{part:?}: {}", e.reason)))?;
        if capacity.0 <= 0 {
            return Err(err(format!("{part:?}: a node needs CPU")));
        }
        let allocatable = (capacity.0 - reserved.0).max(0);
        out.push(NodeShape {
            name: format!("{}cpu", crate::quantity::format_millicores(capacity)),
            count,
            capacity_millicores: capacity.0,
            allocatable_millicores: allocatable,
            max_pods: DEFAULT_MAX_PODS,
        });
    }
    if out.is_empty() {
        return Err(err("no node shape".into()));
    }
    Ok(out)
}

/// One container of a workload in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerRow {
    /// Container name.
    pub name: String,
    /// container, init or sidecar.
    pub role: &'static str,
    /// Effective request, millicores.
    pub request_millicores: Option<i64>,
    /// Limit, millicores.
    pub limit_millicores: Option<i64>,
    /// v1 `cpu.shares`.
    pub cpu_shares: u64,
    /// v2 `cpu.weight`.
    pub cpu_weight: u64,
    /// v2 `cpu.max`.
    pub cpu_max: CpuMax,
}

/// One workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadRow {
    /// Workload kind.
    pub kind: String,
    /// Workload namespace.
    pub namespace: String,
    /// Workload name.
    pub name: String,
    /// QoS class.
    pub qos: &'static str,
    /// Pods counted.
    pub replicas: u32,
    /// Where the count comes from (`spec.replicas`, `hpa web maxReplicas`, `daemonset × 3 nodes`, …).
    pub replicas_from: String,
    /// Effective pod request, millicores (0 when none).
    pub pod_request_millicores: i64,
    /// Effective pod limit, millicores (`None`: at least one container is unlimited).
    pub pod_limit_millicores: Option<i64>,
    /// pod request × replicas.
    pub total_request_millicores: i64,
    /// pod limit × replicas (`None` when unlimited).
    pub total_limit_millicores: Option<i64>,
    /// limit / request of the pod.
    pub limit_request_ratio: Option<f64>,
    /// App containers without a CPU request.
    pub containers_without_request: Vec<String>,
    /// Pod cgroup values.
    pub pod_cpu_weight: u64,
    /// Pod cgroup `cpu.max`.
    pub pod_cpu_max: CpuMax,
    /// One row per container.
    pub containers: Vec<ContainerRow>,
}

/// Totals of one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NamespaceRow {
    /// The namespace.
    pub namespace: String,
    /// Workloads in the namespace.
    pub workloads: u32,
    /// Pods (replicas counted).
    pub pods: u32,
    /// Σ requests, millicores.
    pub request_millicores: i64,
    /// Σ limits of the pods that have one, millicores.
    pub limit_millicores: i64,
    /// Pods without a CPU limit.
    pub unlimited_pods: u32,
    /// Pods per QoS class.
    pub qos: BTreeMap<String, u32>,
    /// Σ limits / Σ requests.
    pub overcommit: Option<f64>,
}

/// One node after packing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRow {
    /// `shape-index`.
    pub name: String,
    /// Allocatable, millicores.
    pub allocatable_millicores: i64,
    /// DaemonSet pods' requests on this node.
    pub daemonset_millicores: i64,
    /// Other pods' requests placed here.
    pub pods_millicores: i64,
    /// Pods placed (DaemonSets included).
    pub pods: u32,
    /// Most pods this node runs.
    pub max_pods: u32,
    /// allocatable − requested (negative when DaemonSets alone do not fit).
    pub headroom_millicores: i64,
}

/// The node-fit section.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NodeFit {
    /// The shapes used.
    pub shapes: Vec<NodeShape>,
    /// Every node after packing.
    pub nodes: Vec<NodeRow>,
    /// Pods larger than any node: their request exceeds every shape's allocatable CPU left
    /// after the DaemonSets (or DaemonSets fill every node's pod slots), as
    /// `namespace/name (request)` with repetitions counted. No number of nodes helps them.
    pub too_large: BTreeMap<String, u32>,
    /// Number of pods in `too_large`.
    pub too_large_pods: u32,
    /// Pods that would fit an empty node but found no room (CPU or pod slots) on the nodes given.
    pub no_room: BTreeMap<String, u32>,
    /// Number of pods in `no_room`.
    pub no_room_pods: u32,
    /// All pods not placed (`too_large_pods + no_room_pods`).
    pub unplaced_pods: u32,
    /// Nodes of the largest shape that the pods fitting such a node need (first-fit
    /// decreasing, CPU and `max_pods`); the `too_large` pods are left out and counted apart.
    pub nodes_needed_of_largest_shape: Option<u32>,
    /// How the packing was computed.
    pub method: &'static str,
}

/// Cluster-wide totals.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Totals {
    /// Workloads in the inputs.
    pub workloads: u32,
    /// Pods (replicas counted).
    pub pods: u32,
    /// Σ requests.
    pub request_millicores: i64,
    /// Σ limits of limited pods.
    pub limit_millicores: i64,
    /// Pods without a CPU limit.
    pub unlimited_pods: u32,
    /// Σ allocatable of all nodes.
    pub allocatable_millicores: i64,
    /// Σ limits / Σ requests.
    pub overcommit_limits_over_requests: Option<f64>,
    /// Σ requests / Σ allocatable.
    pub requests_over_allocatable: Option<f64>,
    /// Σ limits / Σ allocatable.
    pub limits_over_allocatable: Option<f64>,
}

/// `ThrottleRow::load_from` of a container whose load is declared (`kcpu.dev/load` annotation).
pub const LOAD_FROM_ANNOTATION: &str = "annotation";
/// `ThrottleRow::load_from` of a container simulated under the assumed request-sized burst.
pub const LOAD_FROM_WHAT_IF: &str = "what-if: request-sized burst";

/// Throttling risk of one limited container (filled by the caller from `kcpu simulate`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThrottleRow {
    /// `namespace/name`.
    pub workload: String,
    /// Container name.
    pub container: String,
    /// Limit, millicores.
    pub limit_millicores: i64,
    /// `cpu.max` simulated.
    pub cpu_max: CpuMax,
    /// Load profile simulated.
    pub load: String,
    /// [`LOAD_FROM_ANNOTATION`] (a prediction) or [`LOAD_FROM_WHAT_IF`] (an assumed load).
    pub load_from: &'static str,
    /// Fraction of periods throttled.
    pub throttled_ratio: f64,
    /// p99 latency, ms.
    pub p99_ms: f64,
    /// p50 latency, ms.
    pub p50_ms: f64,
    /// Average CPUs used.
    pub usage_cores: f64,
    /// Why, in cgroup terms.
    pub explanation: String,
}

/// Everything the report says.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CapacityReport {
    /// Cluster totals.
    pub totals: Totals,
    /// Per namespace, sorted.
    pub namespaces: Vec<NamespaceRow>,
    /// Per workload, in input order.
    pub workloads: Vec<WorkloadRow>,
    /// Workloads by limit/request ratio, highest first (at most 10).
    pub top_limit_request_ratio: Vec<String>,
    /// `namespace/name container` of app containers without a CPU request.
    pub containers_without_request: Vec<String>,
    /// Node fit.
    pub node_fit: NodeFit,
    /// Throttling risk, riskiest first.
    pub throttling: Vec<ThrottleRow>,
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Replicas counted for `w`, and where the number comes from.
pub fn replicas(w: &Workload, hpas: &[Hpa], node_count: u32) -> (u32, String) {
    if let Some(h) = hpas.iter().find(|h| {
        h.target_kind == w.kind
            && h.target_name == w.metadata.name
            && h.namespace.as_deref().unwrap_or("default") == w.namespace()
    }) {
        return (h.max_replicas, format!("HPA {} maxReplicas", h.name));
    }
    match w.kind.as_str() {
        "DaemonSet" => (node_count, format!("DaemonSet × {node_count} nodes")),
        "Pod" | "Job" | "CronJob" | "PodTemplate" => (1, "one pod".into()),
        _ => match w.replicas {
            Some(r) => (r, "spec.replicas".into()),
            None => (1, "spec.replicas (default 1)".into()),
        },
    }
}

/// Builds the report from translated workloads. `pairs` are (workload, its plan); `nodes` the
/// node shapes. The throttling section is left empty for the caller.
pub fn build(pairs: &[(&Workload, &PodPlan)], hpas: &[Hpa], nodes: &[NodeShape]) -> CapacityReport {
    let node_count: u32 = nodes.iter().map(|n| n.count).sum();
    let mut r = CapacityReport::default();
    let mut ns: BTreeMap<String, NamespaceRow> = BTreeMap::new();
    // (pod request, label, is daemonset) for packing.
    let mut pods: Vec<(i64, String)> = Vec::new();
    let mut daemon_request = 0i64;
    let mut daemon_pods = 0u32;
    for (w, p) in pairs {
        let (n, from) = replicas(w, hpas, node_count);
        let req = p.request_millicores.value.unwrap_or(0);
        let row = workload_row(p, n, from);
        for c in &row.containers_without_request {
            r.containers_without_request
                .push(format!("{}/{} {c}", p.namespace, p.name));
        }
        let e = ns
            .entry(row.namespace.clone())
            .or_insert_with(|| NamespaceRow {
                namespace: row.namespace.clone(),
                ..Default::default()
            });
        e.workloads += 1;
        e.pods += n;
        e.request_millicores += row.total_request_millicores;
        match row.total_limit_millicores {
            Some(l) => e.limit_millicores += l,
            None => e.unlimited_pods += n,
        }
        *e.qos.entry(row.qos.to_string()).or_default() += n;
        if w.kind == "DaemonSet" {
            daemon_request += req;
            daemon_pods += 1;
        } else {
            let label = format!("{}/{} ({}m)", row.namespace, row.name, req);
            pods.extend(std::iter::repeat_n((req, label), n as usize));
        }
        r.workloads.push(row);
    }
    for e in ns.values_mut() {
        // A namespace without any limited pod has no limits/requests ratio (not 0×).
        e.overcommit = (e.unlimited_pods < e.pods)
            .then(|| ratio(e.limit_millicores, e.request_millicores))
            .flatten();
    }
    r.namespaces = ns.into_values().collect();
    r.totals = totals(&r, nodes);
    r.top_limit_request_ratio = top_ratios(&r.workloads);
    r.node_fit = pack(nodes, daemon_request, daemon_pods, pods);
    r
}

/// One workload's row: its pod request and limit, the per-container values and the totals
/// over `replicas` pods.
fn workload_row(p: &PodPlan, replicas: u32, replicas_from: String) -> WorkloadRow {
    let req = p.request_millicores.value.unwrap_or(0);
    let lim = p.limit_millicores.value;
    let mut without = Vec::new();
    let containers = p
        .containers
        .iter()
        .map(|c| {
            if c.role == Role::Container && c.request_millicores.value.unwrap_or(0) == 0 {
                without.push(c.name.clone());
            }
            ContainerRow {
                name: c.name.clone(),
                role: c.role.as_str(),
                request_millicores: c.request_millicores.value,
                limit_millicores: c.limit_millicores.value,
                cpu_shares: c.values.shares.value.0,
                cpu_weight: c.values.weight.value.0,
                cpu_max: c.values.max.value,
            }
        })
        .collect();
    WorkloadRow {
        kind: p.kind.clone(),
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        qos: p.qos.value.as_str(),
        replicas,
        replicas_from,
        pod_request_millicores: req,
        pod_limit_millicores: lim,
        total_request_millicores: req.saturating_mul(i64::from(replicas)),
        total_limit_millicores: lim.map(|l| l.saturating_mul(i64::from(replicas))),
        limit_request_ratio: lim.and_then(|l| ratio(l, req)),
        containers_without_request: without,
        pod_cpu_weight: p.pod.weight.value.0,
        pod_cpu_max: p.pod.max.value,
        containers,
    }
}

/// Cluster-wide totals over the namespaces and the node shapes.
fn totals(r: &CapacityReport, nodes: &[NodeShape]) -> Totals {
    let mut t = Totals {
        workloads: r.workloads.len() as u32,
        pods: r.namespaces.iter().map(|n| n.pods).sum(),
        request_millicores: r.namespaces.iter().map(|n| n.request_millicores).sum(),
        limit_millicores: r.namespaces.iter().map(|n| n.limit_millicores).sum(),
        unlimited_pods: r.namespaces.iter().map(|n| n.unlimited_pods).sum(),
        allocatable_millicores: nodes
            .iter()
            .map(|n| n.allocatable_millicores * i64::from(n.count))
            .sum(),
        ..Totals::default()
    };
    let limited = t.unlimited_pods < t.pods;
    t.overcommit_limits_over_requests = limited
        .then(|| ratio(t.limit_millicores, t.request_millicores))
        .flatten();
    t.requests_over_allocatable = ratio(t.request_millicores, t.allocatable_millicores);
    t.limits_over_allocatable = limited
        .then(|| ratio(t.limit_millicores, t.allocatable_millicores))
        .flatten();
    t
}

/// The ten workloads with the largest limit/request ratio, `ns/name 4.0×`.
fn top_ratios(workloads: &[WorkloadRow]) -> Vec<String> {
    let mut ranked: Vec<&WorkloadRow> = workloads
        .iter()
        .filter(|w| w.limit_request_ratio.is_some())
        .collect();
    ranked.sort_by(|a, b| {
        b.limit_request_ratio
            .partial_cmp(&a.limit_request_ratio)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.name.cmp(&b.name))
    });
    ranked
        .iter()
        .take(10)
        .map(|w| {
            format!(
                "{}/{} {:.1}×",
                w.namespace,
                w.name,
                w.limit_request_ratio.unwrap_or(0.0)
            )
        })
        .collect()
}

/// First-fit-decreasing packing of pod requests onto the nodes (see the module docs).
pub fn pack(
    shapes: &[NodeShape],
    daemon_request: i64,
    daemon_pods: u32,
    mut pods: Vec<(i64, String)>,
) -> NodeFit {
    pods.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut nodes: Vec<NodeRow> = shapes
        .iter()
        .flat_map(|s| {
            (0..s.count).map(move |i| NodeRow {
                name: format!("{}-{}", s.name, i + 1),
                allocatable_millicores: s.allocatable_millicores,
                daemonset_millicores: daemon_request,
                pods_millicores: 0,
                pods: daemon_pods,
                max_pods: s.max_pods,
                headroom_millicores: s.allocatable_millicores - daemon_request,
            })
        })
        .collect();
    let mut fit = NodeFit {
        shapes: shapes.to_vec(),
        method: "first-fit decreasing on effective pod CPU requests (NodeResourcesFit, CPU and \
                 max pods per node only); DaemonSet pods charged to every node",
        ..Default::default()
    };
    // Would `req` fit an empty node of some shape (after its DaemonSets)?
    let fits_some_shape = |req: i64| {
        shapes
            .iter()
            .any(|s| s.allocatable_millicores - daemon_request >= req && s.max_pods > daemon_pods)
    };
    // Nodes with room for one more pod; the search starts at the first such node, so a full
    // cluster costs O(pods), not O(pods × nodes).
    let mut first_open = 0;
    for (req, label) in &pods {
        if !fits_some_shape(*req) {
            *fit.too_large.entry(label.clone()).or_default() += 1;
            fit.too_large_pods += 1;
            continue;
        }
        while nodes
            .get(first_open)
            .is_some_and(|n| n.pods >= n.max_pods || n.headroom_millicores < 0)
        {
            first_open += 1;
        }
        match nodes[first_open..]
            .iter_mut()
            .find(|n| n.headroom_millicores >= *req && n.pods < n.max_pods)
        {
            Some(n) => {
                n.pods_millicores += req;
                n.pods += 1;
                n.headroom_millicores -= req;
            }
            None => {
                *fit.no_room.entry(label.clone()).or_default() += 1;
                fit.no_room_pods += 1;
            }
        }
    }
    fit.unplaced_pods = fit.too_large_pods + fit.no_room_pods;
    fit.nodes = nodes;
    // Nodes of the largest shape needed for everything that fits one (bins opened as needed).
    if let Some(big) = shapes
        .iter()
        .max_by_key(|s| (s.allocatable_millicores, s.max_pods))
    {
        let cap = big.allocatable_millicores - daemon_request;
        let slots = big.max_pods.saturating_sub(daemon_pods);
        if cap >= 0 && slots > 0 {
            // (CPU left, pod slots left) per opened node.
            let mut bins: Vec<(i64, u32)> = Vec::new();
            let mut first_open = 0;
            for (req, _) in pods.iter().filter(|(r, _)| *r <= cap) {
                while bins.get(first_open).is_some_and(|b| b.1 == 0 || b.0 < 0) {
                    first_open += 1;
                }
                match bins[first_open..]
                    .iter_mut()
                    .find(|b| b.0 >= *req && b.1 > 0)
                {
                    Some(b) => {
                        b.0 -= req;
                        b.1 -= 1;
                    }
                    None => bins.push((cap - req, slots - 1)),
                }
            }
            fit.nodes_needed_of_largest_shape = Some(bins.len().max(1) as u32);
        }
    }
    fit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(count: u32, alloc: i64) -> NodeShape {
        NodeShape {
            name: format!("{alloc}m"),
            count,
            capacity_millicores: alloc,
            allocatable_millicores: alloc,
            max_pods: DEFAULT_MAX_PODS,
        }
    }

    #[test]
    fn parses_node_shapes() {
        let n = parse_nodes("3x8cpu, 2x16cpu", MilliCpu(100)).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(
            (
                n[0].count,
                n[0].capacity_millicores,
                n[0].allocatable_millicores
            ),
            (3, 8000, 7900)
        );
        assert_eq!(n[1].allocatable_millicores, 15900);
        assert_eq!(
            parse_nodes("2x3500m", MilliCpu(0)).unwrap()[0].capacity_millicores,
            3500
        );
        for bad in ["", "3", "0x4cpu", "ax4", "3x", "3x-1", "3xlots"] {
            assert!(parse_nodes(bad, MilliCpu(0)).is_err(), "{bad}");
        }
    }

    #[test]
    fn first_fit_decreasing_and_unplaced() {
        let pods = vec![
            (3000, "a".to_string()),
            (1000, "b".into()),
            (2500, "c".into()),
            (5000, "big".into()),
        ];
        let f = pack(&[shape(2, 4000)], 500, 1, pods);
        // Each node has 3500 after the DaemonSet: 3000 → n1, 2500 → n2, 1000 → n2 (n1 has 500).
        assert_eq!(f.nodes[0].pods_millicores, 3000);
        assert_eq!(f.nodes[1].pods_millicores, 3500);
        assert_eq!(f.nodes[1].headroom_millicores, 0);
        assert_eq!(f.too_large.get("big"), Some(&1));
        assert!(f.no_room.is_empty());
        assert_eq!(f.unplaced_pods, 1);
        // The 5000m pod fits no node even when empty; the others still need two nodes.
        assert_eq!(f.nodes_needed_of_largest_shape, Some(2));
        let f = pack(
            &[shape(1, 4000)],
            0,
            0,
            vec![(3000, "a".into()), (3000, "b".into()), (1000, "c".into())],
        );
        assert_eq!(f.nodes_needed_of_largest_shape, Some(2));
        assert_eq!(f.unplaced_pods, 1);
        assert_eq!(
            f.no_room.get("b"),
            Some(&1),
            "b fits an empty node: no room left"
        );
        assert!(f.too_large.is_empty());
    }

    #[test]
    fn max_pods_per_node_is_honoured() {
        // 627 zero-request pods on 4-CPU nodes: at most 110 per node (DaemonSet pod included).
        let pods: Vec<(i64, String)> = (0..627).map(|i| (0, format!("p{i}"))).collect();
        let f = pack(&[shape(3, 4000)], 100, 1, pods.clone());
        assert!(f.nodes.iter().all(|n| n.pods <= DEFAULT_MAX_PODS));
        assert_eq!(f.nodes.iter().map(|n| n.pods).sum::<u32>(), 330);
        assert_eq!(f.no_room_pods, 627 - 327);
        assert_eq!(f.too_large_pods, 0);
        // 627 pods at 109 per node after the DaemonSet pod: 6 nodes.
        assert_eq!(f.nodes_needed_of_largest_shape, Some(6));
        let mut small = shape(2, 4000);
        small.max_pods = 1;
        let f = pack(&[small], 0, 1, pods);
        assert_eq!(f.too_large_pods, 627, "DaemonSets fill every pod slot");
        assert_eq!(f.nodes_needed_of_largest_shape, None);
    }
}
