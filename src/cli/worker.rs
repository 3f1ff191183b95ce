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
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .context("prctl(PR_SET_PDEATHSIG)")?;
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
