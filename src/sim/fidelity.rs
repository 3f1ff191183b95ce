//! The fidelity suite's data format and replay (pure core): a scenario measured on real cgroups
//! by `scripts/fidelity-measure.sh` (one JSON file per scenario under `tests/data/fidelity/`),
//! simulated again at every recorded phase and compared within the tolerances of issue 11.
//!
//! The replay simulates what was measured: the kernel model of the recorded release and HZ, and
//! the machine of [`runner_machine`] (what `kcpu run`'s worker does to a group: continuous
//! accounting, a measured per-request overhead, silos reset by a write of the values).
//! Poisson arrivals use the runner's seed as given ([`super::RunPlan::arrival_seed`]).

use super::load::{parse_load, LoadProfile, Request};
use super::{
    simulate_node, Accounting, CpuShare, GroupConfig, KernelModel, Limits, Machine, Phase, RunPlan,
    SimError,
};
use crate::cpu::{CgroupVersion, CpuMax};
use crate::stats::{compare_totals, FigureDelta, Tolerances};
use crate::trace::{Percentiles, Totals};
use crate::units::{parse_duration, Nanos, PeriodUs, QuotaUs, Shares, Usec};
use serde::Deserialize;

/// CPU time `kcpu run`'s worker spends per request beyond its nominal work (the sleep and
/// wake-up path, the last partial burn step). Measured on cgroup v1, kernel 6.18, HZ 250:
/// `tests/data/fidelity/6.18.44-fc-v1272-v1/below-quota.json` (2 threads × 4 ms every 100 ms,
/// never throttled) used 0.081 cores, i.e. 4.05 ms per 4 ms request.
pub const RUNNER_REQUEST_OVERHEAD: Nanos = Nanos(50_000);

/// Delay from a request's scheduled arrival until `kcpu run`'s sleeping worker thread runs (timer
/// interrupt, wake-up, idle exit, context switch), measured by the worker itself as its wake-up
/// delay (p50 of unthrottled requests) on cgroup v1, kernel 6.18, HZ 250, quiet machine.
pub const RUNNER_WAKEUP: Nanos = Nanos(50_000);

/// The runner's start-up before each run's load ([`super::Startup`]): its start message is
/// written 2 ms before the load (`runner::run_load` reads the baseline counters then) and wakes
/// every worker thread, which leaves `min_cfs_rq_runtime` (1 ms) in each CPU's silo.
pub const RUNNER_STARTUP: super::Startup = super::Startup {
    lead: Nanos(2_000_000),
    silo: Nanos(super::cfs::MIN_CFS_RQ_RUNTIME_NS as u64),
};

/// The machine that reproduces a `kcpu run` measurement (`run --compare` and the replay): the
/// kernel's model plus what the runner's worker does to its group (see [`super::kernel`]): it
/// reads its CPU clock every ~25 µs, so runtime is charged continuously; each request costs
/// [`RUNNER_REQUEST_OVERHEAD`] beyond its work. Its silos start as the kernel leaves them after a
/// write of the values (the runner writes them again right before each run's load starts, so the
/// runtime its calibration left in the silos is gone): the kernel model's `initial_silo_ns`.
pub fn runner_machine(cpus: u32, kernel: KernelModel) -> Machine {
    let mut m = Machine::for_kernel(cpus, kernel);
    m.accounting = Accounting::Continuous;
    m.request_overhead = RUNNER_REQUEST_OVERHEAD;
    m.wakeup_latency = RUNNER_WAKEUP;
    m.startup = Some(RUNNER_STARTUP);
    m
}

/// How `kcpu run` measured a group: the window and seed of its runs, and each run's index,
/// phase and period edge.
#[derive(Debug, Clone, Copy)]
pub struct MeasuredRuns<'a> {
    /// The measured window per run.
    pub duration: Nanos,
    /// The runner's seed.
    pub seed: u64,
    /// Each run.
    pub runs: &'a [RunPhase],
}

