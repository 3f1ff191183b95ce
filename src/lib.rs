//! # kcpu
//!
//! What Kubernetes CPU requests and limits actually do to containers: the exact cgroup
//! values the kubelet and the runtime write (`translate`), a linter that knows what the values
//! do (`check`), a discrete-event model of CFS bandwidth control (`simulate`), measurement on
//! real cgroups (`run`), and offline capacity reports (`report`).
//!
//! Layers (see `style.md`): a pure core (`units`, `cpu`, `source`, `quantity`, `manifest`,
//! `profile`, `translate`, `lint`, `finding`, `sim`, `trace`, `stats`, `capacity`, `render`)
//! and I/O shells (`input`, `cgroupfs`, `runner`, `cli`). Only the shells touch files,
//! processes, clocks or the terminal; `tests/architecture.rs` enforces it.

pub mod capacity;
pub mod cgroupfs;
pub mod cli;
pub mod collect;
pub mod cpu;
pub mod emit_job;
pub mod finding;
pub mod input;
pub mod lint;
pub mod manifest;
pub mod predict;
pub mod probe;
pub mod profile;
pub mod quantity;
pub mod recommend;
pub mod record;
pub mod render;
pub mod runner;
pub mod sim;
pub mod source;
pub mod stats;
pub mod trace;
pub mod translate;
pub mod units;
