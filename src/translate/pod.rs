//! Pod-level resource arithmetic: API defaulting, request/limit aggregation with init
//! containers and sidecars, pod-level resources, overhead, QoS, the pod-quota "declared"
//! rule and exclusive CPUs (pure core).
//!
//! Inputs are already parsed quantities ([`PodInput`]); `None` always means "the key is
//! absent", which upstream distinguishes from an explicit zero in several places.

use crate::manifest::model::Role;
use crate::quantity::Quantity;
use std::collections::BTreeSet;

use super::kubelet::src;
use super::plan::{QosClass, Step};

/// The two resources kcpu tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    /// `cpu`.
    Cpu,
    /// `memory`.
    Memory,
}

impl Res {
    /// The resource name.
    pub fn as_str(self) -> &'static str {
        match self {
            Res::Cpu => "cpu",
            Res::Memory => "memory",
        }
    }
}

/// `cpu` and `memory` of one requests or limits map (`None` = key absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuMem {
    /// `cpu`.
    pub cpu: Option<Quantity>,
    /// `memory`.
    pub memory: Option<Quantity>,
}

impl CpuMem {
    /// The entry for `r`.
    pub fn get(&self, r: Res) -> Option<Quantity> {
        match r {
            Res::Cpu => self.cpu,
            Res::Memory => self.memory,
        }
    }

    fn set(&mut self, r: Res, q: Option<Quantity>) {
        match r {
            Res::Cpu => self.cpu = q,
            Res::Memory => self.memory = q,
        }
    }
}

/// One `resources:` block: cpu/memory values plus the names of every key (other resources
/// only matter for "is this map empty" and "is a pod-level resource set").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceSpec {
    /// `requests`.
    pub requests: CpuMem,
    /// `limits`.
    pub limits: CpuMem,
    /// Every key under `requests`.
    pub request_keys: BTreeSet<String>,
    /// Every key under `limits`.
    pub limit_keys: BTreeSet<String>,
}

/// `IsSupportedPodLevelResource`: cpu, memory and hugepages-*.
///
/// kubernetes/component-helpers `resource/helpers.go` `IsSupportedPodLevelResource`.
pub fn is_supported_pod_level_resource(name: &str) -> bool {
    name == "cpu" || name == "memory" || name.starts_with("hugepages-")
}

impl ResourceSpec {
    /// `SetDefaults_Pod` for one container: every limit key missing from requests is copied
    /// (so "only a limit" ⇒ request = limit; a limit of 0 gives a request of 0).
    ///
    /// kubernetes/kubernetes `pkg/apis/core/v1/defaults.go` `SetDefaults_Pod` (containers and
    /// init containers).
    pub fn with_container_defaults(&self) -> ResourceSpec {
        let mut out = self.clone();
        for r in [Res::Cpu, Res::Memory] {
            if out.requests.get(r).is_none() && out.limits.get(r).is_some() {
                out.requests.set(r, out.limits.get(r));
            }
        }
        out.request_keys.extend(self.limit_keys.iter().cloned());
        out
    }

    /// `IsPodLevelResourcesSet`: a supported key in requests or limits.
    pub fn pod_level_set(&self) -> bool {
        self.request_keys
            .iter()
            .chain(&self.limit_keys)
            .any(|k| is_supported_pod_level_resource(k))
    }

    /// `IsPodLevelRequestsSet`: a supported key in requests.
    pub fn pod_level_requests_set(&self) -> bool {
        self.request_keys
            .iter()
            .any(|k| is_supported_pod_level_resource(k))
    }
}

/// One container as the kubelet sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name as written.
    pub name: String,
    /// Effective role.
    pub role: Role,
    /// Its requests and limits.
    pub resources: ResourceSpec,
}

/// A pod as the kubelet sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodInput {
    /// `spec.containers`.
    pub containers: Vec<ContainerSpec>,
    /// `spec.initContainers` in order (role `Init` or `Sidecar`).
    pub init_containers: Vec<ContainerSpec>,
    /// `spec.overhead`.
    pub overhead: CpuMem,
    /// `spec.resources`, only when present and the `PodLevelResources` gate is on.
    pub pod_level: Option<ResourceSpec>,
}

