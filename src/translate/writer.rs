//! From "resources handed to a cgroup writer" to the five file values, for cgroup v1 and v2
//! (pure core).
//!
//! Two writers exist per pod: the kubelet writes its own pod cgroup through its vendored
//! cgroup library (opencontainers/cgroups, earlier runc's libcontainer), and the OCI runtime
//! writes each container cgroup from the OCI spec containerd built. Both use the same
//! "0 means unset" convention (libcontainer `Resources`; containerd copies only non-zero
//! CRI fields into OCI), so one [`CpuResources`] value describes either. A file nobody
//! writes keeps the kernel default, and the explanation says so.

use super::kubelet::{self, kubelet_cpu_weight};
use super::plan::{CgroupValues, Explained, Step};
use super::runtime::{
    self, crun_cpu_max, quadratic_weight, runc_cpu_max, runtime_linear_weight,
    systemd_add_cpu_quota,
};
use crate::cpu::CpuMax;
use crate::profile::{Assumptions, CgroupDriver, RuntimeFamily, WeightFormula};
use crate::units::{PeriodUs, QuotaUs, Shares, Weight};

/// Who writes the cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The kubelet (pod cgroups): linear `getCPUWeight`, runc-style `cpu.max`.
    Kubelet,
    /// The OCI runtime (container cgroups).
    Runtime,
}

/// CPU resources handed to the writer; 0 means "not set" for every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuResources {
    /// `CpuShares`.
    pub shares: Shares,
    /// `CpuQuota` (−1 = unlimited).
    pub quota: QuotaUs,
    /// `CpuPeriod`.
    pub period: PeriodUs,
}

/// Derivation steps of the three inputs, supplied by the caller.
#[derive(Debug, Clone, Default)]
pub struct Derivations {
    /// How `shares` was obtained.
    pub shares: Vec<Step>,
    /// How `quota` was obtained.
    pub quota: Vec<Step>,
    /// How `period` was obtained.
    pub period: Vec<Step>,
}

fn writer_name(w: Writer, a: &Assumptions) -> String {
    match w {
        Writer::Kubelet => format!("kubelet ({})", a.kubelet_cgroup_library()),
        Writer::Runtime => a.runtime.to_string(),
    }
}

fn v1_source(w: Writer, a: &Assumptions) -> &'static str {
    match (w, a.runtime.family()) {
        (Writer::Runtime, RuntimeFamily::Crun) => runtime::src::CRUN_WRITE_CPU,
        _ => runtime::src::FS_SET_CPU,
    }
}

fn v2_source(w: Writer, a: &Assumptions) -> &'static str {
    match (w, a.runtime.family()) {
        (Writer::Runtime, RuntimeFamily::Crun) => runtime::src::CRUN_WRITE_CPU,
        _ => runtime::src::FS2_SET_CPU,
    }
}

fn written<T>(value: T, mut steps: Vec<Step>, text: String, source: &'static str) -> Explained<T> {
    steps.push(Step::new(text, source));
    Explained::new(value, steps)
}

fn kernel_default<T>(value: T, mut steps: Vec<Step>, text: String) -> Explained<T> {
    steps.push(Step::new(text, kubelet::src::KERNEL_DEFAULT));
    Explained {
        value,
        steps,
        kernel_default: true,
    }
}

/// The quota the writer puts into cgroupfs under the systemd driver: systemd keeps
/// `CPUQuotaPerSecUSec` in whole percent, and some writers copy the rounded value back.
fn systemd_quota(
    res: CpuResources,
    writer: Writer,
    who: &str,
    a: &Assumptions,
    steps: &mut Vec<Step>,
) -> QuotaUs {
    let mut quota = res.quota;
    if a.driver == CgroupDriver::Systemd && res.quota.0 > 0 {
        let r = systemd_add_cpu_quota(res.quota, res.period);
        if r.rounded {
            let per_sec = r.per_sec_usec.unwrap_or_default();
            let raw = r.unrounded_per_sec;
            let writes_rounded = match writer {
                Writer::Kubelet => a.kubelet_writes_rounded_quota(),
                Writer::Runtime => a.runtime_writes_rounded_quota(),
            };
            steps.push(Step::new(
                format!(
                    "systemd driver: CPUQuotaPerSecUSec = {}*1000000/{} = {raw}, rounded up to a multiple of 10000 = {per_sec}",
                    res.quota, res.period
                ),
                runtime::src::ADD_CPU_QUOTA,
            ));
            if writes_rounded {
                quota = r.quota;
                steps.push(Step::new(
                    format!("{who} also writes the rounded quota to cgroupfs: {per_sec}*{}/1000000 = {}", res.period, r.quota),
                    runtime::src::ADD_CPU_QUOTA,
                ));
            } else {
                steps.push(Step::new(
                    format!(
                        "{who} rounds only the systemd unit property and writes the unrounded quota {} to cgroupfs \
                         (systemd would set {} when it re-applies the unit)",
                        res.quota, r.quota
                    ),
                    runtime::src::ADD_CPU_QUOTA,
                ));
            }
        } else {
            steps.push(Step::new(
                format!(
                    "systemd driver: CPUQuotaPerSecUSec = {}*1000000/{} = {} (already a multiple of 10000)",
                    res.quota,
                    res.period,
                    r.per_sec_usec.unwrap_or_default()
                ),
                runtime::src::ADD_CPU_QUOTA,
            ));
        }
    }
    quota
}

