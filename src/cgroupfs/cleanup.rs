//! Killing, removing and sweeping kcpu's cgroups (I/O shell).
//!
//! - [`kill_tree`]: v2 writes `cgroup.kill` (5.14+, race-free against forks); v1 (and older v2)
//!   repeats SIGKILL over `cgroup.procs` of every group in the subtree until all are empty. Each
//!   pid is opened as a pidfd and signalled only if it is still listed in our group after the
//!   open, so a recycled pid outside our groups is never signalled.
//! - [`remove_tree`]: `rmdir` bottom-up with retry (EBUSY while the kernel finishes exits).
//! - Records: each run writes `<state-dir>/<run-id>.json` with the owner's pid and start time
//!   (field 22 of `/proc/<pid>/stat`); the run id itself is `<pid>-<start>-<seq>`. A later
//!   `kcpu run` or `kcpu run --cleanup` removes run directories whose owner is gone
//!   ([`sweep_stale`]) and reports what it removed.
//!
//! Pattern after youki `crates/libcgroups/src/v2/manager.rs` `remove` and `common.rs`
//! `delete_with_retry` (our own code); method from `cfs.md` §7.4.

use super::detect::CpuHierarchy;
use super::{
    io_err, join, parse_procs, write_file, CgroupError, CgroupIo, CgroupName, CgroupVersion, Op,
    Result, CGROUP_KILL, CGROUP_PROCS, PARENT_PREFIX,
};
use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Rounds of SIGKILL over `cgroup.procs` before giving up (v1).
pub const KILL_ROUNDS: u32 = 200;
/// Attempts of `rmdir` on EBUSY.
pub const RMDIR_TRIES: u32 = 40;

/// Every directory of the subtree at `dir`, deepest first (children before parents).
pub fn subtree_bottom_up(io: &dyn CgroupIo, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    fn walk(io: &dyn CgroupIo, d: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for c in io.subdirs(d).map_err(io_err(Op::ReadDir, d))? {
            walk(io, &c, out)?;
        }
        out.push(d.to_path_buf());
        Ok(())
    }
    if io.exists(dir) {
        walk(io, dir, &mut out)?;
    }
    Ok(out)
}

/// Pids listed in `dir/cgroup.procs` (empty when the group is gone).
pub fn procs(io: &dyn CgroupIo, dir: &Path) -> Result<Vec<u32>> {
    let p = dir.join(CGROUP_PROCS);
    match io.read(&p) {
        Ok(t) => parse_procs(&p, &t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CgroupError::Io {
            op: Op::Read,
            path: p,
            source: e,
        }),
    }
}

/// Sends `sig` to `pid` only if, after opening a pidfd for it, it is still listed in
/// `dir/cgroup.procs`. Returns whether a signal was sent.
pub fn signal_member(io: &dyn CgroupIo, dir: &Path, pid: u32, sig: Signal) -> Result<bool> {
    let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return Ok(false);
    };
    let Ok(fd) = pidfd_open(p, PidfdFlags::empty()) else {
        return Ok(false);
    }; // already gone
    if !procs(io, dir)?.contains(&pid) {
        return Ok(false);
    }
    Ok(pidfd_send_signal(&fd, sig).is_ok())
}

/// Kills every process in the subtree at `dir` and waits until the groups are empty.
/// Returns the number of kill signals sent (v1) or 1 when `cgroup.kill` was used.
pub fn kill_tree(io: &dyn CgroupIo, dir: &Path, version: CgroupVersion) -> Result<u32> {
    if !io.exists(dir) {
        return Ok(0);
    }
    let dirs = subtree_bottom_up(io, dir)?;
    let mut sent = 0;
    let kill_file = dir.join(CGROUP_KILL);
    if version == CgroupVersion::V2
        && io.exists(&kill_file)
        && dirs
            .iter()
            .any(|d| !procs(io, d).unwrap_or_default().is_empty())
    {
        write_file(io, &kill_file, "1")?;
        sent = 1;
    }
    for round in 0..KILL_ROUNDS {
        let mut left = Vec::new();
        for d in &dirs {
            for pid in procs(io, d)? {
                // From round 1 on, or on v1 from the start: SIGKILL each listed member.
                if (sent == 0 || round > 0) && signal_member(io, d, pid, Signal::KILL)? {
                    sent += 1;
                }
                left.push(pid);
            }
        }
        if left.is_empty() {
            return Ok(sent);
        }
        std::thread::sleep(Duration::from_millis(if round < 20 { 1 } else { 5 }));
        if round + 1 == KILL_ROUNDS {
            return Err(CgroupError::KillFailed {
                path: dir.to_path_buf(),
                rounds: KILL_ROUNDS,
                pids: left,
            });
        }
    }
    Ok(sent)
}