/// Sum of two optional quantities (`addResourceList`: a key exists if it exists in either).
pub fn add(a: Option<Quantity>, b: Option<Quantity>) -> Option<Quantity> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x),
        (Some(x), Some(y)) => Some(Quantity {
            nanos: x.nanos.saturating_add(y.nanos),
        }),
    }
}

/// Per-key max (`maxResourceList`: a new key is taken, an existing one replaced if larger).
pub fn max(a: Option<Quantity>, b: Option<Quantity>) -> Option<Quantity> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x),
        (Some(x), Some(y)) => Some(if y > x { y } else { x }),
    }
}

/// Formats a quantity for explanations: millicores when exact, else nanocores.
pub fn fmt_q(q: Option<Quantity>) -> String {
    match q {
        None => "-".to_string(),
        Some(q) if q.nanos % 1_000_000 == 0 => format!("{}m", q.nanos / 1_000_000),
        Some(q) => format!("{}n", q.nanos),
    }
}

/// Formats an amount of `r`: cpu in millicores (see [`fmt_q`]), memory in bytes.
pub fn fmt_amount(r: Res, q: Option<Quantity>) -> String {
    match (r, q) {
        (Res::Memory, Some(q)) if q.nanos % 1_000_000_000 == 0 => {
            format!("{}", q.nanos / 1_000_000_000)
        }
        _ => fmt_q(q),
    }
}

/// Which container list a `ContainerFn` call comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerType {
    /// `spec.containers`.
    Containers,
    /// `spec.initContainers` (effective values).
    InitContainers,
}

/// The KEP-753 aggregation shared by `AggregateContainerRequests` and
/// `AggregateContainerLimits`:
/// `max(Σ app + Σ sidecars, max_i(init_i + Σ sidecars declared before i))`, where a
/// sidecar's own "use" is the running sidecar sum including itself. `visit` sees what
/// upstream's `ContainerFn` saw: each app container's own value and each init container's
/// effective value. Also returns a one-line description.
///
/// kubernetes/component-helpers `resource/helpers.go` `AggregateContainerRequests`,
/// `AggregateContainerLimits` (spec-only path; identical before and after the 1.37 refactor
/// `1e15266`).
pub fn aggregate(
    pod: &PodInput,
    pick: impl Fn(&ResourceSpec) -> Option<Quantity>,
    mut visit: impl FnMut(&ContainerSpec, Option<Quantity>, ContainerType),
) -> (Option<Quantity>, String) {
    let mut result = None;
    let mut parts = Vec::new();
    for c in &pod.containers {
        let v = pick(&c.resources);
        visit(c, v, ContainerType::Containers);
        result = add(result, v);
        parts.push(format!("{} {}", c.name, fmt_q(v)));
    }
    let mut text = if parts.is_empty() {
        "no app containers".to_string()
    } else {
        format!("Σ app [{}] = {}", parts.join(", "), fmt_q(result))
    };
    let mut sidecars = None;
    let mut init_max = None;
    let mut init_parts = Vec::new();
    for c in &pod.init_containers {
        let own = pick(&c.resources);
        let used = if c.role == Role::Sidecar {
            result = add(result, own);
            sidecars = add(sidecars, own);
            init_parts.push(format!(
                "sidecar {} {} (running Σ sidecars {})",
                c.name,
                fmt_q(own),
                fmt_q(sidecars)
            ));
            sidecars
        } else {
            let u = add(own, sidecars);
            init_parts.push(match sidecars {
                None => format!("init {} {}", c.name, fmt_q(own)),
                Some(_) => format!(
                    "init {} {} + earlier sidecars {} = {}",
                    c.name,
                    fmt_q(own),
                    fmt_q(sidecars),
                    fmt_q(u)
                ),
            });
            u
        };
        visit(c, used, ContainerType::InitContainers);
        init_max = max(init_max, used);
    }
    if !init_parts.is_empty() {
        let with_sidecars = result;
        result = max(result, init_max);
        text = format!(
            "{text}; {}; app + sidecars = {}, init peak = {} → max = {}",
            init_parts.join("; "),
            fmt_q(with_sidecars),
            fmt_q(init_max),
            fmt_q(result)
        );
    }
    (result, text)
}

