//! `kcpu __worker` (hidden; I/O shell): the load generator that `kcpu run` starts inside a
//! cgroup. It speaks the line protocol of [`crate::runner::worker`] on stdin/stdout.

use crate::runner::worker::{run_worker, WorkerSpec};
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
}

/// Runs the worker until its schedule is done.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let load = parse_load(&args.load)?;
    let spec = WorkerSpec {
        load,
        duration: Nanos(args.duration_ns),
        seed: args.seed,
        cpus: args.cpus,
        drain: Nanos(args.drain_ns),
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    run_worker(&spec, stdin.lock(), stdout.lock()).context("worker")?;
    Ok(ExitCode::SUCCESS)
}
