//! Real OCI runtimes (runc, crun) as `kcpu run`'s container backend and as the oracle of the
//! differential suite (I/O shell).
//!
//! - [`OciRuntime::detect`] runs `<runtime> --version`, parses it and picks the `--runtime`
//!   preset with the same rules ([`crate::translate::oci::preset_for`]).
//! - [`Rootfs`] is a minimal root filesystem: the kcpu binary at `/kcpu` (it provides the
//!   `__worker`), plus the shared libraries `ldd` lists when the binary is not static. No
//!   image, no registry. One rootfs serves many bundles (`root.path` is absolute).
//! - [`Bundle`] is a directory holding `config.json`: the process, `linux.resources.cpu` and a
//!   `linux.cgroupsPath` under kcpu's parent (`/<parent>/<run-id>/…`).
//! - Containers live in a runtime state root under kcpu's state directory, with ids that start
//!   with the run id, so [`sweep_stale`] can `delete --force` the containers of a dead `kcpu`
//!   and then remove their cgroups in every v1 hierarchy (the runtime creates the container's
//!   cgroup in memory, pids, blkio, … too, all under kcpu's parent name).
//!
//! crun ≤ 1.x refuses a hybrid host whose cgroup2 mount has any controller ("cgroups in hybrid
//! mode not supported, drop all controllers from cgroupv2": containers/crun
//! `src/libcrun/cgroup.c` `libcrun_cgroup_enter`); this machine's `/sys/fs/cgroup/unified`
//! has `hugetlb`. kcpu then runs crun inside a private mount namespace (`unshare -m`) in
//! which only that cgroup2 mount is unmounted: crun sees a pure v1 host, and nothing on the
//! host changes.

use super::init::{Exit, Init};
use crate::cgroupfs::cleanup::{owner_alive, parse_run_id, remove_tree};
use crate::cgroupfs::detect::Layout;
use crate::cgroupfs::{v1, v2, CgroupIo, CgroupName, CpuLimits, Group, ReadBack};
use crate::cpu::CgroupVersion as Version;
use crate::profile::{Runtime, RuntimeFamily};
use crate::translate::oci::{parse_version, preset_for, LinuxCpu, RuntimeVersion};
use serde_json::json;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Why a runtime operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The runtime binary could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `--version` printed something kcpu does not know.
    #[error("{program} --version printed {output:?}: not runc or crun")]
    UnknownVersion {
        /// The program.
        program: String,
        /// Its first line.
        output: String,
    },
    /// A runtime command failed.
    #[error("{program} {action} failed ({status}): {stderr}")]
    Failed {
        /// The program.
        program: String,
        /// `create`, `start`, `delete`.
        action: String,
        /// Exit status.
        status: String,
        /// What it said.
        stderr: String,
    },
    /// A file operation on the bundle or rootfs failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> OciError + 'a {
    move |source| OciError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Where a hybrid host's cgroup2 mount usually is.
const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// A detected runtime.
#[derive(Debug, Clone)]
pub struct OciRuntime {
    /// The binary (`runc`, `crun`, or a path).
    pub program: PathBuf,
    /// Its version.
    pub version: RuntimeVersion,
    /// The `--runtime` preset with the same rules.
    pub preset: Runtime,
    /// The runtime's state root (`--root`).
    pub root: PathBuf,
    /// Run it in a private mount namespace without the hybrid cgroup2 mount (crun only).
    pub hide_unified: bool,
    /// `create --no-pivot`: the host's root is the initial ramfs, where `pivot_root` fails
    /// with EINVAL (pivot_root(2): "the current root is on the rootfs (initial ramfs) mount";
    /// runc's `--no-pivot` help: "This should be used whenever the rootfs is on top of a
    /// ramdisk"). Then the runtime moves the root with `MS_MOVE` and `chroot`s. This is the case
    /// in the cgroup v2 test VM, which runs from an initramfs.
    pub no_pivot: bool,
}

