//! Pure arithmetic of a measured run: phases, start instants, per-run totals and the summary
//! (pure; no clocks or files — instants are passed in).
//!
//! The figures are the shared schema of [`crate::trace`], so `run --compare` can put measured
//! and simulated numbers side by side field by field.

use crate::cgroupfs::Counters;
use crate::stats::{percentiles_ns, throttled_ratio};
use crate::trace::{RunResult, Summary, Totals};
use crate::units::{Nanos, PeriodUs};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::worker::RequestRecord;
use super::Options;

/// Where each run's load starts inside the quota period (same meaning as in `simulate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseMode {
    /// Uniformly random in `[0, period)`, drawn from the seed (the default).
    Random,
    /// The same offset every run (`--phase`).
    Fixed(Nanos),
    /// Run `i` starts at `i · step` (mod period) (`--phase-sweep`).
    Sweep(Nanos),
}

/// When each run starts and how long it may take (pure).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Number of runs (1 for a command).
    pub runs: u32,
    /// The period grid starts are aligned to (100 ms when nothing has a quota).
    pub period: Nanos,
    /// The phase of each run.
    pub phases: Vec<Nanos>,
    /// Time after the duration in which queued requests may still start.
    pub drain: Nanos,
    /// Load duration per run.
    pub duration: Nanos,
}

impl Schedule {
    /// The schedule of a run whose start grid has `grid_period` (None: no quota anywhere).
    pub fn new(is_command: bool, grid_period: Option<PeriodUs>, opts: &Options) -> Schedule {
        let runs = if is_command { 1 } else { opts.runs.max(1) };
        let period = Nanos::from_us(grid_period.map(|p| p.0).unwrap_or(100_000));
        Schedule {
            runs,
            period,
            phases: phases(opts.phase, runs, period, opts.seed),
            drain: opts
                .drain
                .unwrap_or(Nanos(opts.duration.0.clamp(100_000_000, 10_000_000_000))),
            duration: opts.duration,
        }
    }

    /// Start of run `run`: with a detected period edge, the first `edge + k·period + phase`
    /// (k ≥ 2, so the period timer has gone idle and the pool is full, `cfs.md` corrections
    /// 5–6) at or after `earliest_ns`, and the phase it has, µs; without one, `earliest_ns`.
    pub fn start(&self, run: u32, edge_ns: Option<u64>, earliest_ns: u64) -> (u64, Option<u64>) {
        let Some(edge) = edge_ns else {
            return (earliest_ns, None);
        };
        let phase = self.phases.get(run as usize).copied().unwrap_or_default();
        let start = start_instant(edge, self.period.0, phase.0, 2, earliest_ns);
        let phase_us = (start.saturating_sub(edge) % self.period.0.max(1)) / 1_000;
        (start, Some(phase_us))
    }

    /// How long the load of one run takes after its start: duration plus drain, ns.
    pub fn budget_ns(&self) -> u64 {
        self.duration.0.saturating_add(self.drain.0)
    }
}

/// Number of runs a sweep needs to cover `[0, period)` once.
pub fn sweep_runs(period: Nanos, step: Nanos) -> u32 {
    if step.0 == 0 {
        return 1;
    }
    period.0.div_ceil(step.0).clamp(1, u32::MAX as u64) as u32
}

/// The phase of each run.
pub fn phases(mode: PhaseMode, runs: u32, period: Nanos, seed: u64) -> Vec<Nanos> {
    let p = period.0.max(1);
    match mode {
        PhaseMode::Fixed(d) => vec![Nanos(d.0 % p); runs as usize],
        PhaseMode::Sweep(step) => (0..runs as u64)
            .map(|i| Nanos(i.saturating_mul(step.0) % p))
            .collect(),
        PhaseMode::Random => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7068_6173_6573); // "phases"
                                                                              // Whole microseconds: the runner cannot place a start more finely than that anyway.
            (0..runs)
                .map(|_| Nanos(rng.random_range(0..p.div_ceil(1_000)) * 1_000))
                .collect()
        }
    }
}

/// The first instant `edge + k·period + phase` (k ≥ `min_periods`) that is at least `earliest`.
pub fn start_instant(
    edge_ns: u64,
    period_ns: u64,
    phase_ns: u64,
    min_periods: u64,
    earliest_ns: u64,
) -> u64 {
    let p = period_ns.max(1);
    let mut k = min_periods;
    let base = edge_ns + phase_ns % p;
    if earliest_ns > base + k * p {
        k = (earliest_ns - base).div_ceil(p);
    }
    base + k * p
}

/// Latency (scheduled → end) and wake-up (scheduled → start) samples of a run, ns.
pub fn latencies(records: &[RequestRecord]) -> (Vec<u64>, Vec<u64>) {
    records
        .iter()
        .map(|r| {
            (
                r.end_ns.saturating_sub(r.scheduled_ns),
                r.start_ns.saturating_sub(r.scheduled_ns),
            )
        })
        .unzip()
}

/// Totals of one run from the counters before and after it.
pub fn run_totals(
    before: &Counters,
    after: &Counters,
    wall_ns: u64,
    records: &[RequestRecord],
) -> Totals {
    let d = after.stat.delta(&before.stat);
    let usage_us = after.usage_us.saturating_sub(before.usage_us);
    let (lat, wake) = latencies(records);
    Totals {
        nr_periods: d.nr_periods,
        nr_throttled: d.nr_throttled,
        throttled_ratio: throttled_ratio(d.nr_throttled, d.nr_periods),
        throttled_time_us: d.throttled_time_us,
        nr_bursts: d.nr_bursts,
        burst_time_us: d.burst_time_us,
        usage_cores: if wall_ns == 0 {
            0.0
        } else {
            usage_us as f64 * 1e3 / wall_ns as f64
        },
        latency: percentiles_ns(&lat),
        wakeup: percentiles_ns(&wake),
    }
}

