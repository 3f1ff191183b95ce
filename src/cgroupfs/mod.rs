//! Typed cgroupfs layer for the CPU controller, v1 and v2 (I/O shell).
//!
//! What it does: detects the layout ([`detect`]), creates the run tree
//! `<parent>/<run-id>/<pod>/<container>` only below a parent whose name starts with `kcpu`,
//! writes CPU values and reads every one of them back ([`v1`], [`v2`]), reads the counters, and
//! kills and removes what it created ([`cleanup`]).
//!
//! Safety rules enforced here (not left to callers):
//! - every directory is built from sanitized [`CgroupName`]s, so no path can contain `/` or
//!   `..`; after `mkdir` the canonical path is checked to be inside the parent;
//! - the parent's name must start with `kcpu` ([`PARENT_PREFIX`]), so an existing cgroup such
//!   as `system.slice` can never be used as the parent;
//! - the only files written are the CPU files of our own groups, `cgroup.procs` of our own
//!   groups, `cgroup.subtree_control` of our own non-leaf groups (v2) and `cgroup.kill` of our own
//!   groups. Nothing above the parent is ever written (on v2 the hint says how to enable `+cpu`
//!   at the mount root when it is missing).
//!
//! Kernel file names are the constants below, each used once in this module tree.
//! File semantics: `cfs.md` §1.1 (sched-bwc.rst, cgroup-v2.rst), youki `libcgroups`
//! `src/v1/cpu.rs` and `src/v2/cpu.rs` (patterns only).

pub mod cleanup;
pub mod detect;
pub mod tree;
pub mod v1;
pub mod v2;

#[cfg(test)]
pub(crate) mod fake;

use crate::cpu::CpuMax;
use crate::trace::CpuStat;
use crate::units::Usec;
use serde::Serialize;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Processes of a cgroup, one pid per line (both versions).
pub const CGROUP_PROCS: &str = "cgroup.procs";
/// v2: controllers available in a cgroup.
pub const CGROUP_CONTROLLERS: &str = "cgroup.controllers";
/// v2: controllers enabled for the children of a cgroup.
pub const CGROUP_SUBTREE_CONTROL: &str = "cgroup.subtree_control";
/// v2 (5.14+): writing `1` SIGKILLs every process in the subtree.
pub const CGROUP_KILL: &str = "cgroup.kill";
pub use crate::cpu::files::{CPU_IDLE, CPU_PRESSURE, CPU_STAT};
/// v1 cpuacct: total CPU time of the cgroup and its descendants, ns.
pub const CPUACCT_USAGE: &str = "cpuacct.usage";

/// Required prefix of the parent cgroup's name (`kcpu`, `kcpu-test`, …).
pub const PARENT_PREFIX: &str = "kcpu";
/// The default parent name.
pub const DEFAULT_PARENT: &str = "kcpu";

pub use crate::cpu::{CgroupVersion, CpuShare};

/// The file operation that failed, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Reading a file.
    Read,
    /// Writing a value to a file.
    Write(String),
    /// Creating a directory.
    Mkdir,
    /// Removing a directory.
    Rmdir,
    /// Opening a file.
    Open,
    /// Listing a directory.
    ReadDir,
    /// Resolving a path.
    Canonicalize,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Read => f.write_str("read"),
            Op::Write(v) => write!(f, "write {v:?} to"),
            Op::Mkdir => f.write_str("create directory"),
            Op::Rmdir => f.write_str("remove directory"),
            Op::Open => f.write_str("open"),
            Op::ReadDir => f.write_str("list directory"),
            Op::Canonicalize => f.write_str("resolve"),
        }
    }
}