impl OciRuntime {
    /// Runs `<program> --version` and maps it to a preset; the state root is
    /// `<state_dir>/oci-<runc|crun>`.
    pub fn detect(program: &Path, state_dir: &Path) -> Result<OciRuntime, OciError> {
        let name = program.display().to_string();
        let out = Command::new(program)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| OciError::Spawn {
                program: name.clone(),
                source,
            })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let version = parse_version(&text).ok_or_else(|| OciError::UnknownVersion {
            program: name.clone(),
            output: text.lines().next().unwrap_or_default().to_string(),
        })?;
        let family = match version.family {
            RuntimeFamily::Runc => "runc",
            RuntimeFamily::Crun => "crun",
        };
        let hide_unified = version.family == RuntimeFamily::Crun && hybrid_with_controllers();
        Ok(OciRuntime {
            program: program.to_path_buf(),
            version,
            preset: preset_for(version),
            root: state_dir.join(format!("oci-{family}")),
            hide_unified,
            no_pivot: std::fs::read_to_string(crate::cgroupfs::detect::PROC_SELF_MOUNTINFO)
                .is_ok_and(|t| root_is_initramfs(&t)),
        })
    }

    /// A command running the runtime with `--root` and `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = if self.hide_unified {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(format!("umount {UNIFIED} && exec \"$0\" \"$@\""))
                .arg(&self.program);
            c
        } else {
            Command::new(&self.program)
        };
        c.arg("--root").arg(&self.root).args(args);
        c
    }

    fn run(&self, action: &str, args: &[&str]) -> Result<Output, OciError> {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| OciError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        if !out.status.success() {
            return Err(OciError::Failed {
                program: self.program.display().to_string(),
                action: action.into(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out)
    }

    /// `create --bundle B ID`: the container's cgroups exist and hold the values, its process
    /// waits for `start`. The process inherits the runtime's stdio, so stdin/stdout are null
    /// and stderr goes to a file in the bundle (a pipe would stay open as long as the
    /// container exists).
    pub fn create(&self, bundle: &Bundle, id: &str) -> Result<(), OciError> {
        let log = bundle.dir.join("create.err");
        let err = std::fs::File::create(&log).map_err(io_err("create", &log))?;
        let status = self
            .create_command(bundle, id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .status()
            .map_err(|source| OciError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        if status.success() {
            return Ok(());
        }
        Err(OciError::Failed {
            program: self.program.display().to_string(),
            action: "create".into(),
            status: status.to_string(),
            stderr: std::fs::read_to_string(&log)
                .unwrap_or_default()
                .trim()
                .to_string(),
        })
    }

    /// The `create` command for a container whose process talks to us over its stdio (the
    /// runtime passes its own stdin/stdout to the container process when `terminal` is false);
    /// the caller spawns it, waits for it and then reads the pid file.
    pub fn create_command(&self, bundle: &Bundle, id: &str) -> Command {
        let b = bundle.dir.display().to_string();
        let p = bundle.pid_file().display().to_string();
        let mut args = vec!["create"];
        if self.no_pivot {
            args.push("--no-pivot");
        }
        args.extend(["--bundle", &b, "--pid-file", &p, id]);
        self.command(&args)
    }

    /// `start ID`.
    pub fn start(&self, id: &str) -> Result<(), OciError> {
        self.run("start", &["start", id]).map(|_| ())
    }

    /// `delete --force ID`: kills the container's processes and removes its cgroups in every
    /// hierarchy (but not the parents kcpu or the runtime created above it).
    pub fn delete_force(&self, id: &str) -> Result<(), OciError> {
        self.run("delete", &["delete", "--force", id]).map(|_| ())
    }

    /// Container ids in the state root (one directory each, for runc and crun alike).
    pub fn ids(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .collect();
        v.sort();
        v
    }
}

/// The first `name` on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// Where `execvp` would find `program` (with a `/`: relative to `cwd`; else on `path_env`), if
/// it is an executable file.
pub fn resolve_command(program: &std::ffi::OsStr, cwd: &Path, path_env: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let exec = |p: PathBuf| {
        std::fs::metadata(&p)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .then_some(p)
    };
    let p = Path::new(program);
    if program.is_empty() {
        return None;
    }
    if program.as_encoded_bytes().contains(&b'/') {
        return exec(cwd.join(p));
    }
    std::env::split_paths(path_env)
        .map(|d| cwd.join(d).join(p))
        .find_map(exec)
}

/// True when `/` is the initial ramfs (`rootfs` in `/proc/self/mountinfo`: proc(5), the
/// filesystem type follows the ` - ` separator).
fn root_is_initramfs(mountinfo: &str) -> bool {
    mountinfo.lines().any(|l| {
        let (pre, post) = l.split_once(" - ").unwrap_or((l, ""));
        pre.split_whitespace().nth(4) == Some("/")
            && post.split_whitespace().next() == Some("rootfs")
    })
}

/// True on a hybrid host whose cgroup2 mount has controllers (crun refuses it).
fn hybrid_with_controllers() -> bool {
    std::fs::read_to_string(Path::new(UNIFIED).join("cgroup.controllers"))
        .is_ok_and(|t| !t.trim().is_empty())
}

/// A minimal root filesystem: `/kcpu` and, for a dynamic binary, its loader and libraries.
#[derive(Debug)]
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    /// Builds it from `exe` (hard link, else copy) and `ldd exe`. Not while an [`Init`] is
    /// active: use [`Rootfs::under`] then.
    pub fn new(exe: &Path) -> Result<Rootfs, OciError> {
        let libs = Command::new("ldd")
            .arg(exe)
            .stderr(Stdio::null())
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default();
        Rootfs::with_libraries(exe, &libraries_from_ldd(&libs))
    }

    /// Like [`Rootfs::new`], with `ldd` run as a child of `init` (whose reaper would otherwise
    /// take ldd's exit from `Command::output`, leaving the rootfs without its loader).
    pub fn under(init: &Init, exe: &Path) -> Result<Rootfs, OciError> {
        if !is_dynamic(exe) {
            // A static binary needs no libraries (and the v2 VM has no `ldd`).
            return Rootfs::with_libraries(exe, &[]);
        }
        let mut cmd = Command::new("ldd");
        cmd.arg(exe).stdin(Stdio::null()).stderr(Stdio::null());
        let (exit, out) = init
            .output(&mut cmd, 1 << 20, RUNTIME_TIMEOUT)
            .map_err(|source| OciError::Spawn {
                program: "ldd".into(),
                source,
            })?;
        let libs = libraries_from_ldd(&out);
        if exit != Exit::Code(0) && is_dynamic(exe) {
            return Err(OciError::Failed {
                program: "ldd".into(),
                action: format!("list the libraries of {}", exe.display()),
                status: format!("{exit:?}"),
                stderr: String::new(),
            });
        }
        Rootfs::with_libraries(exe, &libs)
    }

    fn with_libraries(exe: &Path, libs: &[PathBuf]) -> Result<Rootfs, OciError> {
        let dir = tempfile::Builder::new()
            .prefix("kcpu-rootfs-")
            .tempdir()
            .map_err(io_err("mkdir", Path::new("kcpu-rootfs")))?;
        let root = dir.path();
        for d in ["proc", "dev", "tmp"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(io_err("mkdir", &p))?;
        }
        place(exe, &root.join("kcpu"))?;
        for lib in libs {
            let rel = lib.strip_prefix("/").unwrap_or(lib);
            place(lib, &root.join(rel))?;
        }
        Ok(Rootfs { dir })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn place(from: &Path, to: &Path) -> Result<(), OciError> {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).map_err(io_err("mkdir", p))?;
    }
    // The loader path `ldd` prints is often a symlink: place the file it points to.
    let from = &std::fs::canonicalize(from).map_err(io_err("resolve", from))?;
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(io_err("copy", from))
}

/// True when `exe` is an ELF file with a program interpreter (`PT_INTERP`): a dynamic
/// executable, which cannot start in a rootfs without its loader.
///
/// Reads only the 64-byte ELF header and the first 4 bytes (`p_type`) of each program header,
/// not the whole file (a command binary may be hundreds of MB).
fn is_dynamic(exe: &Path) -> bool {
    use std::os::unix::fs::FileExt;
    // ELF64 little-endian header: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38.
    const EHDR_LEN: u64 = 0x40;
    const PT_INTERP: u32 = 3;
    let Ok(file) = std::fs::File::open(exe) else {
        return false;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut h = Vec::with_capacity(EHDR_LEN as usize);
    if (&file).take(EHDR_LEN).read_to_end(&mut h).is_err() {
        return false;
    }
    let u16_at = |o: usize| {
        h.get(o..o + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as u64)
    };
    let u64_at = |o: usize| {
        h.get(o..o + 8)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if h.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(phoff), Some(size), Some(num)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    (0..num).any(|i| {
        let mut p_type = [0u8; 4];
        i.checked_mul(size)
            .and_then(|d| phoff.checked_add(d))
            .filter(|o| o.checked_add(4).is_some_and(|e| e <= len))
            .is_some_and(|o| {
                file.read_exact_at(&mut p_type, o).is_ok()
                    && u32::from_le_bytes(p_type) == PT_INTERP
            })
    })
}

/// Absolute library paths in `ldd`'s output (none for a static binary or without ldd).
fn libraries_from_ldd(out: &[u8]) -> Vec<PathBuf> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| {
            let path = match l.split_once("=>") {
                Some((_, r)) => r.split_whitespace().next(),
                None => l.split_whitespace().next(),
            }?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// A bundle directory with `config.json`.
#[derive(Debug)]
pub struct Bundle {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Bundle {
    /// Writes `config.json`: `args` run as root without capabilities in new pid, mount, ipc
    /// and uts namespaces, the rootfs read-only, `/proc` and a tmpfs `/dev` mounted, no
    /// terminal (the process inherits the runtime's stdio), `cpu` under
    /// `linux.resources.cpu`, `cgroups_path` as `linux.cgroupsPath`.
    pub fn new(
        rootfs: &Rootfs,
        args: &[OsString],
        cpu: &LinuxCpu,
        cgroups_path: &str,
    ) -> Result<Bundle, OciError> {
        Bundle::with_root(
            Some(rootfs.path()),
            Path::new("/"),
            "/",
            args,
            cpu,
            cgroups_path,
        )
    }

    /// Like [`Bundle::new`] with a read-only `root`, working directory `cwd` and `PATH`.
    /// `root` `None` is the host's file system, read-only: the runtimes cannot use `/` itself
    /// as a container's root (runc 1.1.5 on this machine: `pivot_root .: device or resource
    /// busy`, and with `--no-pivot` `mount /:/ … too many levels of symbolic links`), so the
    /// bundle gets a skeleton root holding the host's top-level symbolic links (`/bin` →
    /// `usr/bin` on a merged-/usr system) and an empty directory per top-level directory, each
    /// bind-mounted (`rbind`, `ro`) from the host; `/proc` and `/dev` are the container's own.
    pub fn with_root(
        root: Option<&Path>,
        cwd: &Path,
        path_env: &str,
        args: &[OsString],
        cpu: &LinuxCpu,
        cgroups_path: &str,
    ) -> Result<Bundle, OciError> {
        let tmp = tempfile::Builder::new()
            .prefix("kcpu-bundle-")
            .tempdir()
            .map_err(io_err("mkdir", Path::new("kcpu-bundle")))?;
        let (root, binds) = match root {
            Some(r) => (r.to_path_buf(), Vec::new()),
            None => {
                let r = tmp.path().join("rootfs");
                let binds = host_skeleton(Path::new("/"), &r)?;
                (r, binds)
            }
        };
        let mut mounts = vec![
            json!({"destination": "/proc", "type": "proc", "source": "proc"}),
            json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                   "options": ["nosuid", "strictatime", "mode=755", "size=1024k"]}),
        ];
        mounts.extend(binds.iter().map(
            |d| json!({"destination": d, "type": "bind", "source": d, "options": ["rbind", "ro"]}),
        ));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let spec = json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": [format!("PATH={path_env}")],
                "cwd": cwd,
                "noNewPrivileges": true
            },
            "root": {"path": root, "readonly": true},
            "hostname": "kcpu",
            "mounts": mounts,
            "linux": {
                "cgroupsPath": cgroups_path,
                "resources": {"cpu": cpu},
                "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]
            }
        });
        let path = tmp.path().join("config.json");
        let text = serde_json::to_string_pretty(&spec).unwrap_or_default();
        std::fs::write(&path, text).map_err(io_err("write", &path))?;
        Ok(Bundle {
            dir: tmp.path().to_path_buf(),
            _tmp: tmp,
        })
    }

    /// Where `create --pid-file` puts the container's pid.
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("container.pid")
    }

    /// The pid the runtime wrote, once `create` returned.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pid_file())
            .ok()
            .and_then(|t| t.trim().parse().ok())
    }
}

