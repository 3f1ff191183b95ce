//! The exit-code contract (I/O shell).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; no finding at or above `--fail-on` |
//! | 1 | policy failure: findings at or above `--fail-on` (`check`), or `run --compare --fail-on-mismatch` with a figure of a run (or of the totals) outside its tolerance |
//! | 2 | usage, input or internal error (bad YAML, bad flag, unreadable file, cgroup failure) |
//! | *n* | `run -- CMD`: the command's exit status (128 + signal when it was killed) |
//! | 128 + *s* | `run` interrupted by signal *s* (SIGINT, SIGTERM, SIGHUP, SIGQUIT), after removing every process and cgroup it created |
//!
//! A broken pipe on stdout is quiet and does not change the code: findings and input errors
//! still decide it (`check`, `translate`).

use std::process::ExitCode;

/// Success: no finding at or above the threshold, no input error.
pub const OK: u8 = 0;
/// Findings at or above the failure threshold.
pub const FINDINGS: u8 = 1;
/// Usage, input or internal error.
pub const INPUT_ERROR: u8 = 2;

/// Converts a code to [`ExitCode`].
pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