/// Where one measured run started relative to the period grid and the scheduler ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPhase {
    /// Run index.
    pub run: u32,
    /// Load start after a period edge, µs.
    pub phase_us: u64,
    /// A period edge of the run on `CLOCK_MONOTONIC`, ns, when the runner recorded it.
    pub edge_ns: Option<u64>,
}

/// The tick grid offset (ticks at `offset + k·tick` in simulated time, whose 0 is the load
/// start) that puts the simulated ticks where the kernel's were: at multiples of `tick_ns` on
/// `CLOCK_MONOTONIC` ([`super::KernelModel::aligned_ticks`]), with a period edge at `edge_ns`
/// and the load starting `phase_ns` after an edge. The simulated edges lie at
/// `(period − phase) mod period + k·period`; a tick lies `edge_ns mod tick` before each edge.
pub fn tick_offset_ns(edge_ns: u64, phase_ns: u64, period_ns: u64, tick_ns: u64) -> u64 {
    if tick_ns == 0 || period_ns == 0 {
        return 0;
    }
    let first_edge = (period_ns - phase_ns % period_ns) % period_ns;
    let before_edge = edge_ns % tick_ns;
    (first_edge % tick_ns + tick_ns - before_edge) % tick_ns
}

/// Simulates each measured run of `group` (alone on `machine`) at its measured phase, as
/// `kcpu run` measured it: run `i` with seed `seed + i`, and Poisson arrivals drawn from `seed`
/// itself (the runner's worker uses the seed as given). Where the runner recorded a period edge
/// and the kernel aligns its ticks, the ticks fall where the kernel's fell ([`tick_offset_ns`]);
/// otherwise their offset is drawn per run, as in `simulate`. One outcome per run, in order.
pub fn simulate_measured_runs(
    group: &GroupConfig,
    machine: &Machine,
    measured: &MeasuredRuns<'_>,
) -> Result<Vec<super::GroupOutcome>, SimError> {
    let MeasuredRuns {
        duration,
        seed,
        runs,
    } = *measured;
    let period_ns = group.limits.max.period.0.max(1) * 1_000;
    runs.iter()
        .map(|r| {
            let plan = measured_run_plan(machine, period_ns, duration, seed, r);
            simulate_node(std::slice::from_ref(group), machine, &plan)?
                .pop()
                .ok_or_else(|| SimError::InvalidPlan("no result".into()))
        })
        .collect()
}

/// Whether the simulation of run `r` places its ticks from the run's recorded edge: the runner
/// recorded one, the kernel aligns its ticks, and the machine has ticks.
pub fn places_ticks(machine: &Machine, r: &RunPhase) -> bool {
    r.edge_ns.is_some() && machine.kernel.aligned_ticks && machine.tick_ns() > 0
}

/// The plan that simulates measured run `r` of a group with period `period_ns` (see
/// [`simulate_measured_runs`]): seed `seed + run`, Poisson arrivals from `seed`, the run's phase,
/// its ticks where [`places_ticks`], the runner's window.
pub fn measured_run_plan(
    machine: &Machine,
    period_ns: u64,
    duration: Nanos,
    seed: u64,
    r: &RunPhase,
) -> RunPlan {
    let mut plan = RunPlan::new(duration, 1, seed.wrapping_add(r.run as u64));
    let phase_ns = (r.phase_us * 1_000) % period_ns.max(1);
    plan.phase = Phase::Fixed(Nanos(phase_ns));
    plan.tick_offset = r
        .edge_ns
        .filter(|_| places_ticks(machine, r))
        .map(|e| Nanos(tick_offset_ns(e, phase_ns, period_ns, machine.tick_ns())));
    plan.arrival_seed = Some(seed);
    plan.window = super::Window::UntilDone;
    plan
}

