//! Simulation of CFS bandwidth control and CPU weights (pure core).
//!
//! `kcpu simulate` predicts what a CPU limit does to a workload: usage, periods, throttled
//! periods, throttled time, burst use and request latency, for one container or for many groups
//! sharing a node. The output is the shared [`crate::trace::Summary`] schema that `kcpu run`
//! measures on real cgroups, so the two compare field by field.
//!
//! - [`cfs`]: the kernel's bandwidth state machine (pool, per-CPU silos, period and slack
//!   timers, counters), transcribed from `kernel/sched/fair.c`.
//! - [`node`]: the discrete-event engine (CPUs, ticks, weights, balancing); its module docs list
//!   what is modelled and every approximation.
//! - [`load`]: the load grammar and request schedules shared with `kcpu run`.
//! - [`scenario`]: the node-mode scenario file (several groups on one node).
//!
//! Entry points: [`simulate_container`] for one group given its cgroup values (the
//! `--quota/--period/--burst` path and `kcpu simulate app.yaml --container NAME`), and
//! [`simulate_node`] for several groups (a scenario file, or every container of manifests: any
//! `Vec<(name, values, LoadProfile)>` maps onto [`GroupConfig`]).
//!
//! Runs: each run starts the load at a *phase* φ after a period edge (edges of a group sit on a
//! fixed grid, cfs.md correction 6). By default φ is drawn uniformly per run and group from a
//! ChaCha8 generator seeded by `seed`, so a seed always gives the same result; `Phase::Fixed`
//! pins it and `Phase::Sweep` runs every phase `0, step, 2·step, … < period`. The tick grid
//! offset is drawn the same way. At the start of a run the group is configured and idle: the
//! pool holds `quota + burst`, silos hold 1 ns (cfs.md correction 5) and the period timer is
//! stopped — the state of a cgroup written at least two periods before its load starts. (A group
//! written less than one period before would start with `quota` only, until its first edge;
//! that changes the first cycle, not the steady state.) Planned writes during a run
//! ([`LimitChange`], e.g. an in-place resize) follow `tg_set_cfs_bandwidth`.
//! Counters and usage cover `[0, duration)`; requests that arrived in that window are followed
//! until they complete (at most `max(duration, 10 periods)` longer; a request still unfinished then
//! is counted with its latency up to that point, a lower bound).

pub mod cfs;
pub mod fidelity;
pub mod kernel;
pub mod load;
pub mod node;
pub mod scenario;

use crate::cpu::CpuMax;
pub use crate::cpu::CpuShare;
use crate::stats::{percentiles_ns, throttled_ratio, Samples};
use crate::trace::{RunResult, Sample, Summary, Totals};
use crate::units::{format_duration, Nanos, Shares, Usec, Weight};
pub use kernel::{Accounting, KernelModel};
use load::{arrivals, LoadProfile, Request};
use node::{Engine, EngineParams, GroupSetup, LoadKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// Most runs one simulation (or one `kcpu run`) accepts.
pub const MAX_RUNS: u32 = 100_000;

/// Default budget of requests in one run of all groups together ([`RunPlan::max_requests`]):
/// the engine holds every request of a run until it ends, about [`BYTES_PER_REQUEST`] each, so
/// this keeps a run near 150 MB (`kcpu simulate --max-requests` raises it).
pub const MAX_REQUESTS_PER_RUN: u64 = 1_500_000;
/// Most per-run results (groups × runs) one simulation keeps, about 200 bytes each.
pub const MAX_RUN_RECORDS: u64 = 1_000_000;
/// Memory one request costs while its run lasts (the arrival, the engine's request state, its
/// two delays, and vector growth), measured with `/usr/bin/time -v` (README "Reliability").
pub const BYTES_PER_REQUEST: u64 = 100;
/// Upper bound on the simulated duration of one run (one day).
pub const MAX_DURATION_NS: u64 = 86_400 * 1_000_000_000;

/// The cgroup values of one group: what `kcpu translate` computes for a container.
///
/// Serialized as the flat object `{"quota", "period", "burst", "weight"}` (the JSON contract of
/// `kcpu simulate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `cpu.cfs_quota_us` + `cpu.cfs_period_us` / `cpu.max` (quota −1 = unlimited).
    pub max: CpuMax,
    /// `cpu.cfs_burst_us` / `cpu.max.burst`.
    pub burst: Usec,
    /// `cpu.shares` or `cpu.weight`.
    pub weight: CpuShare,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max: CpuMax::default(),
            burst: Usec(0),
            weight: CpuShare::default(),
        }
    }
}

