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
//! ignored.

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
}

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
    /// Name.
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
    pub cpu_max: String,
}

/// One workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadRow {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
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
    pub pod_cpu_max: String,
    /// Containers.
    pub containers: Vec<ContainerRow>,
}

/// Totals of one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NamespaceRow {
    /// Namespace.
    pub namespace: String,
    /// Workloads.
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
    /// Pods that fit on no node, as `namespace/name (request)`, with repetitions counted.
    pub unplaced: BTreeMap<String, u32>,
    /// Number of unplaced pods.
    pub unplaced_pods: u32,
    /// Nodes of the largest shape that all pods would need (first-fit decreasing), when every pod
    /// fits such a node at all.
    pub nodes_needed_of_largest_shape: Option<u32>,
    /// How the packing was computed.
    pub method: &'static str,
}

/// Cluster-wide totals.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Totals {
    /// Workloads.
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
    /// Container.
    pub container: String,
    /// Limit, millicores.
    pub limit_millicores: i64,
    /// `cpu.max` simulated.
    pub cpu_max: String,
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
                    cpu_max: c.values.max.value.clone(),
                }
            })
            .collect();
        for c in &without {
            r.containers_without_request
                .push(format!("{}/{} {c}", p.namespace, p.name));
        }
        let row = WorkloadRow {
            kind: p.kind.clone(),
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            qos: p.qos.value.as_str(),
            replicas: n,
            replicas_from: from,
            pod_request_millicores: req,
            pod_limit_millicores: lim,
            total_request_millicores: req.saturating_mul(i64::from(n)),
            total_limit_millicores: lim.map(|l| l.saturating_mul(i64::from(n))),
            limit_request_ratio: lim.and_then(|l| ratio(l, req)),
            containers_without_request: without,
            pod_cpu_weight: p.pod.weight.value.0,
            pod_cpu_max: p.pod.max.value.clone(),
            containers,
        };
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
        e.overcommit = ratio(e.limit_millicores, e.request_millicores);
    }
    r.namespaces = ns.into_values().collect();
    let t = &mut r.totals;
    t.workloads = r.workloads.len() as u32;
    t.pods = r.namespaces.iter().map(|n| n.pods).sum();
    t.request_millicores = r.namespaces.iter().map(|n| n.request_millicores).sum();
    t.limit_millicores = r.namespaces.iter().map(|n| n.limit_millicores).sum();
    t.unlimited_pods = r.namespaces.iter().map(|n| n.unlimited_pods).sum();
    t.allocatable_millicores = nodes
        .iter()
        .map(|n| n.allocatable_millicores * i64::from(n.count))
        .sum();
    t.overcommit_limits_over_requests = ratio(t.limit_millicores, t.request_millicores);
    t.requests_over_allocatable = ratio(t.request_millicores, t.allocatable_millicores);
    t.limits_over_allocatable = ratio(t.limit_millicores, t.allocatable_millicores);
    let mut ranked: Vec<&WorkloadRow> = r
        .workloads
        .iter()
        .filter(|w| w.limit_request_ratio.is_some())
        .collect();
    ranked.sort_by(|a, b| {
        b.limit_request_ratio
            .partial_cmp(&a.limit_request_ratio)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.name.cmp(&b.name))
    });
    r.top_limit_request_ratio = ranked
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
        .collect();
    r.node_fit = pack(nodes, daemon_request, daemon_pods, pods);
    r
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
                headroom_millicores: s.allocatable_millicores - daemon_request,
            })
        })
        .collect();
    let mut fit = NodeFit { shapes: shapes.to_vec(), method: "first-fit decreasing on effective pod CPU requests (NodeResourcesFit, CPU only); DaemonSet pods charged to every node", ..Default::default() };
    for (req, label) in &pods {
        match nodes.iter_mut().find(|n| n.headroom_millicores >= *req) {
            Some(n) => {
                n.pods_millicores += req;
                n.pods += 1;
                n.headroom_millicores -= req;
            }
            None => {
                *fit.unplaced.entry(label.clone()).or_default() += 1;
                fit.unplaced_pods += 1;
            }
        }
    }
    fit.nodes = nodes;
    // Nodes of the largest shape needed for everything (bins opened as needed).
    if let Some(big) = shapes.iter().max_by_key(|s| s.allocatable_millicores) {
        let cap = big.allocatable_millicores - daemon_request;
        if pods.iter().all(|(r, _)| *r <= cap) && cap > 0 {
            let mut bins: Vec<i64> = Vec::new();
            for (req, _) in &pods {
                match bins.iter_mut().find(|b| **b >= *req) {
                    Some(b) => *b -= req,
                    None => bins.push(cap - req),
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
        assert_eq!(f.unplaced.get("big"), Some(&1));
        assert_eq!(f.unplaced_pods, 1);
        // The 5000m pod fits no node even when empty, so no node count is given.
        assert_eq!(f.nodes_needed_of_largest_shape, None);
        let f = pack(
            &[shape(1, 4000)],
            0,
            0,
            vec![(3000, "a".into()), (3000, "b".into()), (1000, "c".into())],
        );
        assert_eq!(f.nodes_needed_of_largest_shape, Some(2));
        assert_eq!(f.unplaced_pods, 1);
    }
}
