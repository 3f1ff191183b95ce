//! cgroup v1 CPU controller files: write values, read them back (I/O shell).
//!
//! Files and semantics: sched-bwc.rst (torvalds/linux `Documentation/scheduler/sched-bwc.rst`),
//! `cfs.md` §1.1. Write order: shares, period, quota, then burst (burst is bounded by the quota
//! the kernel currently has, core.c `tg_set_bandwidth`); a burst that would exceed the new quota
//! is zeroed first. Pattern after youki `crates/libcgroups/src/v1/cpu.rs` (our own code).

use super::{
    read_number, verify, write_checked, write_idle, CgroupError, CgroupIo, CpuLimits, CpuShare,
    ReadBack, Result, CPU_IDLE,
};
use crate::cpu::CpuMax;
use crate::units::{Shares, Usec};
use std::path::Path;

pub use crate::cpu::files::{CPU_CFS_BURST_US, CPU_CFS_PERIOD_US, CPU_CFS_QUOTA_US, CPU_SHARES};

/// Writes `l` into the v1 cgroup at `dir` and reads back every value written.
pub fn apply(io: &dyn CgroupIo, dir: &Path, l: &CpuLimits) -> Result<Vec<ReadBack>> {
    let mut out = Vec::new();
    match l.share {
        Some(CpuShare::Shares(s)) => {
            let v = s.0.to_string();
            out.push(write_checked(io, &dir.join(CPU_SHARES), &v, &v)?);
        }
        Some(CpuShare::Weight(_)) => {
            return Err(CgroupError::InvalidValue {
                what: crate::cpu::files::CPU_WEIGHT,
                reason:
                    "this is a cgroup v1 hierarchy: give cpu.shares (--shares), not a v2 weight"
                        .into(),
            })
        }
        None => {}
    }
    let burst_path = dir.join(CPU_CFS_BURST_US);
    let has_burst = io.exists(&burst_path);
    if has_burst {
        // A burst left above the new quota would make the quota write fail with EINVAL.
        let cur = read_number::<u64>(io, &burst_path)?;
        let keep = !l.max.quota.is_unlimited() && cur <= l.max.quota.0 as u64;
        if cur > 0 && !keep {
            write_checked(io, &burst_path, "0", "0")?;
        }
    }
    let period = l.max.period.0.to_string();
    out.push(write_checked(
        io,
        &dir.join(CPU_CFS_PERIOD_US),
        &period,
        &period,
    )?);
    let quota = if l.max.quota.is_unlimited() {
        "-1".to_string()
    } else {
        l.max.quota.0.to_string()
    };
    out.push(write_checked(
        io,
        &dir.join(CPU_CFS_QUOTA_US),
        &quota,
        &quota,
    )?);
    if let Some(b) = l.burst {
        if !has_burst {
            return Err(CgroupError::Unsupported {
                what: "burst (Linux 5.14+)",
                path: burst_path,
            });
        }
        let v = b.0.to_string();
        out.push(write_checked(io, &burst_path, &v, &v)?);
        // The quota must not have moved because of the burst write.
        out.push(verify(io, &dir.join(CPU_CFS_QUOTA_US), &quota)?);
    }
    if let Some(idle) = l.idle {
        out.push(write_idle(io, dir, idle)?);
    }
    Ok(out)
}

/// Reads the CPU values of the v1 cgroup at `dir`.
pub fn read_limits(io: &dyn CgroupIo, dir: &Path) -> Result<CpuLimits> {
    let shares = read_number::<u64>(io, &dir.join(CPU_SHARES))?;
    let quota: i64 = read_number(io, &dir.join(CPU_CFS_QUOTA_US))?;
    let period = read_number::<u64>(io, &dir.join(CPU_CFS_PERIOD_US))?;
    let bp = dir.join(CPU_CFS_BURST_US);
    let burst = if io.exists(&bp) {
        Some(Usec(read_number::<u64>(io, &bp)?))
    } else {
        None
    };
    let ip = dir.join(CPU_IDLE);
    let idle = if io.exists(&ip) {
        Some(read_number::<u64>(io, &ip)? != 0)
    } else {
        None
    };
    Ok(CpuLimits {
        share: Some(CpuShare::Shares(Shares(shares))),
        max: CpuMax::from_v1(quota, period),
        burst,
        idle,
    })
}

/// The file that holds the relative weight, for `--isolate`.
pub fn share_file() -> &'static str {
    CPU_SHARES
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::fake::FakeKernel;
    use crate::cgroupfs::CgroupVersion;
    use crate::units::{PeriodUs, QuotaUs, Weight};

    #[test]
    fn writes_and_reads_back_every_value() {
        let k = FakeKernel::new(CgroupVersion::V1);
        let dir = k.group("g");
        let l = CpuLimits {
            share: Some(CpuShare::Shares(Shares(512))),
            max: CpuMax {
                quota: QuotaUs(50_000),
                period: PeriodUs(100_000),
            },
            burst: Some(Usec(20_000)),
            idle: Some(false),
        };
        let rb = apply(&k, &dir, &l).unwrap();
        let files: Vec<&str> = rb.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(
            files,
            [
                CPU_SHARES,
                CPU_CFS_PERIOD_US,
                CPU_CFS_QUOTA_US,
                CPU_CFS_BURST_US,
                CPU_CFS_QUOTA_US,
                CPU_IDLE
            ]
        );
        assert_eq!(read_limits(&k, &dir).unwrap(), l);
        // Back to unlimited: the burst is zeroed first, or the kernel would refuse the quota.
        let un = CpuLimits {
            share: None,
            ..Default::default()
        };
        apply(&k, &dir, &un).unwrap();
        let r = read_limits(&k, &dir).unwrap();
        assert_eq!((r.max.quota, r.burst), (QuotaUs::UNLIMITED, Some(Usec(0))));
    }

    #[test]
    fn a_value_the_kernel_changed_is_an_error_naming_the_file() {
        let k = FakeKernel::new(CgroupVersion::V1);
        let dir = k.group("g");
        // Bypass validation to reach the kernel's silent clamp (shares > 262144 read back 262144).
        let l = CpuLimits {
            share: Some(CpuShare::Shares(Shares(300_000))),
            ..Default::default()
        };
        let e = apply(&k, &dir, &l).unwrap_err().to_string();
        assert!(e.contains("cpu.shares") && e.contains("262144"), "{e}");
        let w = CpuLimits {
            share: Some(CpuShare::Weight(Weight(100))),
            ..Default::default()
        };
        assert!(apply(&k, &dir, &w).unwrap_err().to_string().contains("v1"));
    }

    #[test]
    fn missing_burst_file_is_unsupported() {
        let k = FakeKernel::new(CgroupVersion::V1);
        let dir = k.group("g");
        std::fs::remove_file(dir.join(CPU_CFS_BURST_US)).unwrap();
        let l = CpuLimits {
            max: CpuMax {
                quota: QuotaUs(50_000),
                period: PeriodUs::DEFAULT,
            },
            burst: Some(Usec(1_000)),
            ..Default::default()
        };
        assert!(matches!(
            apply(&k, &dir, &l),
            Err(CgroupError::Unsupported { .. })
        ));
        assert_eq!(read_limits(&k, &dir).unwrap().burst, None);
    }
}
