//! `kcpu __worker` (hidden; I/O shell): the load generator that `kcpu run` starts inside a
//! cgroup. It speaks the line protocol of [`crate::runner::worker`] on stdin/stdout.

use crate::runner::worker::{run_worker, Burn, WorkerSpec};
use crate::sim::load::parse_load;
use crate::units::Nanos;
use anyhow::Context;
use std::process::ExitCode;

/// Arguments of `kcpu __worker`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Load profile (the `--load` grammar).
    #[arg(long)]
    pub load: String,
    /// Duration of the arrival schedule, ns.
    #[arg(long)]
    pub duration_ns: u64,
    /// Extra time in which queued requests may still start, ns.
    #[arg(long, default_value_t = 0)]
    pub drain_ns: u64,
    /// Seed for Poisson arrivals.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CPUs to pin threads to, round robin.
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// How work is burnt.
    #[arg(long, value_enum, default_value_t = Burn::Clock)]
    pub burn: Burn,
}

/// Runs the worker until its schedule is done.
///
/// First it asks for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`), so a SIGKILLed
/// `kcpu run` takes its workers along. A native worker already has it (set between fork and
/// exec, [`crate::runner::spawn`]); under `--oci` this is the only place: the worker is the
/// container's PID 1, started by the runtime, and by the time it runs the runtime's `create`
/// process has exited and kcpu, the child subreaper, has adopted it (linux `kernel/exit.c`
/// `find_new_reaper`, which also sends the death signal on every later reparenting). The
/// kernel delivers that SIGKILL even to a pid namespace's init, because it comes from an
/// ancestor namespace (`kernel/signal.c` `send_signal_locked`: `force` when the sender has no
/// pid in the target's namespace). Were kcpu already gone, stdin is closed and the worker
/// leaves before its load starts.
///
/// A parent that died before the `prctl` sends no signal (and inside the container's pid
/// namespace `getppid` is 0, so it cannot be compared): then the runner's end of stdin is
/// already closed, and the worker leaves at once instead of calibrating and starting its load.
/// Measured in the v2 VM (TCG, dev build, quota 20 ms/100 ms): a kcpu killed right after
/// crun's `start` left a worker in its start-up phase running for over a second
/// (`oci_sigkill_leaves_nothing_crun`), which this check ends.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .context("prctl(PR_SET_PDEATHSIG)")?;
    if runner_gone() {
        return Ok(ExitCode::SUCCESS);
    }
    let load = parse_load(&args.load)?;
    let spec = WorkerSpec {
        load,
        duration: Nanos(args.duration_ns),
        seed: args.seed,
        cpus: args.cpus,
        drain: Nanos(args.drain_ns),
        burn: args.burn,
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    run_worker(&spec, stdin.lock(), stdout.lock()).context("worker")?;
    Ok(ExitCode::SUCCESS)
}

/// True when stdin is a pipe whose writing end is closed: a non-blocking one-byte read returns
/// end-of-file at once (with the runner alive and silent it fails with `EAGAIN`; the runner
/// sends nothing before the worker's `ready` line, so no byte can be lost).
fn runner_gone() -> bool {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let Ok(flags) = fcntl_getfl(fd) else {
        return false;
    };
    if !rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Fifo
    }) || fcntl_setfl(fd, flags | OFlags::NONBLOCK).is_err()
    {
        return false;
    }
    let mut byte = [0u8; 1];
    let eof = matches!(rustix::io::read(fd, &mut byte), Ok(0));
    let _ = fcntl_setfl(fd, flags);
    eof
}

/// Arguments of `kcpu __exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<std::ffi::OsString>,
}

/// `kcpu __exec -- COMMAND…`: the first process of a `kcpu run --oci … -- COMMAND` container.
/// It asks for SIGKILL when its parent dies, exactly as the worker does (see [`run`]: by now
/// kcpu, the child subreaper, is its parent), then replaces itself with the command. The death
/// signal survives `execve` (prctl(2): it is cleared only when the exec changes credentials,
/// for a set-user-ID or set-group-ID program or one whose file capabilities raise the
/// process's), so the user's command dies with a SIGKILLed kcpu instead of running on until
/// `kcpu run --cleanup`. kcpu checked before `create` that the command exists (the host's root
/// is the container's), so an exec failure here is rare: it exits 127 like a shell.
pub fn exec(args: ExecArgs) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .context("prctl(PR_SET_PDEATHSIG)")?;
    let Some((program, rest)) = args.command.split_first() else {
        anyhow::bail!("__exec needs a command");
    };
    let e = std::process::Command::new(program).args(rest).exec();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "kcpu: cannot run {}: {e}",
            program.to_string_lossy().escape_debug()
        );
    }
    Ok(ExitCode::from(127))
}

