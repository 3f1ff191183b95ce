//! The kubelet's own CPU arithmetic and cgroup naming (pure core).
//!
//! Every function mirrors one upstream Go function; the doc comment names it. Integer
//! arithmetic follows Go: `int64`/`uint64`, multiply before divide, truncating division and
//! two's-complement wrap-around on overflow (`wrapping_*`), so even absurd inputs give the
//! number the kubelet would compute rather than a panic.

use crate::cpu::Explained;
use crate::profile::CgroupDriver;
use crate::units::{MilliCpu, PeriodUs, QuotaUs, Shares, Weight};

/// Shares for one CPU (`SharesPerCPU`).
pub const SHARES_PER_CPU: i64 = 1024;
/// Milli-units per CPU (`MilliCPUToCPU`).
pub const MILLI_CPU_TO_CPU: i64 = 1000;

// The kubelet's `MinShares`, `MaxShares`, `QuotaPeriod` and `MinQuotaPeriod` (helpers_linux.go)
// equal the kernel's limits: they are `Shares::MIN`, `Shares::MAX`, `PeriodUs::DEFAULT` and
// `QuotaUs::MIN` in `crate::cpu`, written once.

/// Upstream locations cited by explanations (project, path, function).
pub mod src {
    /// `MilliCPUToShares`.
    pub const MILLI_CPU_TO_SHARES: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go MilliCPUToShares";
    /// Pod-level `MilliCPUToQuota`.
    pub const MILLI_CPU_TO_QUOTA_POD: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go MilliCPUToQuota";
    /// Container-level `milliCPUToQuota`.
    pub const MILLI_CPU_TO_QUOTA_CONTAINER: &str =
        "kubernetes/kubernetes pkg/kubelet/kuberuntime/helpers_linux.go milliCPUToQuota";
    /// `ResourceConfigForPod`.
    pub const RESOURCE_CONFIG_FOR_POD: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go ResourceConfigForPod";
    /// `EnsureExists` (pod cgroup creation, `enforceCPULimits`).
    pub const ENSURE_EXISTS: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/pod_container_manager_linux.go EnsureExists";
    /// `getCPUWeight` / `toResources`.
    pub const GET_CPU_WEIGHT: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/cgroup_manager_linux.go getCPUWeight";
    /// `calculateLinuxResources`.
    pub const CALCULATE_LINUX_RESOURCES: &str =
        "kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container_linux.go calculateLinuxResources";
    /// `getCPULimit`.
    pub const GET_CPU_LIMIT: &str =
        "kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container_linux.go getCPULimit";
    /// `SetDefaults_Pod`.
    pub const SET_DEFAULTS_POD: &str =
        "kubernetes/kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Pod";
    /// `defaultPodRequests`.
    pub const DEFAULT_POD_REQUESTS: &str =
        "kubernetes/kubernetes pkg/apis/core/v1/defaults.go defaultPodRequests";
    /// `ComputePodQOS` / `GetPodQOS`.
    pub const COMPUTE_POD_QOS: &str =
        "kubernetes/kubernetes pkg/apis/core/v1/helper/qos/qos.go ComputePodQOS";
    /// `PodRequests` / `AggregateContainerRequests`.
    pub const POD_REQUESTS: &str = "kubernetes/component-helpers resource/helpers.go PodRequests";
    /// `PodLimits` / `AggregateContainerLimits`.
    pub const POD_LIMITS: &str = "kubernetes/component-helpers resource/helpers.go PodLimits";
    /// Static CPU manager `guaranteedCPUs`.
    pub const GUARANTEED_CPUS: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/cpumanager/policy_static.go guaranteedCPUs";
    /// containerd `WithResources` (CRI → OCI copies only non-zero fields).
    pub const CONTAINERD_WITH_RESOURCES: &str =
        "containerd/containerd internal/cri/opts/spec_linux_opts.go WithResources";
    /// Feature gates.
    pub const KUBE_FEATURES: &str = "kubernetes/kubernetes pkg/features/kube_features.go";
    /// QoS tier cgroups.
    pub const QOS_CONTAINER_MANAGER: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/qos_container_manager_linux.go setCPUCgroupConfig";
    /// Node allocatable cgroup.
    pub const NODE_CONTAINER_MANAGER: &str =
        "kubernetes/kubernetes pkg/kubelet/cm/node_container_manager_linux.go getCgroupConfigInternal";
    /// The Linux kernel's defaults for a new cgroup.
    pub const KERNEL_DEFAULT: &str =
        "linux kernel/sched/core.c (cgroup defaults: cpu.shares 1024, cpu.weight 100, quota -1 = max, period 100000)";
}

