//! The OCI runtime-spec `linux.resources.cpu` object a container gets on its way kubelet →
//! CRI → containerd → runc/crun, and what a given runtime version then leaves in the cgroup
//! files (pure core).
//!
//! The kubelet's CRI values come from [`super::translate_workload`] (kept on each
//! [`super::ContainerPlan`] as `cri`); containerd copies them into the spec only when they are
//! non-zero ([`LinuxCpu::from_cri`]); the runtime writes the files as [`super::writer`] models
//! it, plus the two fields the kubelet never sends but the spec has (`burst`, `idle`), whose
//! handling depends on the runtime version ([`predict`]). The differential suite
//! (`tests/run.rs`, `oci_` tests) compares [`predict`] with the files real runtimes wrote.

use super::plan::CgroupPaths;
use super::writer::{self, CpuResources, Derivations, Writer};
use crate::cpu::files;
use crate::profile::{Assumptions, CgroupDriver, CgroupVersion, Runtime, RuntimeFamily};
use crate::units::{PeriodUs, QuotaUs, Shares};
use serde::{Deserialize, Serialize};

/// Upstream locations cited by the OCI translation.
pub mod src {
    /// containerd copies period, quota and shares only when non-zero.
    pub const WITH_RESOURCES: &str =
        "containerd/containerd internal/cri/opts/spec_linux_opts.go WithResources (commit 1754af3)";
    /// containerd's container cgroup path.
    pub const GET_CGROUPS_PATH: &str = "containerd/containerd internal/cri/server getCgroupsPath";
    /// The runtime-spec object.
    pub const RUNTIME_SPEC: &str =
        "opencontainers/runtime-spec config-linux.md (linux.resources.cpu: shares, quota, burst, period, cpus, mems, idle)";
    /// Kernel: an idle group's weight is WEIGHT_IDLEPRIO.
    pub const SCHED_GROUP_SET_IDLE: &str =
        "torvalds/linux kernel/sched/fair.c sched_group_set_idle (tg->shares = WEIGHT_IDLEPRIO = 3)";
    /// Measured: runc 1.1.5 and crun 1.8.1 leave `burst` unwritten, runc 1.1.5 also `idle`.
    pub const MEASURED_OLD_RUNTIMES: &str =
        "measured: runc 1.1.5 (spec 1.0.2-dev) and crun 1.8.1 (Debian 12) on cgroup v1, tests/run.rs oci_differential";
}

/// The runtime-spec `linux.resources.cpu` object (field order as in the spec's Go struct;
/// absent fields are not serialized, as containerd leaves them nil).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxCpu {
    /// `shares` (cgroup v1 units; runtimes convert it to `cpu.weight` on v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// `quota` in µs (−1 = unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    /// `burst` in µs (runtime-spec ≥ 1.1; the kubelet never sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    /// `period` in µs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// `cpus` (cpuset; set later by the static CPU manager through UpdateContainerResources,
    /// so never known from a manifest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// `idle` (runtime-spec ≥ 1.1; the kubelet never sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle: Option<i64>,
}

impl LinuxCpu {
    /// containerd `WithResources`: `CpuPeriod`, `CpuQuota` and `CpuShares` are copied into
    /// the spec only when non-zero (`if p != 0 { Period = &p }`, same for quota and shares).
    pub fn from_cri(res: CpuResources) -> LinuxCpu {
        LinuxCpu {
            shares: (res.shares.0 != 0).then_some(res.shares.0),
            quota: (res.quota.0 != 0).then_some(res.quota.0),
            period: (res.period.0 != 0).then_some(res.period.0),
            ..LinuxCpu::default()
        }
    }

    /// Back to the "0 = unset" form the runtimes' cgroup code works with.
    pub fn to_resources(&self) -> CpuResources {
        CpuResources {
            shares: Shares(self.shares.unwrap_or(0)),
            quota: QuotaUs(self.quota.unwrap_or(0)),
            period: PeriodUs(self.period.unwrap_or(0)),
        }
    }
}

