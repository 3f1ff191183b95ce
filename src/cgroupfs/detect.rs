//! cgroup layout detection from `/proc/self/mountinfo` (I/O shell; the parser is pure).
//!
//! Three layouts (names as in youki `libcgroups` `common.rs` `CgroupSetup`): **unified** (only a
//! cgroup2 mount), **legacy** (only v1 mounts) and **hybrid** (both; e.g. this project's build
//! machine: v1 `cpu` and `cpuacct` on separate hierarchies plus a cgroup2 mount without the cpu
//! controller). Mount points are taken from mountinfo, so any mount point works. The `root`
//! argument is prepended to every mount point so tests can point the layer at a fake tree.
//!
//! mountinfo format: proc(5) "/proc/pid/mountinfo": `id parent major:minor root mount-point
//! options [optional...] - fstype source super-options`, with octal escapes (`\040`).

use super::{io_err, v2, CgroupError, CgroupIo, CgroupVersion, Op, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where mountinfo lives.
pub const PROC_SELF_MOUNTINFO: &str = "/proc/self/mountinfo";
/// Filesystem type of a v1 hierarchy.
pub const FSTYPE_V1: &str = "cgroup";
/// Filesystem type of the v2 hierarchy.
pub const FSTYPE_V2: &str = "cgroup2";
/// v1 controller name of the CPU controller.
pub const CONTROLLER_CPU: &str = "cpu";
/// v1 controller name of CPU accounting.
pub const CONTROLLER_CPUACCT: &str = "cpuacct";

/// One cgroup mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// Where it is mounted (with the injected root prepended).
    pub mount_point: PathBuf,
    /// v1 or v2.
    pub version: CgroupVersion,
    /// v1: controllers from the super options (`cpu`, `cpuacct`, `name=systemd`); v2: empty
    /// (read `cgroup.controllers` instead).
    pub controllers: Vec<String>,
}

/// Which layout the machine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// Only cgroup2.
    Unified,
    /// Only cgroup v1.
    Legacy,
    /// v1 controllers plus a cgroup2 mount.
    Hybrid,
}

/// All cgroup mounts of the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// The layout.
    pub kind: LayoutKind,
    /// Every cgroup mount, in mountinfo order.
    pub mounts: Vec<Mount>,
}

/// The hierarchy kcpu uses for CPU values and usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuHierarchy {
    /// v1 or v2.
    pub version: CgroupVersion,
    /// Mount point of the hierarchy with the cpu controller.
    pub cpu_mount: PathBuf,
    /// v1 only: mount point of a *separate* cpuacct hierarchy (None when co-mounted with cpu).
    pub acct_mount: Option<PathBuf>,
}