/// `MilliCPUToShares(milliCPU int64) uint64`: `0 → 2`; else `milli*1024/1000` (int64,
/// truncating), clamped to `[2, 262144]`. The value and its derivation come from one
/// computation.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToShares` (1.25+ with
/// the upper clamp; the same function serves containers, pod cgroups and QoS tiers).
pub fn milli_cpu_to_shares_explained(milli: MilliCpu) -> Explained<Shares> {
    let m = milli.0;
    if m == 0 {
        return Explained::step(
            Shares::MIN,
            format!(
                "MilliCPUToShares(0) = {} (zero maps to the kernel minimum, not the default {})",
                Shares::MIN,
                Shares::DEFAULT
            ),
            src::MILLI_CPU_TO_SHARES,
        );
    }
    let raw = m.wrapping_mul(SHARES_PER_CPU) / MILLI_CPU_TO_CPU;
    let shares = Shares(raw.clamp(Shares::MIN.0 as i64, Shares::MAX.0 as i64) as u64);
    let clamp = if shares.0 as i64 != raw {
        format!(
            " → clamped to [{}, {}] = {shares}",
            Shares::MIN,
            Shares::MAX
        )
    } else {
        String::new()
    };
    Explained::step(
        shares,
        format!("MilliCPUToShares({m}) = {m}*{SHARES_PER_CPU}/{MILLI_CPU_TO_CPU} = {raw}{clamp}"),
        src::MILLI_CPU_TO_SHARES,
    )
}

/// [`milli_cpu_to_shares_explained`] without the derivation.
pub fn milli_cpu_to_shares(milli: MilliCpu) -> Shares {
    milli_cpu_to_shares_explained(milli).value
}

/// Which of the kubelet's two `milliCPUToQuota` copies computes a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaFn {
    /// Container-level `milliCPUToQuota` (kuberuntime).
    Container,
    /// Pod-level `MilliCPUToQuota` (cm).
    Pod,
}

impl QuotaFn {
    fn name(self) -> &'static str {
        match self {
            QuotaFn::Container => "milliCPUToQuota",
            QuotaFn::Pod => "MilliCPUToQuota",
        }
    }

    fn source(self) -> &'static str {
        match self {
            QuotaFn::Container => src::MILLI_CPU_TO_QUOTA_CONTAINER,
            QuotaFn::Pod => src::MILLI_CPU_TO_QUOTA_POD,
        }
    }
}

/// `milliCPUToQuota(milliCPU, period int64)`: `0 → 0` (no quota); else `milli*period/1000`
/// (int64, truncating, wrapping on overflow as Go does) with a floor of 1000 µs
/// (`MinQuotaPeriod`). The caller chooses the period (see [`milli_cpu_to_quota_pod`] for the
/// pod-level gate). The value and its derivation come from one computation.
///
/// kubernetes/kubernetes `pkg/kubelet/kuberuntime/helpers_linux.go` `milliCPUToQuota` and
/// `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToQuota`.
pub fn milli_cpu_to_quota_explained(
    milli: MilliCpu,
    period: PeriodUs,
    which: QuotaFn,
) -> Explained<QuotaUs> {
    let (m, name) = (milli.0, which.name());
    if m == 0 {
        return Explained::step(
            QuotaUs(0),
            format!("{name}(0, {period}) = 0 (no limit: no quota)"),
            which.source(),
        );
    }
    let raw = raw_quota(milli, period);
    let quota = QuotaUs(raw.max(QuotaUs::MIN.0));
    let floor = if raw < QuotaUs::MIN.0 {
        format!(" → floored to {quota}")
    } else {
        String::new()
    };
    let wrap = if quota_overflows(milli, period) {
        " (int64 overflow wraps)"
    } else {
        ""
    };
    Explained::step(
        quota,
        format!("{name}({m}, {period}) = {m}*{period}/{MILLI_CPU_TO_CPU} = {raw}{wrap}{floor}"),
        which.source(),
    )
}

/// `milli*period/1000` in Go's int64 arithmetic (wrapping), before the 1 ms floor.
pub fn raw_quota(milli: MilliCpu, period: PeriodUs) -> i64 {
    milli.0.wrapping_mul(period.0 as i64) / MILLI_CPU_TO_CPU
}