/// containerd `getCgroupsPath(cgroupsParent, id)`: with a systemd parent (its last component
/// ends in `.slice`) the runc systemd form `<slice>:cri-containerd:<id>`, else
/// `<parent>/<id>`.
pub fn cgroups_path(pod: &CgroupPaths, driver: CgroupDriver, id: &str) -> String {
    match driver {
        CgroupDriver::Cgroupfs => format!("{}/{id}", pod.cgroupfs.trim_end_matches('/')),
        CgroupDriver::Systemd => {
            let base = pod.systemd.rsplit('/').next().unwrap_or_default();
            format!("{base}:cri-containerd:{id}")
        }
    }
}

/// A runtime version as printed by `runc --version` / `crun --version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuntimeVersion {
    /// runc or crun.
    pub family: RuntimeFamily,
    /// `major.minor.patch`.
    pub version: (u32, u32, u32),
}

impl std::fmt::Display for RuntimeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.family {
            RuntimeFamily::Runc => "runc",
            RuntimeFamily::Crun => "crun",
        };
        let (a, b, c) = self.version;
        write!(f, "{name} {a}.{b}.{c}")
    }
}

/// Parses the first line of `runc --version` (`runc version 1.1.5+ds1`) or `crun --version`
/// (`crun version 1.8.1`). `None` when it is neither.
pub fn parse_version(text: &str) -> Option<RuntimeVersion> {
    let line = text.lines().next()?.trim();
    let (name, rest) = line.split_once(" version ")?;
    let family = match name.trim() {
        "runc" => RuntimeFamily::Runc,
        "crun" => RuntimeFamily::Crun,
        _ => return None,
    };
    let digits: String = rest
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut it = digits.split('.').map(|p| p.parse::<u32>().ok());
    let major = it.next()??;
    let minor = it.next()??;
    let patch = it.next().flatten().unwrap_or(0);
    Some(RuntimeVersion {
        family,
        version: (major, minor, patch),
    })
}

/// The `--runtime` preset whose rules this runtime version follows (see
/// [`Runtime::weight_formula`] and [`Runtime::systemd_writes_rounded_quota`] for the version
/// boundaries: runc 1.3.2 and crun 1.23 switch to the quadratic weight).
pub fn preset_for(v: RuntimeVersion) -> Runtime {
    let (maj, min, patch) = v.version;
    match v.family {
        RuntimeFamily::Runc => match (maj, min, patch) {
            (1, 0..=1, _) | (0, _, _) => Runtime::Runc1_1,
            (1, 2, _) => Runtime::Runc1_2,
            (1, 3, 0) => Runtime::Runc1_3_0,
            (1, 3, 1) => Runtime::Runc1_3_1,
            (1, 3, _) => Runtime::Runc1_3_2,
            _ => Runtime::Runc1_4,
        },
        RuntimeFamily::Crun => match (maj, min) {
            (0, _) | (1, 0..=8) => Runtime::Crun1_8,
            (1, 9..=22) => Runtime::Crun1_22,
            _ => Runtime::Crun1_23,
        },
    }
}

/// Whether the runtime writes the spec's `burst`: runc 1.1.5 (runtime-spec 1.0.2-dev, which
/// has no `burst` field, so Go's JSON decoder drops it) and crun 1.8.1 leave it unwritten
/// (measured, [`src::MEASURED_OLD_RUNTIMES`]); later runc writes it
/// (opencontainers/cgroups `fs/cpu.go` `cpu.cfs_burst_us`, `fs2/cpu.go` `cpu.max.burst`).
/// crun ≥ 1.9 is assumed to write it too (not verified against a binary here).
pub fn writes_burst(r: Runtime) -> bool {
    !matches!(r, Runtime::Runc1_1 | Runtime::Crun1_8)
}

