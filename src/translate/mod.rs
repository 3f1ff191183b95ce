//! Translation: a workload's pod spec + [`Assumptions`] → the exact CPU cgroup values the
//! kubelet and the OCI runtime write, with the derivation of every number (pure core).
//!
//! Layout:
//! - [`kubelet`]: the kubelet's arithmetic (shares, quota, `getCPUWeight`, inverses, cgroup
//!   names, QoS tiers);
//! - [`runtime`]: runtime arithmetic (linear/quadratic weight, systemd round-up, `cpu.max`);
//! - [`pod`]: API defaulting, request/limit aggregation, QoS, the pod-quota rule;
//! - [`writer`]: which files a writer touches and what they contain afterwards;
//! - [`plan`]: the result types ([`Plan`], [`PodPlan`], [`ContainerPlan`], [`CgroupValues`]).
//!
//! The pod cgroup is modelled after `ResourceConfigForPod` + `EnsureExists` (kubelet), each
//! container after `calculateLinuxResources` (kuberuntime) → containerd `WithResources` →
//! runc/crun.

pub mod kubelet;
pub mod oci;
pub mod plan;
pub mod pod;
pub mod runtime;
pub mod writer;

pub use plan::{
    CgroupPaths, CgroupValues, ContainerPlan, Explained, Plan, PodPlan, QosClass, QosTier, Step,
};

use crate::manifest::model::{QuantityValue, ResourceList, Role, Workload};
use crate::profile::{Assumptions, CpuManagerPolicy};
use crate::quantity::{Quantity, QuantityError};
use crate::source::Span;
use crate::units::{MilliCpu, PeriodUs, QuotaUs, Shares};
use kubelet::{src, QuotaFn};
use pod::{fmt_q, ContainerSpec, CpuMem, PodInput, Res, ResourceSpec};
use std::collections::BTreeSet;
use writer::{CpuResources, Derivations, Writer};

/// Why a workload could not be translated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TranslateError {
    /// A CPU quantity (or a memory quantity needed for the QoS class) does not parse.
    #[error("{workload}: {field}: {error}")]
    InvalidQuantity {
        /// `Kind namespace/name`.
        workload: String,
        /// Where in the pod spec, e.g. `containers[app].resources.limits.cpu`.
        field: String,
        /// Span of the bad value.
        span: Span,
        /// The parser's verdict (with a hint when one is known).
        #[source]
        error: Box<QuantityError>,
    },
    /// A negative quantity: the API server rejects it, so no pod would exist.
    #[error("{workload}: {field}: negative quantity {raw:?}: requests and limits must be >= 0")]
    NegativeQuantity {
        /// `Kind namespace/name`.
        workload: String,
        /// Where in the pod spec.
        field: String,
        /// The value as written.
        raw: String,
        /// Span of the bad value.
        span: Span,
    },
}

impl TranslateError {
    /// Span of the offending value.
    pub fn span(&self) -> Span {
        match self {
            TranslateError::InvalidQuantity { span, .. }
            | TranslateError::NegativeQuantity { span, .. } => *span,
        }
    }

    /// Short stable code (`invalid-quantity`, `negative-quantity`).
    pub fn code(&self) -> &'static str {
        match self {
            TranslateError::InvalidQuantity { .. } => "invalid-quantity",
            TranslateError::NegativeQuantity { .. } => "negative-quantity",
        }
    }

    /// How to fix it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            TranslateError::InvalidQuantity { error, .. } => error.hint.clone(),
            TranslateError::NegativeQuantity { .. } => Some("remove the minus sign".to_string()),
        }
    }
}

/// Translates every workload; failures land in [`Plan::errors`], in input order.
pub fn translate(workloads: &[Workload], assumptions: &Assumptions) -> Plan {
    let mut plan = Plan::new(assumptions.clone());
    for w in workloads {
        plan.push(translate_workload(w, assumptions));
    }
    plan
}

/// Shares of the `kubepods/burstable` tier for these pods:
/// `MilliCPUToShares(Σ request_millicores of the Burstable pods)` (see
/// [`kubelet::burstable_tier_shares`]).
pub fn burstable_tier_shares(pods: &[PodPlan]) -> Shares {
    kubelet::burstable_tier_shares(
        pods.iter()
            .filter(|p| p.qos.value == QosClass::Burstable)
            .map(|p| MilliCpu(p.request_millicores.value.unwrap_or(0))),
    )
}

