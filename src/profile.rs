//! The translation target: which node, kubelet and OCI runtime the numbers are computed for
//! (pure core).
//!
//! [`Assumptions`] is printed in every `translate` output so that a number is never shown
//! without the environment it belongs to. The CLI maps its flags onto this struct; nothing
//! here knows about clap.
//!
//! Version facts used below (each read upstream; see the report of the translate helper):
//! - Feature gates, `pkg/features/kube_features.go` (kubernetes/kubernetes, 1.35–1.37 era):
//!   `CPUCFSQuotaPeriod` (string name `CustomCPUCFSQuotaPeriod`) alpha 1.12, default off;
//!   `SidecarContainers` alpha 1.28 (off), beta 1.29 (on), GA 1.33 (locked on);
//!   `PodLevelResources` alpha 1.32 (off), beta 1.34 (on);
//!   `DisableCPUQuotaWithExclusiveCPUs` beta 1.33 (on), no earlier entry.
//! - opencontainers/cgroups vendored by the kubelet (decides whether the systemd driver's
//!   10 ms round-up of `CPUQuotaPerSecUSec` is also written to the pod cgroup's cgroupfs
//!   files, cgroups commit `83f2519` "systemd: Write rounded CPU quota to cgroupfs", first
//!   in v0.0.2): kubernetes CHANGELOG-1.35 "Changelog since v1.34.0" lists
//!   `github.com/opencontainers/cgroups v0.0.1 → v0.0.3`; 1.33 and 1.34 vendor v0.0.1, older
//!   kubelets vendor runc's libcontainer (≤ 1.2.x, no write-back), 1.36 vendors v0.0.6
//!   (dependency lists of downstream projects bumping k8s.io/kubernetes 1.35.2 → 1.36.1).
//!   So kubelet ≥ 1.35 writes the rounded pod quota, ≤ 1.34 the unrounded one.
//! - Runtimes: runc tags checked in opencontainers/runc: v1.1.x, v1.2.x, v1.3.0, v1.3.1 have
//!   the linear `ConvertCPUSharesToCgroupV2Value` and no quota write-back; v1.3.2+ and v1.4.x
//!   vendor cgroups ≥ v0.0.3 (quadratic weight, write-back). crun `cgroup-internal.h`
//!   `convert_shares_to_weight`: linear at tags 1.8 and 1.22, quadratic from 1.23; crun writes
//!   the unrounded quota to cgroupfs in every version (`cgroup-systemd.c` rounds only the
//!   systemd property).

use crate::units::PeriodUs;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Why a profile value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// A value that does not name a known option.
    #[error("unknown {what} {input:?} (expected one of: {expected})")]
    Unknown {
        /// What was being parsed (`cgroup version`, `runtime`, …).
        what: &'static str,
        /// The input.
        input: String,
        /// The accepted spellings, comma separated.
        expected: String,
    },
    /// A Kubernetes version that is not `1.NN` (optionally `v` prefix and `.patch`).
    #[error("invalid Kubernetes version {0:?} (expected e.g. 1.34, v1.34 or 1.34.2)")]
    KubeVersion(String),
    /// A CFS period outside the range the kubelet accepts.
    #[error(
        "CFS period {0} us is outside 1000..=1000000 us (kubelet validation of cpuCFSQuotaPeriod: 1ms..1s)"
    )]
    PeriodRange(u64),
}

fn unknown(what: &'static str, input: &str, expected: &[&str]) -> ProfileError {
    ProfileError::Unknown {
        what,
        input: input.to_string(),
        expected: expected.join(", "),
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used on the command line and in every output.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ProfileError;
            fn from_str(s: &str) -> Result<Self, ProfileError> {
                let t = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        unknown($what, s, &names)
                    })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// cgroup hierarchy version of the node.
    CgroupVersion, "cgroup version" {
        /// Legacy hierarchy: `cpu.shares`, `cpu.cfs_quota_us`, `cpu.cfs_period_us`.
        V1 => "v1",
        /// Unified hierarchy: `cpu.weight`, `cpu.max`.
        V2 => "v2",
    }
);

string_enum!(
    /// The kubelet's (and runtime's) cgroup driver.
    CgroupDriver, "cgroup driver" {
        /// Direct cgroupfs writes (`/kubepods/burstable/pod<uid>`).
        Cgroupfs => "cgroupfs",
        /// systemd slices and scopes (`kubepods.slice/kubepods-burstable.slice/…`).
        Systemd => "systemd",
    }
);