/// Whether the runtime writes the spec's `idle`: crun 1.8.1 does (measured), runc 1.1.5 does
/// not (runtime-spec 1.0.2-dev has no `idle`); later runc writes it (opencontainers/cgroups
/// `fs/cpu.go` / `fs2/cpu.go` `cpu.idle`).
pub fn writes_idle(r: Runtime) -> bool {
    r != Runtime::Runc1_1
}

/// One cgroup file as kcpu predicts the runtime leaves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileValue {
    /// Kernel file name (`cpu.shares`, `cpu.max`, …).
    pub file: &'static str,
    /// The value as the kernel prints it (trimmed).
    pub value: String,
    /// True when the runtime does not write the file (the kernel default remains).
    pub kernel_default: bool,
}

fn fv(file: &'static str, value: impl ToString, kernel_default: bool) -> FileValue {
    FileValue {
        file,
        value: value.to_string(),
        kernel_default,
    }
}

/// The files runtime `r` leaves in a fresh container cgroup created from `cpu` with the
/// cgroupfs driver, on cgroup `version`: v1 `cpu.shares`, `cpu.cfs_quota_us`,
/// `cpu.cfs_period_us`, `cpu.cfs_burst_us` (and `cpu.idle` when the spec sets it); v2
/// `cpu.weight`, `cpu.max`, `cpu.max.burst` (and `cpu.idle`).
///
/// Shares, quota and period follow [`writer::files`] (the runtime's writer rules and weight
/// formula); `burst` and `idle` follow [`writes_burst`] / [`writes_idle`]. An idle group
/// reads `cpu.shares` 3 on v1 (kernel [`src::SCHED_GROUP_SET_IDLE`]).
pub fn predict(cpu: &LinuxCpu, r: Runtime, version: CgroupVersion) -> Vec<FileValue> {
    let a = Assumptions {
        cgroup: version,
        runtime: r,
        driver: CgroupDriver::Cgroupfs,
        ..Assumptions::default()
    };
    let v = writer::files(
        cpu.to_resources(),
        Derivations::default(),
        Writer::Runtime,
        &a,
    );
    let burst = cpu.burst.filter(|_| writes_burst(r));
    let idle = cpu.idle.filter(|_| writes_idle(r));
    let mut out = Vec::new();
    match version {
        CgroupVersion::V1 => {
            let shares = if idle.is_some_and(|i| i != 0) {
                fv(files::CPU_SHARES, 3, false)
            } else {
                fv(files::CPU_SHARES, v.shares.value, v.shares.kernel_default)
            };
            out.push(shares);
            out.push(fv(
                files::CPU_CFS_QUOTA_US,
                v.cfs_quota_us.value,
                v.cfs_quota_us.kernel_default,
            ));
            out.push(fv(
                files::CPU_CFS_PERIOD_US,
                v.cfs_period_us.value,
                v.cfs_period_us.kernel_default,
            ));
            out.push(fv(
                files::CPU_CFS_BURST_US,
                burst.unwrap_or(0),
                burst.is_none(),
            ));
        }
        CgroupVersion::V2 => {
            out.push(fv(
                files::CPU_WEIGHT,
                v.weight.value,
                v.weight.kernel_default,
            ));
            out.push(fv(files::CPU_MAX, v.max.value, v.max.kernel_default));
            out.push(fv(
                files::CPU_MAX_BURST,
                burst.unwrap_or(0),
                burst.is_none(),
            ));
        }
    }
    if cpu.idle.is_some() {
        out.push(fv(files::CPU_IDLE, idle.unwrap_or(0), idle.is_none()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_copies_only_non_zero_fields() {
        let c = LinuxCpu::from_cri(CpuResources {
            shares: Shares(102),
            quota: QuotaUs(0),
            period: PeriodUs(100_000),
        });
        assert_eq!(c.shares, Some(102));
        assert_eq!(c.quota, None);
        assert_eq!(c.period, Some(100_000));
        assert_eq!(
            serde_json::to_string(&c).unwrap_or_default(),
            r#"{"shares":102,"period":100000}"#
        );
        let none = LinuxCpu::from_cri(CpuResources {
            shares: Shares(0),
            quota: QuotaUs(0),
            period: PeriodUs(0),
        });
        assert_eq!(serde_json::to_string(&none).unwrap_or_default(), "{}");
    }

    #[test]
    fn cgroups_path_follows_containerd() {
        let p = CgroupPaths {
            cgroupfs: "/kubepods/burstable/pod123".into(),
            systemd: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice"
                .into(),
        };
        assert_eq!(
            cgroups_path(&p, CgroupDriver::Cgroupfs, "abc"),
            "/kubepods/burstable/pod123/abc"
        );
        assert_eq!(
            cgroups_path(&p, CgroupDriver::Systemd, "abc"),
            "kubepods-burstable-pod123.slice:cri-containerd:abc"
        );
    }

    #[test]
    fn versions_map_to_presets() {
        let v = parse_version("runc version 1.1.5+ds1\ncommit: x\n");
        assert_eq!(
            v,
            Some(RuntimeVersion {
                family: RuntimeFamily::Runc,
                version: (1, 1, 5)
            })
        );
        assert_eq!(v.map(preset_for), Some(Runtime::Runc1_1));
        let c = parse_version("crun version 1.8.1\ncommit: f8a\n");
        assert_eq!(c.map(preset_for), Some(Runtime::Crun1_8));
        let p = |s: &str| parse_version(s).map(preset_for);
        assert_eq!(p("runc version 1.3.1"), Some(Runtime::Runc1_3_1));
        assert_eq!(p("runc version 1.3.2"), Some(Runtime::Runc1_3_2));
        assert_eq!(p("runc version 1.4.0-rc.1"), Some(Runtime::Runc1_4));
        assert_eq!(p("runc version 1.2.6"), Some(Runtime::Runc1_2));
        assert_eq!(p("crun version 1.22"), Some(Runtime::Crun1_22));
        assert_eq!(p("crun version 1.23.1"), Some(Runtime::Crun1_23));
        assert_eq!(p("youki version 0.3.0"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("runc version x"), None);
    }

    #[test]
    fn old_runtimes_drop_burst_and_runc_1_1_drops_idle() {
        let cpu = LinuxCpu {
            shares: Some(2),
            quota: Some(50_000),
            period: Some(100_000),
            burst: Some(20_000),
            idle: Some(1),
            ..LinuxCpu::default()
        };
        let runc = predict(&cpu, Runtime::Runc1_1, CgroupVersion::V1);
        let get = |v: &[FileValue], f: &str| {
            v.iter()
                .find(|x| x.file == f)
                .map(|x| x.value.clone())
                .unwrap_or_default()
        };
        assert_eq!(get(&runc, "cpu.shares"), "2");
        assert_eq!(get(&runc, "cpu.cfs_burst_us"), "0");
        assert_eq!(get(&runc, "cpu.idle"), "0");
        let crun = predict(&cpu, Runtime::Crun1_8, CgroupVersion::V1);
        assert_eq!(get(&crun, "cpu.shares"), "3");
        assert_eq!(get(&crun, "cpu.idle"), "1");
        let new = predict(&cpu, Runtime::Runc1_4, CgroupVersion::V2);
        assert_eq!(get(&new, "cpu.max.burst"), "20000");
        assert_eq!(get(&new, "cpu.max"), "50000 100000");
    }

    #[test]
    fn unset_period_keeps_kernel_defaults_per_runtime() {
        // quota -1 without a period: runc writes "max 100000", crun writes nothing.
        let cpu = LinuxCpu {
            shares: Some(1024),
            quota: Some(-1),
            ..LinuxCpu::default()
        };
        let runc = predict(&cpu, Runtime::Runc1_1, CgroupVersion::V2);
        let crun = predict(&cpu, Runtime::Crun1_8, CgroupVersion::V2);
        assert!(!runc[1].kernel_default);
        assert!(crun[1].kernel_default);
        assert_eq!(runc[0].value, "39");
    }
}
