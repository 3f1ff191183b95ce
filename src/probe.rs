//! `kcpu probe` records (pure core): find the process's own cgroup from `/proc/self/cgroup`
//! and `/proc/self/mountinfo`, and the JSON line one probe run prints (read back by
//! `kcpu collect`).
//!
//! Own cgroup: `/proc/self/cgroup` lists `hierarchy-ID:controllers:path` with the path relative
//! to the cgroup namespace root (`0::/path` for v2; see `cgroups(7)` and `cgroup_namespaces(7)`);
//! mountinfo gives each cgroup mount's root inside the hierarchy (field 4) and mount point
//! (field 5). The directory is mount point + (path with the mount's root stripped): inside a
//! pod with a private cgroup namespace the path and the root are both `/` and the directory is
//! the mount point; under runc on v1 without a cgroup namespace the mount's root is the
//! container's path, and the same rule gives the mount point again.

use crate::cgroupfs::detect::unescape;
use crate::cpu::files;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the probe line format.
pub const FORMAT_VERSION: u32 = 1;

/// One line of `/proc/self/cgroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Hierarchy id (0 for v2).
    pub id: u32,
    /// v1 controllers (`cpu`, `cpuacct`); empty for v2.
    pub controllers: Vec<String>,
    /// Path relative to the cgroup namespace root.
    pub path: String,
}

/// Parses `/proc/self/cgroup`. Malformed lines are skipped.
pub fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let id = it.next()?.parse().ok()?;
            let ctl = it.next()?;
            let path = it.next()?.to_string();
            Some(Membership {
                id,
                controllers: ctl
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect(),
                path,
            })
        })
        .collect()
}

/// A cgroup mount from mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// Root of the mount inside its hierarchy.
    pub root: String,
    /// Mount point.
    pub mount_point: PathBuf,
    /// True for cgroup2.
    pub v2: bool,
    /// v1 controllers from the super options.
    pub controllers: Vec<String>,
}

/// The cgroup mounts of `/proc/self/mountinfo` (see `proc(5)`).
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = pre.split(' ').collect();
        let p: Vec<&str> = post.split(' ').collect();
        if f.len() < 5 || p.len() < 3 {
            continue;
        }
        let v2 = p[0] == "cgroup2";
        if !v2 && p[0] != "cgroup" {
            continue;
        }
        let controllers = if v2 {
            Vec::new()
        } else {
            p[2].split(',')
                .filter(|o| {
                    !matches!(*o, "rw" | "ro")
                        && !o.contains('=')
                        && !matches!(*o, "noprefix" | "clone_children" | "xattr")
                })
                .map(String::from)
                .collect()
        };
        out.push(CgroupMount {
            root: unescape(f[3]),
            mount_point: PathBuf::from(unescape(f[4])),
            v2,
            controllers,
        });
    }
    out
}

/// mount point + (path − the mount's root).
fn dir_in(m: &CgroupMount, path: &str) -> PathBuf {
    let rel = if m.root == "/" {
        path.trim_start_matches('/')
    } else if let Some(r) = path.strip_prefix(m.root.as_str()) {
        r.trim_start_matches('/')
    } else {
        // A path outside the mount's root (another namespace's view): the mount point is the
        // closest directory this process can read.
        ""
    };
    if rel.is_empty() {
        m.mount_point.clone()
    } else {
        m.mount_point.join(rel)
    }
}

/// Where the process's CPU files are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnCgroup {
    /// `v1` or `v2`.
    pub version: String,
    /// The path `/proc/self/cgroup` shows (relative to the cgroup namespace root).
    pub path: String,
    /// Directory of the cpu controller's files.
    pub cpu_dir: PathBuf,
    /// v1: directory of `cpuacct.usage` (may equal `cpu_dir`).
    pub acct_dir: Option<PathBuf>,
}

/// The process's cgroup: v1 when a v1 hierarchy has the cpu controller, else v2.
pub fn own_cgroup(proc_cgroup: &str, mountinfo: &str) -> Option<OwnCgroup> {
    let members = parse_proc_cgroup(proc_cgroup);
    let mounts = parse_mountinfo(mountinfo);
    let v1 = |ctl: &str| {
        let m = members
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == ctl))?;
        let mount = mounts
            .iter()
            .find(|mt| !mt.v2 && mt.controllers.iter().any(|c| c == ctl))?;
        Some((m.path.clone(), dir_in(mount, &m.path)))
    };
    if let Some((path, cpu_dir)) = v1("cpu") {
        let acct_dir = v1("cpuacct").map(|(_, d)| d);
        return Some(OwnCgroup {
            version: "v1".into(),
            path,
            cpu_dir,
            acct_dir,
        });
    }
    let m = members
        .iter()
        .find(|m| m.id == 0 && m.controllers.is_empty())?;
    let mount = mounts.iter().find(|mt| mt.v2)?;
    Some(OwnCgroup {
        version: "v2".into(),
        path: m.path.clone(),
        cpu_dir: dir_in(mount, &m.path),
        acct_dir: None,
    })
}