/// Decodes mountinfo's octal escapes (`\040` = space, `\011`, `\012`, `\134`).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Layout {
    /// Parses mountinfo text; mount points are re-rooted under `root` (`/` for the real
    /// machine). Malformed lines are an error naming the line.
    pub fn from_mountinfo(text: &str, root: &Path) -> Result<Layout> {
        let mut mounts = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: &str| CgroupError::Parse {
                path: PathBuf::from(format!("{PROC_SELF_MOUNTINFO} line {}", i + 1)),
                reason: format!("{reason}: {line:?}"),
            };
            let (left, right) = line
                .split_once(" - ")
                .ok_or_else(|| bad("no ` - ` separator"))?;
            let lf: Vec<&str> = left.split(' ').collect();
            let rf: Vec<&str> = right.split(' ').collect();
            if lf.len() < 6 || rf.len() < 3 {
                return Err(bad("too few fields"));
            }
            let version = match rf[0] {
                FSTYPE_V1 => CgroupVersion::V1,
                FSTYPE_V2 => CgroupVersion::V2,
                _ => continue,
            };
            let mp = unescape(lf[4]);
            let rel = mp.trim_start_matches('/');
            let mount_point = if rel.is_empty() {
                root.to_path_buf()
            } else {
                root.join(rel)
            };
            let controllers = match version {
                CgroupVersion::V2 => Vec::new(),
                CgroupVersion::V1 => rf[2]
                    .split(',')
                    .filter(|o| {
                        !matches!(*o, "rw" | "ro") && !o.contains('=') || o.starts_with("name=")
                    })
                    .map(String::from)
                    .collect(),
            };
            mounts.push(Mount {
                mount_point,
                version,
                controllers,
            });
        }
        let has_v1 = mounts.iter().any(|m| m.version == CgroupVersion::V1);
        let has_v2 = mounts.iter().any(|m| m.version == CgroupVersion::V2);
        let kind = match (has_v1, has_v2) {
            (true, true) => LayoutKind::Hybrid,
            (true, false) => LayoutKind::Legacy,
            (false, true) => LayoutKind::Unified,
            (false, false) => {
                return Err(CgroupError::NoCpuController(
                    "no cgroup filesystem is mounted".into(),
                ))
            }
        };
        Ok(Layout { kind, mounts })
    }

    /// Reads `/proc/self/mountinfo` of the running machine.
    pub fn detect() -> Result<Layout> {
        let p = Path::new(PROC_SELF_MOUNTINFO);
        let text = std::fs::read_to_string(p).map_err(io_err(Op::Read, p))?;
        Layout::from_mountinfo(&text, Path::new("/"))
    }

    /// Picks the hierarchy with the cpu controller: cgroup2 when its root lists `cpu` in
    /// `cgroup.controllers`, else the first v1 mount with `cpu` (plus a separate `cpuacct` mount
    /// for usage when there is one).
    pub fn cpu_hierarchy(&self, io: &dyn CgroupIo) -> Result<CpuHierarchy> {
        let mut v2_note = String::new();
        for m in self
            .mounts
            .iter()
            .filter(|m| m.version == CgroupVersion::V2)
        {
            match v2::cpu_available(io, &m.mount_point) {
                Ok(true) => {
                    return Ok(CpuHierarchy {
                        version: CgroupVersion::V2,
                        cpu_mount: m.mount_point.clone(),
                        acct_mount: None,
                    })
                }
                Ok(false) => {
                    v2_note = format!(
                        "; the cgroup2 mount at {} has no cpu controller",
                        m.mount_point.display()
                    )
                }
                Err(e) => v2_note = format!("; {}", super::error_chain(&e)),
            }
        }
        let has = |m: &Mount, c: &str| {
            m.version == CgroupVersion::V1 && m.controllers.iter().any(|x| x == c)
        };
        let Some(cpu) = self.mounts.iter().find(|m| has(m, CONTROLLER_CPU)) else {
            return Err(CgroupError::NoCpuController(format!(
                "no v1 hierarchy with the cpu controller{v2_note}"
            )));
        };
        let acct_mount = if has(cpu, CONTROLLER_CPUACCT) {
            None
        } else {
            self.mounts
                .iter()
                .find(|m| has(m, CONTROLLER_CPUACCT))
                .map(|m| m.mount_point.clone())
        };
        Ok(CpuHierarchy {
            version: CgroupVersion::V1,
            cpu_mount: cpu.mount_point.clone(),
            acct_mount,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::RealFs;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cgroupfs")
            .join(name)
    }

    fn load(name: &str) -> (Layout, CpuHierarchy, PathBuf) {
        let dir = fixture(name);
        let text = std::fs::read_to_string(dir.join("mountinfo")).unwrap();
        let root = dir.join("root");
        let l = Layout::from_mountinfo(&text, &root).unwrap();
        let h = l.cpu_hierarchy(&RealFs).unwrap();
        (l, h, root)
    }

    #[test]
    fn hybrid_with_separate_cpuacct_uses_v1() {
        let (l, h, root) = load("hybrid");
        assert_eq!(l.kind, LayoutKind::Hybrid);
        assert_eq!(h.version, CgroupVersion::V1);
        assert_eq!(h.cpu_mount, root.join("sys/fs/cgroup/cpu"));
        assert_eq!(h.acct_mount, Some(root.join("sys/fs/cgroup/cpuacct")));
        let sysd = l
            .mounts
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == "name=systemd"))
            .unwrap();
        assert_eq!(sysd.mount_point, root.join("sys/fs/cgroup/systemd"));
    }

    #[test]
    fn legacy_with_comounted_cpu_cpuacct() {
        let (l, h, root) = load("v1");
        assert_eq!(l.kind, LayoutKind::Legacy);
        assert_eq!(h.version, CgroupVersion::V1);
        // A mount point with a space, escaped as \040 in mountinfo.
        assert_eq!(h.cpu_mount, root.join("sys/fs/cgroup/cpu,cpu acct"));
        assert_eq!(h.acct_mount, None);
    }

    #[test]
    fn unified_at_a_custom_mount_point() {
        let (l, h, root) = load("v2");
        assert_eq!(l.kind, LayoutKind::Unified);
        assert_eq!(h.version, CgroupVersion::V2);
        assert_eq!(h.cpu_mount, root.join("mnt/cg2"));
    }

    #[test]
    fn errors() {
        assert!(Layout::from_mountinfo("garbage", Path::new("/")).is_err());
        assert!(
            Layout::from_mountinfo("1 2 3:4 / /proc rw - proc proc rw\n", Path::new("/")).is_err()
        );
        // A hybrid machine whose v2 mount lacks cpu and has no v1 cpu either.
        let text = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sys/fs/cgroup/unified")).unwrap();
        std::fs::write(
            d.path().join("sys/fs/cgroup/unified/cgroup.controllers"),
            "hugetlb\n",
        )
        .unwrap();
        let l = Layout::from_mountinfo(text, d.path()).unwrap();
        let e = l.cpu_hierarchy(&RealFs).unwrap_err().to_string();
        assert!(e.contains("no cpu controller"), "{e}");
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\134b"), r"/a\b");
        assert_eq!(unescape(r"/a\9"), r"/a\9");
        assert_eq!(unescape(r"\04"), r"\04");
    }
}
