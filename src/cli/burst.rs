//! `kcpu __burst` (hidden; I/O shell): a program with a known bursty CPU pattern, for
//! `kcpu record` demonstrations, the sampler-overhead measurement and the record → recommend →
//! run proof test (`tests/run.rs`). It is an ordinary program: it knows nothing of cgroups.
//!
//! `kcpu __burst --threads N --work 20ms --every 200ms --duration 3s [--idle M]`: N threads
//! each burn `work` of their own CPU time every `every` (open loop: a late burst does not move
//! the next one) for `duration`; M more threads only sleep. Prints one line and exits 0.
#![allow(clippy::print_stdout)]

use crate::runner::clock::{now_ns, sleep_until, thread_cpu_ns};
use crate::runner::worker::{burn, calibrate, STEP_NS};
use crate::units::{parse_duration, Nanos};
use std::process::ExitCode;

fn dur(s: &str) -> Result<Nanos, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Arguments of `kcpu __burst`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Busy threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// CPU time of each burst, per thread.
    #[arg(long, default_value = "20ms", value_parser = dur)]
    pub work: Nanos,
    /// Interval between bursts.
    #[arg(long, default_value = "200ms", value_parser = dur)]
    pub every: Nanos,
    /// How long to run.
    #[arg(long, default_value = "3s", value_parser = dur)]
    pub duration: Nanos,
    /// Threads that only sleep.
    #[arg(long, default_value_t = 0)]
    pub idle: u32,
}

/// Runs the bursts.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.threads + a.idle > crate::sim::load::MAX_THREADS || a.every.0 == 0 {
        anyhow::bail!(
            "at most {} threads, and --every > 0",
            crate::sim::load::MAX_THREADS
        );
    }
    let step = ((STEP_NS as f64 / calibrate()) as u64).max(1);
    let start = now_ns() + 5_000_000;
    let end = start + a.duration.0;
    let mut hs = Vec::new();
    for _ in 0..a.threads {
        let (work, every) = (a.work.0, a.every.0);
        hs.push(std::thread::spawn(move || {
            let c0 = thread_cpu_ns();
            let mut t = start;
            while t < end {
                sleep_until(t);
                burn(work, step);
                t += every;
            }
            thread_cpu_ns() - c0
        }));
    }
    for _ in 0..a.idle {
        hs.push(std::thread::spawn(move || {
            sleep_until(end);
            0
        }));
    }
    let cpu: u64 = hs.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    println!(
        "burst: {} thread(s) x {} every {}: {} ms CPU",
        a.threads,
        crate::units::format_duration(a.work),
        crate::units::format_duration(a.every),
        cpu / 1_000_000
    );
    Ok(ExitCode::SUCCESS)
}