/// The five files of a cgroup the kubelet manages without a quota — the QoS tiers
/// (`kubepods/burstable`, `kubepods/besteffort`) and `kubepods` itself: `CPUShares` as given
/// (see [`burstable_tier_shares`], [`kubelet::besteffort_tier_shares`],
/// [`kubelet::kubepods_shares`]), the kubelet's linear weight, no quota ("TODO: Set CPU
/// Quota if necessary" in `node_container_manager_linux.go`; `setCPUCgroupConfig` sets
/// shares only), so `cpu.max` and the v1 quota files keep the kernel defaults.
pub fn kubelet_managed_values(
    shares: Shares,
    derivation: Vec<Step>,
    a: &Assumptions,
) -> CgroupValues {
    writer::files(
        CpuResources {
            shares,
            quota: QuotaUs(0),
            period: PeriodUs(0),
        },
        Derivations {
            shares: derivation,
            ..Derivations::default()
        },
        Writer::Kubelet,
        a,
    )
}

/// Collects quantities, remembering the first bad one in document order.
struct Parser {
    workload: String,
    need_memory: bool,
    error: Option<TranslateError>,
}

impl Parser {
    fn fail(&mut self, e: TranslateError) {
        if self
            .error
            .as_ref()
            .is_none_or(|old| e.span().start < old.span().start)
        {
            self.error = Some(e);
        }
    }

    fn quantity(&mut self, v: &QuantityValue, field: String, required: bool) -> Option<Quantity> {
        match &v.parsed {
            Ok(q) if q.nanos < 0 => {
                if required {
                    let workload = self.workload.clone();
                    self.fail(TranslateError::NegativeQuantity {
                        workload,
                        field,
                        raw: v.raw.clone(),
                        span: v.span,
                    });
                }
                None
            }
            Ok(q) => Some(*q),
            Err(e) => {
                if required {
                    let workload = self.workload.clone();
                    self.fail(TranslateError::InvalidQuantity {
                        workload,
                        field,
                        span: v.span,
                        error: Box::new(e.clone()),
                    });
                }
                None
            }
        }
    }

    fn list(&mut self, list: &ResourceList, field: &str) -> (CpuMem, BTreeSet<String>) {
        let keys = list.entries.keys().cloned().collect();
        let cpu = list
            .cpu()
            .and_then(|v| self.quantity(v, format!("{field}.cpu"), true));
        let need_memory = self.need_memory;
        let memory = list
            .memory()
            .and_then(|v| self.quantity(v, format!("{field}.memory"), need_memory));
        (CpuMem { cpu, memory }, keys)
    }

    fn resources(&mut self, r: &crate::manifest::model::Resources, field: &str) -> ResourceSpec {
        let (requests, request_keys) = self.list(&r.requests, &format!("{field}.requests"));
        let (limits, limit_keys) = self.list(&r.limits, &format!("{field}.limits"));
        ResourceSpec {
            requests,
            limits,
            request_keys,
            limit_keys,
        }
    }
}

fn milli(q: Option<Quantity>) -> Option<i64> {
    q.map(|q| q.milli_value())
}

fn milli_value_step(q: Option<Quantity>) -> Option<Step> {
    let q = q?;
    (q.nanos % 1_000_000 != 0).then(|| {
        Step::new(
            format!(
                "MilliValue rounds up: {} → {}m",
                fmt_q(Some(q)),
                q.milli_value()
            ),
            "kubernetes/apimachinery pkg/api/resource/quantity.go MilliValue",
        )
    })
}

/// The pod as the kubelet sees it before API defaulting: the parsed CPU (and memory)
/// quantities of every container, with the container spans and the notes on what the target
/// Kubernetes version ignores.
#[derive(Debug, Clone)]
pub struct PodSource {
    /// Requests and limits per container, pod-level resources and overhead.
    pub input: PodInput,
    /// Span of each container, init containers first.
    pub spans: Vec<Span>,
    /// What the target version ignores (sidecars, pod-level resources).
    pub notes: Vec<String>,
}

/// `containers[NAME]`, or `containers[INDEX]` for a container without a name.
fn container_field(list: &str, i: usize, name: &str) -> String {
    if name.is_empty() {
        format!("{list}[{i}]")
    } else {
        format!("{list}[{name}]")
    }
}