/// Errors of the cgroupfs layer. Each names the path and the operation.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A system call on a cgroup file failed.
    #[error("cannot {op} {}{}", path.display(), hint_for(source))]
    Io {
        /// What was attempted.
        op: Op,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel accepted a write but reads back a different value.
    #[error("{}: wrote {wrote:?} but the kernel reads back {read:?}", path.display())]
    ReadBack {
        /// The file.
        path: PathBuf,
        /// What we wrote (normalised).
        wrote: String,
        /// What the kernel reports.
        read: String,
    },
    /// A name that cannot be a cgroup directory.
    #[error("invalid cgroup name {name:?}: {reason}")]
    BadName {
        /// The rejected name.
        name: String,
        /// Why the name is rejected.
        reason: &'static str,
    },
    /// A path that resolved outside the parent.
    #[error("{} resolves outside {}; refusing to touch it", path.display(), parent.display())]
    Escape {
        /// The offending path.
        path: PathBuf,
        /// The parent it must stay in.
        parent: PathBuf,
    },
    /// A CPU value outside what the kernel accepts.
    #[error("invalid {what}: {reason}")]
    InvalidValue {
        /// The value (`quota`, `cpu.shares`, …).
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The machine has no usable CPU controller.
    #[error("no usable cpu controller: {0}")]
    NoCpuController(String),
    /// A kernel file with unexpected content.
    #[error("cannot parse {}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A requested knob this kernel or version does not have.
    #[error("{what} is not supported here ({} does not exist)", path.display())]
    Unsupported {
        /// The knob.
        what: &'static str,
        /// The file that is missing.
        path: PathBuf,
    },
    /// Processes stayed in a cgroup after repeated SIGKILL.
    #[error("processes remain in {} after {rounds} kill rounds: {pids:?}", path.display())]
    KillFailed {
        /// The cgroup.
        path: PathBuf,
        /// Rounds tried.
        rounds: u32,
        /// Pids still listed.
        pids: Vec<u32>,
    },
}

fn hint_for(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => " (kcpu run needs root, or a delegated cgroup)",
        Some(libc::EBUSY) => " (busy: processes still inside, or v2's no-internal-processes rule)",
        Some(libc::EINVAL) | Some(libc::ERANGE) => " (the kernel rejected the value)",
        _ => "",
    }
}

/// An error with its sources, `: `-separated (for messages that are not printed by anyhow).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, CgroupError>;

/// Wraps an [`io::Error`] with the operation and path.
pub fn io_err(op: Op, path: &Path) -> impl FnOnce(io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

// --------------------------------------------------------------------------------------------
// File access seam

/// The few file operations the configuration plane needs. [`RealFs`] talks to the kernel; unit
/// tests use a fake kernel that populates control files on `mkdir` and applies kernel rules.
pub trait CgroupIo: Send + Sync {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Writes a value to an existing file (never creates one).
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    /// Creates one directory (not its parents).
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    /// Removes one empty directory.
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    /// Child directories of `path`, sorted.
    fn subdirs(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// The real cgroup filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl CgroupIo for RealFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        use std::io::Write;
        // No O_CREAT: a missing control file is an error, never a new regular file.
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        // One write(2): cgroup files parse each write as a whole value.
        f.write_all(value.as_bytes())
    }
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }
    fn rmdir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn subdirs(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(path)? {
            let e = e?;
            // file_type() does not follow symlinks: a symlink is never treated as a child group.
            if e.file_type()?.is_dir() {
                v.push(e.path());
            }
        }
        v.sort();
        Ok(v)
    }
}

/// Reads a file, with the path and operation in the error.
pub fn read_file(io: &dyn CgroupIo, path: &Path) -> Result<String> {
    io.read(path).map_err(io_err(Op::Read, path))
}

/// Reads a file holding one number (`cpu.shares`, `cpu.cfs_quota_us`, …); text that is not a
/// number is [`CgroupError::Parse`] naming the file.
pub fn read_number<T: std::str::FromStr>(io: &dyn CgroupIo, path: &Path) -> Result<T> {
    let t = read_file(io, path)?;
    t.trim().parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        reason: format!("expected a number, got {t:?}"),
    })
}

/// Writes a value, with the path, value and operation in the error.
pub fn write_file(io: &dyn CgroupIo, path: &Path, value: &str) -> Result<()> {
    io.write(path, value)
        .map_err(io_err(Op::Write(value.to_string()), path))
}

/// Writes `cpu.idle` (same file and values on v1 and v2) and reads it back; a kernel without the
/// file (before Linux 5.15) is [`CgroupError::Unsupported`].
pub fn write_idle(io: &dyn CgroupIo, dir: &Path, idle: bool) -> Result<ReadBack> {
    let p = dir.join(CPU_IDLE);
    if !io.exists(&p) {
        return Err(CgroupError::Unsupported {
            what: "cpu.idle (Linux 5.15+)",
            path: p,
        });
    }
    let v = if idle { "1" } else { "0" };
    write_checked(io, &p, v, v)
}

