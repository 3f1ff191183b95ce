//! The integration test binary: every area is a module here (style.md §13).
//!
//! One exception lives in `tests/run.rs`: the real-cgroup tests start kcpu's mini-init in
//! process, which reaps every child of the process (waitpid(-1) as a subreaper). In this binary
//! it would steal the exit statuses of the `kcpu` children that the CLI tests spawn.

mod architecture;
mod check;
mod ci;
mod cluster;
mod ecosystem;
mod fidelity;
mod hardening;
mod report;
mod sim;
mod translate;