/// The CPU files a probe records, per version.
pub fn cpu_files(version: &str) -> &'static [&'static str] {
    if version == "v1" {
        &[
            files::CPU_SHARES,
            files::CPU_CFS_QUOTA_US,
            files::CPU_CFS_PERIOD_US,
            files::CPU_CFS_BURST_US,
            files::CPU_STAT,
        ]
    } else {
        &[
            files::CPU_MAX,
            files::CPU_MAX_BURST,
            files::CPU_WEIGHT,
            files::CPU_IDLE,
            files::CPU_STAT,
            files::CPU_PRESSURE,
        ]
    }
}

/// The container runtime, guessed from the cgroup path's naming (`cri-containerd-<id>.scope`,
/// `crio-<id>.scope`, `docker-<id>.scope`, cgroupfs `/kubepods/…/<id>`), when visible.
pub fn runtime_from_path(path: &str) -> Option<String> {
    let leaf = path.rsplit('/').next().unwrap_or("");
    for (prefix, name) in [
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("docker-", "docker"),
    ] {
        if leaf.starts_with(prefix) {
            return Some(name.into());
        }
    }
    None
}

/// The container runtime, from the host paths a container's mount table shows when its cgroup
/// path does not (inside a cgroup namespace it is `/`): the root overlay's layer directories
/// and the bind-mounted `/etc/hostname`, `/etc/resolv.conf` live under the runtime's state
/// directory — containerd `/var/lib/containerd/io.containerd.…`, CRI-O and Podman
/// (containers/storage) `…/containers/storage/…`, Docker `/var/lib/docker/…`. Field 4 of
/// mountinfo (the root of a bind mount) and the overlay's `lowerdir=`/`upperdir=` super
/// options hold them (proc(5)).
pub fn runtime_from_mountinfo(mountinfo: &str) -> Option<String> {
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let root = pre.split(' ').nth(3).unwrap_or("");
        let options = post.split(' ').nth(2).unwrap_or("");
        for text in [root, options] {
            if text.contains("/io.containerd.") {
                return Some("containerd".into());
            }
            if text.contains("/containers/storage/") {
                return Some("cri-o".into());
            }
            if text.contains("/var/lib/docker/") || text.contains("/docker/containers/") {
                return Some("docker".into());
            }
        }
    }
    None
}

/// Facts about the node the probe ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NodeFacts {
    /// `spec.nodeName` (downward API), when given.
    pub name: Option<String>,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Online CPUs of the machine.
    pub cpus: u32,
    /// CPUs this process may run on (affinity).
    pub cpus_allowed: u32,
    /// `/proc/cpuinfo` model name.
    pub cpu_model: Option<String>,
    /// `CONFIG_HZ` when `/boot/config-<release>` is readable.
    pub hz: Option<u32>,
    /// `v1` or `v2`.
    pub cgroup_version: String,
    /// Container runtime, when the cgroup path shows it.
    pub runtime: Option<String>,
}