impl Serialize for Limits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Limits", 4)?;
        st.serialize_field("quota", &self.max.quota)?;
        st.serialize_field("period", &self.max.period)?;
        st.serialize_field("burst", &self.burst)?;
        st.serialize_field("weight", &self.weight)?;
        st.end()
    }
}

/// A cgroup write planned during a run (e.g. an in-place resize): from `at` on, the group has
/// `limits` (applied with `tg_set_cfs_bandwidth` semantics, see [`cfs::Bandwidth::reconfigure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimitChange {
    /// When the write happens, from the load start.
    pub at: Nanos,
    /// The group's values after the write.
    pub limits: Limits,
}

/// One group to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// Display name (container, pod or scenario group).
    pub name: String,
    /// Its cgroup values at the start.
    pub limits: Limits,
    /// Its load.
    pub load: LoadProfile,
    /// The requests of a `trace:` load (the caller reads the file); `None` otherwise.
    pub trace: Option<Vec<Request>>,
    /// Cgroup writes during the run, in time order (writes at or after the end of the measured
    /// window only affect the drain).
    pub changes: Vec<LimitChange>,
}

impl GroupConfig {
    /// A group with fixed limits and no trace: the shape `Vec<(name, values, LoadProfile)>` from
    /// manifests maps onto.
    pub fn new(name: impl Into<String>, limits: Limits, load: LoadProfile) -> GroupConfig {
        GroupConfig {
            name: name.into(),
            limits,
            load,
            trace: None,
            changes: Vec::new(),
        }
    }
}

/// The simulated machine and kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// CPUs available to the groups.
    pub cpus: u32,
    /// `CONFIG_HZ`; 0 = exact mode (runtime checked continuously, no tick overrun).
    pub hz: u32,
    /// `sched_cfs_bandwidth_slice_us` (cfs.md fact 5; default 5 ms).
    pub slice: Nanos,
    /// Time slice of a thread while others wait on its CPU; `None` = the kernel default for
    /// this many CPUs ([`default_quantum`]).
    pub quantum: Option<Nanos>,
    /// Periodic load-balance interval (cfs.md §6.4: "a balancer that equalises load each ~4 ms").
    pub balance_interval: Nanos,
    /// Runtime each per-CPU silo holds when the load starts: 1 ns right after the configuration
    /// write since Linux 6.18 (cfs.md correction 5), 0 before; up to `min_cfs_rq_runtime` (1 ms)
    /// in a group whose tasks already ran (see [`kernel`]).
    pub initial_silo_ns: i64,
    /// When runtime is charged: at ticks (pure compute) or continuously (see [`Accounting`]).
    pub accounting: Accounting,
    /// CPU time every request costs beyond its nominal work (wake-up, the sleep system call,
    /// the load generator's own loop). 0 by default: an assumption stated in every output.
    pub request_overhead: Nanos,
    /// Time from a request's arrival until its thread can run when it was asleep (timer
    /// interrupt, wake-up, idle exit, context switch: not CPU time of the group). 0 by default;
    /// `kcpu run`'s machine uses the wake-up delay its worker measures ([`fidelity`]).
    pub wakeup_latency: Nanos,
    /// The kernel this machine follows (reported in every output).
    pub kernel: KernelModel,
    /// Activity of the group just before its load starts (see [`Startup`]); `None` for a group
    /// that starts as freshly configured.
    pub startup: Option<Startup>,
}

/// What a group's own start-up leaves in its bandwidth state. `kcpu run` writes the values
/// again when its workers are ready (every silo at `initial_silo_ns`, the pool full), then its
/// start message wakes every worker thread `lead` before the load: each CPU pulls a slice from
/// the pool (`assign_cfs_rq_runtime`, fair.c) and, when its thread sleeps again, returns all but
/// `min_cfs_rq_runtime` (`__return_cfs_rq_runtime`). So the load starts with `silo` in every
/// CPU's silo, taken from the pool of the period the start-up ran in (a period edge between the
/// two refills the pool). Measured: `tests/data/fidelity/` `below-quota` (80 % of quota, one
/// request throttled per run until the next edge) and `eq-quota` (one of the two threads
/// throttled in every period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Startup {
    /// How long before the load the start-up ran.
    pub lead: Nanos,
    /// Runtime it leaves in every CPU's silo.
    pub silo: Nanos,
}