string_enum!(
    /// shares → `cpu.weight` conversion used by the OCI runtime for container cgroups.
    WeightFormula, "weight formula" {
        /// `1 + (shares-2)*9999/262142` (runc ≤ 1.3.1, crun ≤ 1.22; the kubelet's own
        /// `getCPUWeight` for pod and QoS cgroups in every version).
        Linear => "linear",
        /// `ceil(10^((L²+125L)/612 − 7/34))`, `L = log2(shares)` (runc ≥ 1.3.2, crun ≥ 1.23).
        Quadratic => "quadratic",
    }
);

string_enum!(
    /// kubelet `--cpu-manager-policy`.
    CpuManagerPolicy, "CPU manager policy" {
        /// Every container shares the pool.
        None => "none",
        /// Guaranteed pods with integral CPU requests get exclusive CPUs.
        Static => "static",
    }
);

string_enum!(
    /// OCI runtime preset: identity and version decide the container weight formula and
    /// whether the systemd quota round-up also lands in cgroupfs.
    Runtime, "runtime" {
        /// runc 1.1.x (in-tree libcontainer/cgroups: linear weight, no write-back).
        Runc1_1 => "runc-1.1",
        /// runc 1.2.x (in-tree libcontainer/cgroups: linear weight, no write-back).
        Runc1_2 => "runc-1.2",
        /// runc 1.3.0 (vendors opencontainers/cgroups v0.0.1).
        Runc1_3_0 => "runc-1.3.0",
        /// runc 1.3.1 (vendors opencontainers/cgroups v0.0.1).
        Runc1_3_1 => "runc-1.3.1",
        /// runc 1.3.2 … 1.3.x (vendors opencontainers/cgroups v0.0.4: quadratic, write-back).
        Runc1_3_2 => "runc-1.3.2",
        /// runc 1.4.x (opencontainers/cgroups ≥ v0.0.3: quadratic, write-back).
        Runc1_4 => "runc-1.4",
        /// crun 1.8 (linear `convert_shares_to_weight`).
        Crun1_8 => "crun-1.8",
        /// crun 1.22 (last release with the linear formula).
        Crun1_22 => "crun-1.22",
        /// crun 1.23 and later (quadratic formula).
        Crun1_23 => "crun-1.23",
    }
);

/// The runtime family (decides the `cpu.max` writer's edge cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeFamily {
    /// opencontainers/runc (cgroup code from opencontainers/cgroups or libcontainer).
    Runc,
    /// containers/crun.
    Crun,
}

impl Runtime {
    /// runc or crun.
    pub fn family(self) -> RuntimeFamily {
        match self {
            Runtime::Crun1_8 | Runtime::Crun1_22 | Runtime::Crun1_23 => RuntimeFamily::Crun,
            _ => RuntimeFamily::Runc,
        }
    }

    /// The shares → weight formula this runtime applies to container cgroups on cgroup v2.
    ///
    /// opencontainers/cgroups `utils.go` `ConvertCPUSharesToCgroupV2Value` (quadratic since
    /// commit `fd95216`, v0.0.3; runc v1.3.2 and v1.4.0 are the first releases vendoring it);
    /// containers/crun `src/libcrun/cgroup-internal.h` `convert_shares_to_weight` (quadratic
    /// since commit `4998c92`, first in 1.23).
    pub fn weight_formula(self) -> WeightFormula {
        match self {
            Runtime::Runc1_3_2 | Runtime::Runc1_4 | Runtime::Crun1_23 => WeightFormula::Quadratic,
            _ => WeightFormula::Linear,
        }
    }

    /// True when this runtime, under the systemd driver, writes the quota rounded up to
    /// 10 ms per CPU-second to cgroupfs as well (opencontainers/cgroups ≥ v0.0.2
    /// `systemd/common.go` `addCPUQuota` overwrites the caller's quota). runc ≤ 1.3.1 and
    /// every crun round only the systemd unit property and then write the unrounded quota.
    pub fn systemd_writes_rounded_quota(self) -> bool {
        matches!(self, Runtime::Runc1_3_2 | Runtime::Runc1_4)
    }
}

/// A Kubernetes release, `1.minor` (patch releases do not change any rule kcpu models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// The minor version (`34` for 1.34).
    pub minor: u32,
}