/// Fills `root` with the top-level entries of `host` (`/`): the same symbolic links, an empty directory
/// for each directory and an empty file for each regular file (the v2 VM's initramfs keeps
/// `/kcpu` and `/init` there); returns what to bind-mount from the host (all but `/proc` and
/// `/dev`, which the container mounts itself).
fn host_skeleton(host: &Path, root: &Path) -> Result<Vec<PathBuf>, OciError> {
    std::fs::create_dir_all(root).map_err(io_err("mkdir", root))?;
    let mut binds = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(host)
        .map_err(io_err("list", host))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (Ok(t), name) = (e.file_type(), e.file_name()) else {
            continue;
        };
        let inside = root.join(&name);
        if t.is_symlink() {
            let target = std::fs::read_link(e.path()).map_err(io_err("readlink", &e.path()))?;
            std::os::unix::fs::symlink(&target, &inside).map_err(io_err("symlink", &inside))?;
        } else if t.is_dir() {
            std::fs::create_dir(&inside).map_err(io_err("mkdir", &inside))?;
            if name != "proc" && name != "dev" {
                binds.push(host.join(&name));
            }
        } else if t.is_file() {
            std::fs::File::create(&inside).map_err(io_err("create", &inside))?;
            binds.push(host.join(&name));
        }
    }
    Ok(binds)
}