/// Whether Go's int64 `milli*period` overflows, so that the kubelet's quota is not the
/// arithmetic one (it wraps, and usually lands on the 1 ms floor).
pub fn quota_overflows(milli: MilliCpu, period: PeriodUs) -> bool {
    milli.0.checked_mul(period.0 as i64).is_none()
}

/// [`milli_cpu_to_quota_explained`] (container variant) without the derivation.
pub fn milli_cpu_to_quota(milli: MilliCpu, period: PeriodUs) -> QuotaUs {
    milli_cpu_to_quota_explained(milli, period, QuotaFn::Container).value
}

/// The period pod-level `MilliCPUToQuota` actually computes with: with the
/// `CustomCPUCFSQuotaPeriod` gate **off** the `period` argument is ignored and 100000 is
/// used — while `ResourceConfigForPod` still reports the caller's period (the "tuned-quota"
/// test vectors: quota 20000, period 5000).
///
/// kubernetes/kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToQuota`.
pub fn pod_quota_period(period: PeriodUs, custom_period_gate: bool) -> PeriodUs {
    if custom_period_gate {
        period
    } else {
        PeriodUs::DEFAULT
    }
}

/// Pod-level `MilliCPUToQuota(milliCPU, period int64)`: [`milli_cpu_to_quota`] at
/// [`pod_quota_period`].
pub fn milli_cpu_to_quota_pod(
    milli: MilliCpu,
    period: PeriodUs,
    custom_period_gate: bool,
) -> QuotaUs {
    milli_cpu_to_quota(milli, pod_quota_period(period, custom_period_gate))
}

/// `1 + (shares-2)*9999/262142` in uint64, wrapping like Go: the linear shares → weight map
/// through (2, 1) and (262144, 10000) that the kubelet's `getCPUWeight` and runc ≤ 1.3.1 use.
pub fn linear_shares_to_weight(shares: Shares) -> Weight {
    let (ds, dw) = (Shares::MAX.0 - Shares::MIN.0, Weight::MAX.0 - Weight::MIN.0);
    Weight(
        Weight::MIN
            .0
            .wrapping_add(shares.0.wrapping_sub(Shares::MIN.0).wrapping_mul(dw) / ds),
    )
}

/// The kubelet's own shares → `cpu.weight` for the cgroups it writes itself (kubepods, QoS
/// tiers, pods): `shares >= 262144 → 10000`, else `1 + (shares-2)*9999/262142` in uint64
/// (wrapping for shares < 2, which the kubelet never produces). `None` (unset; 0 in the
/// writer's resources) → 0. The explanation is the one step that prints the derivation.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/cgroup_manager_linux.go` `getCPUWeight`, still the
/// linear formula in every release read (≤ 1.37; kubernetes PR #139807 proposes a change).
pub fn kubelet_cpu_weight(shares: Option<Shares>) -> Explained<Weight> {
    let w = match shares {
        None => Weight(0),
        Some(s) if s >= Shares::MAX => Weight::MAX,
        Some(s) => linear_shares_to_weight(s),
    };
    Explained::step(
        w,
        format!(
            "kubelet getCPUWeight({}) = {w} (linear: 1 + (shares-2)*9999/262142, 10000 from 262144)",
            shares.unwrap_or(Shares(0))
        ),
        src::GET_CPU_WEIGHT,
    )
}

/// `sharesToMilliCPU`: `ceil(shares*1000/1024)` (float64 `math.Ceil`) for shares ≥ 2;
/// below that `None` (the kubelet reports no request).
///
/// kubernetes/kubernetes `pkg/kubelet/cm/helpers_linux.go` `sharesToMilliCPU` /
/// `CPURequestsFromConfig` (test vectors: 102 → 100, 1024 → 1000, 0 → nil).
pub fn shares_to_milli_cpu(shares: Shares) -> Option<MilliCpu> {
    if shares < Shares::MIN {
        return None;
    }
    let milli = ((shares.0 as f64) * MILLI_CPU_TO_CPU as f64 / SHARES_PER_CPU as f64).ceil();
    Some(MilliCpu(milli as i64))
}