impl KubeVersion {
    /// The default target: Kubernetes 1.34.
    pub const DEFAULT: KubeVersion = KubeVersion { minor: 34 };

    /// `1.minor`.
    pub const fn new(minor: u32) -> KubeVersion {
        KubeVersion { minor }
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

impl FromStr for KubeVersion {
    type Err = ProfileError;
    fn from_str(s: &str) -> Result<Self, ProfileError> {
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let mut parts = t.split('.');
        let bad = || ProfileError::KubeVersion(s.to_string());
        if parts.next() != Some("1") {
            return Err(bad());
        }
        let minor: u32 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if let Some(patch) = parts.next() {
            patch.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(KubeVersion { minor })
    }
}

impl Serialize for KubeVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Explicit feature-gate settings (`--feature-gates`); `None` means the release default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GateOverrides {
    /// `PodLevelResources`.
    pub pod_level_resources: Option<bool>,
    /// `SidecarContainers`.
    pub sidecar_containers: Option<bool>,
    /// `DisableCPUQuotaWithExclusiveCPUs`.
    pub disable_cpu_quota_with_exclusive_cpus: Option<bool>,
    /// `CustomCPUCFSQuotaPeriod` (Go name `CPUCFSQuotaPeriod`).
    pub custom_cpu_cfs_quota_period: Option<bool>,
}

/// Everything the numbers depend on besides the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumptions {
    /// cgroup v1 or v2 (default v2). Both sets of files are always computed; this selects
    /// which ones are "live" on the node and shown first.
    pub cgroup: CgroupVersion,
    /// The OCI runtime preset (default runc-1.4).
    pub runtime: Runtime,
    /// Override of the runtime's shares → weight formula (`None`: the runtime's own).
    pub weight_formula: Option<WeightFormula>,
    /// kubelet and runtime cgroup driver (default systemd).
    pub driver: CgroupDriver,
    /// kubelet `cpuCFSQuotaPeriod` in µs (default 100000). A value other than 100000 turns
    /// the `CustomCPUCFSQuotaPeriod` gate on unless overridden in `gates`.
    pub cfs_period: PeriodUs,
    /// kubelet `cpuCFSQuota` (`--cpu-cfs-quota`, default true; `--no-cfs-quota` sets false).
    pub cpu_cfs_quota: bool,
    /// kubelet `--cpu-manager-policy` (default none).
    pub cpu_manager_policy: CpuManagerPolicy,
    /// Kubernetes release of the kubelet and API server (default 1.34): decides gate
    /// defaults and which kubelet code path applies.
    pub kubernetes: KubeVersion,
    /// Explicit feature-gate settings.
    pub gates: GateOverrides,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            cgroup: CgroupVersion::V2,
            runtime: Runtime::Runc1_4,
            weight_formula: None,
            driver: CgroupDriver::Systemd,
            cfs_period: PeriodUs::DEFAULT,
            cpu_cfs_quota: true,
            cpu_manager_policy: CpuManagerPolicy::None,
            kubernetes: KubeVersion::DEFAULT,
            gates: GateOverrides::default(),
        }
    }
}

/// Which library wrote the kubelet's own cgroups (for explanations).
const KUBELET_CGROUPS_V0_0_1: &str = "opencontainers/cgroups v0.0.1";

