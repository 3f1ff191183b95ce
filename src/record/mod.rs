//! `kcpu record`: per-thread CPU traces of real programs.
//!
//! - [`format`] (pure core): the documented trace format, its writer pieces and its parser (the
//!   one `trace:FILE` grammar of `simulate`, `run`, `check`, `report` and `recommend`).
//! - [`recorder`] (I/O shell): the sampler that follows a command, a PID or a cgroup through
//!   `/proc/<pid>/task/<tid>/schedstat` and streams a trace (the fallback).
//! - [`events`] (I/O shell): the event recorder — the kernel's context-switch records
//!   through [`perf`] (the `perf_event_open` wrapper, `unsafe`), folded into rows by
//!   [`switches`] (pure core: record parsing and the on-CPU timeline).

pub mod events;
pub mod format;
pub mod perf;
pub mod recorder;
pub mod switches;