/// `rmdir` with retry on EBUSY (exiting tasks leave the group a moment after SIGKILL).
pub fn rmdir_retry(io: &dyn CgroupIo, dir: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(1);
    for attempt in 0..RMDIR_TRIES {
        match io.rmdir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt + 1 < RMDIR_TRIES => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(25));
            }
            Err(e) => {
                return Err(CgroupError::Io {
                    op: Op::Rmdir,
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
        }
    }
    Ok(())
}

/// Kills everything in the subtree at `dir` and removes it bottom-up. Returns the removed
/// directories (deepest first).
pub fn remove_tree(io: &dyn CgroupIo, dir: &Path, version: CgroupVersion) -> Result<Vec<PathBuf>> {
    kill_tree(io, dir, version)?;
    let dirs = subtree_bottom_up(io, dir)?;
    for d in &dirs {
        rmdir_retry(io, d)?;
    }
    Ok(dirs)
}

// --------------------------------------------------------------------------------------------
// Ownership records

/// What a run leaves behind so that a later process can tell whether it is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The run id (`<pid>-<start>-<seq>`), also the name of the run's directory.
    pub run_id: String,
    /// Pid of the `kcpu run` process.
    pub owner_pid: u32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub owner_start_ticks: u64,
    /// The parent cgroup name.
    pub parent: String,
    /// The run directories (one per hierarchy).
    pub dirs: Vec<PathBuf>,
}

/// Start time of `pid` in clock ticks since boot: field 22 of `/proc/<pid>/stat` (proc(5)).
pub fn proc_start_ticks(pid: u32) -> std::io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces and ')'; fields resume after the last ')'.
    let after = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    after
        .split_whitespace()
        .nth(22 - 3)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "malformed /proc/<pid>/stat",
            )
        })
}

/// Whether the process `pid` that started at `start_ticks` still runs.
pub fn owner_alive(pid: u32, start_ticks: u64) -> bool {
    proc_start_ticks(pid).is_ok_and(|s| s == start_ticks)
}

/// The run id of this process: `<pid>-<start ticks>-<seq>`.
pub fn run_id(seq: u32) -> Result<(CgroupName, u32, u64)> {
    let pid = std::process::id();
    let start = proc_start_ticks(pid).map_err(io_err(Op::Read, Path::new("/proc/self/stat")))?;
    Ok((
        CgroupName::new(&format!("{pid}-{start}-{seq}"))?,
        pid,
        start,
    ))
}

/// Splits a run id into owner pid and start ticks.
pub fn parse_run_id(name: &str) -> Option<(u32, u64)> {
    let mut it = name.split('-');
    let (Some(p), Some(s), Some(q), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return None;
    };
    q.parse::<u32>().ok()?;
    Some((p.parse().ok()?, s.parse().ok()?))
}

/// Directory holding the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    fn path_of(&self, run_id: &str) -> PathBuf {
        self.0.join(format!("{run_id}.json"))
    }

    /// Writes (or replaces) a record.
    pub fn write(&self, r: &Record) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.0).map_err(io_err(Op::Mkdir, &self.0))?;
        let p = self.path_of(&r.run_id);
        let text = serde_json::to_string_pretty(r).unwrap_or_default();
        std::fs::write(&p, text).map_err(io_err(Op::Write("<record>".into()), &p))?;
        Ok(p)
    }

    /// Deletes the record of `run_id` (missing is fine).
    pub fn remove(&self, run_id: &str) {
        let _ = std::fs::remove_file(self.path_of(run_id));
    }

    /// All readable records, sorted by file name. Unreadable files are skipped.
    pub fn list(&self) -> Vec<Record> {
        let Ok(rd) = std::fs::read_dir(&self.0) else {
            return Vec::new();
        };
        let mut v: Vec<(PathBuf, Record)> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| {
                let r = serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
                Some((p, r))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, r)| r).collect()
    }
}

/// One stale run directory removed by [`sweep_stale`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// The run directory.
    pub path: PathBuf,
    /// Its former owner.
    pub owner_pid: u32,
    /// Every directory removed (deepest first).
    pub dirs: Vec<PathBuf>,
}

/// Whether `dir` is `<mount>/<kcpu…>/<run-id>` for one of the hierarchy's mounts.
fn is_run_dir(h: &CpuHierarchy, dir: &Path) -> bool {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
    else {
        return false;
    };
    let parent_ok = parent
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| CgroupName::parent(n).is_ok());
    let mount_ok = parent
        .parent()
        .is_some_and(|m| m == h.cpu_mount || h.acct_mount.as_deref() == Some(m));
    parent_ok
        && mount_ok
        && parse_run_id(name).is_some()
        && name.starts_with(|c: char| c.is_ascii_digit())
}