/// `AggregateContainerRequests` for one resource, with its description.
pub fn aggregate_requests(pod: &PodInput, r: Res) -> (Option<Quantity>, String) {
    aggregate(pod, |s| s.requests.get(r), |_, _, _| {})
}

/// Applies the API server's defaulting to a pod: container requests from limits
/// (`SetDefaults_Pod`; compare the input to see which containers were defaulted), then
/// pod-level requests (`defaultPodRequests`): only when
/// `spec.resources.limits` is non-empty, a missing supported pod-level request defaults to
/// the aggregated container requests when any container has that request key (cpu and
/// memory), else to the pod-level limit.
///
/// kubernetes/kubernetes `pkg/apis/core/v1/defaults.go` `SetDefaults_Pod`,
/// `defaultPodRequests` (1.32+ and current code per reference §4.3; a downstream copy that
/// takes the aggregate only for hugepages disagrees — upstream as documented is followed).
pub fn apply_defaults(pod: &PodInput) -> (PodInput, Vec<Step>) {
    let mut out = pod.clone();
    let mut steps = Vec::new();
    for c in out
        .containers
        .iter_mut()
        .chain(out.init_containers.iter_mut())
    {
        c.resources = c.resources.with_container_defaults();
    }
    let aggregated = [Res::Cpu, Res::Memory].map(|r| aggregate_requests(&out, r).0);
    if let Some(pl) = out.pod_level.as_mut() {
        if !pl.limit_keys.is_empty() {
            for (i, r) in [Res::Cpu, Res::Memory].into_iter().enumerate() {
                if pl.requests.get(r).is_some() || pl.limits.get(r).is_none() {
                    continue;
                }
                let (value, why) = match aggregated[i] {
                    Some(a) => (a, "aggregated container requests"),
                    None => (
                        pl.limits.get(r).unwrap_or_default(),
                        "pod-level limit (no container requests it)",
                    ),
                };
                pl.requests.set(r, Some(value));
                if r == Res::Cpu {
                    steps.push(Step::new(
                        format!(
                            "pod-level cpu request absent, defaulted to the {why}: {}",
                            fmt_q(Some(value))
                        ),
                        src::DEFAULT_POD_REQUESTS,
                    ));
                }
            }
            let defaulted: Vec<String> = pl
                .limit_keys
                .iter()
                .filter(|k| is_supported_pod_level_resource(k))
                .cloned()
                .collect();
            pl.request_keys.extend(defaulted);
        }
    }
    (out, steps)
}

/// `PodRequests` for one resource: aggregate, replaced by the pod-level request when
/// pod-level requests are set, plus `spec.overhead` (which creates the key).
///
/// kubernetes/component-helpers `resource/helpers.go` `PodRequests`.
pub fn pod_requests(
    pod: &PodInput,
    r: Res,
    include_overhead: bool,
) -> (Option<Quantity>, Vec<Step>) {
    let (mut v, text) = aggregate_requests(pod, r);
    let mut steps = vec![Step::new(
        format!("{} requests: {text}", r.as_str()),
        src::POD_REQUESTS,
    )];
    if let Some(pl) = &pod.pod_level {
        if pl.pod_level_requests_set() {
            if let Some(q) = pl.requests.get(r) {
                v = Some(q);
                steps.push(Step::new(
                    format!(
                        "pod-level {} request {} replaces the aggregate",
                        r.as_str(),
                        fmt_q(Some(q))
                    ),
                    src::POD_REQUESTS,
                ));
            }
        }
    }
    if include_overhead {
        if let Some(o) = pod.overhead.get(r) {
            let before = v;
            v = add(v, Some(o));
            steps.push(Step::new(
                format!(
                    "+ overhead {} = {} (from {})",
                    fmt_q(Some(o)),
                    fmt_q(v),
                    fmt_q(before)
                ),
                src::POD_REQUESTS,
            ));
        }
    }
    (v, steps)
}