/// The `cpu.weight` the writer derives from `shares`: the kubelet's linear `getCPUWeight`,
/// or the runtime's linear or quadratic formula; 0 when nothing is written. The formula's
/// own explanation is the printed step (a runtime's step is prefixed with its name).
fn weight_for(
    shares: Shares,
    writer: Writer,
    who: &str,
    a: &Assumptions,
    steps: &mut Vec<Step>,
) -> Weight {
    let (w, prefix) = match writer {
        Writer::Kubelet => (kubelet_cpu_weight(Some(shares).filter(|s| s.0 != 0)), None),
        Writer::Runtime => match a.effective_weight_formula() {
            WeightFormula::Linear => (runtime_linear_weight(shares), Some(who)),
            WeightFormula::Quadratic => (quadratic_weight(shares), Some(who)),
        },
    };
    steps.extend(w.steps.into_iter().map(|step| match prefix {
        Some(who) => Step::new(format!("{who}: {}", step.text), step.source),
        None => step,
    }));
    w.value
}

/// `cpu.max` as the writer leaves it: runc or crun semantics for `quota` and `period`, or the
/// kernel default when neither is set.
fn cpu_max_file(
    quota: QuotaUs,
    period: PeriodUs,
    writer: Writer,
    who: &str,
    a: &Assumptions,
    max_steps: Vec<Step>,
) -> Explained<CpuMax> {
    let max = match (writer, a.runtime.family()) {
        (Writer::Runtime, RuntimeFamily::Crun) => crun_cpu_max(quota, period),
        _ => runc_cpu_max(quota, period),
    };
    match max {
        Some(s) => written(
            s,
            max_steps,
            format!(
                "{who} writes cpu.max = \"{s}\" (quota {quota}, period {})",
                period
            ),
            v2_source(writer, a),
        ),
        None => kernel_default(
            CpuMax::default(),
            max_steps,
            format!(
                "cpu.max not written (no quota, no period): kernel default \"{}\"",
                CpuMax::default()
            ),
        ),
    }
}

