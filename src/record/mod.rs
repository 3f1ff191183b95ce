//! `kcpu record`: per-thread CPU traces of real programs.
//!
//! - [`format`] (pure core): the documented trace format, its writer pieces and its parser (the
//!   one `trace:FILE` grammar of `simulate`, `run`, `check`, `report` and `recommend`).
//! - [`recorder`] (I/O shell): the sampler that follows a command, a PID or a cgroup through
//!   `/proc/<pid>/task/<tid>/schedstat` and streams a trace.

pub mod format;
pub mod recorder;
