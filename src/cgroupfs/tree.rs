//! The run tree `<parent>/<run-id>/<pod>/<container>` and its lifetime (I/O shell).
//!
//! [`RunTree::create`] makes the parent (if missing) and the run directory in the CPU hierarchy
//! and, on v1 with a separate cpuacct hierarchy, the same directories there (usage lives in
//! `cpuacct.usage`). On v2 it enables `+cpu` in the `cgroup.subtree_control` of every non-leaf
//! group it owns; processes only ever go into leaves (the no-internal-processes rule). It never
//! writes above the parent: if the mount root does not delegate `cpu`, it stops with a hint.
//! [`RunTree::teardown`] (also run on drop) kills every process left in the run's groups,
//! removes them bottom-up, restores the parent's weight after `--isolate`, and removes the parent
//! when it created it and it is empty.

use super::cleanup::{remove_tree, Record, StateDir};
use super::detect::CpuHierarchy;
use super::{
    ensure_inside, join, read_file, v1, v2, write_checked, CgroupError, CgroupIo, CgroupName,
    CgroupVersion, Group, Op, ReadBack, Result,
};
use crate::units::{Shares, Weight};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One run's cgroups.
pub struct RunTree {
    io: Arc<dyn CgroupIo>,
    hier: CpuHierarchy,
    parent: CgroupName,
    run_id: CgroupName,
    /// Parent directories this tree created (removed at teardown when empty).
    parents_created: Vec<PathBuf>,
    /// Values to restore at teardown (`--isolate`): file, old value.
    restore: Vec<(PathBuf, String)>,
    state: Option<(StateDir, String)>,
    torn_down: bool,
}

impl std::fmt::Debug for RunTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunTree")
            .field("hier", &self.hier)
            .field("parent", &self.parent)
            .field("run_id", &self.run_id)
            .finish()
    }
}

fn mkdir_new(io: &dyn CgroupIo, p: &Path) -> Result<bool> {
    match io.mkdir(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(CgroupError::Io {
            op: Op::Mkdir,
            path: p.to_path_buf(),
            source: e,
        }),
    }
}