/// The values of all five files after `writer` applied `res`.
pub fn files(res: CpuResources, d: Derivations, writer: Writer, a: &Assumptions) -> CgroupValues {
    let who = writer_name(writer, a);

    // --- shares (v1) ---
    let shares = if res.shares.0 != 0 {
        written(
            res.shares,
            d.shares.clone(),
            format!("{who} writes cpu.shares = {}", res.shares),
            v1_source(writer, a),
        )
    } else {
        kernel_default(
            Shares::DEFAULT,
            d.shares.clone(),
            format!("cpu.shares not written: kernel default {}", Shares::DEFAULT),
        )
    };

    // --- systemd quota rounding (both versions) ---
    let mut quota_steps = d.quota.clone();
    let quota = systemd_quota(res, writer, &who, a, &mut quota_steps);

    // --- cfs_quota_us / cfs_period_us (v1) ---
    let cfs_quota_us = if quota.0 != 0 {
        written(
            quota,
            quota_steps.clone(),
            format!("{who} writes cpu.cfs_quota_us = {quota}"),
            v1_source(writer, a),
        )
    } else {
        kernel_default(
            QuotaUs::UNLIMITED,
            quota_steps.clone(),
            format!(
                "cpu.cfs_quota_us not written (quota unset): kernel default {} (unlimited)",
                QuotaUs::UNLIMITED
            ),
        )
    };
    let cfs_period_us = if res.period.0 != 0 {
        written(
            res.period,
            d.period.clone(),
            format!("{who} writes cpu.cfs_period_us = {}", res.period),
            v1_source(writer, a),
        )
    } else {
        kernel_default(
            PeriodUs::DEFAULT,
            d.period.clone(),
            format!(
                "cpu.cfs_period_us not written (period unset): kernel default {}",
                PeriodUs::DEFAULT
            ),
        )
    };

    // --- cpu.weight (v2) ---
    let mut weight_steps = d.shares.clone();
    let weight = weight_for(res.shares, writer, &who, a, &mut weight_steps);
    let weight = if weight.0 != 0 {
        written(
            weight,
            weight_steps,
            format!("{who} writes cpu.weight = {weight}"),
            v2_source(writer, a),
        )
    } else {
        kernel_default(
            Weight::DEFAULT,
            weight_steps,
            format!("cpu.weight not written: kernel default {}", Weight::DEFAULT),
        )
    };

    // --- cpu.max (v2) ---
    let mut max_steps = quota_steps;
    max_steps.extend(d.period.iter().cloned());
    let max = cpu_max_file(quota, res.period, writer, &who, a, max_steps);

    CgroupValues {
        shares,
        cfs_quota_us,
        cfs_period_us,
        weight,
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Runtime, WeightFormula};

    fn res(shares: u64, quota: i64, period: u64) -> CpuResources {
        CpuResources {
            shares: Shares(shares),
            quota: QuotaUs(quota),
            period: PeriodUs(period),
        }
    }

    fn a(driver: CgroupDriver, runtime: Runtime, minor: u32) -> Assumptions {
        Assumptions {
            driver,
            runtime,
            kubernetes: crate::profile::KubeVersion::new(minor),
            ..Assumptions::default()
        }
    }

    #[test]
    fn unset_fields_keep_kernel_defaults() {
        let v = files(
            res(2, 0, 0),
            Derivations::default(),
            Writer::Runtime,
            &Assumptions::default(),
        );
        assert_eq!(v.shares.value, Shares(2));
        assert!(!v.shares.kernel_default);
        assert_eq!(v.cfs_quota_us.value, QuotaUs(-1));
        assert!(v.cfs_quota_us.kernel_default);
        assert_eq!(v.cfs_period_us.value, PeriodUs(100_000));
        assert!(v.cfs_period_us.kernel_default);
        assert_eq!(v.weight.value, Weight(1));
        assert_eq!(v.max.value.to_string(), "max 100000");
        assert!(v.max.kernel_default);
    }

    #[test]
    fn systemd_rounding_depends_on_writer_version() {
        let r = res(15, 1500, 100_000);
        let new = files(
            r,
            Derivations::default(),
            Writer::Runtime,
            &a(CgroupDriver::Systemd, Runtime::Runc1_4, 34),
        );
        assert_eq!(new.cfs_quota_us.value, QuotaUs(2000));
        assert_eq!(new.max.value.to_string(), "2000 100000");
        let old = files(
            r,
            Derivations::default(),
            Writer::Runtime,
            &a(CgroupDriver::Systemd, Runtime::Runc1_3_1, 34),
        );
        assert_eq!(old.cfs_quota_us.value, QuotaUs(1500));
        let crun = files(
            r,
            Derivations::default(),
            Writer::Runtime,
            &a(CgroupDriver::Systemd, Runtime::Crun1_23, 34),
        );
        assert_eq!(crun.max.value.to_string(), "1500 100000");
        let fs = files(
            r,
            Derivations::default(),
            Writer::Runtime,
            &a(CgroupDriver::Cgroupfs, Runtime::Runc1_4, 34),
        );
        assert_eq!(fs.max.value.to_string(), "1500 100000");
        // Kubelet-written pod cgroups: rounded from 1.35 (opencontainers/cgroups v0.0.3).
        let k34 = files(
            r,
            Derivations::default(),
            Writer::Kubelet,
            &a(CgroupDriver::Systemd, Runtime::Runc1_4, 34),
        );
        let k35 = files(
            r,
            Derivations::default(),
            Writer::Kubelet,
            &a(CgroupDriver::Systemd, Runtime::Runc1_4, 35),
        );
        assert_eq!(k34.cfs_quota_us.value, QuotaUs(1500));
        assert_eq!(k35.cfs_quota_us.value, QuotaUs(2000));
    }

    #[test]
    fn weights_by_writer() {
        let kubelet = files(
            res(1024, 0, 0),
            Derivations::default(),
            Writer::Kubelet,
            &Assumptions::default(),
        );
        assert_eq!(kubelet.weight.value, Weight(39));
        let quad = files(
            res(1024, 0, 0),
            Derivations::default(),
            Writer::Runtime,
            &Assumptions::default(),
        );
        assert_eq!(quad.weight.value, Weight(100));
        let lin = Assumptions {
            weight_formula: Some(WeightFormula::Linear),
            ..Assumptions::default()
        };
        assert_eq!(
            files(
                res(1024, 0, 0),
                Derivations::default(),
                Writer::Runtime,
                &lin
            )
            .weight
            .value,
            Weight(39)
        );
    }

    #[test]
    fn unlimited_quota_is_written() {
        let v = files(
            res(2048, -1, 100_000),
            Derivations::default(),
            Writer::Runtime,
            &Assumptions::default(),
        );
        assert_eq!(v.cfs_quota_us.value, QuotaUs(-1));
        assert!(!v.cfs_quota_us.kernel_default);
        assert_eq!(v.max.value.to_string(), "max 100000");
        assert!(!v.max.kernel_default);
    }
}