/// Mean demand, as a share of the quota, inside which the fidelity grid found the kernel's
/// outcome decided by details below the model's resolution: at 100 % and 120 % of the quota
/// (`eq-quota*`, `above-quota*` in `tests/data/fidelity/`) a pure compute loop's latencies were
/// off by up to a period in most runs, because a backlog's growth turns on ~1 % of per-request
/// overhead and on tick timing; at 80 % (`below-quota`) the model agreed.
pub const NEAR_QUOTA: (f64, f64) = (0.9, 1.3);

/// Longest period for which the kernel did not repeat its own latency and throttling figures:
/// the fidelity grid measured twice on the same kernel (`tests/data/fidelity/*/repeat/`, same
/// binary, quiet machine, same phases) gave p50 or throttled ratios outside the tolerances at
/// a 20 ms period (2 of 4 run pairs with the clock burner, 4 of 4 with a pure loop) and p99 or
/// the throttled/not verdict outside them at a 5 ms period (2 of 4), while the 500 ms period,
/// the reference sweep with the clock burner, the bursts and the spinners repeated in every pair.
pub const SHORT_PERIOD_US: u64 = 20_000;

/// Why a group's throttling and latency figures cannot be promised within the measured
/// tolerances, or `None`. Two cases, from the fidelity grid (README "How accurate is
/// simulate"): mean demand within [`NEAR_QUOTA`] of the quota (not for a spinner: no requests,
/// no backlog; not for a trace: its demand is in its file), and a period of at most
/// [`SHORT_PERIOD_US`] for a load with requests. `None` for an unlimited group.
pub fn accuracy_caveat(limits: &Limits, load: &LoadProfile) -> Option<String> {
    let (q, p) = (limits.max.quota.0, limits.max.period.0);
    if q <= 0 || p == 0 || matches!(load, LoadProfile::Spin { .. }) {
        return None;
    }
    let quota_cores = q as f64 / p as f64;
    let near = load
        .demand_cores()
        .map(|d| d / quota_cores)
        .filter(|share| (NEAR_QUOTA.0..=NEAR_QUOTA.1).contains(share))
        .map(|share| {
            format!(
                "mean demand is {:.0} % of the quota: near the quota the kernel's latencies turn on ~1 % of per-request overhead and on tick timing, outside this model's measured tolerances",
                share * 100.0
            )
        });
    let short = (p <= SHORT_PERIOD_US).then(|| {
        format!(
            "the period is {} ms: at periods of 20 ms or less the kernel itself did not repeat its latency percentiles and throttled ratios within this model's tolerances when the same runs were measured twice",
            p as f64 / 1000.0
        )
    });
    let reasons: Vec<String> = near.into_iter().chain(short).collect();
    (!reasons.is_empty()).then(|| {
        format!(
            "{} (README \"How accurate is simulate\"); read the throttling and latency figures as indicative",
            reasons.join("; and ")
        )
    })
}

/// The tolerances of issue 11 (per run): usage ±2 %, throttled-period ratio ±0.05, p50 within
/// max(1 ms, 3 %), p99 within 10 %; plus the same throttled/not verdict.
pub const TOLERANCES: Tolerances = Tolerances {
    usage_rel: 0.02,
    ratio_abs: 0.05,
    p50_rel: 0.03,
    p50_floor_ms: 1.0,
    p99_rel: 0.10,
};

/// The measured limits of a scenario.
#[derive(Debug, Clone, Deserialize)]
pub struct ScenarioLimits {
    /// `cpu.cfs_quota_us` (−1 = none).
    pub quota_us: i64,
    /// `cpu.cfs_period_us`.
    pub period_us: u64,
    /// `cpu.cfs_burst_us`.
    #[serde(default)]
    pub burst_us: u64,
}

