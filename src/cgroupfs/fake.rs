//! A fake kernel for root-free unit tests (test-only I/O shell).
//!
//! Backed by a temporary directory. `mkdir` populates the control files a real cgroup would
//! have, with kernel defaults; writes follow the kernel's rules closely enough to exercise
//! read-back checks: v1 `cpu.shares` is clamped silently, ranges give EINVAL/ERANGE, a
//! `cgroup.subtree_control` write with `+cpu` enables it, `rmdir` fails with EBUSY while
//! processes or child groups remain.

use super::{CgroupIo, CgroupVersion};
use crate::units::{PeriodUs, QuotaUs, Shares, Weight};
use std::io;
use std::path::{Path, PathBuf};

pub struct FakeKernel {
    pub dir: tempfile::TempDir,
    pub version: CgroupVersion,
    /// Simulate the pre-2024 bug: a `cpu.max` write divides the stored burst by 1000.
    pub burst_bug: bool,
}

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

impl FakeKernel {
    pub fn new(version: CgroupVersion) -> FakeKernel {
        let dir = tempfile::tempdir().unwrap();
        let k = FakeKernel {
            dir,
            version,
            burst_bug: false,
        };
        let root = k.root();
        std::fs::create_dir_all(&root).unwrap();
        k.populate(&root, true);
        k
    }

    /// The hierarchy's mount point.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("cg")
    }

    /// Creates a group directly below the root and returns its path.
    pub fn group(&self, name: &str) -> PathBuf {
        let p = self.root().join(name);
        self.mkdir(&p).unwrap();
        p
    }

    fn populate(&self, p: &Path, is_root: bool) {
        let files: &[(&str, &str)] = match self.version {
            CgroupVersion::V1 if is_root => &[
                ("cgroup.procs", ""),
                ("cpu.stat", V1_STAT),
                ("cpu.shares", "1024\n"),
            ],
            CgroupVersion::V1 => &[
                ("cgroup.procs", ""),
                ("cpu.stat", V1_STAT),
                ("cpu.shares", "1024\n"),
                ("cpu.cfs_quota_us", "-1\n"),
                ("cpu.cfs_period_us", "100000\n"),
                ("cpu.cfs_burst_us", "0\n"),
                ("cpu.idle", "0\n"),
                ("cpuacct.usage", "0\n"),
            ],
            CgroupVersion::V2 if is_root => &[
                ("cgroup.procs", ""),
                ("cgroup.controllers", "cpuset cpu io memory pids\n"),
                ("cgroup.subtree_control", "cpu\n"),
                ("cpu.stat", V2_STAT),
                ("cpu.pressure", PSI),
            ],
            CgroupVersion::V2 => &[
                ("cgroup.procs", ""),
                ("cgroup.controllers", "cpu\n"),
                ("cgroup.subtree_control", "\n"),
                ("cgroup.kill", ""),
                ("cpu.stat", V2_STAT),
                ("cpu.pressure", PSI),
                ("cpu.weight", "100\n"),
                ("cpu.max", "max 100000\n"),
                ("cpu.max.burst", "0\n"),
                ("cpu.idle", "0\n"),
            ],
        };
        for (f, v) in files {
            std::fs::write(p.join(f), v).unwrap();
        }
    }

    fn rule(&self, path: &Path, value: &str) -> io::Result<String> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let v = value.trim();
        let num = |s: &str| s.parse::<i64>().map_err(|_| einval());
        Ok(match name {
            "cpu.shares" => num(v)?
                .clamp(Shares::MIN.0 as i64, Shares::MAX.0 as i64)
                .to_string(),
            "cpu.cfs_quota_us" => {
                let q = num(v)?;
                if (0..QuotaUs::MIN.0).contains(&q) {
                    return Err(einval());
                }
                let burst = std::fs::read_to_string(path.with_file_name("cpu.cfs_burst_us"))
                    .unwrap_or_default();
                let b = burst.trim().parse::<i64>().unwrap_or(0);
                if b > 0 && (q < 0 || b > q) {
                    return Err(einval());
                }
                if q < 0 {
                    "-1".into()
                } else {
                    q.to_string()
                }
            }
            "cpu.cfs_period_us" => {
                let p = num(v)?;
                if !(PeriodUs::MIN.0 as i64..=PeriodUs::MAX.0 as i64).contains(&p) {
                    return Err(einval());
                }
                p.to_string()
            }
            "cpu.cfs_burst_us" | "cpu.max.burst" => {
                let b = num(v)?;
                let q = if name == "cpu.max.burst" {
                    let m =
                        std::fs::read_to_string(path.with_file_name("cpu.max")).unwrap_or_default();
                    m.split_whitespace()
                        .next()
                        .and_then(|q| q.parse::<i64>().ok())
                        .unwrap_or(-1)
                } else {
                    let q = std::fs::read_to_string(path.with_file_name("cpu.cfs_quota_us"))
                        .unwrap_or_default();
                    q.trim().parse().unwrap_or(-1)
                };
                if b < 0 || (b > 0 && (q < 0 || b > q)) {
                    return Err(einval());
                }
                b.to_string()
            }
            "cpu.weight" => {
                let w = num(v)?;
                if !(Weight::MIN.0 as i64..=Weight::MAX.0 as i64).contains(&w) {
                    return Err(io::Error::from_raw_os_error(libc::ERANGE));
                }
                w.to_string()
            }
            "cpu.max" => {
                let mut it = v.split_whitespace();
                let q = it.next().ok_or_else(einval)?;
                let p = it.next().unwrap_or("100000");
                if q != "max" && num(q)? < QuotaUs::MIN.0 {
                    return Err(einval());
                }
                num(p)?;
                let bp = path.with_file_name("cpu.max.burst");
                let b: i64 = std::fs::read_to_string(&bp)
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .unwrap_or(0);
                if self.burst_bug {
                    std::fs::write(&bp, (b / 1000).to_string())?;
                }
                format!("{q} {p}")
            }
            "cgroup.subtree_control" => {
                let cur = std::fs::read_to_string(path)?;
                let mut set: Vec<String> = cur.split_whitespace().map(String::from).collect();
                for tok in v.split_whitespace() {
                    let c = tok.strip_prefix('+').ok_or_else(einval)?;
                    if !set.iter().any(|x| x == c) {
                        set.push(c.to_string());
                    }
                }
                set.join(" ")
            }
            "cpu.idle" => match v {
                "0" | "1" => v.to_string(),
                _ => return Err(einval()),
            },
            _ => v.to_string(),
        })
    }
}

impl CgroupIo for FakeKernel {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        if !path.is_file() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let stored = self.rule(path, value)?;
        std::fs::write(path, format!("{stored}\n"))
    }
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)?;
        self.populate(path, false);
        Ok(())
    }
    fn rmdir(&self, path: &Path) -> io::Result<()> {
        let busy = std::fs::read_to_string(path.join("cgroup.procs"))
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false);
        if busy || !self.subdirs(path)?.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        std::fs::remove_dir_all(path)
    }
    fn subdirs(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        super::RealFs.subdirs(path)
    }
}

const V1_STAT: &str = "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n";
const V2_STAT: &str =
    "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n";
const PSI: &str = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
