//! Starting a process that is inside its cgroup before it runs a single instruction of its
//! own (I/O shell), and reading another process's CPU clock for `kcpu record`. The crate's
//! only `unsafe` code lives here.
//!
//! Between `fork` and `exec` (std's `CommandExt::pre_exec`) the child writes `0` ("the writing
//! process") to each `cgroup.procs` file it must join — cpu first, then the v1 cpuacct
//! mirror — through descriptors the parent opened beforehand (O_CLOEXEC, so the program never
//! sees them). It then asks for SIGKILL when its parent dies, so a `kcpu run` killed with
//! SIGKILL leaves no workload running, only cgroups for `kcpu run --cleanup`. Measured on this
//! project's machine (`crates.md` §1): the child shows up in the cgroup right after `spawn`, so
//! there is no window in which the workload runs unconstrained. On v2, `clone3` with
//! `CLONE_INTO_CGROUP` would be the alternative; one mechanism for both versions is simpler.
#![allow(unsafe_code)]

use rustix::process::{getpid, getppid, set_parent_process_death_signal, Pid, Signal};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// Opens the `cgroup.procs` files a child must join (in the parent, before the fork).
pub fn open_procs(files: &[PathBuf]) -> std::io::Result<Vec<(PathBuf, File)>> {
    files
        .iter()
        .map(|p| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .map(|f| (p.clone(), f))
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("open {} for writing: {e}", p.display()))
                })
        })
        .collect()
}

/// Makes `cmd` join the cgroups whose `cgroup.procs` are `procs` between fork and exec, and
/// die with its parent. `procs` must come from [`open_procs`].
pub fn join_cgroups_before_exec(cmd: &mut Command, procs: Vec<(PathBuf, File)>) {
    let parent: Pid = getpid();
    let files: Vec<File> = procs.into_iter().map(|(_, f)| f).collect();
    // SAFETY: `pre_exec` runs in the forked child, where only async-signal-safe operations are
    // allowed. The closure performs raw system calls through rustix only: write(2) on
    // descriptors opened before the fork, prctl(PR_SET_PDEATHSIG) and getppid(2). It does not
    // allocate (rustix errors convert to `io::Error::from_raw_os_error`, which does not
    // allocate), takes no locks, and touches no state shared with other threads of the parent
    // (the `files` vector is owned by the closure and only read).
    unsafe {
        cmd.pre_exec(move || {
            for f in &files {
                rustix::io::write(f, b"0")?;
            }
            set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have died between fork and prctl: then no signal would come.
            if getppid() != Some(parent) {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// CPU time of every thread of process `pid` (alive and exited threads of the group), in ns:
/// `clock_gettime` on the process's CPU clock, the clock id glibc's `clock_getcpuclockid`
/// builds (`MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)` = `(~pid << 3) | 2`, linux
/// `include/linux/posix-timers_types.h`). The kernel sums `sum_exec_runtime` over the thread
/// group (`kernel/time/posix-cpu-timers.c` `cpu_clock_sample_group`); one system call, much
/// cheaper than reading every thread's `schedstat`, which is why `kcpu record` reads the
/// threads only when this moved. `None` when the process is gone.
pub fn process_cpu_clock_ns(pid: u32) -> Option<u64> {
    let pid = i32::try_from(pid).ok().filter(|p| *p > 0)?;
    let clock: libc::clockid_t = ((!pid) << 3) | 2;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a pointer to a live, properly
    // aligned local; an invalid clock id makes it fail with EINVAL and write nothing.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}