impl Machine {
    /// A machine with `cpus` CPUs and the assumed kernel (6.18, HZ 250, slice 5 ms).
    pub fn new(cpus: u32) -> Machine {
        Machine::for_kernel(cpus, KernelModel::assumed())
    }

    /// A machine with `cpus` CPUs following `kernel` (its HZ and its silo start).
    pub fn for_kernel(cpus: u32, kernel: KernelModel) -> Machine {
        Machine {
            cpus,
            hz: kernel.hz,
            slice: Nanos(cfs::DEFAULT_SLICE_NS),
            quantum: None,
            balance_interval: Nanos::from_ms(4),
            initial_silo_ns: kernel.initial_silo_ns,
            accounting: Accounting::Tick,
            request_overhead: Nanos(0),
            wakeup_latency: Nanos(0),
            kernel,
            startup: None,
        }
    }

    /// One line naming the kernel model and every modelling choice that changes the numbers.
    pub fn describe(&self) -> String {
        let hz = if self.hz == 0 {
            "exact (HZ 0)".to_string()
        } else {
            format!("HZ {}", self.hz)
        };
        let wakeup = if self.wakeup_latency.0 == 0 {
            String::new()
        } else {
            format!(", wake-up latency {}", format_duration(self.wakeup_latency))
        };
        format!(
            "{}; simulated with {hz}, slice {}, {} accounting, request overhead {}{wakeup}",
            self.kernel.describe(),
            format_duration(self.slice),
            self.accounting,
            format_duration(self.request_overhead)
        )
    }

    fn tick_ns(&self) -> u64 {
        if self.hz == 0 {
            0
        } else {
            1_000_000_000 / self.hz as u64
        }
    }
}

/// `sysctl_sched_base_slice` as the kernel scales it: 0.75 ms × (1 + ilog2(min(cpus, 8)))
/// (fair.c `get_update_sysctl_factor`, `SCHED_TUNABLESCALING_LOG`).
pub fn default_quantum(cpus: u32) -> Nanos {
    let n = cpus.clamp(1, 8);
    Nanos(750_000 * (1 + n.ilog2() as u64))
}

/// Where each run starts its load inside the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Drawn uniformly in `[0, period)` per run and group from the seed.
    Random,
    /// The same offset after a period edge in every run.
    Fixed(Nanos),
    /// One run per phase `0, step, 2·step, … < period` (the number of runs follows).
    Sweep(Nanos),
}

/// How many runs, how long, which phases.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// Measured window of each run.
    pub duration: Nanos,
    /// Number of runs (ignored by `Phase::Sweep`).
    pub runs: u32,
    /// Seed for phases, tick offsets and Poisson arrivals.
    pub seed: u64,
    /// Phase selection.
    pub phase: Phase,
    /// Record a timeline of run 0 with samples at this interval (and usage per period).
    pub timeline: Option<Nanos>,
    /// Fix the tick grid offset instead of drawing it per run.
    pub tick_offset: Option<Nanos>,
    /// Generate Poisson arrivals from exactly this seed in every run (what `kcpu run`'s worker
    /// does) instead of a seed derived per run and group.
    pub arrival_seed: Option<u64>,
    /// Where the `cpu.stat` window of a run ends.
    pub window: Window,
    /// Most requests one run of all groups may create (the memory budget, see
    /// [`MAX_REQUESTS_PER_RUN`]).
    pub max_requests: u64,
}

/// Where the `cpu.stat` counters of a run are read at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// At the end of the duration (what `simulate` reports: every period of the duration).
    #[default]
    Duration,
    /// When the last request has completed, or at the end of the duration if any group spins
    /// (what `kcpu run` measures: it reads the counters when its workers exit, and a worker
    /// exits after its last request; `runner::run_load`). Period edges after the last
    /// completion are then not counted, as on the real machine.
    UntilDone,
}

impl RunPlan {
    /// `runs` runs of `duration` with random phases from `seed`, no timeline.
    pub fn new(duration: Nanos, runs: u32, seed: u64) -> RunPlan {
        RunPlan {
            duration,
            runs,
            seed,
            phase: Phase::Random,
            timeline: None,
            tick_offset: None,
            arrival_seed: None,
            window: Window::Duration,
            max_requests: MAX_REQUESTS_PER_RUN,
        }
    }
}