/// Reads the pod's resources as the kubelet sees them: sidecars only when the
/// `SidecarContainers` gate is on, `spec.resources` only with `PodLevelResources`. The first
/// bad or negative CPU quantity in document order is the error; memory quantities count only
/// when `need_memory` (the QoS class must be computed). `translate` and `lint` share it.
pub fn pod_input(
    w: &Workload,
    a: &Assumptions,
    need_memory: bool,
) -> Result<PodSource, TranslateError> {
    let mut parser = Parser {
        workload: format!("{} {}/{}", w.kind, w.namespace(), w.metadata.name),
        need_memory,
        error: None,
    };
    let mut notes = Vec::new();

    let sidecars_on = a.sidecar_containers();
    let mut spans = Vec::new();
    let mut input = PodInput::default();
    for (i, c) in w.pod.init_containers.iter().enumerate() {
        let field = container_field("initContainers", i, &c.name);
        let role = if c.role == Role::Sidecar && !sidecars_on {
            notes.push(format!(
                "init container {}: restartPolicy: Always ignored (SidecarContainers off in Kubernetes {}); it runs as an ordinary init container",
                c.name, a.kubernetes
            ));
            Role::Init
        } else {
            c.role
        };
        let resources = parser.resources(&c.resources, &format!("{field}.resources"));
        input.init_containers.push(ContainerSpec {
            name: c.name.clone(),
            role,
            resources,
        });
        spans.push(c.span);
    }
    for (i, c) in w.pod.containers.iter().enumerate() {
        let field = container_field("containers", i, &c.name);
        let resources = parser.resources(&c.resources, &format!("{field}.resources"));
        input.containers.push(ContainerSpec {
            name: c.name.clone(),
            role: Role::Container,
            resources,
        });
        spans.push(c.span);
    }
    // Overhead memory never affects CPU values or the QoS class.
    let need_memory = std::mem::replace(&mut parser.need_memory, false);
    input.overhead = parser.list(&w.pod.overhead, "spec.overhead").0;
    parser.need_memory = need_memory;
    if let Some(r) = &w.pod.resources {
        if a.pod_level_resources() {
            input.pod_level = Some(parser.resources(r, "spec.resources"));
        } else {
            notes.push(format!(
                "spec.resources ignored: PodLevelResources is off in Kubernetes {} (the API server drops the field)",
                a.kubernetes
            ));
        }
    }
    match parser.error {
        Some(e) => Err(e),
        None => Ok(PodSource {
            input,
            spans,
            notes,
        }),
    }
}

/// Translates one workload: the pod as the kubelet reads it ([`pod_input`]), admission notes,
/// API defaulting, the QoS class, exclusive CPUs, the pod cgroup, the cgroup paths and one
/// plan per container.
pub fn translate_workload(w: &Workload, a: &Assumptions) -> Result<PodPlan, TranslateError> {
    let mut notes = Vec::new();
    let status_qos = w.status_qos.as_deref().and_then(QosClass::from_status);
    if let Some(s) = w.status_qos.as_deref().filter(|_| status_qos.is_none()) {
        notes.push(format!(
            "status.qosClass {s:?} is not a QoS class; the class is recomputed"
        ));
    }
    let source = pod_input(w, a, status_qos.is_none())?;
    notes.extend(source.notes.iter().cloned());
    notes.extend(admission_notes(&source.input));
    let (pod, default_steps) = pod::apply_defaults(&source.input);
    let qos = qos_class(&pod, status_qos, &mut notes);
    let exclusive = exclusive_cpus(&pod, qos.value, a);
    let pod_cgroup = pod_cgroup(&pod, &default_steps, qos.value, &exclusive, a);
    let tier = qos.value.tier();
    let paths = pod_paths(w, tier);
    let containers = container_plans(&source, &pod, &exclusive, &paths, a);
    if a.pod_quota_rule_unverified() && qos.value == QosClass::Burstable {
        notes.push(format!(
            "pod quota: Kubernetes {} replaced ContainerFn; the <= 1.36 declared-limits rule is assumed",
            a.kubernetes
        ));
    }
    Ok(PodPlan {
        kind: w.kind.clone(),
        namespace: w.namespace().to_string(),
        name: w.metadata.name.clone(),
        qos,
        qos_tier: tier,
        cgroup: paths,
        request_millicores: pod_cgroup.request,
        limit_millicores: pod_cgroup.limit,
        pod: pod_cgroup.values,
        containers,
        notes,
        span: w.span,
    })
}