/// Arguments of `kcpu __guard`.
#[derive(Debug, clap::Args)]
pub struct GuardArgs {
    /// A run directory (`<mount>/<kcpu parent>/<run id>`, repeatable).
    #[arg(long = "dir")]
    pub dirs: Vec<std::path::PathBuf>,
    /// The OCI runtime whose containers of this run are deleted (`delete --force`) when kcpu
    /// dies.
    #[arg(long)]
    pub runtime: Option<std::path::PathBuf>,
    /// kcpu's state directory (the runtime's state root and the run's ownership record).
    #[arg(long)]
    pub state_dir: Option<std::path::PathBuf>,
}

/// `kcpu __guard --dir DIR…`: started by `kcpu run --oci`, it waits until its stdin reaches
/// end-of-file (the run ended, or kcpu died, even by SIGKILL: kcpu holds the pipe's only
/// writing end), then SIGKILLs every process still in the run's cgroups. When the session did
/// not say it cleaned up ([`crate::runner::oci::GUARD_CLEAN_END`] before the end-of-file: kcpu
/// was killed, or died on its way out), the guard cleans up in its place: it deletes the run's containers
/// from the runtime's state (`delete --force`), removes the run directories in every hierarchy
/// and kcpu's parent where it is left empty, and the run's ownership record. Termination
/// signals sent to the terminal's process group do not end it early. Only directories under a
/// `kcpu*` parent are accepted: it signals and removes nothing kcpu did not create.
pub fn guard(args: GuardArgs) -> anyhow::Result<ExitCode> {
    use std::io::Read;
    let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in crate::runner::init::FORWARDED {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&ignored))
            .context("installing a handler")?;
    }
    let dirs: Vec<_> = args
        .dirs
        .into_iter()
        .filter(|d| {
            d.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .is_some_and(crate::cgroupfs::cleanup::is_kcpu_parent)
        })
        .collect();
    let mut buf = [0u8; 64];
    let mut clean = false;
    let mut stdin = std::io::stdin().lock();
    while let Ok(n @ 1..) = stdin.read(&mut buf) {
        clean |= buf[..n].contains(&crate::runner::oci::GUARD_CLEAN_END);
    }
    // Per-member SIGKILL through pidfds (the v1 path of `kill_tree` works on v2 too).
    let io = crate::cgroupfs::RealFs;
    let v1 = crate::cgroupfs::CgroupVersion::V1;
    for d in &dirs {
        let _ = crate::cgroupfs::cleanup::kill_tree(&io, d, v1);
    }
    if !clean {
        clean_up_after_kcpu(
            &io,
            &dirs,
            args.runtime.as_deref(),
            args.state_dir.as_deref(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The guard's removal of a run whose kcpu died: its containers in the runtime's state, its
/// directories in every hierarchy with empty `kcpu*` parents (as a session's end removes them,
/// [`crate::runner::oci::remove_run_dirs`]), its ownership record.
fn clean_up_after_kcpu(
    io: &crate::cgroupfs::RealFs,
    dirs: &[std::path::PathBuf],
    runtime: Option<&std::path::Path>,
    state_dir: Option<&std::path::Path>,
) {
    let Some(first) = dirs.first() else { return };
    let name = |p: &std::path::Path| p.file_name().and_then(|n| n.to_str()).map(str::to_string);
    let Some(run_id) = name(first).filter(|n| crate::cgroupfs::cleanup::parse_run_id(n).is_some())
    else {
        return;
    };
    let Some(parent) = first
        .parent()
        .and_then(name)
        .and_then(|p| crate::cgroupfs::CgroupName::parent(&p).ok())
    else {
        return;
    };
    if let (Some(rt), Some(state)) = (runtime, state_dir) {
        if let Ok(rt) = crate::runner::oci::OciRuntime::detect(rt, state) {
            let prefix = format!("{run_id}-");
            for id in rt.ids().iter().filter(|id| id.starts_with(&prefix)) {
                let _ = rt.delete_force(id);
            }
        }
    }
    crate::runner::oci::remove_run_dirs(io, &parent, &run_id);
    if let Some(state) = state_dir {
        crate::cgroupfs::cleanup::StateDir(state.to_path_buf()).remove(&run_id);
    }
}