/// CPU time used in one period of a group's grid (for charts and the per-period bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodUsage {
    /// Start of the period (0 for the partial period the run starts in).
    pub start_ns: u64,
    /// End of the period (a period edge, or the end of the run).
    pub end_ns: u64,
    /// CPU time the group used in the period.
    pub usage_ns: u64,
    /// Whether a silo was throttled at the end (the edge counts `nr_throttled`).
    pub throttled: bool,
    /// Pool at the start of the period.
    pub pool_start_ns: i64,
    /// Positive silo runtime carried into the period, summed over CPUs.
    pub silos_start_ns: i64,
}

/// Timeline of one run of one group.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Timeline {
    /// Cumulative counters at each sample time.
    pub samples: Vec<Sample>,
    /// Usage per period of the group's grid (empty for unlimited groups).
    pub periods: Vec<PeriodUsage>,
}

/// Everything the simulation says about one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupOutcome {
    /// Group name.
    pub name: String,
    /// Its cgroup values.
    pub limits: Limits,
    /// Its load, in the shared grammar.
    pub load: String,
    /// Totals and per-run figures (the schema `kcpu run` measures).
    pub summary: Summary,
    /// Timeline of run 0, when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
    /// Latency of every request of every run (for CDF charts), exact up to
    /// [`crate::stats::EXACT_SAMPLES`], a bounded histogram beyond.
    #[serde(skip)]
    pub latencies_ns: Samples,
    /// Wake-up delay (arrival → first CPU) of every request of every run, kept the same way.
    #[serde(skip)]
    pub wakeups_ns: Samples,
}

impl GroupOutcome {
    /// The totals of its first run (the only one of a single-run plan such as
    /// [`fidelity::simulate_measured_runs`]'s), or empty ones.
    pub fn first_run_totals(&self) -> Totals {
        self.summary
            .per_run
            .first()
            .map(|x| x.totals.clone())
            .unwrap_or_default()
    }
}

/// Why a simulation could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// A group's values are outside what the kernel accepts.
    #[error("group {group:?}: {reason}")]
    InvalidGroup {
        /// Group name.
        group: String,
        /// What is wrong.
        reason: String,
    },
    /// Machine parameters out of range.
    #[error("invalid machine: {0}")]
    InvalidMachine(String),
    /// Run plan out of range.
    #[error("invalid run plan: {0}")]
    InvalidPlan(String),
    /// The engine stalled (a bug; reported rather than looping forever).
    #[error(transparent)]
    Stalled(#[from] node::Stalled),
}

fn validate_limits(name: &str, l: &Limits) -> Result<(), SimError> {
    let bad = |reason: String| SimError::InvalidGroup {
        group: name.to_string(),
        reason,
    };
    // The ranges are the kernel's (`crate::cpu`); the wording names the cgroup files.
    let max = l.max;
    if let Err((what, _)) = max.check_range() {
        return Err(bad(if what == "period" {
            format!(
                "period {}us is outside the kernel's range 1ms..1s (cpu.cfs_period_us)",
                l.max.period.0
            )
        } else {
            format!(
                "quota {}us is below the kernel's minimum of 1ms",
                l.max.quota.0
            )
        }));
    }
    if max.check_burst(l.burst).is_err() {
        return Err(bad(if max.is_limited() {
            format!(
                "burst {}us exceeds quota {}us (the kernel requires burst <= quota)",
                l.burst.0, l.max.quota.0
            )
        } else {
            "burst needs a quota (the group is unlimited)".into()
        }));
    }
    if l.weight.check_range().is_err() {
        return Err(bad(match l.weight {
            CpuShare::Shares(s) => {
                format!(
                    "cpu.shares {} is outside {}..{}",
                    s.0,
                    Shares::MIN,
                    Shares::MAX
                )
            }
            CpuShare::Weight(w) => {
                format!(
                    "cpu.weight {} is outside {}..{}",
                    w.0,
                    Weight::MIN,
                    Weight::MAX
                )
            }
        }));
    }
    Ok(())
}

fn validate_group(g: &GroupConfig) -> Result<(), SimError> {
    let bad = |reason: String| SimError::InvalidGroup {
        group: g.name.clone(),
        reason,
    };
    validate_limits(&g.name, &g.limits)?;
    let mut last = Nanos(0);
    for c in &g.changes {
        validate_limits(&g.name, &c.limits)?;
        if c.at < last {
            return Err(bad(format!(
                "limit changes must be in time order (at {})",
                format_duration(c.at)
            )));
        }
        last = c.at;
    }
    if matches!(g.load, LoadProfile::Trace { .. }) && g.trace.is_none() {
        return Err(bad(
            "a trace: load needs its CSV rows (the caller reads the file)".into(),
        ));
    }
    Ok(())
}