/// One measured run.
#[derive(Debug, Clone, Deserialize)]
pub struct MeasuredRun {
    /// Run index.
    pub run: u32,
    /// Phase of the load start after a period edge, µs.
    pub phase_us: u64,
    /// The period edge the runner detected, on `CLOCK_MONOTONIC` (ns): where the run's
    /// edges fell between scheduler ticks ([`tick_offset_ns`]). Absent in data measured before
    /// the runner recorded it; the replay then draws the tick offset at random, as `simulate`
    /// does.
    #[serde(default)]
    pub edge_ns: Option<u64>,
    /// CPU of the rest of the machine, cores.
    pub background_cores: f64,
    /// Part of it used by niced processes.
    #[serde(default)]
    pub nice_cores: f64,
    /// Dropped as noisy (competing CPU above the threshold).
    pub noisy: bool,
    /// Usage over the simulated window, cores.
    pub usage_cores: f64,
    /// `nr_periods`.
    pub nr_periods: u64,
    /// `nr_throttled`.
    pub nr_throttled: u64,
    /// `nr_throttled / nr_periods`.
    pub throttled_ratio: f64,
    /// `throttled_time`, µs.
    pub throttled_time_us: u64,
    /// Requests served.
    #[serde(default)]
    pub requests: u64,
    /// Latency p50, ms.
    pub p50_ms: Option<f64>,
    /// Latency p99, ms.
    pub p99_ms: Option<f64>,
}

impl MeasuredRun {
    /// Where the run started relative to the period grid and the ticks.
    pub fn phase(&self) -> RunPhase {
        RunPhase {
            run: self.run,
            phase_us: self.phase_us,
            edge_ns: self.edge_ns,
        }
    }

    /// The run's figures in the schema `kcpu run` and the simulator report.
    pub fn totals(&self) -> Totals {
        Totals {
            nr_periods: self.nr_periods,
            nr_throttled: self.nr_throttled,
            throttled_ratio: self.throttled_ratio,
            throttled_time_us: self.throttled_time_us,
            usage_cores: self.usage_cores,
            latency: Percentiles {
                p50_ms: self.p50_ms.unwrap_or(0.0),
                p99_ms: self.p99_ms.unwrap_or(0.0),
                count: self.requests,
                ..Percentiles::default()
            },
            ..Totals::default()
        }
    }
}

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    /// Short name.
    pub scenario: String,
    /// What it exercises.
    pub description: String,
    /// The exact measuring command.
    pub command: String,
    /// `uname -r`.
    pub kernel: String,
    /// `CONFIG_HZ`.
    pub hz: u32,
    /// `v1` or `v2`.
    pub cgroup: String,
    /// CPUs.
    pub cpus: u32,
    /// `sched_cfs_bandwidth_slice_us`.
    pub slice_us: Option<u64>,
    /// The group's values.
    pub limits: ScenarioLimits,
    /// Load in the shared grammar.
    pub load: String,
    /// Measured window per run (`2s`).
    pub duration: String,
    /// How the worker burnt its work (`kcpu run --burn`): `clock` (the default, and what older
    /// files without the field measured) or `loop`. Decides the accounting of the replay.
    #[serde(default)]
    pub burn: Option<String>,
    /// The runs.
    pub runs: Vec<MeasuredRun>,
}