/// Every v1 hierarchy's mount point plus the v2 mount (where a runtime creates cgroups).
pub fn all_mounts() -> Vec<(PathBuf, Version)> {
    Layout::detect()
        .map(|l| {
            l.mounts
                .into_iter()
                .map(|m| (m.mount_point, m.version))
                .collect()
        })
        .unwrap_or_default()
}

/// What a session writes to its `kcpu __guard`'s stdin once it has removed everything itself;
/// an end-of-file without it (kcpu was killed) makes the guard clean up in its place.
pub const GUARD_CLEAN_END: u8 = b'.';

/// Removes `pdir` (kcpu's parent in one hierarchy) when nothing is left under it; returns it
/// when it was removed.
fn remove_parent_if_empty(io: &dyn CgroupIo, pdir: &Path) -> Option<PathBuf> {
    (io.subdirs(pdir).is_ok_and(|c| c.is_empty()) && io.rmdir(pdir).is_ok())
        .then(|| pdir.to_path_buf())
}

/// Removes `<mount>/<parent>/<run>` in every hierarchy (kill, then rmdir bottom-up), and the
/// parent when it is left empty. For the hierarchies kcpu's own [`crate::cgroupfs::tree`]
/// does not manage (memory, pids, …), where the runtime created the container's cgroups.
pub fn remove_run_dirs(io: &dyn CgroupIo, parent: &CgroupName, run: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for (mount, version) in all_mounts() {
        let pdir = mount.join(parent.as_str());
        let rdir = pdir.join(run);
        if io.exists(&rdir) {
            if let Ok(r) = remove_tree(io, &rdir, version) {
                removed.extend(r);
            }
        }
        removed.extend(remove_parent_if_empty(io, &pdir));
    }
    removed
}