/// About how many requests one run of `g` creates in `duration`.
fn requests_per_run(g: &GroupConfig, duration: Nanos) -> f64 {
    let secs = duration.0 as f64 / 1e9;
    match &g.load {
        LoadProfile::Spin { .. } => 0.0,
        LoadProfile::Periodic { threads, every, .. } => {
            *threads as f64 * (duration.0 / every.0.max(1) + 1) as f64
        }
        LoadProfile::Poisson { rate_per_s, .. } => rate_per_s * secs,
        LoadProfile::Trace { .. } => g.trace.as_ref().map_or(0.0, |t| t.len() as f64),
    }
}

/// Checks the memory budget of one run: every request of every group is held until the run
/// ends (about [`BYTES_PER_REQUEST`] each).
fn validate_budget(groups: &[GroupConfig], plan: &RunPlan) -> Result<(), SimError> {
    let records = groups.len() as u64 * number_of_runs(groups, plan) as u64;
    if records > MAX_RUN_RECORDS {
        return Err(SimError::InvalidPlan(format!(
            "{} groups × {} runs would keep {records} per-run results, more than {MAX_RUN_RECORDS}; lower --runs (or the number of groups)",
            groups.len(),
            number_of_runs(groups, plan)
        )));
    }
    let expected = expected_requests(groups, plan);
    if expected > plan.max_requests as f64 {
        return Err(SimError::InvalidPlan(format!(
            "the load would create about {expected:.0} requests per run, more than the budget of {} \
             (about {} MB while a run lasts); shorten the duration, or raise the budget with \
             `kcpu simulate --max-requests N`",
            plan.max_requests,
            plan.max_requests.saturating_mul(BYTES_PER_REQUEST) >> 20
        )));
    }
    Ok(())
}

fn validate(groups: &[GroupConfig], machine: &Machine, plan: &RunPlan) -> Result<(), SimError> {
    if groups.is_empty() {
        return Err(SimError::InvalidPlan("no groups to simulate".into()));
    }
    if !(1..=1024).contains(&machine.cpus) {
        return Err(SimError::InvalidMachine(format!(
            "cpus must be between 1 and 1024, got {}",
            machine.cpus
        )));
    }
    if machine.hz > 10_000 {
        return Err(SimError::InvalidMachine(format!(
            "hz must be at most 10000 (0 = exact), got {}",
            machine.hz
        )));
    }
    if machine.slice.0 < 1_000 || machine.slice.0 > 1_000_000_000 {
        return Err(SimError::InvalidMachine(
            "slice must be between 1us and 1s (sched_cfs_bandwidth_slice_us)".into(),
        ));
    }
    if machine.request_overhead.0 > 1_000_000_000 {
        return Err(SimError::InvalidMachine(
            "request overhead must be at most 1s".into(),
        ));
    }
    if plan.duration.0 == 0 || plan.duration.0 > MAX_DURATION_NS {
        return Err(SimError::InvalidPlan(
            "duration must be greater than 0 and at most 24h".into(),
        ));
    }
    if plan.runs == 0 || plan.runs > MAX_RUNS {
        return Err(SimError::InvalidPlan(format!(
            "runs must be between 1 and {MAX_RUNS}"
        )));
    }
    match plan.phase {
        Phase::Sweep(step) if step.0 == 0 => {
            return Err(SimError::InvalidPlan(
                "phase sweep step must be greater than 0".into(),
            ))
        }
        Phase::Sweep(step)
            if groups
                .iter()
                .any(|g| g.limits.max.period.0 * 1_000 / step.0 > 100_000) =>
        {
            return Err(SimError::InvalidPlan(
                "phase sweep step is too small (more than 100000 phases)".into(),
            ));
        }
        Phase::Fixed(p) => {
            if let Some(g) = groups.iter().find(|g| p.0 >= g.limits.max.period.0 * 1_000) {
                return Err(SimError::InvalidPlan(format!(
                    "phase {} is not inside the period of group {:?} ({}us)",
                    format_duration(p),
                    g.name,
                    g.limits.max.period.0
                )));
            }
        }
        _ => {}
    }
    if let Some(dt) = plan.timeline {
        if dt.0 < 100_000 {
            return Err(SimError::InvalidPlan(
                "timeline sample interval must be at least 100us".into(),
            ));
        }
    }
    for g in groups {
        validate_group(g)?;
    }
    validate_budget(groups, plan)
}