/// What the API server would say about the pod as written: a request above its limit is
/// rejected; an empty `spec.resources` makes `ComputePodQOS` return BestEffort.
fn admission_notes(input: &PodInput) -> Vec<String> {
    let mut notes = Vec::new();
    for c in input.init_containers.iter().chain(&input.containers) {
        if let (Some(r), Some(l)) = (c.resources.requests.cpu, c.resources.limits.cpu) {
            if r > l {
                notes.push(format!(
                    "container {}: cpu request {} > limit {}: the API server rejects this pod",
                    c.name,
                    fmt_q(Some(r)),
                    fmt_q(Some(l))
                ));
            }
        }
    }
    if input
        .pod_level
        .as_ref()
        .is_some_and(|p| p.request_keys.is_empty() && p.limit_keys.is_empty())
    {
        notes.push(
            "spec.resources is present but empty: ComputePodQOS then returns BestEffort"
                .to_string(),
        );
    }
    notes
}

/// The QoS class the kubelet uses: `status.qosClass` when the object carries a valid one
/// (`GetPodQOS`), else the recomputed class.
fn qos_class(
    pod: &PodInput,
    status: Option<QosClass>,
    notes: &mut Vec<String>,
) -> Explained<QosClass> {
    let (computed, qos_steps) = pod::compute_pod_qos(pod);
    match status {
        Some(s) => {
            if s != computed {
                notes.push(format!("status.qosClass {s} differs from the recomputed {computed}; the kubelet uses {s}"));
            }
            Explained::step(
                s,
                format!("status.qosClass = {s} (GetPodQOS returns the stored class)"),
                src::COMPUTE_POD_QOS,
            )
        }
        None => Explained::new(computed, qos_steps),
    }
}

/// Exclusive CPUs per container (init containers first) under the static CPU manager.
fn exclusive_cpus(pod: &PodInput, qos: QosClass, a: &Assumptions) -> Vec<u64> {
    let pod_level_set = pod.pod_level.as_ref().is_some_and(|p| p.pod_level_set());
    pod.init_containers
        .iter()
        .chain(&pod.containers)
        .map(|c| match a.cpu_manager_policy {
            CpuManagerPolicy::Static => {
                pod::guaranteed_cpus(qos, pod_level_set, c.resources.requests.cpu)
            }
            CpuManagerPolicy::None => 0,
        })
        .collect()
}

/// The pod cgroup's files and the pod request and limit they come from.
struct PodCgroup {
    values: CgroupValues,
    request: Explained<Option<i64>>,
    limit: Explained<Option<i64>>,
}

