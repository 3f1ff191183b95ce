//! `kcpu worker` (I/O shell). Not yet written.

use std::process::ExitCode;

/// Arguments of `kcpu worker`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("worker is not implemented yet")
}