/// SplitMix64: derives independent seeds from (seed, run, group).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn run_seed(seed: u64, run: u32, salt: u64) -> u64 {
    mix(mix(seed ^ 0x6b63_7075) ^ mix(run as u64).wrapping_add(salt))
}

/// One run of every group: the engine's inputs and outputs.
struct RunOutput {
    phases_us: Vec<u64>,
    results: Vec<node::GroupResult>,
}

/// What is kept of one run of one group once its figures are taken: the totals, the latency
/// samples in bounded memory ([`Samples`]) and the timeline of run 0, so a long run's
/// per-request vectors are freed as soon as the run ends.
struct RunKept {
    totals: Totals,
    lat: Samples,
    wake: Samples,
    timeline: Option<Timeline>,
}

impl RunKept {
    fn of(r: node::GroupResult, duration: Nanos, timeline: bool) -> RunKept {
        RunKept {
            totals: totals_of(&r, duration),
            lat: r.latencies_ns.iter().copied().collect(),
            wake: r.wakeups_ns.iter().copied().collect(),
            timeline: timeline.then_some(Timeline {
                samples: r.samples,
                periods: r.periods,
            }),
        }
    }
}

fn number_of_runs(groups: &[GroupConfig], plan: &RunPlan) -> u32 {
    match plan.phase {
        Phase::Sweep(step) => {
            let max_p = groups
                .iter()
                .map(|g| g.limits.max.period.0 * 1_000)
                .max()
                .unwrap_or(0);
            max_p.div_ceil(step.0.max(1)) as u32
        }
        _ => plan.runs,
    }
}

fn bandwidth_params(l: &Limits, machine: &Machine) -> Option<cfs::BandwidthParams> {
    (!l.max.quota.is_unlimited()).then(|| cfs::BandwidthParams {
        quota_ns: l.max.quota.0 * 1_000,
        period_ns: l.max.period.0 * 1_000,
        burst_ns: l.burst.0 as i64 * 1_000,
        slice_ns: machine.slice.0 as i64,
    })
}

/// The phase (µs) and engine setup of group `gi` for run `run`.
fn group_setup(
    g: &GroupConfig,
    gi: usize,
    machine: &Machine,
    plan: &RunPlan,
    run: u32,
    rng: &mut ChaCha8Rng,
) -> (u64, GroupSetup) {
    let period_ns = g.limits.max.period.0 * 1_000;
    let phase_ns = match plan.phase {
        Phase::Random => rng.random_range(0..g.limits.max.period.0) * 1_000,
        Phase::Fixed(p) => p.0 % period_ns,
        Phase::Sweep(step) => (run as u64 * step.0) % period_ns,
    };
    let load_seed = plan
        .arrival_seed
        .unwrap_or_else(|| run_seed(plan.seed, run, 1 + gi as u64));
    let (kind, threads, requests) = match &g.load {
        LoadProfile::Spin { threads } => (LoadKind::Spin, *threads, Vec::new()),
        LoadProfile::Periodic { threads, .. } => (
            LoadKind::Bound,
            *threads,
            arrivals(&g.load, plan.duration, load_seed),
        ),
        LoadProfile::Poisson { threads, .. } => (
            LoadKind::Shared,
            *threads,
            arrivals(&g.load, plan.duration, load_seed),
        ),
        LoadProfile::Trace { .. } => {
            let mut reqs: Vec<Request> = g
                .trace
                .iter()
                .flatten()
                .filter(|r| r.arrival < plan.duration)
                .copied()
                .collect();
            reqs.sort_by_key(|r| r.arrival);
            // A recorded trace binds each request to its thread; the older format has
            // one shared queue.
            if reqs.iter().all(|r| r.thread.is_some()) && !reqs.is_empty() {
                (LoadKind::Bound, load::trace_threads(&reqs), reqs)
            } else {
                (LoadKind::Shared, 1, reqs)
            }
        }
    };
    let bandwidth = bandwidth_params(&g.limits, machine);
    let changes = g
        .changes
        .iter()
        .map(|c| {
            (
                c.at.0,
                c.limits.weight.kernel_weight(),
                bandwidth_params(&c.limits, machine),
            )
        })
        .collect();
    let setup = GroupSetup {
        weight: g.limits.weight.kernel_weight(),
        bandwidth,
        // The load starts φ after an edge: edges at k·P − φ.
        grid_offset_ns: (period_ns - phase_ns) % period_ns,
        threads,
        kind,
        requests,
        changes,
    };
    (phase_ns / 1_000, setup)
}