/// Writes `value` and reads the file back; a different value is [`CgroupError::ReadBack`].
/// `expect` is what the kernel should report (often `value` itself).
pub fn write_checked(
    io: &dyn CgroupIo,
    path: &Path,
    value: &str,
    expect: &str,
) -> Result<ReadBack> {
    write_file(io, path, value)?;
    verify(io, path, expect)
}

/// Reads `path` and compares it (trimmed) with `expect`.
pub fn verify(io: &dyn CgroupIo, path: &Path, expect: &str) -> Result<ReadBack> {
    let read = read_file(io, path)?;
    let read = read.trim().to_string();
    if read != expect {
        return Err(CgroupError::ReadBack {
            path: path.to_path_buf(),
            wrote: expect.to_string(),
            read,
        });
    }
    Ok(ReadBack {
        file: file_name(path),
        value: read,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One value written and confirmed by reading it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadBack {
    /// Kernel file name (`cpu.max`, `cpu.cfs_quota_us`, …).
    pub file: String,
    /// The value the kernel reported after the write.
    pub value: String,
}

// --------------------------------------------------------------------------------------------
// Names

/// A validated single path component for a cgroup directory.
///
/// Allowed: ASCII letters, digits, `_`, `-`, `.`; at most [`CgroupName::MAX_LEN`] bytes; must
/// start with a letter or digit (so never `.` or `..`), and must not start with a control-file
/// prefix such as `cgroup.` or `cpu.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CgroupName(String);

/// Prefixes of kernel control files; a directory with such a name could shadow one.
const RESERVED_PREFIXES: &[&str] = &[
    "cgroup.",
    "cpu.",
    "cpuacct.",
    "cpuset.",
    "memory.",
    "io.",
    "pids.",
    "notify_on_release",
    "release_agent",
    "tasks",
];

impl CgroupName {
    /// Longest accepted name.
    pub const MAX_LEN: usize = 128;

    /// Validates `name` exactly (no rewriting).
    pub fn new(name: &str) -> Result<CgroupName> {
        let bad = |reason| {
            Err(CgroupError::BadName {
                name: name.to_string(),
                reason,
            })
        };
        if name.is_empty() {
            return bad("empty");
        }
        if name.len() > Self::MAX_LEN {
            return bad("longer than 128 bytes");
        }
        if name.contains("..") {
            return bad("contains `..`");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return bad("only letters, digits, `_`, `-` and `.` are allowed");
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return bad("must start with a letter or digit");
        }
        if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return bad("looks like a kernel control file");
        }
        Ok(CgroupName(name.to_string()))
    }

    /// Turns an arbitrary label (a pod or container name) into a valid name: characters outside
    /// the allowed set become `_`, a leading non-alphanumeric gets an `x` prefix, and the result
    /// is truncated. Still refuses `..` and empty input rather than guessing.
    pub fn sanitize(label: &str) -> Result<CgroupName> {
        if label.is_empty() || label.contains("..") {
            return Err(CgroupError::BadName {
                name: label.to_string(),
                reason: "empty or contains `..`",
            });
        }
        let mut s: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric())
            || RESERVED_PREFIXES.iter().any(|p| s.starts_with(p))
        {
            s.insert(0, 'x');
        }
        s.truncate(Self::MAX_LEN);
        CgroupName::new(&s)
    }

    /// A parent name: valid and starting with [`PARENT_PREFIX`].
    pub fn parent(name: &str) -> Result<CgroupName> {
        let n = CgroupName::new(name)?;
        if !n.0.starts_with(PARENT_PREFIX) {
            return Err(CgroupError::BadName {
                name: name.to_string(),
                reason: "the cgroup parent must start with `kcpu` (kcpu never creates groups under an existing one)",
            });
        }
        Ok(n)
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CgroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Joins validated names below `base`. Cannot produce `..` or an absolute component.
pub fn join(base: &Path, names: &[CgroupName]) -> PathBuf {
    let mut p = base.to_path_buf();
    for n in names {
        p.push(n.as_str());
    }
    p
}

/// Checks that `path` (which must exist) resolves inside `parent`.
pub fn ensure_inside(path: &Path, parent: &Path) -> Result<()> {
    let cp = path
        .canonicalize()
        .map_err(io_err(Op::Canonicalize, path))?;
    let pp = parent
        .canonicalize()
        .map_err(io_err(Op::Canonicalize, parent))?;
    if cp == pp || !cp.starts_with(&pp) {
        return Err(CgroupError::Escape {
            path: path.to_path_buf(),
            parent: parent.to_path_buf(),
        });
    }
    Ok(())
}

// --------------------------------------------------------------------------------------------
// Values

/// CPU values for one cgroup. `None` fields are left at the kernel default.
///
/// Serialized as the flat object `{"share", "quota", "period", "burst", "idle"}` (the JSON
/// contract of `kcpu run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuLimits {
    /// Shares (v1) or weight (v2).
    pub share: Option<CpuShare>,
    /// Quota and period ([`QuotaUs::UNLIMITED`](crate::units::QuotaUs::UNLIMITED) quota for no limit).
    pub max: CpuMax,
    /// Burst (5.14+); `None` leaves it at the kernel default 0.
    pub burst: Option<Usec>,
    /// `cpu.idle` (5.15+); `None` leaves it alone.
    pub idle: Option<bool>,
}

impl Serialize for CpuLimits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("CpuLimits", 5)?;
        st.serialize_field("share", &self.share)?;
        st.serialize_field("quota", &self.max.quota)?;
        st.serialize_field("period", &self.max.period)?;
        st.serialize_field("burst", &self.burst)?;
        st.serialize_field("idle", &self.idle)?;
        st.end()
    }
}