/// `quotaToMilliCPU`: `quota*1000/period` (int64, truncating); `None` for quota −1
/// (unlimited) or period 0.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/helpers_linux.go` `quotaToMilliCPU` /
/// `CPULimitsFromConfig` (test vectors: 10000/100000 → 100, −1 → nil, period 0 → nil).
pub fn quota_to_milli_cpu(quota: QuotaUs, period: PeriodUs) -> Option<MilliCpu> {
    if quota.0 == -1 || period.0 == 0 {
        return None;
    }
    Some(MilliCpu(
        quota.0.wrapping_mul(MILLI_CPU_TO_CPU) / period.0 as i64,
    ))
}

/// The linear inverse the kubelet uses to read `cpu.weight` back as shares:
/// `((weight-1)*262142)/9999 + 2`.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/cgroup_v2_manager_linux.go` `cpuWeightToCPUShares`.
pub fn cpu_weight_to_shares(weight: Weight) -> Shares {
    let (ds, dw) = (Shares::MAX.0 - Shares::MIN.0, Weight::MAX.0 - Weight::MIN.0);
    Shares(weight.0.wrapping_sub(Weight::MIN.0).wrapping_mul(ds) / dw + Shares::MIN.0)
}

/// A cgroup name as a list of components (`CgroupName` in the kubelet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupName(pub Vec<String>);

impl CgroupName {
    /// `ParseCgroupfsToCgroupName`: `/a/b` → `[a, b]`; `/` and `` → `[]`.
    pub fn parse_cgroupfs(path: &str) -> CgroupName {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        if trimmed.is_empty() {
            return CgroupName(Vec::new());
        }
        CgroupName(trimmed.split('/').map(str::to_string).collect())
    }

    /// `NewCgroupName(base, components...)`.
    pub fn child(&self, component: &str) -> CgroupName {
        let mut v = self.0.clone();
        v.push(component.to_string());
        CgroupName(v)
    }

    /// `ToCgroupfs`: `/` + components joined by `/`.
    pub fn to_cgroupfs(&self) -> String {
        format!("/{}", self.0.join("/"))
    }

    /// `ToSystemd`: components with `-` escaped to `_`, joined by `-`, suffixed `.slice`,
    /// then expanded into the slice hierarchy (`ExpandSlice`); `[]` → `/`.
    ///
    /// kubernetes/kubernetes `pkg/kubelet/cm/cgroup_manager_linux.go` `ToSystemd`,
    /// `escapeSystemdCgroupName`; opencontainers/cgroups `systemd/common.go` `ExpandSlice`.
    pub fn to_systemd(&self) -> String {
        if self.0.is_empty() || (self.0.len() == 1 && self.0[0].is_empty()) {
            return "/".to_string();
        }
        let parts: Vec<String> = self.0.iter().map(|p| p.replace('-', "_")).collect();
        let mut path = String::new();
        let mut prefix = String::new();
        for part in &parts {
            prefix.push_str(part);
            path.push('/');
            path.push_str(&prefix);
            path.push_str(".slice");
            prefix.push('-');
        }
        path
    }

    /// Renders with the given driver.
    pub fn render(&self, driver: CgroupDriver) -> String {
        match driver {
            CgroupDriver::Cgroupfs => self.to_cgroupfs(),
            CgroupDriver::Systemd => self.to_systemd(),
        }
    }
}

/// `NodeAllocatableRoot(cgroupRoot, cgroupsPerQOS, driver)`: the node-allocatable
/// (`kubepods`) cgroup.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/helpers_linux.go` `NodeAllocatableRoot`.
pub fn node_allocatable_root(
    cgroup_root: &str,
    cgroups_per_qos: bool,
    driver: CgroupDriver,
) -> String {
    let mut name = CgroupName::parse_cgroupfs(cgroup_root);
    if cgroups_per_qos {
        name = name.child("kubepods");
    }
    name.render(driver)
}

/// `GetPodCgroupNameSuffix`: `"pod" + uid`.
pub fn pod_cgroup_name_suffix(uid: &str) -> String {
    format!("pod{uid}")
}

/// The kubelet default node-allocatable cgroup name (`--cgroup-root=/`, `--cgroups-per-qos`).
pub fn kubepods() -> CgroupName {
    CgroupName::parse_cgroupfs("/").child("kubepods")
}

/// Shares of the Burstable tier: `MilliCPUToShares(Σ MilliValue(PodRequests))` over the
/// active Burstable pods — the sum of milli values, not of per-pod shares. An empty tier
/// gets 2. The sum wraps like Go's int64.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/qos_container_manager_linux.go` `setCPUCgroupConfig`.
pub fn burstable_tier_shares(pod_requests: impl IntoIterator<Item = MilliCpu>) -> Shares {
    let sum = pod_requests
        .into_iter()
        .fold(0i64, |acc, m| acc.wrapping_add(m.0));
    milli_cpu_to_shares(MilliCpu(sum))
}