fn run_once(
    groups: &[GroupConfig],
    machine: &Machine,
    plan: &RunPlan,
    run: u32,
) -> Result<RunOutput, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(run_seed(plan.seed, run, 0));
    let tick_ns = machine.tick_ns();
    let tick_offset_ns = match plan.tick_offset {
        Some(o) if tick_ns > 0 => o.0 % tick_ns,
        _ if tick_ns > 0 => rng.random_range(0..tick_ns),
        _ => 0,
    };
    let mut phases_us = Vec::with_capacity(groups.len());
    let mut setups = Vec::with_capacity(groups.len());
    let max_period_ns = groups
        .iter()
        .map(|g| g.limits.max.period.0 * 1_000)
        .max()
        .unwrap_or(0);
    for (gi, g) in groups.iter().enumerate() {
        let (phase_us, setup) = group_setup(g, gi, machine, plan, run, &mut rng);
        phases_us.push(phase_us);
        setups.push(setup);
    }
    let record = run == 0 && plan.timeline.is_some();
    let params = EngineParams {
        cpus: machine.cpus,
        tick_ns,
        acct_tick_ns: match machine.accounting {
            Accounting::Tick => tick_ns,
            Accounting::Continuous => 0,
        },
        request_overhead_ns: machine.request_overhead.0,
        wakeup_ns: machine.wakeup_latency.0,
        tick_offset_ns,
        quantum_ns: machine
            .quantum
            .unwrap_or_else(|| default_quantum(machine.cpus))
            .0
            .max(1),
        balance_ns: machine.balance_interval.0.max(100_000),
        initial_silo_ns: machine.initial_silo_ns,
        startup: machine.startup.map(|s| (s.lead.0, s.silo.0 as i64)),
        duration_ns: plan.duration.0,
        window_until_done: plan.window == Window::UntilDone,
        drain_ns: plan.duration.0.max(10 * max_period_ns),
        sample_ns: if record {
            plan.timeline.map(|t| t.0)
        } else {
            None
        },
        record_periods: record,
    };
    let results = Engine::new(params, setups).run()?;
    Ok(RunOutput { phases_us, results })
}

fn totals_of(r: &node::GroupResult, duration: Nanos) -> Totals {
    Totals {
        nr_periods: r.stat.nr_periods,
        nr_throttled: r.stat.nr_throttled,
        throttled_ratio: throttled_ratio(r.stat.nr_throttled, r.stat.nr_periods),
        throttled_time_us: r.stat.throttled_time_ns / 1_000,
        nr_bursts: r.stat.nr_bursts,
        burst_time_us: r.stat.burst_time_ns / 1_000,
        usage_cores: r.usage_ns as f64 / duration.0 as f64,
        latency: percentiles_ns(&r.latencies_ns),
        wakeup: percentiles_ns(&r.wakeups_ns),
    }
}

/// Simulates several groups sharing `machine.cpus` CPUs (node mode). Returns one outcome per
/// group, in input order. Runs execute in parallel; results do not depend on thread timing.
pub fn simulate_node(
    groups: &[GroupConfig],
    machine: &Machine,
    plan: &RunPlan,
) -> Result<Vec<GroupOutcome>, SimError> {
    simulate_node_with_progress(groups, machine, plan, &|| {})
}