impl CpuLimits {
    /// Checks the values against the kernel's ranges before anything is written, so a bad flag
    /// is an input error rather than a half-configured cgroup.
    pub fn validate(&self) -> Result<()> {
        let max = self.max;
        max.check_range()
            .map_err(|(what, reason)| CgroupError::InvalidValue { what, reason })?;
        if let Some(b) = self.burst {
            max.check_burst(b)
                .map_err(|reason| CgroupError::InvalidValue {
                    what: "burst",
                    reason,
                })?;
        }
        if let Some(share) = self.share {
            share
                .check_range()
                .map_err(|reason| CgroupError::InvalidValue {
                    what: share.file(),
                    reason,
                })?;
        }
        Ok(())
    }

    /// Whether a quota limits the group.
    pub fn is_limited(&self) -> bool {
        self.max.is_limited()
    }
}

// --------------------------------------------------------------------------------------------
// A group

/// Cumulative counters of one group at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    /// Parsed `cpu.stat`.
    pub stat: CpuStat,
    /// CPU usage (v1 `cpuacct.usage` in ns → µs; v2 `usage_usec`).
    pub usage_us: u64,
    /// PSI `some total` µs (v2 only).
    pub pressure_some_us: Option<u64>,
    /// PSI `full total` µs (v2 only).
    pub pressure_full_us: Option<u64>,
}

/// One cgroup: its directory in the CPU hierarchy and, on v1 with a separate cpuacct
/// hierarchy, the matching cpuacct directory used for usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Hierarchy version.
    pub version: CgroupVersion,
    /// Directory in the hierarchy that has the cpu controller.
    pub cpu_dir: PathBuf,
    /// Directory in the separate cpuacct hierarchy (v1), if any.
    pub acct_dir: Option<PathBuf>,
}