/// Result of `PodLimits` for cpu, with the `ContainerFn` verdict of `ResourceConfigForPod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLimits {
    /// The pod cpu limit (`None` when no container or pod-level limit sets the key).
    pub cpu: Option<Quantity>,
    /// True when the pod quota counts as declared (`cpuLimitsDeclared`).
    pub cpu_declared: bool,
    /// How the limit was aggregated.
    pub steps: Vec<Step>,
}

/// `PodLimits` for cpu plus `ResourceConfigForPod`'s `cpuLimitsDeclared`: false when any
/// visited limit is zero or absent — each app container's own limit and (kubelet ≥ 1.27)
/// each init container's effective limit (sidecar: running sidecar sum; init: own +
/// earlier sidecars); forced true by a non-zero pod-level cpu limit. Pod-level limits
/// replace the aggregate; overhead is added only to a non-zero limit.
///
/// kubernetes/component-helpers `resource/helpers.go` `PodLimits`; kubernetes/kubernetes
/// `pkg/kubelet/cm/helpers_linux.go` `ResourceConfigForPod` (`ContainerFn`, ≤ 1.36;
/// kubelets before 1.27 looped over `spec.containers` only).
pub fn pod_limits_cpu(pod: &PodInput, include_init_in_declared: bool) -> PodLimits {
    let mut declared = true;
    let mut undeclared_by = Vec::new();
    let (mut v, text) = aggregate(
        pod,
        |s| s.limits.cpu,
        |c, eff, kind| {
            if kind == ContainerType::InitContainers && !include_init_in_declared {
                return;
            }
            if eff.is_none_or(|q| q.is_zero()) {
                declared = false;
                let what = match kind {
                    ContainerType::Containers => "no cpu limit".to_string(),
                    ContainerType::InitContainers => format!("effective cpu limit {}", fmt_q(eff)),
                };
                undeclared_by.push(format!("{} ({what})", c.name));
            }
        },
    );
    let mut steps = vec![Step::new(format!("cpu limits: {text}"), src::POD_LIMITS)];
    if !declared {
        steps.push(Step::new(
            format!("cpuLimitsDeclared = false: {}", undeclared_by.join(", ")),
            src::RESOURCE_CONFIG_FOR_POD,
        ));
    }
    if let Some(pl) = &pod.pod_level {
        if pl.pod_level_set() {
            if let Some(q) = pl.limits.cpu {
                v = Some(q);
                steps.push(Step::new(
                    format!(
                        "pod-level cpu limit {} replaces the aggregate",
                        fmt_q(Some(q))
                    ),
                    src::POD_LIMITS,
                ));
                if !q.is_zero() && !declared {
                    declared = true;
                    steps.push(Step::new(
                        "non-zero pod-level cpu limit: cpuLimitsDeclared = true",
                        src::RESOURCE_CONFIG_FOR_POD,
                    ));
                }
            }
        }
    }
    if let (Some(l), Some(o)) = (v, pod.overhead.cpu) {
        if !l.is_zero() {
            v = add(v, Some(o));
            steps.push(Step::new(
                format!("+ overhead {} = {}", fmt_q(Some(o)), fmt_q(v)),
                src::POD_LIMITS,
            ));
        }
    }
    PodLimits {
        cpu: v,
        cpu_declared: declared,
        steps,
    }
}