impl RunTree {
    /// Creates `<parent>/<run_id>` in the CPU hierarchy (and the separate cpuacct hierarchy).
    /// With `state`, writes an ownership record for later sweeps.
    pub fn create(
        io: Arc<dyn CgroupIo>,
        hier: CpuHierarchy,
        parent: CgroupName,
        run_id: CgroupName,
        owner: Option<(StateDir, u32, u64)>,
    ) -> Result<RunTree> {
        if hier.version == CgroupVersion::V2 && !v2::cpu_delegated(&*io, &hier.cpu_mount)? {
            return Err(CgroupError::NoCpuController(format!(
                "cpu is not enabled for children of {} (kcpu never writes there; as root: echo +cpu > {}/cgroup.subtree_control)",
                hier.cpu_mount.display(),
                hier.cpu_mount.display()
            )));
        }
        let mut tree = RunTree {
            io,
            hier,
            parent,
            run_id,
            parents_created: Vec::new(),
            restore: Vec::new(),
            state: None,
            torn_down: false,
        };
        let mut dirs = Vec::new();
        for base in tree.bases() {
            let pdir = join(&base, std::slice::from_ref(&tree.parent));
            // A concurrent sweep may remove an empty parent between our mkdirs: retry once.
            let mut made = false;
            for attempt in 0..2 {
                if mkdir_new(&*tree.io, &pdir)? {
                    tree.parents_created.push(pdir.clone());
                }
                ensure_inside(&pdir, &base)?;
                if tree.hier.version == CgroupVersion::V2 {
                    v2::delegate_cpu(&*tree.io, &pdir)?;
                }
                let rdir = join(&pdir, std::slice::from_ref(&tree.run_id));
                match tree.io.mkdir(&rdir) {
                    Ok(()) => {
                        made = true;
                        ensure_inside(&rdir, &pdir)?;
                        dirs.push(rdir);
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt == 0 => continue,
                    Err(e) => {
                        return Err(CgroupError::Io {
                            op: Op::Mkdir,
                            path: rdir,
                            source: e,
                        })
                    }
                }
            }
            if !made {
                return Err(CgroupError::NoCpuController(format!(
                    "cannot create the run directory under {}",
                    pdir.display()
                )));
            }
        }
        if tree.hier.version == CgroupVersion::V2 {
            v2::delegate_cpu(&*tree.io, &dirs[0])?;
        }
        if let Some((sd, pid, start)) = owner {
            let rec = Record {
                run_id: tree.run_id.to_string(),
                owner_pid: pid,
                owner_start_ticks: start,
                parent: tree.parent.to_string(),
                dirs: dirs.clone(),
            };
            sd.write(&rec)?;
            tree.state = Some((sd, rec.run_id));
        }
        Ok(tree)
    }

    fn bases(&self) -> Vec<PathBuf> {
        std::iter::once(self.hier.cpu_mount.clone())
            .chain(self.hier.acct_mount.clone())
            .collect()
    }

    /// The hierarchy in use.
    pub fn hierarchy(&self) -> &CpuHierarchy {
        &self.hier
    }

    /// The run id.
    pub fn run_id(&self) -> &CgroupName {
        &self.run_id
    }

    /// The parent directory in the CPU hierarchy.
    pub fn parent_dir(&self) -> PathBuf {
        join(&self.hier.cpu_mount, std::slice::from_ref(&self.parent))
    }

    /// The run directory in the CPU hierarchy.
    pub fn run_dir(&self) -> PathBuf {
        self.run_group().cpu_dir
    }

    /// The run directory as a group (cpu + cpuacct), for usage of everything the run started.
    pub fn run_group(&self) -> Group {
        let names = [self.parent.clone(), self.run_id.clone()];
        Group {
            version: self.hier.version,
            cpu_dir: join(&self.hier.cpu_mount, &names),
            acct_dir: self.hier.acct_mount.as_ref().map(|m| join(m, &names)),
        }
    }

    /// Creates (or reuses) the group `<run-id>/<names…>`; on v2 delegates `+cpu` on every
    /// level but the last (the leaf holds the processes).
    pub fn group(&mut self, names: &[CgroupName]) -> Result<Group> {
        let mut prefix = vec![self.parent.clone(), self.run_id.clone()];
        for (i, n) in names.iter().enumerate() {
            prefix.push(n.clone());
            for base in self.bases() {
                let d = join(&base, &prefix);
                mkdir_new(&*self.io, &d)?;
                ensure_inside(&d, &join(&base, &prefix[..2]))?;
                if self.hier.version == CgroupVersion::V2 && i + 1 < names.len() {
                    v2::delegate_cpu(&*self.io, &d)?;
                }
            }
        }
        Ok(Group {
            version: self.hier.version,
            cpu_dir: join(&self.hier.cpu_mount, &prefix),
            acct_dir: self.hier.acct_mount.as_ref().map(|m| join(m, &prefix)),
        })
    }

    /// Kills and removes the subtree `<run-id>/<names…>` in every hierarchy (between runs).
    pub fn remove(&mut self, names: &[CgroupName]) -> Result<Vec<PathBuf>> {
        let mut prefix = vec![self.parent.clone(), self.run_id.clone()];
        prefix.extend(names.iter().cloned());
        let mut removed = Vec::new();
        for base in self.bases() {
            removed.extend(remove_tree(
                &*self.io,
                &join(&base, &prefix),
                self.hier.version,
            )?);
        }
        Ok(removed)
    }

    /// `--isolate`: gives the parent the maximum weight (v1 `cpu.shares` 262144, v2 `cpu.weight`
    /// 10000) so that other processes of the machine steal less CPU from the measured groups.
    /// Quota accounting is unchanged. The old value is restored at teardown.
    pub fn isolate(&mut self) -> Result<ReadBack> {
        let (file, max) = match self.hier.version {
            CgroupVersion::V1 => (v1::share_file(), Shares::MAX.0),
            CgroupVersion::V2 => (v2::share_file(), Weight::MAX.0),
        };
        let p = self.parent_dir().join(file);
        let old = read_file(&*self.io, &p)?.trim().to_string();
        let rb = write_checked(&*self.io, &p, &max.to_string(), &max.to_string())?;
        if !self.restore.iter().any(|(f, _)| f == &p) {
            self.restore.push((p, old));
        }
        Ok(rb)
    }

    /// Kills every process in the run's groups and removes them; restores isolation; removes
    /// a parent this tree created when it is empty. Idempotent. Returns the removed directories.
    pub fn teardown(&mut self) -> Result<Vec<PathBuf>> {
        if self.torn_down {
            return Ok(Vec::new());
        }
        let mut removed = Vec::new();
        let mut first_err = None;
        for base in self.bases() {
            let rdir = join(&base, &[self.parent.clone(), self.run_id.clone()]);
            match remove_tree(&*self.io, &rdir, self.hier.version) {
                Ok(r) => removed.extend(r),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        for (p, old) in self.restore.drain(..) {
            // The parent may be gone already (removed below) or shared with another run.
            if self.io.exists(&p) {
                if let Err(e) = super::write_file(&*self.io, &p, &old) {
                    first_err.get_or_insert(e);
                }
            }
        }
        for p in self.parents_created.drain(..) {
            if self.io.subdirs(&p).is_ok_and(|c| c.is_empty()) && self.io.rmdir(&p).is_ok() {
                removed.push(p);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        if let Some((sd, id)) = self.state.take() {
            sd.remove(&id);
        }
        self.torn_down = true;
        Ok(removed)
    }
}

impl Drop for RunTree {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// Checks that `dir` exists (for callers that receive paths from outside).
pub fn must_exist(io: &dyn CgroupIo, dir: &Path) -> Result<()> {
    if io.exists(dir) {
        Ok(())
    } else {
        Err(CgroupError::Io {
            op: Op::Open,
            path: dir.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::fake::FakeKernel;
    use crate::cgroupfs::{CpuLimits, CpuShare};
    use crate::cpu::CpuMax;
    use crate::units::{PeriodUs, QuotaUs, Shares, Weight};

    fn names(v: &[&str]) -> Vec<CgroupName> {
        v.iter().map(|s| CgroupName::new(s).unwrap()).collect()
    }

    #[test]
    fn v2_tree_delegates_cpu_and_tears_down() {
        let k = Arc::new(FakeKernel::new(CgroupVersion::V2));
        let root = k.root();
        let h = CpuHierarchy {
            version: CgroupVersion::V2,
            cpu_mount: root.clone(),
            acct_mount: None,
        };
        let sd = tempfile::tempdir().unwrap();
        let state = StateDir(sd.path().to_path_buf());
        let mut t = RunTree::create(
            k.clone(),
            h,
            CgroupName::parent("kcpu").unwrap(),
            CgroupName::new("1-2-0").unwrap(),
            Some((state.clone(), 1, 2)),
        )
        .unwrap();
        assert_eq!(state.list().len(), 1);
        let g = t.group(&names(&["pod", "api"])).unwrap();
        assert_eq!(g.cpu_dir, root.join("kcpu/1-2-0/pod/api"));
        for d in ["kcpu", "kcpu/1-2-0", "kcpu/1-2-0/pod"] {
            assert!(v2::cpu_delegated(&*k, &root.join(d)).unwrap(), "{d}");
        }
        assert!(
            !v2::cpu_delegated(&*k, &g.cpu_dir).unwrap(),
            "the leaf keeps processes: no delegation"
        );
        let l = CpuLimits {
            share: Some(CpuShare::Weight(Weight(200))),
            max: CpuMax {
                quota: QuotaUs(50_000),
                period: PeriodUs::DEFAULT,
            },
            ..Default::default()
        };
        g.apply(&*k, &l).unwrap();
        assert_eq!(t.isolate().unwrap().value, "10000");
        let removed = t.teardown().unwrap();
        assert!(removed.contains(&root.join("kcpu")), "{removed:?}");
        assert!(!root.join("kcpu").exists());
        assert!(state.list().is_empty());
        assert!(t.teardown().unwrap().is_empty());
    }

    #[test]
    fn v1_tree_mirrors_cpuacct_and_keeps_a_foreign_parent() {
        let k = Arc::new(FakeKernel::new(CgroupVersion::V1));
        let root = k.root();
        k.mkdir(&root.join("cpu")).unwrap();
        k.mkdir(&root.join("acct")).unwrap();
        k.mkdir(&root.join("cpu/kcpu")).unwrap(); // pre-existing parent (another run's)
        let h = CpuHierarchy {
            version: CgroupVersion::V1,
            cpu_mount: root.join("cpu"),
            acct_mount: Some(root.join("acct")),
        };
        let mut t = RunTree::create(
            k.clone(),
            h,
            CgroupName::parent("kcpu").unwrap(),
            CgroupName::new("5-6-0").unwrap(),
            None,
        )
        .unwrap();
        let g = t.group(&names(&["p", "c"])).unwrap();
        assert_eq!(g.acct_dir, Some(root.join("acct/kcpu/5-6-0/p/c")));
        assert_eq!(
            g.usage_path(),
            root.join("acct/kcpu/5-6-0/p/c/cpuacct.usage")
        );
        g.apply(
            &*k,
            &CpuLimits {
                share: Some(CpuShare::Shares(Shares(512))),
                ..Default::default()
            },
        )
        .unwrap();
        t.isolate().unwrap();
        t.remove(&names(&["p"])).unwrap();
        assert!(
            !root.join("cpu/kcpu/5-6-0/p").exists() && !root.join("acct/kcpu/5-6-0/p").exists()
        );
        drop(t);
        assert!(
            root.join("cpu/kcpu").exists(),
            "a parent we did not create stays"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("cpu/kcpu/cpu.shares"))
                .unwrap()
                .trim(),
            "1024",
            "restored"
        );
        assert!(
            !root.join("acct/kcpu").exists(),
            "the cpuacct parent we created goes"
        );
    }

    #[test]
    fn v2_without_cpu_delegated_at_the_mount_is_refused() {
        let k = Arc::new(FakeKernel::new(CgroupVersion::V2));
        std::fs::write(k.root().join("cgroup.subtree_control"), "memory\n").unwrap();
        let h = CpuHierarchy {
            version: CgroupVersion::V2,
            cpu_mount: k.root(),
            acct_mount: None,
        };
        let e = RunTree::create(
            k.clone(),
            h,
            CgroupName::parent("kcpu").unwrap(),
            CgroupName::new("1-1-1").unwrap(),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("echo +cpu"), "{e}");
        assert!(!k.root().join("kcpu").exists());
    }
}