impl Assumptions {
    /// Checks the ranges the kubelet itself enforces.
    ///
    /// kubernetes `pkg/kubelet/apis/config/validation/validation.go`: with
    /// `CustomCPUCFSQuotaPeriod` on, `cpuCFSQuotaPeriod` must lie in 1ms..=1s.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let p = self.cfs_period.0;
        if !(1_000..=1_000_000).contains(&p) {
            return Err(ProfileError::PeriodRange(p));
        }
        Ok(())
    }

    /// The container weight formula in effect (override, else the runtime's).
    pub fn effective_weight_formula(&self) -> WeightFormula {
        self.weight_formula
            .unwrap_or_else(|| self.runtime.weight_formula())
    }

    /// `PodLevelResources`: alpha 1.32 (off), beta 1.34 (on); absent before 1.32.
    pub fn pod_level_resources(&self) -> bool {
        let default = self.kubernetes.minor >= 34;
        match self.gates.pod_level_resources {
            Some(v) => v && self.kubernetes.minor >= 32,
            None => default,
        }
    }

    /// `SidecarContainers` (restartable init containers): alpha 1.28 (off), beta 1.29 (on),
    /// GA 1.33. Before 1.28 the field does not exist; with the gate off the API server drops
    /// `restartPolicy` from init containers, so they run as ordinary init containers.
    pub fn sidecar_containers(&self) -> bool {
        let m = self.kubernetes.minor;
        match self.gates.sidecar_containers {
            Some(v) if (28..33).contains(&m) => v,
            _ => m >= 29,
        }
    }

    /// `DisableCPUQuotaWithExclusiveCPUs`: beta 1.33 (on). Before 1.33 containers with
    /// exclusive CPUs keep their quota.
    pub fn disable_cpu_quota_with_exclusive_cpus(&self) -> bool {
        if self.kubernetes.minor < 33 {
            return false;
        }
        self.gates
            .disable_cpu_quota_with_exclusive_cpus
            .unwrap_or(true)
    }

    /// `CustomCPUCFSQuotaPeriod`: alpha since 1.12, default off; kcpu turns it on when a
    /// non-default period is configured (the kubelet rejects such a period otherwise).
    pub fn custom_cpu_cfs_quota_period(&self) -> bool {
        self.gates
            .custom_cpu_cfs_quota_period
            .unwrap_or(self.cfs_period != PeriodUs::DEFAULT)
    }

    /// True when the kubelet's `ResourceConfigForPod` visits init containers' effective
    /// limits when deciding whether the pod quota is "declared" (the `ContainerFn` callback
    /// of component-helpers `PodLimits`, introduced with kubernetes PR #115367 for 1.27).
    /// Older kubelets looped over `spec.containers` only.
    ///
    /// 1.37 removed `ContainerFn` (component-helpers commit `1e15266`); the replacement in
    /// the 1.37 kubelet was not readable here, so 1.37+ keeps the ≤ 1.36 rule (flagged in
    /// every explanation that relies on it).
    pub fn pod_quota_checks_init_containers(&self) -> bool {
        self.kubernetes.minor >= 27
    }

    /// True when the declared-limits rule above is unverified for this release.
    pub fn pod_quota_rule_unverified(&self) -> bool {
        self.kubernetes.minor >= 37
    }

    /// True when the pod-level `MilliCPUToQuota` ignores the configured period while
    /// `CustomCPUCFSQuotaPeriod` is off (quota for 100000 µs, `CPUPeriod` still the configured
    /// value): kubernetes `pkg/kubelet/cm/helpers_linux.go` up to 1.36. A post-1.36
    /// `helpers_linux_test.go` (TestResourceConfigForPod with DRANodeAllocatableResources
    /// rows) expects quota 1000 at period 5000 without enabling any gate, so newer kubelets
    /// use the caller's period; the exact release of that change was not pinned down.
    pub fn pod_quota_resets_period_without_gate(&self) -> bool {
        self.kubernetes.minor <= 36
    }

    /// True when the kubelet's vendored cgroup library writes the systemd-rounded quota to
    /// the pod cgroup's cgroupfs files (opencontainers/cgroups ≥ v0.0.2, kubelet ≥ 1.35).
    pub fn kubelet_writes_rounded_quota(&self) -> bool {
        self.driver == CgroupDriver::Systemd && self.kubernetes.minor >= 35
    }

    /// The cgroup library the kubelet vendors for its own cgroups, as far as read upstream.
    pub fn kubelet_cgroup_library(&self) -> &'static str {
        match self.kubernetes.minor {
            0..=32 => "opencontainers/runc libcontainer (<= 1.2.x)",
            33 | 34 => KUBELET_CGROUPS_V0_0_1,
            35 => "opencontainers/cgroups v0.0.3",
            _ => "opencontainers/cgroups >= v0.0.6",
        }
    }

    /// True when the runtime writes the systemd-rounded quota to container cgroups.
    pub fn runtime_writes_rounded_quota(&self) -> bool {
        self.driver == CgroupDriver::Systemd && self.runtime.systemd_writes_rounded_quota()
    }

    /// The derived feature gates by their upstream names, sorted.
    pub fn feature_gates(&self) -> BTreeMap<&'static str, bool> {
        BTreeMap::from([
            (
                "CustomCPUCFSQuotaPeriod",
                self.custom_cpu_cfs_quota_period(),
            ),
            (
                "DisableCPUQuotaWithExclusiveCPUs",
                self.disable_cpu_quota_with_exclusive_cpus(),
            ),
            ("PodLevelResources", self.pod_level_resources()),
            ("SidecarContainers", self.sidecar_containers()),
        ])
    }

    /// Caveats about this combination that every output should carry.
    pub fn caveats(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.custom_cpu_cfs_quota_period() && self.cfs_period != PeriodUs::DEFAULT {
            out.push(format!(
                "cpuCFSQuotaPeriod {} us with CustomCPUCFSQuotaPeriod off: kubelet config validation rejects this; \
                 values show what ResourceConfigForPod computes as written (quota for 100000 us, period {} us)",
                self.cfs_period, self.cfs_period
            ));
        }
        if self.cgroup == CgroupVersion::V1 && self.kubernetes.minor >= 35 {
            out.push(
                "cgroup v1 with Kubernetes >= 1.35: the system validators reject cgroup v1 hosts for this kubelet version (CHANGELOG-1.35)"
                    .to_string(),
            );
        }
        if self.pod_quota_rule_unverified() {
            out.push(format!(
                "Kubernetes {}: component-helpers removed PodResourcesOptions.ContainerFn in 1.37; the pod quota \"declared\" rule of <= 1.36 is assumed",
                self.kubernetes
            ));
        }
        if self.kubernetes.minor > 37 {
            out.push(format!(
                "Kubernetes {}: newer than any release whose code was read (<= 1.37)",
                self.kubernetes
            ));
        }
        out
    }
}

