//! Command-line interface (I/O shell): clap arguments → settings → pure core → renderers.
//!
//! Only this module prints, reads the environment or decides between stdout and a file.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod exit;
pub mod translate;

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

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the exact cgroup values the kubelet and runtime write for each container and pod.
    Translate(translate::Args),
}

/// Entry point used by `main`: parses arguments, runs, maps errors to exit code 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::INPUT_ERROR } else { exit::OK };
            let _ = e.print();
            return exit::code(code);
        }
    };
    let result = match cli.command {
        Command::Translate(a) => translate::run(a),
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
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
