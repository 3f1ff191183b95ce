//! `kcpu translate` (I/O shell). Not yet written.

use std::process::ExitCode;

/// Arguments of `kcpu translate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files, directories or `-` for stdin.
    pub inputs: Vec<String>,
}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("translate is not implemented yet")
}
