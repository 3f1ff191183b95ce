//! cgroup v2 CPU controller files: write values, read them back, delegate `+cpu` (I/O shell).
//!
//! Files and semantics: cgroup-v2.rst (torvalds/linux `Documentation/admin-guide/cgroup-v2.rst`,
//! "CPU" and "Core Interface Files"), `cfs.md` §1.1. `cpu.max` is written as one string
//! `"$MAX $PERIOD"`; `cpu.max.burst` after it, and both are read back afterwards because kernels
//! before the April 2024 fix (`Fixes: f4183717b370`) rewrote the burst on a `cpu.max` write.
//! Pattern after youki `crates/libcgroups/src/v2/cpu.rs` (our own code).

use super::{
    read_file, read_number, verify, write_checked, write_file, write_idle, CgroupError, CgroupIo,
    CpuLimits, CpuShare, ReadBack, Result, CGROUP_CONTROLLERS, CGROUP_SUBTREE_CONTROL, CPU_IDLE,
};
use crate::cpu::CpuMax;
use crate::units::{Usec, Weight};
use std::path::Path;

pub use crate::cpu::files::{CPU_MAX, CPU_MAX_BURST, CPU_WEIGHT};
/// The controller name in `cgroup.controllers` / `cgroup.subtree_control`.
pub const CPU_CONTROLLER: &str = "cpu";

/// Writes `l` into the v2 cgroup at `dir` and reads back every value written.
///
/// With both a weight and `idle: true`, the weight is verified before `cpu.idle` is set: the
/// kernel then reports `cpu.weight` as 1 (or 0 before 2024) for an idle group.
pub fn apply(io: &dyn CgroupIo, dir: &Path, l: &CpuLimits) -> Result<Vec<ReadBack>> {
    let mut out = Vec::new();
    match l.share {
        Some(CpuShare::Weight(w)) => {
            let v = w.0.to_string();
            out.push(write_checked(io, &dir.join(CPU_WEIGHT), &v, &v)?);
        }
        Some(CpuShare::Shares(_)) => {
            return Err(CgroupError::InvalidValue {
                what: crate::cpu::files::CPU_SHARES,
                reason: "this is a cgroup v2 hierarchy: give a cpu.weight (--weight; `kcpu translate` converts shares)"
                    .into(),
            })
        }
        None => {}
    }
    let burst_path = dir.join(CPU_MAX_BURST);
    let has_burst = io.exists(&burst_path);
    if has_burst {
        // Lower the burst first when it would exceed the new quota (the cpu.max write keeps the
        // current burst and fails with EINVAL otherwise; cfs.md §1.1 "write-order traps").
        let cur = read_number::<u64>(io, &burst_path)?;
        if cur > 0 && (l.max.quota.is_unlimited() || cur > l.max.quota.0 as u64) {
            write_checked(io, &burst_path, "0", "0")?;
        }
    }
    let max = l.max.to_string();
    out.push(write_checked(io, &dir.join(CPU_MAX), &max, &max)?);
    if let Some(b) = l.burst {
        if !has_burst {
            return Err(CgroupError::Unsupported {
                what: "cpu.max.burst (Linux 5.14+)",
                path: burst_path,
            });
        }
        let v = b.0.to_string();
        out.push(write_checked(io, &burst_path, &v, &v)?);
        out.push(verify(io, &dir.join(CPU_MAX), &max)?);
    }
    if let Some(idle) = l.idle {
        out.push(write_idle(io, dir, idle)?);
    }
    Ok(out)
}

/// Reads the CPU values of the v2 cgroup at `dir`.
pub fn read_limits(io: &dyn CgroupIo, dir: &Path) -> Result<CpuLimits> {
    let weight = read_number::<u64>(io, &dir.join(CPU_WEIGHT))?;
    let mp = dir.join(CPU_MAX);
    let mt = read_file(io, &mp)?;
    let max: CpuMax = mt.parse().map_err(|_| CgroupError::Parse {
        path: mp.clone(),
        reason: format!("expected \"QUOTA PERIOD\" or \"max PERIOD\", got {mt:?}"),
    })?;
    let bp = dir.join(CPU_MAX_BURST);
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
        share: Some(CpuShare::Weight(Weight(weight))),
        max,
        burst,
        idle,
    })
}

/// Whether `cpu` is listed in `dir/cgroup.controllers`.
pub fn cpu_available(io: &dyn CgroupIo, dir: &Path) -> Result<bool> {
    Ok(read_file(io, &dir.join(CGROUP_CONTROLLERS))?
        .split_whitespace()
        .any(|c| c == CPU_CONTROLLER))
}