/// `resourceQOS` for one requests/limits block: BestEffort when both maps are empty;
/// otherwise for cpu and memory: request ≠ limit (absent = 0) → Burstable; both zero →
/// "best effort", else "guaranteed"; a mix → Burstable. Returns the class and why.
///
/// kubernetes/kubernetes `pkg/apis/core/v1/helper/qos/qos.go` `resourceQOS`.
pub fn resource_qos(spec: &ResourceSpec) -> (QosClass, String) {
    if spec.request_keys.is_empty() && spec.limit_keys.is_empty() {
        return (QosClass::BestEffort, "no requests or limits".to_string());
    }
    let zero = Quantity { nanos: 0 };
    let mut class: Option<QosClass> = None;
    let mut why = Vec::new();
    for r in [Res::Cpu, Res::Memory] {
        let req = spec.requests.get(r).unwrap_or(zero);
        let lim = spec.limits.get(r).unwrap_or(zero);
        if req != lim {
            return (
                QosClass::Burstable,
                format!(
                    "{} request {} != limit {}",
                    r.as_str(),
                    fmt_amount(r, spec.requests.get(r)),
                    fmt_amount(r, spec.limits.get(r))
                ),
            );
        }
        let best_effort = req.is_zero() && lim.is_zero();
        why.push(format!(
            "{} {}",
            r.as_str(),
            if best_effort {
                "unset".to_string()
            } else {
                format!("= {}", fmt_amount(r, Some(req)))
            }
        ));
        match class {
            None => {
                class = Some(if best_effort {
                    QosClass::BestEffort
                } else {
                    QosClass::Guaranteed
                })
            }
            Some(c) if best_effort != (c == QosClass::BestEffort) => {
                return (QosClass::Burstable, format!("{} but {}", why[0], why[1]));
            }
            Some(_) => {}
        }
    }
    (class.unwrap_or(QosClass::BestEffort), why.join(", "))
}

/// `ComputePodQOS`: with pod-level resources (gate on, `spec.resources` present) the class
/// comes from `spec.resources` alone; otherwise every container (init, sidecar, app)
/// counts: any Burstable → Burstable; all the same → that class; BestEffort mixed with
/// Guaranteed → Burstable.
///
/// kubernetes/kubernetes `pkg/apis/core/v1/helper/qos/qos.go` `ComputePodQOS`.
pub fn compute_pod_qos(pod: &PodInput) -> (QosClass, Vec<Step>) {
    if let Some(pl) = &pod.pod_level {
        let (c, why) = resource_qos(pl);
        return (
            c,
            vec![Step::new(
                format!("pod-level spec.resources decide alone: {why} → {c}"),
                src::COMPUTE_POD_QOS,
            )],
        );
    }
    let mut steps = Vec::new();
    let mut pod_class: Option<QosClass> = None;
    for c in pod.init_containers.iter().chain(&pod.containers) {
        let (class, why) = resource_qos(&c.resources);
        steps.push(Step::new(
            format!("{} {}: {why} → {class}", c.role.as_str(), c.name,),
            src::COMPUTE_POD_QOS,
        ));
        if class == QosClass::Burstable {
            return (QosClass::Burstable, steps);
        }
        match pod_class {
            None => pod_class = Some(class),
            Some(p) if p != class => {
                steps.push(Step::new(
                    "BestEffort and Guaranteed containers mixed → Burstable",
                    src::COMPUTE_POD_QOS,
                ));
                return (QosClass::Burstable, steps);
            }
            Some(_) => {}
        }
    }
    let class = pod_class.unwrap_or(QosClass::BestEffort);
    steps.push(Step::new(
        format!("all containers {class} → {class}"),
        src::COMPUTE_POD_QOS,
    ));
    (class, steps)
}