/// Why a scenario file could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Not the expected JSON.
    #[error("scenario file: {0}")]
    Json(#[from] serde_json::Error),
    /// A field does not parse.
    #[error("scenario {0}: {1}")]
    Field(String, String),
    /// The simulator refused it.
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// One run, measured vs simulated (or vs a repeat measurement, [`compare_repeat`]).
#[derive(Debug, Clone)]
pub struct ReplayedRun {
    /// The measured run.
    pub measured: MeasuredRun,
    /// Its simulated totals (a repeat's measured totals for [`compare_repeat`]).
    pub simulated: Totals,
    /// Usage, ratio, p50, p99 against [`TOLERANCES`].
    pub figures: Vec<FigureDelta>,
    /// Same throttled/not verdict (`nr_throttled > 0`).
    pub verdict_ok: bool,
}

impl ReplayedRun {
    /// Every figure within tolerance and the same verdict.
    pub fn agrees(&self) -> bool {
        self.verdict_ok && self.figures.iter().all(|f| f.ok != Some(false))
    }
}

/// Parses a scenario file.
pub fn parse_scenario(text: &str) -> Result<Scenario, ReplayError> {
    Ok(serde_json::from_str(text)?)
}

/// The machine a scenario is replayed on.
pub fn scenario_machine(s: &Scenario) -> Machine {
    let mut m = runner_machine(
        s.cpus.clamp(1, 1024),
        KernelModel::for_release(Some(&s.kernel), Some(s.hz)),
    );
    if let Some(us) = s.slice_us {
        m.slice = Nanos::from_us(us);
    }
    if s.burn.as_deref() == Some("loop") {
        // A worker that reads no clock while it burns is charged at ticks only.
        m.accounting = Accounting::Tick;
    }
    m
}

/// The group values a scenario was measured with.
pub fn scenario_limits(s: &Scenario) -> Result<Limits, ReplayError> {
    let version: CgroupVersion = s
        .cgroup
        .parse()
        .map_err(|e| ReplayError::Field(s.scenario.clone(), format!("{e}")))?;
    Ok(Limits {
        max: CpuMax {
            quota: QuotaUs(s.limits.quota_us),
            period: PeriodUs(s.limits.period_us),
        },
        burst: Usec(s.limits.burst_us),
        // Nothing wrote the weight: the kernel's default of the recorded hierarchy.
        weight: CpuShare::kernel_default(version),
    })
}

/// The seed the replay simulates recorded runs with (`kcpu run`'s default seed, which the fidelity
/// scripts keep).
pub const REPLAY_SEED: u64 = 1;

/// Replays every non-noisy run of `s` through the simulator at its recorded phase. `trace`
/// holds the rows of a `trace:` load (the caller reads the file).
pub fn replay(s: &Scenario, trace: Option<Vec<Request>>) -> Result<Vec<ReplayedRun>, ReplayError> {
    let field = |e: String| ReplayError::Field(s.scenario.clone(), e);
    let load: LoadProfile = parse_load(&s.load).map_err(|e| field(e.to_string()))?;
    let duration = parse_duration(&s.duration).map_err(|e| field(e.to_string()))?;
    let limits = scenario_limits(s)?;
    let machine = scenario_machine(s);
    let measured_runs: Vec<&MeasuredRun> = s.runs.iter().filter(|r| !r.noisy).collect();
    let phases: Vec<RunPhase> = measured_runs.iter().map(|r| r.phase()).collect();
    let group = GroupConfig {
        trace,
        ..GroupConfig::new(s.scenario.as_str(), limits, load)
    };
    let measured = MeasuredRuns {
        duration,
        seed: REPLAY_SEED,
        runs: &phases,
    };
    let outcomes = simulate_measured_runs(&group, &machine, &measured)?;
    Ok(measured_runs
        .into_iter()
        .zip(outcomes)
        .map(|(r, o)| compared(r, o.first_run_totals()))
        .collect())
}

/// `r` against `other` within [`TOLERANCES`].
fn compared(r: &MeasuredRun, other: Totals) -> ReplayedRun {
    let figures = compare_totals(&r.totals(), &other, &TOLERANCES);
    ReplayedRun {
        verdict_ok: (r.nr_throttled > 0) == (other.nr_throttled > 0),
        measured: r.clone(),
        simulated: other,
        figures,
    }
}

/// The kernel against itself: every non-noisy run of `repeat` (the same scenario measured again
/// on the same kernel) compared, within [`TOLERANCES`], with the run of `first` at the same
/// phase, the one with the same run index when several share it (`ref-edge` runs all at 99 ms);
/// `simulated` then holds the repeat's figures. Runs without a partner are left out. Where the
/// kernel does not repeat its own figures, no model can be held to them.
pub fn compare_repeat(first: &Scenario, repeat: &Scenario) -> Vec<ReplayedRun> {
    repeat
        .runs
        .iter()
        .filter(|b| !b.noisy)
        .filter_map(|b| {
            let same_phase = |a: &&MeasuredRun| !a.noisy && a.phase_us == b.phase_us;
            let a = first
                .runs
                .iter()
                .filter(same_phase)
                .find(|a| a.run == b.run)
                .or_else(|| first.runs.iter().find(same_phase))?;
            Some(compared(a, b.totals()))
        })
        .collect()
}

/// One group of a weight scenario (several groups competing on one machine).
#[derive(Debug, Clone, Deserialize)]
pub struct WeightGroup {
    /// `cpu.shares`.
    pub shares: u64,
    /// `cpu.cfs_quota_us` (−1 = none).
    pub quota_us: i64,
    /// `cpu.cfs_period_us`.
    pub period_us: u64,
    /// Load in the shared grammar (`spin:threads=2`).
    pub load: String,
}

/// One measured run of a weight scenario: CPU used by each group, in group order.
#[derive(Debug, Clone, Deserialize)]
pub struct WeightRun {
    /// Run index.
    pub run: u32,
    /// Cores used by each group over the run.
    pub usage_cores: Vec<f64>,
}

/// A weight scenario file (`weights-*.json`, written by `scripts/fidelity/weights.sh`).
#[derive(Debug, Clone, Deserialize)]
pub struct WeightScenario {
    /// Short name.
    pub scenario: String,
    /// The exact measuring command.
    pub command: String,
    /// `uname -r`.
    pub kernel: String,
    /// `CONFIG_HZ`.
    pub hz: u32,
    /// CPUs.
    pub cpus: u32,
    /// Measured window per run.
    pub duration: String,
    /// The competing groups.
    pub groups: Vec<WeightGroup>,
    /// The runs.
    pub runs: Vec<WeightRun>,
}

/// Simulates a weight scenario once (spinning loads do not depend on the phase): the cores each
/// group uses, in group order. The load generator reads its CPU clock, so accounting is
/// continuous (see [`super::kernel`]).
pub fn replay_weights(s: &WeightScenario) -> Result<Vec<f64>, ReplayError> {
    let field = |e: String| ReplayError::Field(s.scenario.clone(), e);
    let duration = parse_duration(&s.duration).map_err(|e| field(e.to_string()))?;
    let mut groups = Vec::with_capacity(s.groups.len());
    for (i, g) in s.groups.iter().enumerate() {
        let load = parse_load(&g.load).map_err(|e| field(e.to_string()))?;
        let limits = Limits {
            max: CpuMax {
                quota: QuotaUs(g.quota_us),
                period: PeriodUs(g.period_us),
            },
            burst: Usec(0),
            weight: CpuShare::Shares(Shares(g.shares)),
        };
        groups.push(super::GroupConfig::new(format!("g{i}"), limits, load));
    }
    let mut machine = Machine::for_kernel(
        s.cpus.clamp(1, 1024),
        KernelModel::for_release(Some(&s.kernel), Some(s.hz)),
    );
    machine.accounting = Accounting::Continuous;
    let plan = RunPlan::new(duration, 1, 1);
    let out = super::simulate_node(&groups, &machine, &plan)?;
    Ok(out.iter().map(|o| o.summary.totals.usage_cores).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Figure;

    fn limits(quota_us: i64) -> Limits {
        let mut l = Limits::default();
        l.max.quota = QuotaUs(quota_us);
        l
    }

    fn scenario(runs: &str) -> Scenario {
        parse_scenario(&format!(
            r#"{{"scenario":"eq-quota","description":"d","command":"c","kernel":"6.18.44","hz":250,
            "cgroup":"v1","cpus":2,"slice_us":5000,"limits":{{"quota_us":10000,"period_us":100000}},
            "load":"periodic:threads=2,work=5ms,every=100ms","duration":"2s","runs":[{runs}]}}"#
        ))
        .expect("scenario")
    }

    fn run(run: u32, phase_us: u64, noisy: bool, nr_throttled: u64, p50_ms: f64) -> String {
        format!(
            r#"{{"run":{run},"phase_us":{phase_us},"background_cores":0,"noisy":{noisy},
            "usage_cores":0.102,"nr_periods":20,"nr_throttled":{nr_throttled},
            "throttled_ratio":{},"throttled_time_us":0,"requests":40,"p50_ms":{p50_ms},
            "p99_ms":86.0}}"#,
            nr_throttled as f64 / 20.0
        )
    }

    #[test]
    fn a_repeat_is_compared_run_by_run_at_the_same_phase() {
        let first = scenario(
            &[
                run(0, 17_531, false, 20, 5.1),
                run(1, 37_221, false, 20, 5.1),
            ]
            .join(","),
        );
        let repeat = scenario(
            &[
                run(0, 37_221, false, 20, 5.2),  // phase of first's run 1: agrees
                run(1, 17_531, false, 20, 82.4), // p50 off by a period
                run(2, 94_904, false, 0, 5.1),   // no partner: left out
                run(3, 17_531, true, 20, 5.1),   // noisy: left out
            ]
            .join(","),
        );
        let pairs = compare_repeat(&first, &repeat);
        assert_eq!(pairs.len(), 2);
        // Runs sharing a phase pair by run index.
        let same = scenario(
            &[
                run(0, 99_000, false, 10, 125.3),
                run(1, 99_000, false, 10, 130.0),
            ]
            .join(","),
        );
        let again = compare_repeat(&same, &same);
        assert!(again.iter().all(|r| r.agrees()), "{again:?}");
        assert_eq!(pairs[0].measured.run, 1);
        assert!(pairs[0].agrees());
        assert_eq!(pairs[1].measured.run, 0);
        assert!(!pairs[1].agrees());
        let off: Vec<Figure> = pairs[1]
            .figures
            .iter()
            .filter(|f| f.ok == Some(false))
            .map(|f| f.figure)
            .collect();
        assert_eq!(off, vec![Figure::P50]);
    }

    #[test]
    fn accuracy_caveat_covers_near_quota_demand_and_short_periods() {
        let caveat = |quota_us, load: &str| {
            accuracy_caveat(&limits(quota_us), &parse_load(load).expect("load"))
        };
        // Issue 11's example: 2 × 5 ms every 100 ms under 10 ms per 100 ms = 100 %.
        let c = caveat(10_000, "periodic:threads=2,work=5ms,every=100ms").expect("caveat");
        assert!(c.starts_with("mean demand is 100 % of the quota"), "{c}");
        assert!(
            c.ends_with("read the throttling and latency figures as indicative"),
            "{c}"
        );
        assert!(caveat(10_000, "periodic:threads=2,work=6ms,every=100ms").is_some()); // 120 %
        assert!(caveat(10_000, "periodic:threads=2,work=4ms,every=100ms").is_none()); // 80 %
        assert!(caveat(10_000, "periodic:threads=2,work=7ms,every=100ms").is_none()); // 140 %
                                                                                      // The reference case (80 % of quota) and unlimited groups get none.
        assert!(caveat(100_000, "periodic:threads=2,work=80ms,every=200ms").is_none());
        assert!(caveat(-1, "periodic:threads=2,work=5ms,every=100ms").is_none());
        assert!(caveat(100_000, "spin:threads=1").is_none());
        // Short periods: the grid's 20 ms and 5 ms scenarios (64 % and 60 % of quota).
        let mut short = limits(10_000);
        short.max.period = PeriodUs(20_000);
        let load = parse_load("periodic:threads=2,work=8ms,every=50ms").expect("load");
        let c = accuracy_caveat(&short, &load).expect("caveat");
        assert!(c.starts_with("the period is 20 ms"), "{c}");
        short.max.period = PeriodUs(25_000);
        assert!(accuracy_caveat(&short, &load).is_none());
        // Both reasons at once.
        short.max.period = PeriodUs(10_000);
        let load = parse_load("periodic:threads=1,work=10ms,every=10ms").expect("load");
        let c = accuracy_caveat(&short, &load).expect("caveat");
        assert!(
            c.contains("100 % of the quota") && c.contains("; and the period is 10 ms"),
            "{c}"
        );
        // A spinner has no latency figures to caveat.
        let spin = parse_load("spin:threads=1").expect("load");
        assert!(accuracy_caveat(&short, &spin).is_none());
    }

    #[test]
    fn the_tick_grid_lands_where_the_kernel_had_it() {
        // An edge seen at 31338.574195477 s (perf, period 20 ms) is 2.195477 ms after a tick;
        // a load 7.4 ms after an edge has its first simulated edge at 12.6 ms, so a tick at
        // 10.404523 ms, and the grid offset is 10.404523 mod 4 ms.
        let off = tick_offset_ns(31_338_574_195_477, 7_400_000, 20_000_000, 4_000_000);
        assert_eq!(off, 2_404_523);
        // An edge on a tick puts a tick on every simulated edge.
        assert_eq!(
            tick_offset_ns(8_000_000, 7_400_000, 20_000_000, 4_000_000),
            600_000
        );
        assert_eq!(tick_offset_ns(1, 0, 0, 4_000_000), 0);
        assert_eq!(tick_offset_ns(1, 0, 20_000_000, 0), 0);
    }

    proptest::proptest! {
        #[test]
        fn tick_offset_keeps_the_measured_distance_from_tick_to_edge(
            edge in 0u64..u64::MAX / 2,
            period_ms in 1u64..1000,
            phase_frac in 0.0f64..1.0,
            hz in proptest::sample::select(vec![100u64, 250, 300, 1000]),
        ) {
            let period = period_ms * 1_000_000;
            let phase = (period as f64 * phase_frac) as u64 % period;
            let tick = 1_000_000_000 / hz;
            let off = tick_offset_ns(edge, phase, period, tick);
            proptest::prop_assert!(off < tick);
            let first_edge = (period - phase) % period;
            // Some simulated tick lies exactly `edge mod tick` before each simulated edge.
            proptest::prop_assert_eq!((first_edge + tick - off % tick) % tick, edge % tick);
        }
    }

    /// A pure compute loop, 10 ms quota per 20 ms period, charged at ticks: whether requests
    /// cross a period edge with runtime left turns on where the ticks fall, so the recorded edge
    /// changes the replay, and on a kernel that does not align its ticks it is ignored.
    #[test]
    fn the_replay_places_ticks_from_the_recorded_edge() {
        let mut l = Limits::default();
        l.max.quota = QuotaUs(10_000);
        l.max.period = PeriodUs(20_000);
        let load = parse_load("periodic:threads=2,work=8ms,every=50ms").expect("load");
        let group = GroupConfig::new("g", l, load);
        let mut machine = runner_machine(2, KernelModel::for_release(Some("6.18.44"), Some(250)));
        machine.accounting = Accounting::Tick;
        let ratio = |machine: &Machine, edge_ns: Option<u64>| {
            let runs = [RunPhase {
                run: 0,
                phase_us: 7_400,
                edge_ns,
            }];
            let measured = MeasuredRuns {
                duration: Nanos(2_000_000_000),
                seed: 1,
                runs: &runs,
            };
            let o = simulate_measured_runs(&group, machine, &measured).expect("simulates");
            o[0].summary.totals.throttled_ratio
        };
        let ratios: Vec<f64> = (0..16)
            .map(|k| ratio(&machine, Some(1_000_000_000 + k * 250_000)))
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &r| (a.min(r), b.max(r)));
        assert!(hi - lo > 0.1, "ratios by tick position: {ratios:?}");
        let mut old = runner_machine(2, KernelModel::for_release(Some("5.15.0"), Some(250)));
        old.accounting = Accounting::Tick;
        for k in [0, 3, 7] {
            let edge = Some(1_000_000_000 + k * 1_000_000);
            assert_eq!(ratio(&old, edge), ratio(&old, None));
        }
    }
}