/// The pod cgroup: `ResourceConfigForPod` (shares from the pod request, a quota only for
/// Guaranteed pods and Burstable pods whose every container declares a cpu limit) and
/// `EnsureExists` (`enforceCPULimits`), written by the kubelet.
fn pod_cgroup(
    pod: &PodInput,
    default_steps: &[Step],
    qos: QosClass,
    exclusive: &[u64],
    a: &Assumptions,
) -> PodCgroup {
    let (req, req_steps) = pod::pod_requests(pod, Res::Cpu, true);
    let mut request_steps: Vec<Step> = default_steps
        .iter()
        .filter(|s| s.source == src::DEFAULT_POD_REQUESTS)
        .cloned()
        .collect();
    request_steps.extend(req_steps);
    request_steps.extend(milli_value_step(req));
    let req_milli = milli(req);
    let limits = pod::pod_limits_cpu(pod, a.pod_quota_checks_init_containers());

    let mut shares_steps = request_steps.clone();
    let pod_shares = if qos == QosClass::BestEffort {
        shares_steps.push(Step::new(
            "BestEffort pod: CPUShares = MinShares = 2",
            src::RESOURCE_CONFIG_FOR_POD,
        ));
        Shares::MIN
    } else {
        let s = kubelet::milli_cpu_to_shares_explained(MilliCpu(req_milli.unwrap_or(0)));
        shares_steps.extend(s.steps);
        s.value
    };
    let mut quota_steps = limits.steps.clone();
    let mut period_steps = Vec::new();
    let set_quota = match qos {
        QosClass::Guaranteed => true,
        QosClass::Burstable => limits.cpu_declared,
        QosClass::BestEffort => false,
    };
    let (quota, period, pod_limit) = if set_quota {
        let lm = milli(limits.cpu).unwrap_or(0);
        quota_steps.extend(milli_value_step(limits.cpu));
        let has_exclusive = exclusive.iter().any(|n| *n > 0);
        let q = pod_quota(MilliCpu(lm), qos, has_exclusive, a, &mut quota_steps);
        period_steps.push(Step::new(
            format!("CPUPeriod = kubelet cpuCFSQuotaPeriod = {}", a.cfs_period),
            src::RESOURCE_CONFIG_FOR_POD,
        ));
        (q, a.cfs_period, Some(lm))
    } else {
        let why = match qos {
            QosClass::BestEffort => "BestEffort pod: only CPUShares is set",
            _ => "Burstable pod without a declared cpu limit for every container: CPUQuota and CPUPeriod are not set",
        };
        quota_steps.push(Step::new(why, src::RESOURCE_CONFIG_FOR_POD));
        period_steps.push(Step::new(why, src::RESOURCE_CONFIG_FOR_POD));
        (QuotaUs(0), PeriodUs(0), None)
    };
    if a.pod_quota_rule_unverified() && qos == QosClass::Burstable {
        quota_steps.push(Step::new(
            format!("Kubernetes {}: ContainerFn was removed in 1.37; the <= 1.36 declared-limits rule is assumed", a.kubernetes),
            src::RESOURCE_CONFIG_FOR_POD,
        ));
    }
    let values = writer::files(
        CpuResources {
            shares: pod_shares,
            quota,
            period,
        },
        Derivations {
            shares: shares_steps,
            quota: quota_steps.clone(),
            period: period_steps,
        },
        Writer::Kubelet,
        a,
    );
    let mut limit_steps = quota_steps;
    limit_steps.truncate(limits.steps.len());
    if pod_limit.is_none() {
        limit_steps.push(Step::new(
            "no pod cgroup quota is derived from a limit",
            src::RESOURCE_CONFIG_FOR_POD,
        ));
    }
    PodCgroup {
        values,
        request: Explained::new(req_milli, request_steps),
        limit: Explained::new(pod_limit, limit_steps),
    }
}

/// The pod cgroup's `CPUQuota` for a pod limit of `limit`: pod-level `MilliCPUToQuota` (at
/// 100000 µs unless the period gate applies), then `enforceCPULimits`.
fn pod_quota(
    limit: MilliCpu,
    qos: QosClass,
    has_exclusive: bool,
    a: &Assumptions,
    steps: &mut Vec<Step>,
) -> QuotaUs {
    let pod_gate = a.custom_cpu_cfs_quota_period() || !a.pod_quota_resets_period_without_gate();
    let used_period = kubelet::pod_quota_period(a.cfs_period, pod_gate);
    let computed = kubelet::milli_cpu_to_quota_explained(limit, used_period, QuotaFn::Pod);
    steps.extend(computed.steps);
    if !pod_gate && a.cfs_period != PeriodUs::DEFAULT {
        steps.push(Step::new(
            format!(
                "CustomCPUCFSQuotaPeriod off: quota computed for 100000 us although CPUPeriod = {}",
                a.cfs_period
            ),
            src::MILLI_CPU_TO_QUOTA_POD,
        ));
    }
    let mut q = computed.value;
    let excl_off = a.disable_cpu_quota_with_exclusive_cpus() && has_exclusive;
    if !a.cpu_cfs_quota || excl_off {
        let why = if !a.cpu_cfs_quota {
            "cpuCFSQuota = false"
        } else {
            "DisableCPUQuotaWithExclusiveCPUs and the pod has exclusive CPUs"
        };
        steps.push(Step::new(
            format!("enforceCPULimits = false ({why}): CPUQuota = -1"),
            src::ENSURE_EXISTS,
        ));
        q = QuotaUs::UNLIMITED;
    }
    steps.push(Step::new(
        format!(
            "{qos} pod{}: CPUQuota = {q}",
            if qos == QosClass::Burstable {
                " with every cpu limit declared"
            } else {
                ""
            }
        ),
        src::RESOURCE_CONFIG_FOR_POD,
    ));
    q
}

