//! Command-line interface (I/O shell): clap arguments → settings → pure core → renderers.
//!
//! Only this module prints, reads the environment or decides between stdout and a file.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod assume;
pub mod burst;
pub mod check;
pub mod collect;
pub mod ecosystem;
pub mod emit_job;
pub mod exit;
pub mod oci;
pub mod output;
pub mod pick;
pub mod policy;
pub mod probe;
pub mod recommend;
pub mod record;
pub mod report;
pub mod run;
pub mod simulate;
pub mod term;
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
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    #[command(after_help = "Examples:
  kcpu completions bash > ~/.local/share/bash-completion/completions/kcpu
  kcpu completions zsh > ~/.zfunc/_kcpu   # fpath+=~/.zfunc before compinit
  kcpu completions fish > ~/.config/fish/completions/kcpu.fish")]
    Completions(ecosystem::CompletionsArgs),
    /// Print the man page (roff) of kcpu, or write one page per subcommand into a directory.
    #[command(after_help = "Examples:
  kcpu man | man -l -
  kcpu man --dir ~/.local/share/man/man1 && man kcpu-translate")]
    Man(ecosystem::ManArgs),
    /// Read probe lines and Prometheus exports; compare with translate and simulate.
    Collect(collect::Args),
    /// Inside a pod: read the own cgroup, run the load in-process, print one JSON line per run.
    Probe(probe::Args),
    /// Internal: a program with a known bursty CPU pattern (record demos and tests).
    #[command(name = "__burst", hide = true)]
    Burst(burst::Args),
    /// Internal: the load worker started by `kcpu run` inside its cgroup.
    #[command(name = "__worker", hide = true)]
    Worker(worker::Args),
    /// Internal: the first process of a `run --oci -- COMMAND` container (dies with kcpu).
    #[command(name = "__exec", hide = true)]
    Exec(worker::ExecArgs),
    /// Internal: kills what is left in a `run --oci` run's cgroups once kcpu is gone.
    #[command(name = "__guard", hide = true)]
    Guard(worker::GuardArgs),
}

/// The processes `kcpu run` starts (`__worker`, `__exec`) ask for SIGKILL when their parent
/// dies before anything else, argument parsing included: a start-up window in which a SIGKILLed
/// kcpu leaves them running is as short as it can be (their `run` functions ask again and
/// explain why it works inside a container).
fn early_death_signal() {
    let first = std::env::args_os().nth(1);
    if matches!(
        first.as_deref().and_then(|a| a.to_str()),
        Some("__worker" | "__exec")
    ) {
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    }
}

/// Entry point used by `main`: parses arguments, runs, maps errors to exit code 2.
pub fn main() -> ExitCode {
    early_death_signal();
    let cli = match ecosystem::parse(std::env::args_os()) {
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
        Command::Completions(a) => ecosystem::completions(a),
        Command::Man(a) => ecosystem::man(a),
        Command::Probe(a) => probe::run(a),
        Command::Collect(a) => collect::run(a),
        Command::Record(a) => record::run(a),
        Command::Recommend(a) => recommend::run(a),
        Command::Worker(a) => worker::run(a),
        Command::Exec(a) => worker::exec(a),
        Command::Guard(a) => worker::guard(a),
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

/// Treats a broken pipe as success: a reader that stopped early (`| head`) does not change
/// the outcome, which the findings and input errors still decide.
pub fn tolerate_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// True when the error chain contains a broken pipe (stdout closed by `head` and the like).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