/// [`simulate_node`], calling `on_run` after each finished run (for progress bars).
pub fn simulate_node_with_progress(
    groups: &[GroupConfig],
    machine: &Machine,
    plan: &RunPlan,
    on_run: &(dyn Fn() + Sync),
) -> Result<Vec<GroupOutcome>, SimError> {
    validate(groups, machine, plan)?;
    let runs = number_of_runs(groups, plan);
    let timeline = plan.timeline.is_some();
    let one_run = |run: u32| -> Result<(Vec<u64>, Vec<RunKept>), SimError> {
        let out = run_once(groups, machine, plan, run);
        on_run();
        let out = out?;
        let kept = out
            .results
            .into_iter()
            .map(|r| RunKept::of(r, plan.duration, run == 0 && timeline))
            .collect();
        Ok((out.phases_us, kept))
    };
    // A run holds every request of the run until it ends (the engine's request list): runs
    // with many requests go one at a time, so memory is one run's, not one per CPU. Runs are
    // folded into the per-group sums a block at a time, so 100,000 runs keep their per-run
    // figures and bounded latency samples, not every run's samples.
    let serial = expected_requests(groups, plan) > SERIAL_REQUESTS;
    let mut acc: Vec<Acc> = groups.iter().map(|_| Acc::default()).collect();
    for start in (0..runs).step_by(RUN_BLOCK as usize) {
        let block = start..runs.min(start.saturating_add(RUN_BLOCK));
        let outputs: Vec<(Vec<u64>, Vec<RunKept>)> = if serial {
            block.map(one_run).collect::<Result<_, _>>()?
        } else {
            block
                .into_par_iter()
                .map(one_run)
                .collect::<Result<_, _>>()?
        };
        for (phases_us, kept) in outputs {
            for ((a, k), phase) in acc.iter_mut().zip(kept).zip(phases_us) {
                a.add(phase, k);
            }
        }
    }
    let outcomes = groups.iter().zip(acc).map(|(g, a)| a.finish(g)).collect();
    Ok(outcomes)
}

/// Requests above which the runs of a simulation go one at a time (about 100 bytes each while
/// a run lasts: the arrival, the engine's request state and its two delays).
const SERIAL_REQUESTS: f64 = 500_000.0;

/// Requests of one run of every group together (the estimate [`validate_group`] budgets).
fn expected_requests(groups: &[GroupConfig], plan: &RunPlan) -> f64 {
    groups
        .iter()
        .map(|g| requests_per_run(g, plan.duration))
        .sum()
}

/// Runs simulated together before their figures are folded into the sums.
const RUN_BLOCK: u32 = 64;

/// The runs of one group so far, in run order.
#[derive(Default)]
struct Acc {
    per_run: Vec<RunResult>,
    lat: Samples,
    wake: Samples,
    sum: Totals,
    timeline: Option<Timeline>,
}

impl Acc {
    fn add(&mut self, phase_us: u64, k: RunKept) {
        let totals = k.totals;
        let sum = &mut self.sum;
        sum.nr_periods += totals.nr_periods;
        sum.nr_throttled += totals.nr_throttled;
        sum.throttled_time_us += totals.throttled_time_us;
        sum.nr_bursts += totals.nr_bursts;
        sum.burst_time_us += totals.burst_time_us;
        sum.usage_cores += totals.usage_cores;
        self.lat.merge(&k.lat);
        self.wake.merge(&k.wake);
        if k.timeline.is_some() {
            self.timeline = k.timeline;
        }
        self.per_run.push(RunResult {
            run: self.per_run.len() as u32,
            phase_us,
            totals,
        });
    }

    fn finish(self, g: &GroupConfig) -> GroupOutcome {
        let Acc {
            per_run,
            lat,
            wake,
            mut sum,
            timeline,
        } = self;
        sum.usage_cores /= per_run.len().max(1) as f64;
        sum.throttled_ratio = throttled_ratio(sum.nr_throttled, sum.nr_periods);
        sum.latency = lat.percentiles();
        sum.wakeup = wake.percentiles();
        let runs_throttled = per_run.iter().filter(|r| r.totals.nr_throttled > 0).count() as u32;
        GroupOutcome {
            name: g.name.clone(),
            limits: g.limits,
            load: g.load.to_string(),
            summary: Summary {
                runs_throttled,
                runs: per_run.len() as u32,
                totals: sum,
                per_run,
            },
            timeline,
            latencies_ns: lat,
            wakeups_ns: wake,
        }
    }
}

/// Simulates one container (one group alone on `machine`) given its cgroup values and load.
/// This is the function both `kcpu simulate --quota …` and `kcpu simulate app.yaml --container`
/// call; `trace` holds the rows of a `trace:` load.
pub fn simulate_container(
    name: &str,
    limits: Limits,
    load: &LoadProfile,
    trace: Option<Vec<Request>>,
    machine: &Machine,
    plan: &RunPlan,
) -> Result<GroupOutcome, SimError> {
    let group = GroupConfig {
        trace,
        ..GroupConfig::new(name, limits, load.clone())
    };
    let mut out = simulate_node(std::slice::from_ref(&group), machine, plan)?;
    out.pop()
        .ok_or_else(|| SimError::InvalidPlan("no result".into()))
}

#[cfg(test)]
mod tests;