/// The pod cgroup's path under both drivers (`kubepods/<tier>/pod<uid>`).
fn pod_paths(w: &Workload, tier: QosTier) -> CgroupPaths {
    let uid = w
        .metadata
        .uid
        .clone()
        .unwrap_or_else(|| "<uid>".to_string());
    let tier_name = match tier {
        QosTier::Kubepods => kubelet::kubepods(),
        QosTier::Burstable => kubelet::kubepods().child("burstable"),
        QosTier::BestEffort => kubelet::kubepods().child("besteffort"),
    };
    let pod_name = tier_name.child(&kubelet::pod_cgroup_name_suffix(&uid));
    CgroupPaths {
        cgroupfs: pod_name.to_cgroupfs(),
        systemd: pod_name.to_systemd(),
    }
}

/// One plan per container, init containers first: the defaulted spec, the spec as written
/// (to tell a defaulted request), its exclusive CPUs and its span, zipped.
fn container_plans(
    source: &PodSource,
    pod: &PodInput,
    exclusive: &[u64],
    paths: &CgroupPaths,
    a: &Assumptions,
) -> Vec<ContainerPlan> {
    let pod_level_limit = pod
        .pod_level
        .as_ref()
        .filter(|p| p.pod_level_set())
        .map(|p| p.limits.cpu);
    let declared = source
        .input
        .init_containers
        .iter()
        .chain(&source.input.containers);
    pod.init_containers
        .iter()
        .chain(&pod.containers)
        .zip(declared)
        .zip(exclusive)
        .enumerate()
        .map(|(i, ((c, d), &excl))| {
            let span = source.spans.get(i).copied().unwrap_or_default();
            let declared_request = d.resources.requests.cpu;
            container_plan(c, declared_request, pod_level_limit, excl, span, paths, a)
        })
        .collect()
}

/// A container's request as the kubelet reads it, with its derivation.
fn container_request_steps(request: Option<Quantity>, declared: Option<Quantity>) -> Vec<Step> {
    let mut steps = Vec::new();
    if declared.is_none() && request.is_some() {
        steps.push(Step::new(
            format!(
                "no cpu request: defaulted to the cpu limit {}",
                fmt_q(request)
            ),
            src::SET_DEFAULTS_POD,
        ));
    }
    steps.extend(milli_value_step(request));
    steps
}

/// One container: `calculateLinuxResources` (shares from the request, else the limit; quota
/// from the own or the pod-level limit) → containerd (only non-zero fields) → the runtime.
fn container_plan(
    c: &ContainerSpec,
    declared_request: Option<Quantity>,
    pod_level_limit: Option<Option<Quantity>>,
    exclusive: u64,
    span: Span,
    paths: &CgroupPaths,
    a: &Assumptions,
) -> ContainerPlan {
    let zero = Quantity { nanos: 0 };
    let mut cnotes = Vec::new();
    let request = c.resources.requests.cpu;
    let own_limit = c.resources.limits.cpu;
    let req_steps = container_request_steps(request, declared_request);
    let (cpu_limit, inherited) = match pod_level_limit {
        Some(pl) if own_limit.unwrap_or(zero).is_zero() => (pl.unwrap_or(zero), true),
        _ => (own_limit.unwrap_or(zero), false),
    };
    let mut lim_steps = Vec::new();
    if inherited {
        lim_steps.push(Step::new(
            format!(
                "no own cpu limit: getCPULimit uses the pod-level limit {}",
                fmt_q(Some(cpu_limit))
            ),
            src::GET_CPU_LIMIT,
        ));
        cnotes.push(format!(
            "cpu limit inherited from spec.resources.limits.cpu ({})",
            fmt_q(Some(cpu_limit))
        ));
    }
    lim_steps.extend(milli_value_step(Some(cpu_limit).filter(|q| !q.is_zero())));
    let limit_milli = cpu_limit.milli_value();

    let (shares, c_shares_steps) = container_shares(request, cpu_limit, &req_steps, &lim_steps);

    let mut c_quota_steps = lim_steps.clone();
    let mut c_period_steps = Vec::new();
    let (quota, period) = container_quota(
        MilliCpu(limit_milli),
        exclusive,
        a,
        &mut c_quota_steps,
        &mut c_period_steps,
    );
    if exclusive > 0 {
        cnotes.push(format!("static CPU manager: {exclusive} exclusive CPUs"));
        c_quota_steps.push(Step::new(
            format!("Guaranteed pod, integral cpu request: {exclusive} exclusive CPUs"),
            src::GUARANTEED_CPUS,
        ));
    }
    let cri = CpuResources {
        shares,
        quota,
        period,
    };
    let values = writer::files(
        cri,
        Derivations {
            shares: c_shares_steps,
            quota: c_quota_steps,
            period: c_period_steps,
        },
        Writer::Runtime,
        a,
    );
    let limit_value = if inherited {
        Some(limit_milli).filter(|m| *m != 0)
    } else {
        milli(own_limit)
    };
    let mut req_expl_steps = req_steps;
    if request.is_none() {
        req_expl_steps.push(Step::new(
            "no cpu request and no cpu limit to default it from",
            src::SET_DEFAULTS_POD,
        ));
    }
    ContainerPlan {
        name: c.name.clone(),
        role: c.role,
        request_millicores: Explained::new(milli(request), req_expl_steps),
        limit_millicores: Explained::new(limit_value, lim_steps),
        values,
        cri,
        exclusive_cpus: exclusive,
        cgroup: CgroupPaths {
            cgroupfs: format!("{}/<container-id>", paths.cgroupfs),
            systemd: format!("{}/cri-containerd-<container-id>.scope", paths.systemd),
        },
        notes: cnotes,
        span,
    }
}

