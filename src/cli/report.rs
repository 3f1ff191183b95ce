//! `kcpu report` (I/O shell). Not yet written.

use std::process::ExitCode;

/// Arguments of `kcpu report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("report is not implemented yet")
}