/// Aggregates runs: counters summed (ratio recomputed from the sums), usage averaged,
/// percentiles over every request of every run.
pub fn summarize(per_run: Vec<RunResult>, records: &[Vec<RequestRecord>]) -> Summary {
    let all: Vec<RequestRecord> = records.iter().flatten().copied().collect();
    let (lat, wake) = latencies(&all);
    crate::stats::aggregate(
        per_run,
        &lat.into_iter().collect(),
        &wake.into_iter().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::CpuStat;
    use proptest::prelude::*;

    fn c(periods: u64, thr: u64, thr_us: u64, usage_us: u64) -> Counters {
        Counters {
            stat: CpuStat {
                nr_periods: periods,
                nr_throttled: thr,
                throttled_time_us: thr_us,
                ..Default::default()
            },
            usage_us,
            ..Default::default()
        }
    }

    fn req(s: u64, b: u64, e: u64) -> RequestRecord {
        RequestRecord {
            thread: 0,
            scheduled_ns: s,
            start_ns: b,
            end_ns: e,
            cpu_ns: e - b,
        }
    }

    #[test]
    fn totals_from_counter_deltas() {
        let t = run_totals(
            &c(2, 0, 0, 1000),
            &c(22, 20, 1_000_000, 1_001_000),
            2_000_000_000,
            &[req(0, 1_000_000, 81_000_000)],
        );
        assert_eq!(
            (t.nr_periods, t.nr_throttled, t.throttled_time_us),
            (20, 20, 1_000_000)
        );
        assert_eq!(t.throttled_ratio, 1.0);
        assert!((t.usage_cores - 0.5).abs() < 1e-12);
        assert_eq!(t.latency.p50_ms, 81.0);
        assert_eq!(t.wakeup.max_ms, 1.0);
    }

    #[test]
    fn summary_sums_and_averages() {
        let r = |run, thr, usage| RunResult {
            run,
            phase_us: 0,
            totals: Totals {
                nr_periods: 10,
                nr_throttled: thr,
                usage_cores: usage,
                ..Default::default()
            },
        };
        let s = summarize(
            vec![r(0, 0, 0.4), r(1, 5, 0.6)],
            &[vec![req(0, 0, 2_000_000)], vec![req(0, 0, 4_000_000)]],
        );
        assert_eq!((s.runs, s.runs_throttled), (2, 1));
        assert_eq!(s.totals.throttled_ratio, 0.25);
        assert!((s.totals.usage_cores - 0.5).abs() < 1e-12);
        assert_eq!(s.totals.latency.count, 2);
        assert_eq!(s.totals.latency.max_ms, 4.0);
    }

    #[test]
    fn phase_modes() {
        let p = Nanos::from_ms(100);
        assert_eq!(
            phases(PhaseMode::Fixed(Nanos::from_ms(130)), 2, p, 0),
            vec![Nanos::from_ms(30); 2]
        );
        let sw = phases(
            PhaseMode::Sweep(Nanos::from_ms(5)),
            sweep_runs(p, Nanos::from_ms(5)),
            p,
            0,
        );
        assert_eq!(sw.len(), 20);
        assert_eq!(sw[19], Nanos::from_ms(95));
        assert_eq!(sweep_runs(p, Nanos::from_ms(30)), 4);
        let r = phases(PhaseMode::Random, 50, p, 7);
        assert_eq!(r, phases(PhaseMode::Random, 50, p, 7));
        assert!(r.iter().all(|x| x.0 < p.0 && x.0 % 1_000 == 0));
        assert_ne!(r, phases(PhaseMode::Random, 50, p, 8));
    }

    #[test]
    fn schedule_of_loads_and_commands() {
        let opts = Options {
            runs: 4,
            phase: PhaseMode::Fixed(Nanos::from_ms(30)),
            duration: Nanos::from_ms(50),
            ..Options::default()
        };
        let s = Schedule::new(false, Some(PeriodUs(200_000)), &opts);
        assert_eq!(
            (s.runs, s.period, s.phases.len()),
            (4, Nanos::from_ms(200), 4)
        );
        // The drain is the duration, clamped to at least 100 ms.
        assert_eq!(s.drain, Nanos::from_ms(100));
        assert_eq!(s.budget_ns(), 150_000_000);
        let edge = 1_000_000_000;
        // k ≥ 2 periods after the edge, at the 30 ms phase.
        assert_eq!(
            s.start(0, Some(edge), edge),
            (edge + 430_000_000, Some(30_000))
        );
        assert_eq!(
            s.start(1, Some(edge), edge + 500_000_000),
            (edge + 630_000_000, Some(30_000))
        );
        assert_eq!(s.start(2, None, 77), (77, None));
        let c = Schedule::new(true, None, &opts);
        assert_eq!((c.runs, c.period), (1, Nanos::from_ms(100)));
    }

    proptest! {
        #[test]
        fn start_is_on_the_grid_after_the_lead(edge in 0u64..1_000_000_000, period in 1_000_000u64..1_000_000_000,
                                               phase in 0u64..1_000_000_000, minp in 0u64..4, lead in 0u64..5_000_000_000) {
            let earliest = edge + lead;
            let s = start_instant(edge, period, phase, minp, earliest);
            prop_assert!(s >= earliest);
            prop_assert!(s >= edge + minp * period + phase % period);
            prop_assert_eq!((s - edge) % period, phase % period);
            // The first such instant: one period earlier is too early or below min_periods.
            let prev = s.checked_sub(period);
            prop_assert!(prev.is_none_or(|p| p < earliest || p < edge + minp * period + phase % period));
        }
    }
}