/// Static CPU manager `guaranteedCPUs`: exclusive CPUs for a container of a Guaranteed pod
/// whose cpu request is integral (`Value()*1000 == MilliValue()`, `Value()` rounding up);
/// the count is `Value()`. Pods using pod-level resources are skipped ("CPU Manager
/// allocation skipped, pod is using pod-level resources", `PodLevelResourceManagers`
/// alpha not modelled).
///
/// kubernetes/kubernetes `pkg/kubelet/cm/cpumanager/policy_static.go` `guaranteedCPUs`,
/// `Allocate`.
pub fn guaranteed_cpus(qos: QosClass, pod_level_set: bool, request: Option<Quantity>) -> u64 {
    if qos != QosClass::Guaranteed || pod_level_set {
        return 0;
    }
    let Some(q) = request else { return 0 };
    if q.nanos <= 0 || q.nanos % 1_000_000_000 != 0 {
        return 0;
    }
    u64::try_from(q.nanos / 1_000_000_000).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quantity of `m` millicores (or MiB for memory tests: units are irrelevant here).
    pub(crate) fn m(milli: i128) -> Quantity {
        Quantity {
            nanos: milli * 1_000_000,
        }
    }

    fn spec(req_cpu: Option<i128>, lim_cpu: Option<i128>) -> ResourceSpec {
        let mut s = ResourceSpec::default();
        if let Some(v) = req_cpu {
            s.requests.cpu = Some(m(v));
            s.request_keys.insert("cpu".into());
        }
        if let Some(v) = lim_cpu {
            s.limits.cpu = Some(m(v));
            s.limit_keys.insert("cpu".into());
        }
        s
    }

    fn c(name: &str, role: Role, req: Option<i128>) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            role,
            resources: spec(req, None),
        }
    }

    fn cpu(q: Option<Quantity>) -> Option<i128> {
        q.map(|q| q.nanos / 1_000_000)
    }

    /// component-helpers `resource/helpers_test.go` TestPodResourceRequests (cpu, whole CPUs
    /// written as 1000m).
    #[test]
    fn upstream_test_pod_resource_requests() {
        use Role::*;
        type Case = (
            &'static str,
            Vec<(Role, i128)>,
            Vec<i128>,
            Option<i128>,
            bool,
            i128,
        );
        let cases: Vec<Case> = vec![
            (
                "larger init container",
                vec![(Init, 4000)],
                vec![1000],
                None,
                true,
                4000,
            ),
            (
                "larger containers",
                vec![(Init, 2000)],
                vec![2000, 3000],
                None,
                true,
                5000,
            ),
            (
                "pod overhead excluded",
                vec![(Init, 2000)],
                vec![2000, 3000],
                Some(1000),
                false,
                5000,
            ),
            (
                "pod overhead included",
                vec![(Init, 2000)],
                vec![2000, 3000],
                Some(1000),
                true,
                6000,
            ),
            (
                "restartable init container",
                vec![(Sidecar, 1000)],
                vec![1000],
                None,
                true,
                2000,
            ),
            (
                "multiple restartable init containers",
                vec![
                    (Init, 5000),
                    (Sidecar, 1000),
                    (Sidecar, 2000),
                    (Sidecar, 3000),
                ],
                vec![1000],
                None,
                true,
                7000,
            ),
            (
                "multiple restartable and regular init containers",
                vec![
                    (Init, 5000),
                    (Sidecar, 1000),
                    (Sidecar, 2000),
                    (Init, 5000),
                    (Sidecar, 3000),
                ],
                vec![1000],
                None,
                true,
                8000,
            ),
            (
                "restartable-init, init and regular",
                vec![(Sidecar, 10), (Init, 200)],
                vec![100],
                None,
                true,
                210,
            ),
        ];
        for (name, inits, apps, overhead, include_overhead, want) in cases {
            let pod = PodInput {
                containers: apps
                    .iter()
                    .enumerate()
                    .map(|(i, v)| c(&format!("c{i}"), Container, Some(*v)))
                    .collect(),
                init_containers: inits
                    .iter()
                    .enumerate()
                    .map(|(i, (r, v))| c(&format!("i{i}"), *r, Some(*v)))
                    .collect(),
                overhead: CpuMem {
                    cpu: overhead.map(m),
                    memory: None,
                },
                pod_level: None,
            };
            let (got, steps) = pod_requests(&pod, Res::Cpu, include_overhead);
            assert_eq!(cpu(got), Some(want), "{name}: {steps:?}");
        }
    }

    /// component-helpers TestPodLevelResourceRequests: pod-level memory + container cpu.
    #[test]
    fn upstream_pod_level_requests() {
        let mut pl = ResourceSpec::default();
        pl.requests.memory = Some(m(2));
        pl.request_keys.insert("memory".into());
        let pod = PodInput {
            containers: vec![c("c", Role::Container, Some(2))],
            pod_level: Some(pl.clone()),
            ..Default::default()
        };
        assert_eq!(cpu(pod_requests(&pod, Res::Cpu, true).0), Some(2));
        assert_eq!(pod_requests(&pod, Res::Memory, true).0, Some(m(2)));
        // An unsupported pod-level resource does not make pod-level requests "set".
        let mut storage = ResourceSpec::default();
        storage.request_keys.insert("storage".into());
        assert!(!storage.pod_level_requests_set());
        assert!(pl.pod_level_requests_set());
    }

    #[test]
    fn declared_rule_follows_container_fn() {
        let lim = |name: &str, role, l: Option<i128>| ContainerSpec {
            name: name.into(),
            role,
            resources: spec(None, l),
        };
        // App containers all limited, init container unlimited → not declared (≥ 1.27).
        let pod = PodInput {
            containers: vec![lim("a", Role::Container, Some(500))],
            init_containers: vec![lim("i", Role::Init, None)],
            ..Default::default()
        };
        assert!(!pod_limits_cpu(&pod, true).cpu_declared);
        assert!(
            pod_limits_cpu(&pod, false).cpu_declared,
            "pre-1.27 kubelets ignore init containers"
        );
        // An unlimited init container after a limited sidecar inherits the sidecar's limit.
        let pod = PodInput {
            containers: vec![lim("a", Role::Container, Some(500))],
            init_containers: vec![
                lim("s", Role::Sidecar, Some(100)),
                lim("i", Role::Init, None),
            ],
            ..Default::default()
        };
        let l = pod_limits_cpu(&pod, true);
        assert!(l.cpu_declared, "{:?}", l.steps);
        assert_eq!(cpu(l.cpu), Some(600));
        // Explicit zero counts as undeclared.
        let pod = PodInput {
            containers: vec![lim("a", Role::Container, Some(0))],
            ..Default::default()
        };
        assert!(!pod_limits_cpu(&pod, true).cpu_declared);
    }

    #[test]
    fn overhead_only_on_non_zero_limits() {
        let pod = PodInput {
            containers: vec![ContainerSpec {
                name: "a".into(),
                role: Role::Container,
                resources: spec(None, Some(0)),
            }],
            overhead: CpuMem {
                cpu: Some(m(250)),
                memory: None,
            },
            ..Default::default()
        };
        assert_eq!(cpu(pod_limits_cpu(&pod, true).cpu), Some(0));
        let pod = PodInput {
            containers: vec![ContainerSpec {
                name: "a".into(),
                role: Role::Container,
                resources: spec(None, Some(100)),
            }],
            overhead: CpuMem {
                cpu: Some(m(250)),
                memory: None,
            },
            ..Default::default()
        };
        assert_eq!(cpu(pod_limits_cpu(&pod, true).cpu), Some(350));
        let pod = PodInput {
            overhead: CpuMem {
                cpu: Some(m(250)),
                memory: None,
            },
            ..Default::default()
        };
        assert_eq!(pod_limits_cpu(&pod, true).cpu, None);
        assert_eq!(
            cpu(pod_requests(&pod, Res::Cpu, true).0),
            Some(250),
            "overhead creates the request key"
        );
    }

    fn both(
        cpu_req: Option<i128>,
        cpu_lim: Option<i128>,
        mem_req: Option<i128>,
        mem_lim: Option<i128>,
    ) -> ResourceSpec {
        let mut s = spec(cpu_req, cpu_lim);
        if let Some(v) = mem_req {
            s.requests.memory = Some(m(v));
            s.request_keys.insert("memory".into());
        }
        if let Some(v) = mem_lim {
            s.limits.memory = Some(m(v));
            s.limit_keys.insert("memory".into());
        }
        s.with_container_defaults()
    }

    #[test]
    fn qos_classes() {
        let pod = |specs: Vec<ResourceSpec>| PodInput {
            containers: specs
                .into_iter()
                .enumerate()
                .map(|(i, s)| ContainerSpec {
                    name: format!("c{i}"),
                    role: Role::Container,
                    resources: s,
                })
                .collect(),
            ..Default::default()
        };
        let g = both(None, Some(100), None, Some(100));
        let be = ResourceSpec::default();
        let b = both(Some(100), None, None, None);
        assert_eq!(
            compute_pod_qos(&pod(vec![g.clone()])).0,
            QosClass::Guaranteed
        );
        assert_eq!(
            compute_pod_qos(&pod(vec![be.clone()])).0,
            QosClass::BestEffort
        );
        assert_eq!(compute_pod_qos(&pod(vec![b])).0, QosClass::Burstable);
        assert_eq!(
            compute_pod_qos(&pod(vec![g.clone(), be.clone()])).0,
            QosClass::Burstable
        );
        assert_eq!(compute_pod_qos(&pod(vec![])).0, QosClass::BestEffort);
        // cpu guaranteed but memory unset: mixed per-resource verdicts → Burstable.
        assert_eq!(
            compute_pod_qos(&pod(vec![both(None, Some(100), None, None)])).0,
            QosClass::Burstable
        );
        // Only an unrelated key: not empty, but cpu and memory both unset → BestEffort.
        let mut other = ResourceSpec::default();
        other.request_keys.insert("ephemeral-storage".into());
        assert_eq!(resource_qos(&other).0, QosClass::BestEffort);
        // Explicit zero request and limit count as unset.
        assert_eq!(
            resource_qos(&both(Some(0), Some(0), None, None)).0,
            QosClass::BestEffort
        );
        // An init container counts.
        let mut p = pod(vec![g.clone()]);
        p.init_containers.push(ContainerSpec {
            name: "i".into(),
            role: Role::Init,
            resources: be,
        });
        assert_eq!(compute_pod_qos(&p).0, QosClass::Burstable);
        // Pod-level resources decide alone.
        let mut p = pod(vec![g]);
        p.pod_level = Some(both(Some(100), Some(200), Some(1), Some(1)));
        assert_eq!(compute_pod_qos(&p).0, QosClass::Burstable);
    }

    #[test]
    fn pod_level_request_defaulting() {
        // Pod-level limits {cpu 3, memory 1Gi}, one container requesting 700m cpu → pod
        // requests {cpu 700m (aggregate), memory 1Gi (limit)} → Burstable.
        let mut pl = ResourceSpec::default();
        pl.limits.cpu = Some(m(3000));
        pl.limits.memory = Some(m(1024));
        pl.limit_keys
            .extend(["cpu".to_string(), "memory".to_string()]);
        let pod = PodInput {
            containers: vec![c("app", Role::Container, Some(700))],
            pod_level: Some(pl),
            ..Default::default()
        };
        let (d, steps) = apply_defaults(&pod);
        let pl = d.pod_level.as_ref().unwrap();
        assert_eq!(cpu(pl.requests.cpu), Some(700), "{steps:?}");
        assert_eq!(pl.requests.memory, Some(m(1024)));
        assert!(pl.pod_level_requests_set());
        assert_eq!(compute_pod_qos(&d).0, QosClass::Burstable);
        assert_eq!(cpu(pod_requests(&d, Res::Cpu, true).0), Some(700));
    }

    #[test]
    fn exclusive_cpus() {
        let q = |n: i128| Some(Quantity { nanos: n });
        assert_eq!(
            guaranteed_cpus(QosClass::Guaranteed, false, q(2_000_000_000)),
            2
        );
        assert_eq!(
            guaranteed_cpus(QosClass::Guaranteed, false, q(1_500_000_000)),
            0
        );
        assert_eq!(
            guaranteed_cpus(QosClass::Guaranteed, false, q(1_000_000_001)),
            0,
            "Value() rounds up"
        );
        assert_eq!(guaranteed_cpus(QosClass::Guaranteed, false, q(0)), 0);
        assert_eq!(guaranteed_cpus(QosClass::Guaranteed, false, None), 0);
        assert_eq!(
            guaranteed_cpus(QosClass::Burstable, false, q(2_000_000_000)),
            0
        );
        assert_eq!(
            guaranteed_cpus(QosClass::Guaranteed, true, q(2_000_000_000)),
            0
        );
    }
}
