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
use kubelet::src;
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

fn shares_step(m: i64) -> Step {
    let s = kubelet::milli_cpu_to_shares(MilliCpu(m));
    let text = if m == 0 {
        "MilliCPUToShares(0) = 2 (zero maps to the kernel minimum, not the default 1024)"
            .to_string()
    } else {
        let raw = m.wrapping_mul(1024) / 1000;
        let clamp = if !(2..=262_144).contains(&raw) {
            format!(" → clamped to [2, 262144] = {s}")
        } else {
            String::new()
        };
        format!("MilliCPUToShares({m}) = {m}*1024/1000 = {raw}{clamp}")
    };
    Step::new(text, src::MILLI_CPU_TO_SHARES)
}

fn quota_step(m: i64, period: PeriodUs, source: &'static str, name: &str) -> Step {
    let q = kubelet::milli_cpu_to_quota(MilliCpu(m), period);
    let text = if m == 0 {
        format!("{name}(0, {period}) = 0 (no limit: no quota)")
    } else {
        let raw = m.wrapping_mul(period.0 as i64) / 1000;
        let floor = if raw < 1000 {
            format!(" → floored to {q}")
        } else {
            String::new()
        };
        format!("{name}({m}, {period}) = {m}*{period}/1000 = {raw}{floor}")
    };
    Step::new(text, source)
}