impl NodeFacts {
    /// What makes two nodes the same type for comparisons: kernel, CPUs, model, cgroup version.
    pub fn node_type(&self) -> String {
        format!(
            "{} · {} CPUs{} · kernel {} · cgroup {}",
            self.cpu_model.as_deref().unwrap_or("unknown CPU"),
            self.cpus,
            if self.cpus_allowed != self.cpus {
                format!(" ({} allowed)", self.cpus_allowed)
            } else {
                String::new()
            },
            self.kernel,
            self.cgroup_version
        )
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Measured {
    /// Periods elapsed (cpu.stat delta).
    pub nr_periods: u64,
    /// Periods throttled.
    pub nr_throttled: u64,
    /// Time throttled, µs.
    pub throttled_usec: u64,
    /// CPU used by the cgroup, µs (v2 `usage_usec`, v1 `cpuacct.usage`).
    pub usage_usec: Option<u64>,
    /// Wall time of the run, µs.
    pub wall_usec: u64,
    /// Requests served.
    pub requests: u64,
    /// Requests not started before the deadline.
    pub incomplete: u64,
    /// Latency (arrival to end), ms: p50, p90, p99, max.
    pub latency_ms: [f64; 4],
    /// Queueing delay (arrival to start), ms: p50, p90, p99, max.
    pub queue_ms: [f64; 4],
}

/// One probe line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// [`FORMAT_VERSION`].
    pub kcpu_probe: u32,
    /// kcpu version.
    pub kcpu_version: String,
    /// The `kcpu.dev/run` id.
    pub run_id: Option<String>,
    /// Completion index (`JOB_COMPLETION_INDEX`).
    pub index: Option<u32>,
    /// `Kind/namespace/name` of the measured workload.
    pub workload: Option<String>,
    /// The measured container.
    pub container: Option<String>,
    /// Pod name (downward API).
    pub pod: Option<String>,
    /// The node.
    pub node: NodeFacts,
    /// The cgroup and its CPU files as read before the run (`cpu.stat` after it).
    pub cgroup: OwnCgroup,
    /// File name → content (trimmed), for every file of [`cpu_files`] that exists.
    pub files: BTreeMap<String, String>,
    /// The load (`--load` grammar).
    pub load: String,
    /// Duration of the load, s.
    pub duration_s: f64,
    /// Seed used.
    pub seed: u64,
    /// The numbers.
    pub measured: Measured,
}

/// Joins `dir` and a file name.
pub fn file_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO_V1: &str = "\
30 23 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
36 30 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn v1_host_path() {
        let cg = "12:memory:/kcpu/a\n4:cpu,cpuacct:/kcpu/a/c\n0::/user.slice\n";
        let own = own_cgroup(cg, MOUNTINFO_V1).unwrap();
        assert_eq!(own.version, "v1");
        assert_eq!(
            own.cpu_dir,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/kcpu/a/c")
        );
        assert_eq!(own.acct_dir, Some(own.cpu_dir.clone()));
    }

    #[test]
    fn v1_runc_without_cgroup_namespace() {
        // runc bind-mounts the container's own directory: the mount's root is its path.
        let mi =
            "40 39 0:31 /kcpu/x /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n";
        let own = own_cgroup("4:cpu,cpuacct:/kcpu/x\n", mi).unwrap();
        assert_eq!(own.cpu_dir, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
    }

    #[test]
    fn v2_in_a_cgroup_namespace() {
        let mi = "50 40 0:27 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let own = own_cgroup("0::/\n", mi).unwrap();
        assert_eq!(own.version, "v2");
        assert_eq!(own.path, "/");
        assert_eq!(own.cpu_dir, PathBuf::from("/sys/fs/cgroup"));
        let host = own_cgroup(
            "0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope\n",
            mi,
        )
        .unwrap();
        assert_eq!(
            host.cpu_dir,
            PathBuf::from(
                "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/cri-containerd-abc.scope"
            )
        );
        assert_eq!(runtime_from_path(&host.path).as_deref(), Some("containerd"));
    }

    #[test]
    fn runtime_from_the_mount_table() {
        let containerd = "\
1200 1100 0:310 / / ro,relatime - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/41/fs,upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/42/fs
1210 1200 0:27 / /sys/fs/cgroup ro - cgroup2 cgroup rw
";
        assert_eq!(
            runtime_from_mountinfo(containerd).as_deref(),
            Some("containerd")
        );
        let crio = "1300 1200 253:1 /lib/containers/storage/overlay-containers/ab/userdata/hostname /etc/hostname rw - xfs /dev/vda1 rw\n";
        assert_eq!(runtime_from_mountinfo(crio).as_deref(), Some("cri-o"));
        let docker = "1400 1200 253:1 /var/lib/docker/containers/ab/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n";
        assert_eq!(runtime_from_mountinfo(docker).as_deref(), Some("docker"));
        assert_eq!(runtime_from_mountinfo(MOUNTINFO_V1), None);
        assert_eq!(runtime_from_mountinfo("garbage"), None);
    }

    #[test]
    fn escaped_mount_points_and_junk() {
        let mi = "1 0 0:1 / /sys/fs/cg\\040x rw - cgroup2 cgroup2 rw\nnot a line\n";
        let m = parse_mountinfo(mi);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, PathBuf::from("/sys/fs/cg x"));
        assert!(own_cgroup("garbage\n", mi).is_none());
    }
}