impl Group {
    /// Directories a process must join, in order (cpu first).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        let mut v = vec![self.cpu_dir.join(CGROUP_PROCS)];
        if let Some(a) = &self.acct_dir {
            v.push(a.join(CGROUP_PROCS));
        }
        v
    }

    /// Path of `cpu.stat`.
    pub fn stat_path(&self) -> PathBuf {
        self.cpu_dir.join(CPU_STAT)
    }

    /// Path of the usage counter: v1 `cpuacct.usage` (in the cpuacct dir, or the cpu dir when
    /// co-mounted), v2 `cpu.stat`.
    pub fn usage_path(&self) -> PathBuf {
        match self.version {
            CgroupVersion::V2 => self.stat_path(),
            CgroupVersion::V1 => self
                .acct_dir
                .as_ref()
                .unwrap_or(&self.cpu_dir)
                .join(CPUACCT_USAGE),
        }
    }

    /// Path of `cpu.pressure` (v2 only).
    pub fn pressure_path(&self) -> Option<PathBuf> {
        (self.version == CgroupVersion::V2).then(|| self.cpu_dir.join(CPU_PRESSURE))
    }

    /// Writes `limits` and reads every value back.
    pub fn apply(&self, io: &dyn CgroupIo, limits: &CpuLimits) -> Result<Vec<ReadBack>> {
        limits.validate()?;
        match self.version {
            CgroupVersion::V1 => v1::apply(io, &self.cpu_dir, limits),
            CgroupVersion::V2 => v2::apply(io, &self.cpu_dir, limits),
        }
    }

    /// Reads the current CPU values.
    pub fn read_limits(&self, io: &dyn CgroupIo) -> Result<CpuLimits> {
        match self.version {
            CgroupVersion::V1 => v1::read_limits(io, &self.cpu_dir),
            CgroupVersion::V2 => v2::read_limits(io, &self.cpu_dir),
        }
    }

    /// Reads `cpu.stat`, usage and pressure.
    pub fn counters(&self, io: &dyn CgroupIo) -> Result<Counters> {
        let sp = self.stat_path();
        let stat = parse_stat(&sp, &read_file(io, &sp)?)?;
        let usage_us = match self.version {
            CgroupVersion::V2 => stat.usage_us.unwrap_or(0),
            CgroupVersion::V1 => {
                let up = self.usage_path();
                parse_cpuacct_usage(&up, &read_file(io, &up)?)?.as_usec().0
            }
        };
        let (mut some, mut full) = (None, None);
        if let Some(pp) = self.pressure_path() {
            if let Ok(text) = io.read(&pp) {
                let p = parse_pressure(&pp, &text)?;
                some = Some(p.0);
                full = p.1;
            }
        }
        Ok(Counters {
            stat,
            usage_us,
            pressure_some_us: some,
            pressure_full_us: full,
        })
    }
}