/// Translates one workload.
pub fn translate_workload(w: &Workload, a: &Assumptions) -> Result<PodPlan, TranslateError> {
    let label = format!("{} {}/{}", w.kind, w.namespace(), w.metadata.name);
    let mut notes = Vec::new();
    let status_qos = w.status_qos.as_deref().and_then(QosClass::from_status);
    if let Some(s) = w.status_qos.as_deref().filter(|_| status_qos.is_none()) {
        notes.push(format!(
            "status.qosClass {s:?} is not a QoS class; the class is recomputed"
        ));
    }
    let mut parser = Parser {
        workload: label,
        need_memory: status_qos.is_none(),
        error: None,
    };

    // ---- the pod as the kubelet sees it ----
    let sidecars_on = a.sidecar_containers();
    let mut spans = Vec::new();
    let mut input = PodInput::default();
    for (i, c) in w.pod.init_containers.iter().enumerate() {
        let field = format!(
            "initContainers[{}]",
            if c.name.is_empty() {
                i.to_string()
            } else {
                c.name.clone()
            }
        );
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
        let field = format!(
            "containers[{}]",
            if c.name.is_empty() {
                i.to_string()
            } else {
                c.name.clone()
            }
        );
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
    if let Some(e) = parser.error {
        return Err(e);
    }
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
    let (pod, default_steps) = pod::apply_defaults(&input);

    // ---- QoS ----
    let (computed, qos_steps) = pod::compute_pod_qos(&pod);
    let qos = match status_qos {
        Some(s) => {
            if s != computed {
                notes.push(format!("status.qosClass {s} differs from the recomputed {computed}; the kubelet uses {s}"));
            }
            Explained::new(
                s,
                vec![Step::new(
                    format!("status.qosClass = {s} (GetPodQOS returns the stored class)"),
                    src::COMPUTE_POD_QOS,
                )],
            )
        }
        None => Explained::new(computed, qos_steps),
    };
    let qos_class = qos.value;

    // ---- pod request / limit ----
    let (req, req_steps) = pod::pod_requests(&pod, Res::Cpu, true);
    let mut request_steps: Vec<Step> = default_steps
        .iter()
        .filter(|s| s.source == src::DEFAULT_POD_REQUESTS)
        .cloned()
        .collect();
    request_steps.extend(req_steps);
    request_steps.extend(milli_value_step(req));
    let req_milli = milli(req);
    let limits = pod::pod_limits_cpu(&pod, a.pod_quota_checks_init_containers());
    let lim_milli = milli(limits.cpu);

    // ---- exclusive CPUs (static CPU manager) ----
    let pod_level_set = pod.pod_level.as_ref().is_some_and(|p| p.pod_level_set());
    let exclusive: Vec<u64> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .map(|c| match a.cpu_manager_policy {
            CpuManagerPolicy::Static => {
                pod::guaranteed_cpus(qos_class, pod_level_set, c.resources.requests.cpu)
            }
            CpuManagerPolicy::None => 0,
        })
        .collect();
    let pod_has_exclusive = exclusive.iter().any(|n| *n > 0);

    // ---- pod cgroup (ResourceConfigForPod + EnsureExists) ----
    let gate = a.custom_cpu_cfs_quota_period();
    let pod_gate = gate || !a.pod_quota_resets_period_without_gate();
    let mut shares_steps = request_steps.clone();
    let mut quota_steps = limits.steps.clone();
    let mut period_steps = Vec::new();
    let enforce_excl_off = a.disable_cpu_quota_with_exclusive_cpus() && pod_has_exclusive;
    let enforce = a.cpu_cfs_quota && !enforce_excl_off;
    let pod_shares = if qos_class == QosClass::BestEffort {
        shares_steps.push(Step::new(
            "BestEffort pod: CPUShares = MinShares = 2",
            src::RESOURCE_CONFIG_FOR_POD,
        ));
        Shares(kubelet::MIN_SHARES)
    } else {
        shares_steps.push(shares_step(req_milli.unwrap_or(0)));
        kubelet::milli_cpu_to_shares(MilliCpu(req_milli.unwrap_or(0)))
    };
    let set_quota = match qos_class {
        QosClass::Guaranteed => true,
        QosClass::Burstable => limits.cpu_declared,
        QosClass::BestEffort => false,
    };
    let (pod_quota, pod_period, pod_limit) = if set_quota {
        let lm = lim_milli.unwrap_or(0);
        quota_steps.extend(milli_value_step(limits.cpu));
        let used_period = if pod_gate {
            a.cfs_period
        } else {
            PeriodUs(kubelet::QUOTA_PERIOD)
        };
        quota_steps.push(quota_step(
            lm,
            used_period,
            src::MILLI_CPU_TO_QUOTA_POD,
            "MilliCPUToQuota",
        ));
        if !pod_gate && a.cfs_period != PeriodUs::DEFAULT {
            quota_steps.push(Step::new(
                format!("CustomCPUCFSQuotaPeriod off: quota computed for 100000 us although CPUPeriod = {}", a.cfs_period),
                src::MILLI_CPU_TO_QUOTA_POD,
            ));
        }
        let mut q = kubelet::milli_cpu_to_quota_pod(MilliCpu(lm), a.cfs_period, pod_gate);
        if !enforce {
            let why = if !a.cpu_cfs_quota {
                "cpuCFSQuota = false".to_string()
            } else {
                "DisableCPUQuotaWithExclusiveCPUs and the pod has exclusive CPUs".to_string()
            };
            quota_steps.push(Step::new(
                format!("enforceCPULimits = false ({why}): CPUQuota = -1"),
                src::ENSURE_EXISTS,
            ));
            q = QuotaUs::UNLIMITED;
        }
        quota_steps.push(Step::new(
            format!(
                "{qos_class} pod{}: CPUQuota = {q}",
                if qos_class == QosClass::Burstable {
                    " with every cpu limit declared"
                } else {
                    ""
                }
            ),
            src::RESOURCE_CONFIG_FOR_POD,
        ));
        period_steps.push(Step::new(
            format!("CPUPeriod = kubelet cpuCFSQuotaPeriod = {}", a.cfs_period),
            src::RESOURCE_CONFIG_FOR_POD,
        ));
        (q, a.cfs_period, Some(lm))
    } else {
        let why = match qos_class {
            QosClass::BestEffort => "BestEffort pod: only CPUShares is set",
            _ => "Burstable pod without a declared cpu limit for every container: CPUQuota and CPUPeriod are not set",
        };
        quota_steps.push(Step::new(why, src::RESOURCE_CONFIG_FOR_POD));
        period_steps.push(Step::new(why, src::RESOURCE_CONFIG_FOR_POD));
        (QuotaUs(0), PeriodUs(0), None)
    };
    if a.pod_quota_rule_unverified() && qos_class == QosClass::Burstable {
        quota_steps.push(Step::new(
            format!("Kubernetes {}: ContainerFn was removed in 1.37; the <= 1.36 declared-limits rule is assumed", a.kubernetes),
            src::RESOURCE_CONFIG_FOR_POD,
        ));
    }
    let pod_values = writer::files(
        CpuResources {
            shares: pod_shares,
            quota: pod_quota,
            period: pod_period,
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

    // ---- cgroup paths ----
    let uid = w
        .metadata
        .uid
        .clone()
        .unwrap_or_else(|| "<uid>".to_string());
    let tier = qos_class.tier();
    let tier_name = match tier {
        QosTier::Kubepods => kubelet::kubepods(),
        QosTier::Burstable => kubelet::kubepods().child("burstable"),
        QosTier::BestEffort => kubelet::kubepods().child("besteffort"),
    };
    let pod_name = tier_name.child(&kubelet::pod_cgroup_name_suffix(&uid));
    let pod_paths = CgroupPaths {
        cgroupfs: pod_name.to_cgroupfs(),
        systemd: pod_name.to_systemd(),
    };

    // ---- containers (calculateLinuxResources → containerd → runtime) ----
    let pod_level_limit = pod
        .pod_level
        .as_ref()
        .filter(|p| p.pod_level_set())
        .map(|p| p.limits.cpu);
    let zero = Quantity { nanos: 0 };
    let mut containers = Vec::new();
    for (i, c) in pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .enumerate()
    {
        let mut cnotes = Vec::new();
        let request = c.resources.requests.cpu;
        let own_limit = c.resources.limits.cpu;
        let declared_request = input
            .init_containers
            .iter()
            .chain(&input.containers)
            .nth(i)
            .and_then(|d| d.resources.requests.cpu);
        let mut req_steps = Vec::new();
        if declared_request.is_none() && request.is_some() {
            req_steps.push(Step::new(
                format!(
                    "no cpu request: defaulted to the cpu limit {}",
                    fmt_q(request)
                ),
                src::SET_DEFAULTS_POD,
            ));
        }
        req_steps.extend(milli_value_step(request));
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

        let mut c_shares_steps = req_steps.clone();
        let shares = match request {
            None => {
                c_shares_steps.extend(lim_steps.iter().cloned());
                c_shares_steps.push(Step::new(
                    format!(
                        "no cpu request key: shares come from the cpu limit {}",
                        fmt_q(Some(cpu_limit))
                    ),
                    src::CALCULATE_LINUX_RESOURCES,
                ));
                c_shares_steps.push(shares_step(limit_milli));
                kubelet::milli_cpu_to_shares(MilliCpu(limit_milli))
            }
            Some(r) => {
                let m = r.milli_value();
                c_shares_steps.push(shares_step(m));
                kubelet::milli_cpu_to_shares(MilliCpu(m))
            }
        };
        c_shares_steps.push(Step::new(
            format!("CRI CpuShares = {shares}"),
            src::CALCULATE_LINUX_RESOURCES,
        ));

        let mut c_quota_steps = lim_steps.clone();
        let mut c_period_steps = Vec::new();
        let (quota, period) = if a.cpu_cfs_quota {
            let period = if gate {
                a.cfs_period
            } else {
                PeriodUs(kubelet::QUOTA_PERIOD)
            };
            c_period_steps.push(Step::new(
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
            c_quota_steps.push(quota_step(
                limit_milli,
                period,
                src::MILLI_CPU_TO_QUOTA_CONTAINER,
                "milliCPUToQuota",
            ));
            let mut q = kubelet::milli_cpu_to_quota(MilliCpu(limit_milli), period);
            if exclusive[i] > 0 && a.disable_cpu_quota_with_exclusive_cpus() {
                c_quota_steps.push(Step::new(
                    format!(
                        "{} exclusive CPUs and DisableCPUQuotaWithExclusiveCPUs: CpuQuota = -1",
                        exclusive[i]
                    ),
                    src::CALCULATE_LINUX_RESOURCES,
                ));
                q = QuotaUs::UNLIMITED;
            }
            if q.0 == 0 {
                c_quota_steps.push(Step::new(
                    "CpuQuota 0 is not copied into the OCI spec (only non-zero fields are)",
                    src::CONTAINERD_WITH_RESOURCES,
                ));
            }
            (q, period)
        } else {
            let why = "cpuCFSQuota = false: kubelet sends neither CpuQuota nor CpuPeriod";
            c_quota_steps.push(Step::new(why, src::CALCULATE_LINUX_RESOURCES));
            c_period_steps.push(Step::new(why, src::CALCULATE_LINUX_RESOURCES));
            (QuotaUs(0), PeriodUs(0))
        };
        if exclusive[i] > 0 {
            cnotes.push(format!(
                "static CPU manager: {} exclusive CPUs",
                exclusive[i]
            ));
            c_quota_steps.push(Step::new(
                format!(
                    "Guaranteed pod, integral cpu request: {} exclusive CPUs",
                    exclusive[i]
                ),
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
        let orig_span = spans.get(i).copied().unwrap_or_default();
        containers.push(ContainerPlan {
            name: c.name.clone(),
            role: c.role,
            request_millicores: Explained::new(milli(request), req_expl_steps),
            limit_millicores: Explained::new(limit_value, lim_steps),
            values,
            cri,
            exclusive_cpus: exclusive[i],
            cgroup: CgroupPaths {
                cgroupfs: format!("{}/<container-id>", pod_paths.cgroupfs),
                systemd: format!("{}/cri-containerd-<container-id>.scope", pod_paths.systemd),
            },
            notes: cnotes,
            span: orig_span,
        });
    }

    if a.pod_quota_rule_unverified() && qos_class == QosClass::Burstable {
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
        cgroup: pod_paths,
        request_millicores: Explained::new(req_milli, request_steps),
        limit_millicores: Explained::new(pod_limit, limit_steps),
        pod: pod_values,
        containers,
        notes,
        span: w.span,
    })
}

#[cfg(test)]
pub(crate) mod tests;
