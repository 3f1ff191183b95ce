//! Analytic and reference checks of the simulator (cfs.md §6.5, §4, §1.2).

use super::*;
use crate::units::{Nanos, PeriodUs, QuotaUs, Usec};

fn ms(v: u64) -> Nanos {
    Nanos::from_ms(v)
}

fn limits(quota_ms: i64, period_ms: u64, burst_ms: u64) -> Limits {
    Limits {
        quota: if quota_ms < 0 { QuotaUs::UNLIMITED } else { QuotaUs(quota_ms * 1000) },
        period: PeriodUs(period_ms * 1000),
        burst: Usec(burst_ms * 1000),
        weight: CpuWeight::default(),
    }
}

#[test]
#[ignore]
fn explore() {
    let load = load::parse_load("periodic:threads=2,work=80ms,every=200ms").unwrap();
    for hz in [1000u32, 250] {
        let mut m = Machine::new(2);
        m.hz = hz;
        let mut plan = RunPlan::new(ms(10_000), 1, 1);
        plan.phase = Phase::Sweep(ms(1));
        let o = simulate_container("c", limits(100, 100, 0), &load, None, &m, &plan).unwrap();
        let s = &o.summary;
        println!("hz {hz}: runs throttled {}/{} ratio {:.3} p50 {:.1} p99 {:.1}", s.runs_throttled, s.runs, s.totals.throttled_ratio, s.totals.latency.p50_ms, s.totals.latency.p99_ms);
        let mean_extra: f64 = s.per_run.iter().map(|r| r.totals.latency.max_ms - 80.0).sum::<f64>() / s.runs as f64;
        println!("mean extra (max per run) {mean_extra:.2}");
        for r in s.per_run.iter().step_by(5) {
            println!("  phase {} thr {}/{} p50 {:.2} max {:.2} usage {:.3}", r.phase_us, r.totals.nr_throttled, r.totals.nr_periods, r.totals.latency.p50_ms, r.totals.latency.max_ms, r.totals.usage_cores);
        }
    }
}