/// The serialized form of [`Assumptions`]: raw settings plus everything derived from them.
#[derive(Serialize)]
struct AssumptionsView<'a> {
    cgroup: CgroupVersion,
    runtime: Runtime,
    weight_formula: WeightFormula,
    weight_formula_overridden: bool,
    driver: CgroupDriver,
    cfs_period_us: u64,
    cpu_cfs_quota: bool,
    cpu_manager_policy: CpuManagerPolicy,
    kubernetes: KubeVersion,
    feature_gates: BTreeMap<&'static str, bool>,
    kubelet_cgroup_library: &'static str,
    kubelet_writes_rounded_quota: bool,
    runtime_writes_rounded_quota: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    caveats: &'a [String],
}

impl Serialize for Assumptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let caveats = self.caveats();
        AssumptionsView {
            cgroup: self.cgroup,
            runtime: self.runtime,
            weight_formula: self.effective_weight_formula(),
            weight_formula_overridden: self.weight_formula.is_some(),
            driver: self.driver,
            cfs_period_us: self.cfs_period.0,
            cpu_cfs_quota: self.cpu_cfs_quota,
            cpu_manager_policy: self.cpu_manager_policy,
            kubernetes: self.kubernetes,
            feature_gates: self.feature_gates(),
            kubelet_cgroup_library: self.kubelet_cgroup_library(),
            kubelet_writes_rounded_quota: self.kubelet_writes_rounded_quota(),
            runtime_writes_rounded_quota: self.runtime_writes_rounded_quota(),
            caveats: &caveats,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let a = Assumptions::default();
        assert_eq!(a.cgroup, CgroupVersion::V2);
        assert_eq!(a.runtime, Runtime::Runc1_4);
        assert_eq!(a.driver, CgroupDriver::Systemd);
        assert_eq!(a.kubernetes, KubeVersion::new(34));
        assert_eq!(a.effective_weight_formula(), WeightFormula::Quadratic);
        assert!(a.pod_level_resources());
        assert!(a.sidecar_containers());
        assert!(a.disable_cpu_quota_with_exclusive_cpus());
        assert!(!a.custom_cpu_cfs_quota_period());
        assert!(!a.kubelet_writes_rounded_quota());
        assert!(a.runtime_writes_rounded_quota());
        assert!(a.validate().is_ok());
    }

    #[test]
    fn parse_and_display_round_trip() {
        for r in Runtime::ALL {
            assert_eq!(r.as_str().parse::<Runtime>().unwrap(), *r);
        }
        for v in CgroupVersion::ALL {
            assert_eq!(v.to_string().parse::<CgroupVersion>().unwrap(), *v);
        }
        assert_eq!(
            "SYSTEMD".parse::<CgroupDriver>().unwrap(),
            CgroupDriver::Systemd
        );
        let err = "runc-9".parse::<Runtime>().unwrap_err().to_string();
        assert!(
            err.contains("runc-1.4") && err.contains("crun-1.23"),
            "{err}"
        );
        assert!("v3".parse::<CgroupVersion>().is_err());
    }

    #[test]
    fn kube_version_parsing() {
        assert_eq!("1.34".parse::<KubeVersion>().unwrap(), KubeVersion::new(34));
        assert_eq!(
            "v1.33.2".parse::<KubeVersion>().unwrap(),
            KubeVersion::new(33)
        );
        for bad in ["2.1", "1", "1.x", "1.34.1.1", "", "1.34.x"] {
            assert!(bad.parse::<KubeVersion>().is_err(), "{bad}");
        }
        assert_eq!(KubeVersion::new(30).to_string(), "1.30");
    }

    #[test]
    fn runtime_table() {
        use Runtime::*;
        for r in [Runc1_1, Runc1_2, Runc1_3_0, Runc1_3_1, Crun1_8, Crun1_22] {
            assert_eq!(r.weight_formula(), WeightFormula::Linear, "{r}");
            assert!(!r.systemd_writes_rounded_quota(), "{r}");
        }
        for r in [Runc1_3_2, Runc1_4] {
            assert_eq!(r.weight_formula(), WeightFormula::Quadratic);
            assert!(r.systemd_writes_rounded_quota());
        }
        assert_eq!(Crun1_23.weight_formula(), WeightFormula::Quadratic);
        assert!(!Crun1_23.systemd_writes_rounded_quota());
        assert_eq!(Crun1_23.family(), RuntimeFamily::Crun);
    }

    #[test]
    fn gates_by_version() {
        let at = |minor| Assumptions {
            kubernetes: KubeVersion::new(minor),
            ..Assumptions::default()
        };
        assert!(!at(33).pod_level_resources());
        assert!(at(34).pod_level_resources());
        assert!(!at(28).sidecar_containers());
        assert!(at(29).sidecar_containers());
        assert!(!at(32).disable_cpu_quota_with_exclusive_cpus());
        assert!(at(33).disable_cpu_quota_with_exclusive_cpus());
        assert!(!at(26).pod_quota_checks_init_containers());
        assert!(at(27).pod_quota_checks_init_containers());
        assert!(at(35).kubelet_writes_rounded_quota());
        assert!(!at(34).kubelet_writes_rounded_quota());

        // Overrides only where the gate exists and is not locked.
        let mut a = at(32);
        a.gates.pod_level_resources = Some(true);
        assert!(a.pod_level_resources());
        a.kubernetes = KubeVersion::new(31);
        assert!(!a.pod_level_resources());
        let mut a = at(34);
        a.gates.sidecar_containers = Some(false);
        assert!(a.sidecar_containers(), "GA and locked since 1.33");
        a.kubernetes = KubeVersion::new(30);
        assert!(!a.sidecar_containers());
        let mut a = at(34);
        a.gates.disable_cpu_quota_with_exclusive_cpus = Some(false);
        assert!(!a.disable_cpu_quota_with_exclusive_cpus());
    }

    #[test]
    fn custom_period_turns_gate_on() {
        let mut a = Assumptions {
            cfs_period: PeriodUs(50_000),
            ..Assumptions::default()
        };
        assert!(a.custom_cpu_cfs_quota_period());
        assert!(a.caveats().is_empty());
        a.gates.custom_cpu_cfs_quota_period = Some(false);
        assert!(!a.custom_cpu_cfs_quota_period());
        assert_eq!(a.caveats().len(), 1);
        assert!(Assumptions {
            cfs_period: PeriodUs(999),
            ..Assumptions::default()
        }
        .validate()
        .is_err());
        assert!(Assumptions {
            cfs_period: PeriodUs(1_000_001),
            ..Assumptions::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn serializes_derived_values() {
        let v = serde_json::to_value(Assumptions::default()).unwrap();
        assert_eq!(v["cgroup"], "v2");
        assert_eq!(v["runtime"], "runc-1.4");
        assert_eq!(v["weight_formula"], "quadratic");
        assert_eq!(v["cfs_period_us"], 100_000);
        assert_eq!(v["kubernetes"], "1.34");
        assert_eq!(v["feature_gates"]["PodLevelResources"], true);
        assert!(v.get("caveats").is_none());
    }
}