/// Removes run directories whose owner is gone: every `<mount>/<parent>/<run-id>` for the
/// given parents, plus the directories named in records of dead owners. Live runs are left
/// alone, and so is anything whose name is not a run id.
pub fn sweep_stale(
    io: &dyn CgroupIo,
    h: &CpuHierarchy,
    parents: &[CgroupName],
    state: &StateDir,
) -> Result<Vec<Removed>> {
    let mut candidates: Vec<(PathBuf, u32, u64)> = Vec::new();
    let mounts: Vec<&PathBuf> = std::iter::once(&h.cpu_mount)
        .chain(h.acct_mount.as_ref())
        .collect();
    for m in &mounts {
        for p in parents {
            let pdir = join(m, std::slice::from_ref(p));
            let Ok(children) = io.subdirs(&pdir) else {
                continue;
            };
            for c in children {
                if let Some((pid, start)) = c
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(parse_run_id)
                {
                    candidates.push((c, pid, start));
                }
            }
        }
    }
    let records = state.list();
    for r in &records {
        for d in &r.dirs {
            if is_run_dir(h, d) {
                candidates.push((d.clone(), r.owner_pid, r.owner_start_ticks));
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    let mut removed = Vec::new();
    for (dir, pid, start) in candidates {
        if owner_alive(pid, start) || !io.exists(&dir) {
            continue;
        }
        let version = h.version;
        let dirs = remove_tree(io, &dir, version)?;
        removed.push(Removed {
            path: dir,
            owner_pid: pid,
            dirs,
        });
    }
    for r in records {
        if !owner_alive(r.owner_pid, r.owner_start_ticks) {
            state.remove(&r.run_id);
        }
    }
    // Parents left empty by the sweep go too (best effort: another run may be using one).
    for m in &mounts {
        for p in parents {
            let pdir = join(m, std::slice::from_ref(p));
            if io.subdirs(&pdir).is_ok_and(|c| c.is_empty()) {
                let _ = io.rmdir(&pdir);
            }
        }
    }
    Ok(removed)
}

/// A path is a parent candidate only if its name starts with the kcpu prefix.
pub fn is_kcpu_parent(name: &str) -> bool {
    name.starts_with(PARENT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::fake::FakeKernel;

    #[test]
    fn start_ticks_of_self_and_run_ids() {
        let me = std::process::id();
        let s = proc_start_ticks(me).unwrap();
        assert!(owner_alive(me, s));
        assert!(!owner_alive(me, s + 1));
        let (id, pid, start) = run_id(3).unwrap();
        assert_eq!((pid, start), (me, s));
        assert_eq!(parse_run_id(id.as_str()), Some((me, s)));
        assert_eq!(parse_run_id("abc"), None);
        assert_eq!(parse_run_id("1-2"), None);
        assert_eq!(parse_run_id("1-2-x"), None);
    }

    #[test]
    fn removes_bottom_up() {
        let k = FakeKernel::new(CgroupVersion::V2);
        let top = k.group("kcpu");
        for p in ["r", "r/pod", "r/pod/a", "r/pod/b"] {
            k.mkdir(&top.join(p)).unwrap();
        }
        let order = subtree_bottom_up(&k, &top.join("r")).unwrap();
        assert_eq!(order.last().unwrap(), &top.join("r"));
        assert!(
            order.iter().position(|p| p.ends_with("pod"))
                > order.iter().position(|p| p.ends_with("a"))
        );
        let removed = remove_tree(&k, &top.join("r"), CgroupVersion::V2).unwrap();
        assert_eq!(removed.len(), 4);
        assert!(!top.join("r").exists());
        assert!(remove_tree(&k, &top.join("r"), CgroupVersion::V2)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn sweeps_only_dead_owners_and_says_what_it_removed() {
        let k = FakeKernel::new(CgroupVersion::V1);
        let root = k.root();
        let h = CpuHierarchy {
            version: CgroupVersion::V1,
            cpu_mount: root.clone(),
            acct_mount: None,
        };
        let parent = k.group("kcpu");
        let (live, _, _) = run_id(0).unwrap();
        // pid 1's start time is never u64::MAX - 1: a dead owner.
        let dead = format!("1-{}-0", u64::MAX - 1);
        for d in [live.as_str(), dead.as_str(), "not-a-run"] {
            k.mkdir(&parent.join(d)).unwrap();
        }
        k.mkdir(&parent.join(&dead).join("pod")).unwrap();
        let sd = tempfile::tempdir().unwrap();
        let state = StateDir(sd.path().to_path_buf());
        let rec = Record {
            run_id: dead.clone(),
            owner_pid: 1,
            owner_start_ticks: u64::MAX - 1,
            parent: "kcpu".into(),
            dirs: vec![parent.join(&dead), PathBuf::from("/etc")],
        };
        state.write(&rec).unwrap();
        assert_eq!(state.list(), vec![rec]);
        let removed = sweep_stale(&k, &h, &[CgroupName::new("kcpu").unwrap()], &state).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].path, parent.join(&dead));
        assert_eq!(removed[0].dirs.len(), 2);
        assert!(parent.join(live.as_str()).exists());
        assert!(parent.join("not-a-run").exists());
        assert!(state.list().is_empty());
        assert!(!is_run_dir(&h, Path::new("/etc")));
        assert!(is_kcpu_parent("kcpu-x") && !is_kcpu_parent("system.slice"));
    }
}