/// Whether `cpu` is enabled in `dir/cgroup.subtree_control`.
pub fn cpu_delegated(io: &dyn CgroupIo, dir: &Path) -> Result<bool> {
    Ok(read_file(io, &dir.join(CGROUP_SUBTREE_CONTROL))?
        .split_whitespace()
        .any(|c| c == CPU_CONTROLLER))
}

/// Enables `+cpu` for the children of `dir` (one of our own groups) and checks it took effect.
/// Fails with EBUSY when `dir` holds processes (the no-internal-processes rule).
pub fn delegate_cpu(io: &dyn CgroupIo, dir: &Path) -> Result<()> {
    if cpu_delegated(io, dir)? {
        return Ok(());
    }
    let p = dir.join(CGROUP_SUBTREE_CONTROL);
    write_file(io, &p, "+cpu")?;
    if !cpu_delegated(io, dir)? {
        let read = read_file(io, &p)?.trim().to_string();
        return Err(CgroupError::ReadBack {
            path: p,
            wrote: "+cpu".into(),
            read,
        });
    }
    Ok(())
}

/// The file that holds the relative weight, for `--isolate`.
pub fn share_file() -> &'static str {
    CPU_WEIGHT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::fake::FakeKernel;
    use crate::cgroupfs::CgroupVersion;
    use crate::units::{PeriodUs, QuotaUs, Shares};

    #[test]
    fn writes_and_reads_back_every_value() {
        let k = FakeKernel::new(CgroupVersion::V2);
        let dir = k.group("g");
        let l = CpuLimits {
            share: Some(CpuShare::Weight(Weight(59))),
            max: CpuMax {
                quota: QuotaUs(100_000),
                period: PeriodUs(100_000),
            },
            burst: Some(Usec(100_000)),
            idle: Some(false),
        };
        let rb = apply(&k, &dir, &l).unwrap();
        let files: Vec<&str> = rb.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(
            files,
            [CPU_WEIGHT, CPU_MAX, CPU_MAX_BURST, CPU_MAX, CPU_IDLE]
        );
        assert_eq!(read_limits(&k, &dir).unwrap(), l);
        apply(&k, &dir, &CpuLimits::default()).unwrap();
        assert_eq!(
            read_file(&k, &dir.join(CPU_MAX)).unwrap().trim(),
            "max 100000"
        );
        assert_eq!(read_file(&k, &dir.join(CPU_MAX_BURST)).unwrap().trim(), "0");
    }

    #[test]
    fn burst_rewritten_by_a_buggy_kernel_is_caught() {
        let mut k = FakeKernel::new(CgroupVersion::V2);
        k.burst_bug = true; // cpu.max writes divide the stored burst by 1000 (the µs/ns bug)
        let dir = k.group("g");
        let l = CpuLimits {
            max: CpuMax {
                quota: QuotaUs(50_000),
                period: PeriodUs::DEFAULT,
            },
            burst: Some(Usec(20_000)),
            ..Default::default()
        };
        apply(&k, &dir, &l).unwrap();
        // Second apply: the cpu.max write now mangles the existing burst; the final read-back of
        // cpu.max.burst happens after cpu.max, so the values still match. Re-reading proves it.
        assert_eq!(read_limits(&k, &dir).unwrap().burst, Some(Usec(20_000)));
        let e = write_checked(&k, &dir.join(CPU_MAX), "50000 100000", "50000 100000")
            .and_then(|_| verify(&k, &dir.join(CPU_MAX_BURST), "20000"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cpu.max.burst") && e.contains("\"20\""), "{e}");
    }

    #[test]
    fn shares_on_v2_are_errors() {
        let k = FakeKernel::new(CgroupVersion::V2);
        let dir = k.group("g");
        let l = CpuLimits {
            share: Some(CpuShare::Shares(Shares(1024))),
            ..Default::default()
        };
        assert!(apply(&k, &dir, &l)
            .unwrap_err()
            .to_string()
            .contains("cpu.weight"));
    }

    #[test]
    fn delegation() {
        let k = FakeKernel::new(CgroupVersion::V2);
        let dir = k.group("g");
        assert!(cpu_available(&k, &dir).unwrap());
        assert!(!cpu_delegated(&k, &dir).unwrap());
        delegate_cpu(&k, &dir).unwrap();
        assert!(cpu_delegated(&k, &dir).unwrap());
        delegate_cpu(&k, &dir).unwrap();
    }
}
