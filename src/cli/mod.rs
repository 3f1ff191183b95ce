//! Command-line interface (I/O shell): clap arguments → settings → pure core → renderers.
//!
//! Only this module prints, reads the environment or decides between stdout and a file.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod assume;
pub mod burst;
pub mod check;
pub mod exit;
pub mod pick;
pub mod progress;
pub mod recommend;
pub mod record;
pub mod report;
pub mod run;
pub mod simulate;
pub mod translate;
pub mod worker;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// kcpu: what Kubernetes CPU requests and limits actually do to your containers.
#[derive(Debug, Parser)]
#[command(name = "kcpu", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands (parsed once, so the size difference between variants does not matter).
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Print the exact cgroup values the kubelet and runtime write for each container and pod.
    Translate(translate::Args),
    /// Lint CPU resource specs for CI (rules, policy file, SARIF/JUnit/GitHub output).
    Check(check::Args),
    /// Predict throttling and latency with a discrete-event model of CFS bandwidth control.
    Simulate(simulate::Args),
    /// Apply the values to real cgroups, run load inside them and measure throttling.
    Run(run::Args),
    /// Record a program's per-thread CPU use at 1 ms resolution into a trace (`trace:FILE` load).
    Record(record::Args),
    /// Recommend the smallest CPU limit (quota, period, burst) meeting a throttling target.
    Recommend(recommend::Args),
    /// Capacity-planning report (HTML, Markdown, JSON, charts) from manifests or a cluster dump.
    Report(report::Args),
    /// Internal: a program with a known bursty CPU pattern (record demos and tests).
    #[command(name = "__burst", hide = true)]
    Burst(burst::Args),
    /// Internal: the load worker started by `kcpu run` inside its cgroup.
    #[command(name = "__worker", hide = true)]
    Worker(worker::Args),
}

/// Entry point used by `main`: parses arguments, runs, maps errors to exit code 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INPUT_ERROR
            } else {
                exit::OK
            };
            let _ = e.print();
            return exit::code(code);
        }
    };
    let result = match cli.command {
        Command::Translate(a) => translate::run(a),
        Command::Check(a) => check::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Run(a) => run::run(a),
        Command::Report(a) => report::run(a),
        Command::Record(a) => record::run(a),
        Command::Recommend(a) => recommend::run(a),
        Command::Worker(a) => worker::run(a),
        Command::Burst(a) => burst::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return exit::code(exit::OK);
            }
            eprintln!("error: {e:#}");
            exit::code(exit::INPUT_ERROR)
        }
    }
}

/// True when the error chain contains a broken pipe (stdout closed by `head` and the like).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