/// A container id for slot `n` of run `run_id`: `<run-id>-c<run>-<n>`.
pub fn container_id(run_id: &str, run: u32, n: usize) -> String {
    format!("{run_id}-c{run}-{n}")
}

/// What [`sweep_stale`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Containers deleted (`delete --force`).
    pub containers: Vec<String>,
    /// Directories removed in the other hierarchies.
    pub dirs: Vec<PathBuf>,
}

/// Deletes the containers of dead `kcpu run`s from `rt`'s state root, then removes their
/// run directories under `parent` in every hierarchy. Live runs are left alone.
pub fn sweep_stale(io: &dyn CgroupIo, rt: &OciRuntime, parent: &CgroupName) -> Swept {
    let mut s = Swept::default();
    let owner_of = |id: &str| -> Option<(u32, u64, String)> {
        let mut it = id.splitn(4, '-');
        let (p, t, q) = (it.next()?, it.next()?, it.next()?);
        let run = format!("{p}-{t}-{q}");
        let (pid, start) = parse_run_id(&run)?;
        Some((pid, start, run))
    };
    for id in rt.ids() {
        if let Some((pid, start, _)) = owner_of(&id) {
            if !owner_alive(pid, start) && rt.delete_force(&id).is_ok() {
                s.containers.push(id);
            }
        }
    }
    for (mount, version) in all_mounts() {
        let pdir = mount.join(parent.as_str());
        let Ok(children) = io.subdirs(&pdir) else {
            continue;
        };
        for c in children {
            let dead = c
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(parse_run_id)
                .is_some_and(|(pid, start)| !owner_alive(pid, start));
            if dead {
                if let Ok(r) = remove_tree(io, &c, version) {
                    s.dirs.extend(r);
                }
            }
        }
        // An empty parent left by an earlier run is removed, and said (`--cleanup` reports it).
        s.dirs.extend(remove_parent_if_empty(io, &pdir));
    }
    s
}

// --------------------------------------------------------------------------------------------
// `kcpu run --oci`: containers inside a run

/// The runtime and each container's spec, keyed by the run's slot path `<pod>/<container>`
/// (the sanitized cgroup names).
#[derive(Debug, Clone)]
pub struct OciBackend {
    /// The detected runtime.
    pub runtime: OciRuntime,
    /// `linux.resources.cpu` per slot path; a slot without an entry gets an empty object.
    pub specs: BTreeMap<String, LinuxCpu>,
}

impl PartialEq for OciBackend {
    fn eq(&self, other: &Self) -> bool {
        self.runtime.program == other.runtime.program && self.specs == other.specs
    }
}

