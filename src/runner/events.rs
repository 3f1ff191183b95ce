//! Events the runner emits while it works (I/O shell; the types are plain data).
//!
//! The engine never prints: progress bars, logs and JSON-lines streams are consumers of these
//! events (pattern after nextest `reporter/events.rs`).

use crate::cgroupfs::cleanup::Removed;
use crate::trace::RunResult;
use serde::Serialize;

/// Something that happened during `kcpu run`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// Stale groups of a dead owner were removed before the run.
    StaleRemoved {
        /// What was removed.
        removed: Removed,
    },
    /// Cgroups are about to be created; `runs` runs follow.
    Prepared {
        /// Number of runs.
        runs: u32,
        /// The run directory.
        run_dir: String,
    },
    /// A run's load starts.
    RunStarted {
        /// 0-based run number.
        run: u32,
        /// Phase after the period edge, µs (None without a quota).
        phase_us: Option<u64>,
    },
    /// A run finished; figures of the primary group.
    RunFinished {
        /// The result.
        result: RunResult,
        /// Background CPU use of the rest of the machine during the run, cores.
        background_cores: f64,
        /// Whether the background was above the noise threshold.
        noisy: bool,
    },
    /// Something worth telling the user that does not stop the run.
    Warning {
        /// The message.
        message: String,
    },
    /// Every group was removed.
    TornDown {
        /// Directories removed.
        removed: usize,
    },
}

/// A consumer of [`RunEvent`]s.
pub trait EventSink {
    /// Receives one event.
    fn event(&mut self, e: &RunEvent);
}

/// Drops every event.
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn event(&mut self, _: &RunEvent) {}
}

/// Keeps every event (tests, JSON-lines output).
#[derive(Debug, Default)]
pub struct VecSink(pub Vec<RunEvent>);

impl EventSink for VecSink {
    fn event(&mut self, e: &RunEvent) {
        self.0.push(e.clone());
    }
}