/// Parses `cpu.stat`, naming the file on error.
pub fn parse_stat(path: &Path, text: &str) -> Result<CpuStat> {
    CpuStat::parse(text).map_err(|reason| CgroupError::Parse {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses v1 `cpuacct.usage` (one number, ns).
pub fn parse_cpuacct_usage(path: &Path, text: &str) -> Result<crate::units::Nanos> {
    text.trim()
        .parse::<u64>()
        .map(crate::units::Nanos)
        .map_err(|_| CgroupError::Parse {
            path: path.to_path_buf(),
            reason: format!("expected a number of ns, got {text:?}"),
        })
}

/// Parses `cpu.pressure`: returns `(some total µs, full total µs)`.
pub fn parse_pressure(path: &Path, text: &str) -> Result<(u64, Option<u64>)> {
    let mut some = None;
    let mut full = None;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let kind = it.next();
        let total = it
            .find_map(|kv| kv.strip_prefix("total="))
            .map(|v| v.parse::<u64>());
        match (kind, total) {
            (Some("some"), Some(Ok(v))) => some = Some(v),
            (Some("full"), Some(Ok(v))) => full = Some(v),
            (_, Some(Err(_))) => {
                return Err(CgroupError::Parse {
                    path: path.to_path_buf(),
                    reason: format!("bad total in {line:?}"),
                })
            }
            _ => {}
        }
    }
    some.map(|s| (s, full)).ok_or_else(|| CgroupError::Parse {
        path: path.to_path_buf(),
        reason: "no `some ... total=` line".into(),
    })
}

/// Parses `cgroup.procs`.
pub fn parse_procs(path: &Path, text: &str) -> Result<Vec<u32>> {
    text.split_whitespace()
        .map(|t| {
            t.parse::<u32>().map_err(|_| CgroupError::Parse {
                path: path.to_path_buf(),
                reason: format!("bad pid {t:?}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{PeriodUs, QuotaUs, Shares, Weight};

    #[test]
    fn names() {
        assert!(CgroupName::new("api").is_ok());
        assert!(CgroupName::new("my-pod.x_1").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a..b",
            ".hidden",
            "cgroup.procs",
            "cpu.max",
            "tasks",
            "é",
            "a b",
        ] {
            assert!(CgroupName::new(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            CgroupName::sanitize("web server").unwrap().as_str(),
            "web_server"
        );
        assert_eq!(CgroupName::sanitize("_x").unwrap().as_str(), "x_x");
        assert_eq!(
            CgroupName::sanitize("cpu.max").unwrap().as_str(),
            "xcpu.max"
        );
        assert!(CgroupName::sanitize("..").is_err());
        assert!(CgroupName::sanitize("a/../b").is_err());
        assert!(CgroupName::sanitize("").is_err());
        assert!(CgroupName::parent("kcpu").is_ok());
        assert!(CgroupName::parent("kcpu-test").is_ok());
        assert!(CgroupName::parent("system.slice").is_err());
        assert!(CgroupName::parent("user").is_err());
    }

    #[test]
    fn join_and_escape() {
        let d = tempfile::tempdir().unwrap();
        let parent = d.path().join("kcpu");
        std::fs::create_dir(&parent).unwrap();
        let child = join(&parent, &[CgroupName::new("a").unwrap()]);
        std::fs::create_dir(&child).unwrap();
        ensure_inside(&child, &parent).unwrap();
        // A symlink that leaves the parent is caught.
        std::os::unix::fs::symlink(d.path(), parent.join("evil")).unwrap();
        assert!(matches!(
            ensure_inside(&parent.join("evil"), &parent),
            Err(CgroupError::Escape { .. })
        ));
        assert!(matches!(
            ensure_inside(&parent, &parent),
            Err(CgroupError::Escape { .. })
        ));
    }

    #[test]
    fn validates_values() {
        let ok = CpuLimits {
            max: CpuMax {
                quota: QuotaUs(50_000),
                period: PeriodUs::DEFAULT,
            },
            burst: Some(Usec(50_000)),
            ..Default::default()
        };
        ok.validate().unwrap();
        let bad = [
            CpuLimits {
                max: CpuMax::unlimited(PeriodUs(999)),
                ..Default::default()
            },
            CpuLimits {
                max: CpuMax::unlimited(PeriodUs(1_000_001)),
                ..Default::default()
            },
            CpuLimits {
                max: CpuMax {
                    quota: QuotaUs(999),
                    period: PeriodUs::DEFAULT,
                },
                ..Default::default()
            },
            CpuLimits {
                max: CpuMax {
                    quota: QuotaUs(10_000),
                    period: PeriodUs::DEFAULT,
                },
                burst: Some(Usec(10_001)),
                ..Default::default()
            },
            CpuLimits {
                burst: Some(Usec(1)),
                ..Default::default()
            },
            CpuLimits {
                share: Some(CpuShare::Shares(Shares(1))),
                ..Default::default()
            },
            CpuLimits {
                share: Some(CpuShare::Shares(Shares(262_145))),
                ..Default::default()
            },
            CpuLimits {
                share: Some(CpuShare::Weight(Weight(0))),
                ..Default::default()
            },
            CpuLimits {
                share: Some(CpuShare::Weight(Weight(10_001))),
                ..Default::default()
            },
        ];
        for b in bad {
            assert!(b.validate().is_err(), "{b:?}");
        }
    }

    #[test]
    fn parses_counters() {
        let p = Path::new("x");
        assert_eq!(parse_cpuacct_usage(p, "123456\n").unwrap().0, 123_456);
        assert!(parse_cpuacct_usage(p, "x").is_err());
        let psi = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n";
        assert_eq!(parse_pressure(p, psi).unwrap(), (1234, Some(99)));
        assert_eq!(
            parse_pressure(p, "some avg10=0.00 total=5\n").unwrap(),
            (5, None)
        );
        assert!(parse_pressure(p, "").is_err());
        assert!(parse_pressure(p, "some total=x").is_err());
        assert_eq!(parse_procs(p, "1\n22\n").unwrap(), vec![1, 22]);
        assert!(parse_procs(p, "1\nx\n").is_err());
    }

    #[test]
    fn errors_name_path_and_operation() {
        let e = read_file(&RealFs, Path::new("/nonexistent/kcpu/cpu.max"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("read /nonexistent/kcpu/cpu.max"), "{e}");
        let full = error_chain(&read_file(&RealFs, Path::new("/nonexistent/x")).unwrap_err());
        assert!(
            full.ends_with("No such file or directory (os error 2)"),
            "{full}"
        );
        let e = write_file(&RealFs, Path::new("/nonexistent/cpu.max"), "5 10")
            .unwrap_err()
            .to_string();
        assert!(e.contains("write \"5 10\" to /nonexistent/cpu.max"), "{e}");
        // RealFs never creates a file that is not there.
        let d = tempfile::tempdir().unwrap();
        assert!(RealFs.write(&d.path().join("cpu.max"), "1").is_err());
        assert!(!d.path().join("cpu.max").exists());
    }
}