/// How long a runtime command may take.
const RUNTIME_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `cmd` through the mini-init (which reaps every child of the process, so std's own
/// `wait` cannot be used while a run is active) and waits for it.
fn run_via_init(init: &Init, cmd: &mut Command, action: &str) -> Result<(), OciError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = init.spawn(cmd).map_err(|source| OciError::Spawn {
        program: program.clone(),
        source,
    })?;
    let stderr = child.stderr.take();
    let pid = child.id();
    let end = Instant::now() + RUNTIME_TIMEOUT;
    let exit = loop {
        init.reap();
        if let Some(e) = init.exit_of(pid) {
            break e;
        }
        if Instant::now() > end {
            let _ = child.kill();
            return Err(OciError::Failed {
                program,
                action: action.into(),
                status: format!("no exit after {} s", RUNTIME_TIMEOUT.as_secs()),
                stderr: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if exit == Exit::Code(0) {
        return Ok(());
    }
    let mut text = String::new();
    if let Some(mut e) = stderr {
        let _ = e.read_to_string(&mut text);
    }
    Err(OciError::Failed {
        program,
        action: action.into(),
        status: format!("{exit:?}"),
        stderr: text.trim().to_string(),
    })
}

/// A container created for a run.
#[derive(Debug)]
pub struct Created {
    /// Container id.
    pub id: String,
    /// Pid of the container's process (adopted by this process, watched by the mini-init).
    pub pid: u32,
    /// Its stdin (the runtime passes its own stdio through).
    pub stdin: Option<ChildStdin>,
    /// Its stdout.
    pub stdout: Option<ChildStdout>,
}

/// The containers of one `kcpu run`: created in `<parent>/<run-id>/<pod>/<container>` (the
/// groups kcpu's run tree made), deleted with `delete --force` after each run and on drop;
/// on drop the run's directories in the hierarchies kcpu's tree does not manage go too.
pub struct Session<'a> {
    backend: &'a OciBackend,
    init: &'a Init,
    rootfs: Rootfs,
    worker_exe: PathBuf,
    parent: CgroupName,
    run_id: String,
    own_mounts: Vec<PathBuf>,
    live: Vec<(String, Bundle)>,
    seq: usize,
    guard: Option<ChildStdin>,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("run_id", &self.run_id)
            .field("live", &self.live.len())
            .finish()
    }
}

impl<'a> Session<'a> {
    /// Builds the rootfs from `worker_exe`. `own_mounts` are the hierarchies kcpu's run tree
    /// removes itself.
    pub fn new(
        backend: &'a OciBackend,
        init: &'a Init,
        worker_exe: &Path,
        parent: CgroupName,
        run_id: String,
        own_mounts: Vec<PathBuf>,
    ) -> Result<Session<'a>, OciError> {
        Ok(Session {
            backend,
            init,
            rootfs: Rootfs::under(init, worker_exe)?,
            worker_exe: worker_exe.to_path_buf(),
            parent,
            run_id,
            own_mounts,
            live: Vec::new(),
            seq: 0,
            guard: None,
        }
        .with_guard(worker_exe))
    }

    /// Starts `kcpu __guard` for this run's directories in every hierarchy: it waits for
    /// end-of-file on its stdin (this session's end, or kcpu's death: the pipe's only writing end
    /// is ours) and then SIGKILLs every process left in them. A container's process that has not
    /// reached kcpu's own code when a SIGKILL ends kcpu (still in the runtime's set-up, waiting
    /// for `start`, or starting up) has no death signal yet; the guard ends it. Without a guard
    /// (it could not start) the death signals and `kcpu run --cleanup` remain.
    fn with_guard(mut self, exe: &Path) -> Session<'a> {
        let mut cmd = Command::new(exe);
        cmd.arg("__guard");
        for (mount, _) in all_mounts() {
            cmd.arg("--dir")
                .arg(mount.join(self.parent.as_str()).join(&self.run_id));
        }
        let rt = &self.backend.runtime;
        cmd.arg("--runtime").arg(&rt.program);
        if let Some(state) = rt.root.parent() {
            cmd.arg("--state-dir").arg(state);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        self.guard = self
            .init
            .spawn_unwatched(&mut cmd)
            .ok()
            .and_then(|mut c| c.stdin.take());
        self
    }

    /// Creates the container of `slot` (`<pod>/<container>`) running `args`: the kcpu worker
    /// (`command = false`, args after `/kcpu`) from the minimal rootfs, or a user command
    /// (`command = true`) with the host's root read-only as its root and the current
    /// directory as its working directory. stdin/stdout are pipes when `piped`, else
    /// inherited; stderr is inherited.
    pub fn create(
        &mut self,
        slot: &str,
        args: &[OsString],
        command: bool,
        piped: bool,
    ) -> Result<Created, OciError> {
        let cpu = self.backend.specs.get(slot).cloned().unwrap_or_default();
        let id = format!("{}-{}", self.run_id, self.seq);
        self.seq += 1;
        let path = format!("/{}/{}/{slot}", self.parent, self.run_id);
        let bundle = if command {
            let cwd = std::env::current_dir().map_err(io_err("getcwd", Path::new(".")))?;
            let path_env = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
            let program = args.first().map(OsString::as_os_str).unwrap_or_default();
            if resolve_command(program, &cwd, &path_env).is_none() {
                return Err(OciError::Failed {
                    program: self.backend.runtime.program.display().to_string(),
                    action: "create".into(),
                    status: "not started".into(),
                    stderr: format!(
                        "{}: no such executable in the container's root (the host's) or PATH",
                        Path::new(program).display()
                    ),
                });
            }
            // The command starts through `kcpu __exec`, which dies with kcpu (PDEATHSIG).
            let mut full = vec![
                self.worker_exe.clone().into_os_string(),
                "__exec".into(),
                "--".into(),
            ];
            full.extend(args.iter().cloned());
            Bundle::with_root(None, &cwd, &path_env, &full, &cpu, &path)?
        } else {
            let mut full = vec![OsString::from("/kcpu")];
            full.extend(args.iter().cloned());
            Bundle::new(&self.rootfs, &full, &cpu, &path)?
        };
        let mut cmd = self.backend.runtime.create_command(&bundle, &id);
        if piped {
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        }
        cmd.stderr(Stdio::inherit());
        let program = self.backend.runtime.program.display().to_string();
        let mut child = self
            .init
            .spawn(&mut cmd)
            .map_err(|source| OciError::Spawn {
                program: program.clone(),
                source,
            })?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let pid = child.id();
        let end = Instant::now() + RUNTIME_TIMEOUT;
        let exit = loop {
            self.init.reap();
            if let Some(e) = self.init.exit_of(pid) {
                break Some(e);
            }
            if Instant::now() > end {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        // Registered before checking the exit: a half-created container is deleted too.
        self.live.push((id.clone(), bundle));
        if exit != Some(Exit::Code(0)) {
            return Err(OciError::Failed {
                program,
                action: "create".into(),
                status: format!("{exit:?}"),
                stderr: "see the runtime's message above".into(),
            });
        }
        let cpid = self
            .live
            .last()
            .and_then(|(_, b)| b.pid())
            .ok_or_else(|| OciError::Failed {
                program: program.clone(),
                action: "create".into(),
                status: "no pid file".into(),
                stderr: String::new(),
            })?;
        self.init.watch(cpid);
        Ok(Created {
            id,
            pid: cpid,
            stdin,
            stdout,
        })
    }

    /// `start ID`: the container's process runs.
    pub fn start(&self, id: &str) -> Result<(), OciError> {
        let mut cmd = self.backend.runtime.command(&["start", id]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        run_via_init(self.init, &mut cmd, "start")
    }

    /// `delete --force` for every container of this session (errors are collected, the rest
    /// still goes).
    pub fn delete_all(&mut self) -> Vec<OciError> {
        let mut errors = Vec::new();
        for (id, _bundle) in std::mem::take(&mut self.live) {
            let mut cmd = self.backend.runtime.command(&["delete", "--force", &id]);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Err(e) = run_via_init(self.init, &mut cmd, "delete") {
                errors.push(e);
            }
        }
        errors
    }

    /// The runtime.
    pub fn runtime(&self) -> &OciRuntime {
        &self.backend.runtime
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.delete_all();
        let io = crate::cgroupfs::RealFs;
        for (mount, version) in all_mounts() {
            if self.own_mounts.contains(&mount) {
                continue;
            }
            let pdir = mount.join(self.parent.as_str());
            let rdir = pdir.join(&self.run_id);
            if io.exists(&rdir) {
                let _ = remove_tree(&io, &rdir, version);
            }
            let _ = remove_parent_if_empty(&io, &pdir);
        }
        // Everything is removed: the guard, told so, finds nothing left and exits. Had kcpu
        // died before this line, the guard would have cleaned up in its place.
        if let Some(mut g) = self.guard.take() {
            let _ = std::io::Write::write_all(&mut g, &[GUARD_CLEAN_END]);
        }
    }
}

/// Reads a container group's CPU files after the runtime wrote them and compares the values
/// with kcpu's prediction `want` (the translated values for this runtime's preset): the
/// read-back, and one line per disagreement.
pub fn read_back(
    io: &dyn CgroupIo,
    group: &Group,
    want: &CpuLimits,
) -> (Vec<ReadBack>, Vec<String>) {
    let files: &[&str] = match group.version {
        Version::V1 => &[v1::CPU_SHARES, v1::CPU_CFS_QUOTA_US, v1::CPU_CFS_PERIOD_US],
        Version::V2 => &[v2::CPU_WEIGHT, v2::CPU_MAX],
    };
    let rb = files
        .iter()
        .map(|f| ReadBack {
            file: (*f).to_string(),
            value: io
                .read(&group.cpu_dir.join(f))
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|e| format!("<{e}>")),
        })
        .collect();
    let mut differs = Vec::new();
    match group.read_limits(io) {
        Ok(got) => {
            if let Some(s) = want.share {
                if got.share != Some(s) {
                    differs.push(format!(
                        "the runtime wrote {:?}, kcpu predicted {s:?}",
                        got.share
                    ));
                }
            }
            if got.max != want.max {
                differs.push(format!(
                    "the runtime wrote quota {} period {}, kcpu predicted quota {} period {}",
                    got.max.quota, got.max.period, want.max.quota, want.max.period
                ));
            }
        }
        Err(e) => differs.push(format!("cannot read the values back: {e}")),
    }
    (rb, differs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_absolute_paths_only() {
        let out = b"\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n\tlibfoo.so => not found\n";
        assert_eq!(
            libraries_from_ldd(out),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(libraries_from_ldd(b"\tnot a dynamic executable\n").is_empty());
    }

    #[test]
    fn the_host_skeleton_mirrors_the_top_level() {
        let host = tempfile::tempdir().expect("tempdir");
        let h = host.path();
        for d in ["usr", "proc", "dev", "tmp"] {
            std::fs::create_dir(h.join(d)).expect("mkdir");
        }
        std::os::unix::fs::symlink("usr/bin", h.join("bin")).expect("symlink");
        std::fs::write(h.join("kcpu"), "binary").expect("write");
        let root = host.path().join("tmp").join("rootfs");
        let binds = host_skeleton(h, &root).expect("skeleton");
        assert_eq!(binds, vec![h.join("kcpu"), h.join("tmp"), h.join("usr")]);
        assert_eq!(
            std::fs::read_link(root.join("bin")).expect("link"),
            Path::new("usr/bin")
        );
        for d in ["usr", "proc", "dev", "tmp"] {
            assert!(root.join(d).is_dir(), "{d}");
        }
        let kcpu = std::fs::metadata(root.join("kcpu")).expect("mount point");
        assert!(
            kcpu.is_file() && kcpu.len() == 0,
            "an empty mount point, not a copy"
        );
    }

    #[test]
    fn commands_resolve_like_execvp() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        for (name, mode) in [("tool", 0o755), ("data", 0o644)] {
            let p = bin.join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        let path = format!("/nonexistent:{}", bin.display());
        let cwd = dir.path();
        let r = |p: &str| resolve_command(std::ffi::OsStr::new(p), cwd, &path);
        assert_eq!(r("tool"), Some(bin.join("tool")));
        assert_eq!(r("./bin/tool"), Some(cwd.join("./bin/tool")));
        assert_eq!(r("data"), None, "not executable");
        assert_eq!(r("bin"), None, "a directory");
        assert_eq!(r("missing"), None);
        assert_eq!(r(""), None);
        // A relative PATH entry is relative to the working directory, as for execvp.
        assert_eq!(
            resolve_command(std::ffi::OsStr::new("tool"), cwd, "bin"),
            Some(cwd.join("bin/tool"))
        );
    }

    #[test]
    fn only_an_initramfs_root_needs_no_pivot() {
        let vm =
            "1 1 0:2 / / rw - rootfs rootfs rw,size=240k\n20 1 0:19 / /proc rw - proc proc rw\n";
        let host = "21 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    30 21 0:25 / /run rw - tmpfs tmpfs rw\n";
        let nested =
            "21 1 254:0 / / rw - ext4 /dev/vda rw\n40 21 0:2 / /mnt rw - rootfs rootfs rw\n";
        assert!(root_is_initramfs(vm));
        assert!(!root_is_initramfs(host));
        assert!(!root_is_initramfs(nested));
        assert!(!root_is_initramfs(""));
    }

    #[test]
    fn an_elf_with_pt_interp_is_dynamic() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Minimal ELF64 header with one program header at 0x40.
        let mut elf = vec![0u8; 0x40 + 0x38];
        elf[..5].copy_from_slice(b"\x7fELF\x02");
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        elf[0x40..0x44].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        let p = dir.path().join("static");
        std::fs::write(&p, &elf).expect("write");
        assert!(!is_dynamic(&p));
        elf[0x40..0x44].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        std::fs::write(&p, &elf).expect("write");
        assert!(is_dynamic(&p));
        std::fs::write(&p, b"#!/bin/sh\n").expect("write");
        assert!(!is_dynamic(&p));
        assert!(!is_dynamic(&dir.path().join("missing")));
    }

    /// The whole-file reading the header-only [`is_dynamic`] replaced, as an oracle.
    fn is_dynamic_whole_file(exe: &Path) -> bool {
        let Ok(b) = std::fs::read(exe) else {
            return false;
        };
        let u16_at = |o: usize| {
            b.get(o..o + 2)
                .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
        };
        let u64_at = |o: usize| {
            b.get(o..o + 8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_le_bytes)
        };
        if b.get(..5) != Some(b"\x7fELF\x02") {
            return false;
        }
        let (Some(phoff), Some(size), Some(num)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
        else {
            return false;
        };
        (0..num).any(|i| {
            let o = phoff as usize + i * size;
            b.get(o..o + 4) == Some(&3u32.to_le_bytes()[..])
        })
    }

    #[test]
    fn header_only_reading_agrees_with_whole_file_reading() {
        // Real executables: this test binary and common system ones (those present).
        let mut real = vec![std::env::current_exe().expect("current_exe")];
        real.extend(
            ["/bin/sh", "/usr/bin/env", "/sbin/ldconfig", "/bin/busybox"]
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.exists()),
        );
        for p in &real {
            assert_eq!(is_dynamic(p), is_dynamic_whole_file(p), "{}", p.display());
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut elf = vec![0u8; 0x40];
        elf[..5].copy_from_slice(b"\x7fELF\x02");
        elf[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        let p = dir.path().join("elf");
        // Program headers far into a sparse file; the second one is PT_INTERP.
        let far = 48u64 << 20;
        elf[0x20..0x28].copy_from_slice(&far.to_le_bytes());
        std::fs::write(&p, &elf).expect("write");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .expect("open");
        f.set_len(far + 2 * 0x38).expect("set_len");
        std::os::unix::fs::FileExt::write_all_at(&f, &3u32.to_le_bytes(), far + 0x38)
            .expect("write_at");
        assert!(is_dynamic(&p));
        assert!(is_dynamic_whole_file(&p));
        // The table runs past the end of the file: the missing entry does not count.
        f.set_len(far + 0x38 + 3).expect("set_len");
        assert!(!is_dynamic(&p));
        assert!(!is_dynamic_whole_file(&p));
        // An offset that overflows is not an interpreter.
        elf[0x20..0x28].copy_from_slice(&(u64::MAX - 1).to_le_bytes());
        std::fs::write(&p, &elf).expect("write");
        assert!(!is_dynamic(&p));
        // A header cut short.
        std::fs::write(&p, &elf[..0x30]).expect("write");
        assert!(!is_dynamic(&p));
        assert!(!is_dynamic_whole_file(&p));
    }
}