/// `CpuShares` over CRI: `MilliCPUToShares` of the request, or of the limit when the
/// container has no request key at all.
fn container_shares(
    request: Option<Quantity>,
    cpu_limit: Quantity,
    req_steps: &[Step],
    lim_steps: &[Step],
) -> (Shares, Vec<Step>) {
    let mut steps = req_steps.to_vec();
    let from = match request {
        None => {
            steps.extend(lim_steps.iter().cloned());
            steps.push(Step::new(
                format!(
                    "no cpu request key: shares come from the cpu limit {}",
                    fmt_q(Some(cpu_limit))
                ),
                src::CALCULATE_LINUX_RESOURCES,
            ));
            cpu_limit.milli_value()
        }
        Some(r) => r.milli_value(),
    };
    let s = kubelet::milli_cpu_to_shares_explained(MilliCpu(from));
    steps.extend(s.steps);
    steps.push(Step::new(
        format!("CRI CpuShares = {}", s.value),
        src::CALCULATE_LINUX_RESOURCES,
    ));
    (s.value, steps)
}

/// The container's `CpuQuota` and `CpuPeriod` as the kubelet sends them over CRI.
fn container_quota(
    limit: MilliCpu,
    exclusive: u64,
    a: &Assumptions,
    quota_steps: &mut Vec<Step>,
    period_steps: &mut Vec<Step>,
) -> (QuotaUs, PeriodUs) {
    if !a.cpu_cfs_quota {
        let why = "cpuCFSQuota = false: kubelet sends neither CpuQuota nor CpuPeriod";
        quota_steps.push(Step::new(why, src::CALCULATE_LINUX_RESOURCES));
        period_steps.push(Step::new(why, src::CALCULATE_LINUX_RESOURCES));
        return (QuotaUs(0), PeriodUs(0));
    }
    let gate = a.custom_cpu_cfs_quota_period();
    let period = if gate {
        a.cfs_period
    } else {
        PeriodUs::DEFAULT
    };
    period_steps.push(Step::new(
        format!(
            "CpuPeriod = {period} ({})",
            if gate {
                "CustomCPUCFSQuotaPeriod on: kubelet cpuCFSQuotaPeriod"
            } else {
                "default QuotaPeriod"
            }
        ),
        src::CALCULATE_LINUX_RESOURCES,
    ));
    let computed = kubelet::milli_cpu_to_quota_explained(limit, period, QuotaFn::Container);
    quota_steps.extend(computed.steps);
    let mut q = computed.value;
    if exclusive > 0 && a.disable_cpu_quota_with_exclusive_cpus() {
        quota_steps.push(Step::new(
            format!(
                "{exclusive} exclusive CPUs and DisableCPUQuotaWithExclusiveCPUs: CpuQuota = -1"
            ),
            src::CALCULATE_LINUX_RESOURCES,
        ));
        q = QuotaUs::UNLIMITED;
    }
    if q.0 == 0 {
        quota_steps.push(Step::new(
            "CpuQuota 0 is not copied into the OCI spec (only non-zero fields are)",
            src::CONTAINERD_WITH_RESOURCES,
        ));
    }
    (q, period)
}

#[cfg(test)]
pub(crate) mod tests;