/// Shares of the BestEffort tier: always 2 (`MinShares`).
///
/// kubernetes/kubernetes `pkg/kubelet/cm/qos_container_manager_linux.go` `setCPUCgroupConfig`.
pub fn besteffort_tier_shares() -> Shares {
    Shares::MIN
}

/// Shares of the `kubepods` cgroup: `MilliCPUToShares(allocatable cpu)` where allocatable =
/// capacity − system-reserved − kube-reserved when node-allocatable enforcement covers pods.
///
/// kubernetes/kubernetes `pkg/kubelet/cm/node_container_manager_linux.go`
/// `getCgroupConfigInternal`.
pub fn kubepods_shares(allocatable: MilliCpu) -> Shares {
    milli_cpu_to_shares(allocatable)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Parses a vector TSV: header line, `#` comment line, then rows of integers.
    pub(crate) fn rows(tsv: &str) -> Vec<(usize, Vec<i128>)> {
        tsv.lines()
            .enumerate()
            .skip(1)
            .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
            .map(|(i, l)| {
                let cols = l
                    .split('\t')
                    .map(|c| c.trim().parse::<i128>().expect("integer column"))
                    .collect();
                (i + 1, cols)
            })
            .collect()
    }

    #[test]
    fn vectors_millicores_to_shares() {
        let tsv = include_str!("../../tests/data/vectors/millicores_to_shares.tsv");
        let mut failures = Vec::new();
        let all = rows(tsv);
        for (line, r) in &all {
            let got = milli_cpu_to_shares(MilliCpu(r[0] as i64)).0 as i128;
            if got != r[1] {
                failures.push(format!("line {line}: {} m -> {got}, want {}", r[0], r[1]));
            }
        }
        assert!(all.len() >= 60, "vector file too short");
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn vectors_millicores_to_quota() {
        let tsv = include_str!("../../tests/data/vectors/millicores_to_quota.tsv");
        let mut failures = Vec::new();
        let all = rows(tsv);
        for (line, r) in &all {
            let (m, p, want) = (MilliCpu(r[0] as i64), PeriodUs(r[1] as u64), r[2]);
            let container = milli_cpu_to_quota(m, p).0 as i128;
            let pod = milli_cpu_to_quota_pod(m, p, true).0 as i128;
            if container != want || pod != want {
                failures.push(format!(
                    "line {line}: {m} m @ {p} -> container {container}, pod {pod}, want {want}"
                ));
            }
        }
        assert!(all.len() >= 150, "vector file too short");
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn vectors_shares_to_weight_linear_kubelet_column() {
        let tsv = include_str!("../../tests/data/vectors/shares_to_weight_linear.tsv");
        let mut failures = Vec::new();
        for (line, r) in rows(tsv) {
            let got = kubelet_cpu_weight(Some(Shares(r[0] as u64))).value.0 as i128;
            if got != r[2] {
                failures.push(format!(
                    "line {line}: {} shares -> {got}, want {}",
                    r[0], r[2]
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// kubernetes `pkg/kubelet/cm/helpers_linux_test.go` TestMilliCPUToShares.
    #[test]
    fn upstream_test_milli_cpu_to_shares() {
        for (m, s) in [
            (0, 2),
            (1, 2),
            (2, 2),
            (1000, 1024),
            (500, 512),
            (100, 102),
            (2000, 2048),
            (1_000_000, 262_144),
            (256_000, 262_144),
        ] {
            assert_eq!(milli_cpu_to_shares(MilliCpu(m)), Shares(s), "{m}");
        }
    }

    /// kubernetes `pkg/kubelet/cm/helpers_linux_test.go` TestMilliCPUToQuota (gate off).
    #[test]
    fn upstream_test_milli_cpu_to_quota() {
        for (m, q) in [
            (0, 0),
            (5, 1000),
            (9, 1000),
            (10, 1000),
            (200, 20_000),
            (500, 50_000),
            (1000, 100_000),
            (1500, 150_000),
        ] {
            assert_eq!(
                milli_cpu_to_quota_pod(MilliCpu(m), PeriodUs(100_000), false),
                QuotaUs(q),
                "{m}"
            );
            // With the gate off the period argument is ignored.
            assert_eq!(
                milli_cpu_to_quota_pod(MilliCpu(m), PeriodUs(5_000), false),
                QuotaUs(q),
                "{m}"
            );
        }
    }

    /// kubernetes TestCPURequestsFromConfig / TestCPULimitsFromConfig.
    #[test]
    fn upstream_inverse_helpers() {
        assert_eq!(shares_to_milli_cpu(Shares(102)), Some(MilliCpu(100)));
        assert_eq!(shares_to_milli_cpu(Shares(1024)), Some(MilliCpu(1000)));
        assert_eq!(shares_to_milli_cpu(Shares(0)), None);
        assert_eq!(
            quota_to_milli_cpu(QuotaUs(10_000), PeriodUs(100_000)),
            Some(MilliCpu(100))
        );
        assert_eq!(
            quota_to_milli_cpu(QuotaUs(100_000), PeriodUs(100_000)),
            Some(MilliCpu(1000))
        );
        assert_eq!(quota_to_milli_cpu(QuotaUs(-1), PeriodUs(100_000)), None);
        assert_eq!(quota_to_milli_cpu(QuotaUs(10_000), PeriodUs(0)), None);
        // The v2 read-back inverse round-trips the kubelet's own weights at the anchors.
        assert_eq!(cpu_weight_to_shares(Weight(1)), Shares(2));
        assert_eq!(cpu_weight_to_shares(Weight(10_000)), Shares(262_144));
        assert_eq!(cpu_weight_to_shares(Weight(39)), Shares(998));
    }

    /// kubernetes TestNodeAllocatableRoot and GetPodCgroupNameSuffix.
    #[test]
    fn upstream_node_allocatable_root() {
        use CgroupDriver::*;
        assert_eq!(
            node_allocatable_root("/kubepods", false, Cgroupfs),
            "/kubepods"
        );
        assert_eq!(
            node_allocatable_root("/kubepods", true, Cgroupfs),
            "/kubepods/kubepods"
        );
        assert_eq!(
            node_allocatable_root("/kubepods", false, Systemd),
            "/kubepods.slice"
        );
        assert_eq!(
            node_allocatable_root("/kubepods", true, Systemd),
            "/kubepods.slice/kubepods-kubepods.slice"
        );
        assert_eq!(node_allocatable_root("", false, Cgroupfs), "/");
        // Rows of the post-1.36 helpers_linux_test.go TestNodeAllocatableRoot.
        assert_eq!(node_allocatable_root("/", true, Cgroupfs), "/kubepods");
        assert_eq!(node_allocatable_root("/", false, Cgroupfs), "/");
        assert_eq!(
            node_allocatable_root("/custom", true, Cgroupfs),
            "/custom/kubepods"
        );
        assert_eq!(node_allocatable_root("/custom", false, Cgroupfs), "/custom");
        assert_eq!(node_allocatable_root("", true, Cgroupfs), "/kubepods");
        assert_eq!(node_allocatable_root("/", true, Systemd), "/kubepods.slice");
        assert_eq!(
            pod_cgroup_name_suffix("abc-123-def-456"),
            "podabc-123-def-456"
        );
        assert_eq!(pod_cgroup_name_suffix(""), "pod");
        let pod = kubepods()
            .child("burstable")
            .child(&pod_cgroup_name_suffix("ab-cd"));
        assert_eq!(pod.to_cgroupfs(), "/kubepods/burstable/podab-cd");
        assert_eq!(
            pod.to_systemd(),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab_cd.slice"
        );
    }

    #[test]
    fn tiers() {
        assert_eq!(besteffort_tier_shares(), Shares(2));
        assert_eq!(burstable_tier_shares([]), Shares(2));
        // Sum of milli values first: 3 × 157m = 471m → 482, not 3 × 160 = 480.
        assert_eq!(burstable_tier_shares([MilliCpu(157); 3]), Shares(482));
        assert_eq!(milli_cpu_to_shares(MilliCpu(157)), Shares(160));
        assert_eq!(kubepods_shares(MilliCpu(8000)), Shares(8192));
        // kubernetes PR #139807: kubepods.slice cpu.weight 313 for 8 allocatable CPUs.
        assert_eq!(
            kubelet_cpu_weight(Some(kubepods_shares(MilliCpu(8000)))).value,
            Weight(313)
        );
    }
}
