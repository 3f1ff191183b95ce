//! Flags that set the translation [`Assumptions`], shared by every command that reads manifests
//! (I/O shell: clap types never leave `cli`).

use crate::profile::{
    Assumptions, CgroupDriver, CgroupVersion, CpuManagerPolicy, KubeVersion, Runtime, WeightFormula,
};
use crate::units::{parse_duration, PeriodUs};
use anyhow::{bail, Context};

/// What the node runs: cgroup version, runtime, driver, kubelet settings.
#[derive(Debug, Clone, clap::Args)]
pub struct AssumptionArgs {
    /// cgroup version of the node: v1 or v2.
    #[arg(long, value_name = "v1|v2", default_value = "v2")]
    pub cgroup: String,
    /// OCI runtime preset (decides the shares→weight formula and systemd quota write-back):
    /// runc-1.1, runc-1.2, runc-1.3.0, runc-1.3.1, runc-1.3.2, runc-1.4, crun-1.8, crun-1.22, crun-1.23.
    #[arg(long, value_name = "PRESET", default_value = "runc-1.4")]
    pub runtime: String,
    /// Override the runtime's container shares→weight formula.
    #[arg(long, value_name = "linear|quadratic")]
    pub weight_formula: Option<String>,
    /// Cgroup driver of the kubelet and runtime.
    #[arg(long, value_name = "systemd|cgroupfs", default_value = "systemd")]
    pub driver: String,
    /// Kubelet `cpuCFSQuotaPeriod` (e.g. 100ms, or µs as a number); a non-default value implies
    /// the CustomCPUCFSQuotaPeriod feature gate.
    #[arg(long, value_name = "DURATION")]
    pub cfs_period: Option<String>,
    /// Kubelet `cpuCFSQuota=false`: no CFS quota is enforced.
    #[arg(long)]
    pub no_cfs_quota: bool,
    /// Kubelet CPU manager policy.
    #[arg(long, value_name = "none|static", default_value = "none")]
    pub cpu_manager_policy: String,
    /// Kubernetes minor version of the kubelet (decides feature-gate defaults).
    #[arg(long = "kubernetes", value_name = "1.NN", default_value = "1.34")]
    pub kubernetes: String,
    /// Feature-gate overrides, e.g. `PodLevelResources=false,SidecarContainers=true`.
    #[arg(long, value_name = "GATE=BOOL,...")]
    pub feature_gates: Option<String>,
}

fn parse<T: std::str::FromStr>(flag: &str, v: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>()
        .map_err(|e| anyhow::anyhow!("--{flag} {v:?}: {e}"))
}

impl AssumptionArgs {
    /// Builds and validates the assumptions.
    pub fn to_assumptions(&self) -> anyhow::Result<Assumptions> {
        let mut a = Assumptions {
            cgroup: parse::<CgroupVersion>("cgroup", &self.cgroup)?,
            runtime: parse::<Runtime>("runtime", &self.runtime)?,
            weight_formula: self
                .weight_formula
                .as_deref()
                .map(|w| parse::<WeightFormula>("weight-formula", w))
                .transpose()?,
            driver: parse::<CgroupDriver>("driver", &self.driver)?,
            cpu_cfs_quota: !self.no_cfs_quota,
            cpu_manager_policy: parse::<CpuManagerPolicy>(
                "cpu-manager-policy",
                &self.cpu_manager_policy,
            )?,
            kubernetes: parse::<KubeVersion>("kubernetes", &self.kubernetes)?,
            ..Assumptions::default()
        };
        if let Some(p) = &self.cfs_period {
            a.cfs_period = parse_period(p)?;
        }
        if let Some(g) = &self.feature_gates {
            for part in g.split(',').filter(|s| !s.trim().is_empty()) {
                let (name, val) = part.split_once('=').with_context(|| {
                    format!("--feature-gates: expected GATE=true|false, got {part:?}")
                })?;
                let on = match val.trim() {
                    "true" => true,
                    "false" => false,
                    v => bail!("--feature-gates: {name}={v}: expected true or false"),
                };
                let slot = match name.trim() {
                    "PodLevelResources" => &mut a.gates.pod_level_resources,
                    "SidecarContainers" => &mut a.gates.sidecar_containers,
                    "DisableCPUQuotaWithExclusiveCPUs" => &mut a.gates.disable_cpu_quota_with_exclusive_cpus,
                    "CustomCPUCFSQuotaPeriod" | "CPUCFSQuotaPeriod" => &mut a.gates.custom_cpu_cfs_quota_period,
                    other => bail!(
                        "--feature-gates: unknown gate {other:?}; kcpu models PodLevelResources, SidecarContainers, DisableCPUQuotaWithExclusiveCPUs, CustomCPUCFSQuotaPeriod"
                    ),
                };
                *slot = Some(on);
            }
        }
        a.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(a)
    }
}

/// Parses a CFS period given as a duration (`100ms`) or as microseconds (`100000`).
pub fn parse_period(v: &str) -> anyhow::Result<PeriodUs> {
    if let Ok(us) = v.trim().parse::<u64>() {
        return Ok(PeriodUs(us));
    }
    let ns = parse_duration(v).map_err(|e| anyhow::anyhow!("--cfs-period: {e}"))?;
    if ns.0 % 1_000 != 0 {
        bail!("--cfs-period {v:?}: the period is set in whole microseconds");
    }
    Ok(PeriodUs(ns.0 / 1_000))
}
