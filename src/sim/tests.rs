//! Analytic and reference checks of the simulator: cfs.md §1.2 (hand-checked vector), §6.5
//! (analytic checks), §4 (reference rows R1–R7) and properties (proptest).
//!
//! Tolerances come from the documents, not from the simulator's output: §6.6 gives "usage ± 2 %;
//! throttle ratio ± 5 percentage points; throttled_usec ± (1 tick × busy CPUs × nr_throttled) +
//! 5 %; p50 ± max(1 tick, 5 %); p99 ± max(2 ticks, 15 %)", §6.5 bounds the slice/tick deviation
//! from the fluid model by `n_cpus·(slice + 1 tick) + B`.

use super::*;
use crate::units::{Nanos, PeriodUs, QuotaUs, Usec};
use load::parse_load;
use proptest::prelude::*;

const MS: u64 = 1_000_000;

fn ms(v: u64) -> Nanos {
    Nanos::from_ms(v)
}

fn limits(quota_ms: i64, period_ms: u64, burst_ms: u64) -> Limits {
    Limits {
        max: CpuMax {
            quota: if quota_ms < 0 {
                QuotaUs::UNLIMITED
            } else {
                QuotaUs(quota_ms * 1000)
            },
            period: PeriodUs(period_ms * 1000),
        },
        burst: Usec(burst_ms * 1000),
        weight: CpuShare::default(),
    }
}

fn machine(cpus: u32, hz: u32) -> Machine {
    let mut m = Machine::new(cpus);
    m.hz = hz;
    m
}

fn one(l: Limits, load: &str, m: &Machine, plan: &RunPlan) -> GroupOutcome {
    simulate_container("c", l, &parse_load(load).unwrap(), None, m, plan).unwrap()
}

fn sweep_plan(duration_ms: u64, step_ms: u64) -> RunPlan {
    let mut p = RunPlan::new(ms(duration_ms), 1, 1);
    p.phase = Phase::Sweep(ms(step_ms));
    p
}

fn fixed_plan(duration_ms: u64, phase_ms: u64) -> RunPlan {
    let mut p = RunPlan::new(ms(duration_ms), 1, 1);
    p.phase = Phase::Fixed(ms(phase_ms));
    p.tick_offset = Some(Nanos(0));
    p
}

fn within(x: f64, lo: f64, hi: f64) -> bool {
    (lo..=hi).contains(&x)
}

// ---------------------------------------------------------------------------------------------
// §1.2 hand-checked vector

#[test]
fn hand_checked_vector_of_section_1_2() {
    // slice 5 ms, HZ=250 (ticks every 4 ms from t=0), quota 10 ms / period 100 ms, one CPU-bound
    // thread, full pool at t=0: throttled at 12 ms having used 12 ms; at 100 ms nr_periods=1,
    // nr_throttled=1, throttled_time=88 ms. Checked with the pre-6.18 silo start (0: pull at
    // enqueue) and the 6.18 one (1 ns: pull at the first tick); both give the same vector.
    for initial in [0, 1] {
        let mut m = machine(1, 250);
        m.initial_silo_ns = initial;
        let mut plan = fixed_plan(101, 0);
        plan.timeline = Some(ms(1));
        let o = one(limits(10, 100, 0), "spin:threads=1", &m, &plan);
        let t = o.timeline.as_ref().unwrap();
        let usage_at = |t_ms: u64| {
            t.samples
                .iter()
                .find(|s| s.t_ns == t_ms * MS)
                .unwrap()
                .usage_us
        };
        assert_eq!(usage_at(11), 11_000);
        assert_eq!(usage_at(12), 12_000, "throttled at 12 ms, 2 ms over quota");
        assert_eq!(usage_at(99), 12_000);
        let s = &o.summary.per_run[0].totals;
        assert_eq!(s.nr_periods, 1);
        assert_eq!(s.nr_throttled, 1);
        assert_eq!(s.throttled_time_us, 88_000);
        // After the edge the 2 ms debt is repaid and the thread runs again (13 ms at 101 ms).
        assert_eq!(usage_at(101), 13_000);
    }
}

// ---------------------------------------------------------------------------------------------
// §6.5 analytic checks

#[test]
fn one_spinner_at_half_quota_uses_half_a_cpu_and_is_throttled_every_period() {
    // R1 / §6.5: usage 0.500 ± 1 %, nr_throttled = nr_periods, throttled_usec/wall ≈ 0.5.
    for hz in [100, 250, 1000, 0] {
        // 30 s: the window starts with a full pool, a start-up bias of Q/T ≤ 0.17 %.
        let o = one(
            limits(50, 100, 0),
            "spin:threads=1",
            &machine(2, hz),
            &RunPlan::new(ms(30_000), 8, 7),
        );
        for r in &o.summary.per_run {
            let t = &r.totals;
            assert!(
                within(t.usage_cores, 0.495, 0.505),
                "hz {hz}: usage {}",
                t.usage_cores
            );
            // Every period ends throttled except possibly the first, partial one: a load that
            // starts less than Q before an edge cannot use Q before it (R1: ratio ≥ 0.98).
            assert!(
                t.nr_periods - t.nr_throttled <= 1,
                "hz {hz} phase {}: {t:?}",
                r.phase_us
            );
            let per_period = t.throttled_time_us as f64 / t.nr_throttled as f64;
            // k·P − Q = 50 ms per period, ± one tick (§6.6 throttled_usec tolerance) + 5 %.
            let tick_us = if hz == 0 { 0.0 } else { 1e6 / hz as f64 };
            assert!(
                (per_period - 50_000.0).abs() <= tick_us + 2_500.0,
                "hz {hz}: {per_period}"
            );
        }
    }
}

#[test]
fn k_spinners_use_the_quota_and_wait_k_p_minus_q() {
    // §6.5: k = min(threads, cpus) CPU-bound threads, Q < k·P: usage per period = Q, throttled
    // time per period = k·P − Q, ratio → 1. R2 (2 threads, 100/100), R3 (2 threads, 150/100) and
    // 4 threads on 2 CPUs (k = 2).
    for (quota, threads, cpus, k) in [
        (100, 2, 2, 2),
        (150, 2, 2, 2),
        (100, 4, 2, 2),
        (250, 3, 4, 3),
    ] {
        let load = format!("spin:threads={threads}");
        let o = one(
            limits(quota, 100, 0),
            &load,
            &machine(cpus, 250),
            &RunPlan::new(ms(10_000), 4, 3),
        );
        let t = &o.summary.totals;
        let q = quota as f64 / 100.0;
        assert!(
            within(t.usage_cores, q * 0.99, q * 1.01),
            "{load} q {quota}: usage {}",
            t.usage_cores
        );
        assert!(t.throttled_ratio >= 0.98, "ratio {}", t.throttled_ratio);
        let per_period_ms = t.throttled_time_us as f64 / 1e3 / t.nr_throttled as f64;
        let want = (k * 100 - quota) as f64;
        // ± 1 tick × busy CPUs (§6.6) + 5 %.
        let tol = 4.0 * k as f64 + want * 0.05;
        assert!(
            (per_period_ms - want).abs() <= tol,
            "{load} q {quota}: {per_period_ms} vs {want}"
        );
    }
}

#[test]
fn quota_above_demand_never_throttles() {
    // §6.5: quota ≥ demand → no throttling. Periodic 2×20 ms per 100 ms under 100/100 at every
    // phase; R4 (5 ms burn per second under 20/100, P4): every burn takes exactly 5 ms; one
    // spinner under a 2-CPU quota cannot reach its quota.
    let o = one(
        limits(100, 100, 0),
        "periodic:threads=2,work=20ms,every=100ms",
        &machine(2, 250),
        &sweep_plan(5_000, 5),
    );
    assert_eq!(o.summary.runs_throttled, 0);
    assert_eq!(o.summary.totals.nr_throttled, 0);
    let r4 = one(
        limits(20, 100, 0),
        "periodic:threads=1,work=5ms,every=1s",
        &machine(2, 250),
        &sweep_plan(20_000, 10),
    );
    assert_eq!(r4.summary.totals.nr_throttled, 0);
    assert_eq!(r4.summary.totals.latency.max_ms, 5.0);
    let spin = one(
        limits(200, 100, 0),
        "spin:threads=1",
        &machine(2, 250),
        &RunPlan::new(ms(5_000), 4, 1),
    );
    assert_eq!(spin.summary.totals.nr_throttled, 0);
    assert!(within(spin.summary.totals.usage_cores, 0.999, 1.0));
}

#[test]
fn burst_covering_the_overshoot_never_throttles() {
    // §6.5 / R5b: 2×80 ms every 200 ms needs 160 ms per 200 ms; with burst 100 ms the pool
    // saturates at 200 ms, so no phase throttles and every request takes exactly 80 ms.
    let o = one(
        limits(100, 100, 100),
        "periodic:threads=2,work=80ms,every=200ms",
        &machine(2, 1000),
        &sweep_plan(8_000, 2),
    );
    assert_eq!(o.summary.runs_throttled, 0);
    assert_eq!(o.summary.totals.latency.max_ms, 80.0);
    // With the whole burst inside one period (phase 0: 160 ms in the first period), burst_usec per
    // cycle = 160 − 100 = 60 ms (R5b), give or take one slice per CPU of carried silo runtime.
    let p0 = &o.summary.per_run[0];
    assert_eq!(p0.phase_us, 0);
    let cycles = 8_000 / 200;
    let per_cycle_ms = p0.totals.burst_time_us as f64 / 1e3 / p0.totals.nr_bursts as f64;
    assert_eq!(p0.totals.nr_bursts, cycles);
    assert!((per_cycle_ms - 60.0).abs() <= 2.0 * 5.0, "{per_cycle_ms}");
}

#[test]
fn burst_counters_move_where_plain_quota_throttles() {
    // R5b: "nr_bursts increments in the same phases that R5 throttles". Near the fluid boundaries
    // (φ = 50 and 70 ms) slices and ticks shift the switch by up to n_cpus·(slice + tick) of
    // runtime, i.e. (2·(5+1))/2 = 6 ms of phase at two threads; those phases are not compared.
    let m = machine(2, 1000);
    let load = "periodic:threads=2,work=80ms,every=200ms";
    let plain = one(limits(100, 100, 0), load, &m, &sweep_plan(4_000, 2));
    let burst = one(limits(100, 100, 100), load, &m, &sweep_plan(4_000, 2));
    let mut compared = 0;
    for (a, b) in plain.summary.per_run.iter().zip(&burst.summary.per_run) {
        let phi = a.phase_us as f64 / 1e3;
        if [0.0, 50.0, 70.0, 100.0]
            .iter()
            .any(|edge| (phi - edge).abs() <= 6.0)
        {
            continue;
        }
        compared += 1;
        assert_eq!(
            a.totals.nr_throttled > 0,
            b.totals.nr_bursts > 0,
            "phase {phi} ms"
        );
    }
    assert!(compared >= 25, "{compared}");
}

#[test]
fn job_completion_time_matches_the_fluid_formula() {
    // §6.5: a job of D CPU-ms split over k threads, starting at a period edge with pool A = Q:
    // n = ceil(D/Q) − 1, L = n·P + (D − n·Q)/k. D = 250 ms, k = 2, Q = P = 100 ms → L = 225 ms.
    // With burst B = 50 ms and an idle history the first period offers Q + B: L = 100 + 50 = 150.
    // Exact mode (no tick); the slice granularity shifts the split between the two threads by at
    // most one slice per CPU, i.e. L ± 5 ms.
    let m = machine(2, 0);
    let plan = fixed_plan(1_000, 0);
    let o = one(
        limits(100, 100, 0),
        "periodic:threads=2,work=125ms,every=1s",
        &m,
        &plan,
    );
    let l = o.summary.totals.latency.max_ms;
    assert!((l - 225.0).abs() <= 5.0, "L = {l}");
    let b = one(
        limits(100, 100, 50),
        "periodic:threads=2,work=125ms,every=1s",
        &m,
        &plan,
    );
    let lb = b.summary.totals.latency.max_ms;
    assert!((lb - 150.0).abs() <= 5.0, "L with burst = {lb}");
    // Unthrottled: D/k.
    let u = one(
        limits(-1, 100, 0),
        "periodic:threads=2,work=125ms,every=1s",
        &m,
        &plan,
    );
    assert_eq!(u.summary.totals.latency.max_ms, 125.0);
}

/// Fluid extra completion latency of R5 (cfs.md §4): 50 − φ for φ ≤ 50, 0 for 50 < φ ≤ 70,
/// 50 for φ > 70 (ms).
fn r5_fluid_extra(phi_ms: f64) -> f64 {
    if phi_ms <= 50.0 {
        50.0 - phi_ms
    } else if phi_ms <= 70.0 {
        0.0
    } else {
        50.0
    }
}

#[test]
fn r5_phase_curve_follows_the_fluid_model() {
    // cfs.md §4 R5: extra completion latency against phase. Away from the fluid breakpoints the
    // slice/tick model may differ from the fluid one by the runtime a group can hold beyond the
    // pool, n_cpus·(slice + 1 tick) = 2·(5 + 1) = 12 ms, spread over 2 threads → 6 ms, plus one
    // tick of throttle latency: 7 ms.
    let o = one(
        limits(100, 100, 0),
        "periodic:threads=2,work=80ms,every=200ms",
        &machine(2, 1000),
        &sweep_plan(4_000, 1),
    );
    let mut checked = 0;
    for r in &o.summary.per_run {
        let phi = r.phase_us as f64 / 1e3;
        if [0.0, 50.0, 70.0, 100.0]
            .iter()
            .any(|b| (phi - b).abs() <= 7.0)
        {
            continue;
        }
        let extra = r.totals.latency.max_ms - 80.0;
        assert!(
            (extra - r5_fluid_extra(phi)).abs() <= 7.0,
            "phase {phi}: extra {extra}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "{checked}");
}

// ---------------------------------------------------------------------------------------------
// §4 reference case (R5/R5b) against the published and model figures

/// The R5 figures the report quotes: (runs throttled fraction, ratio, p50, p99) over a 1 ms
/// phase sweep.
fn r5_sweep(hz: u32, burst_ms: u64) -> Summary {
    one(
        limits(100, 100, burst_ms),
        "periodic:threads=2,work=80ms,every=200ms",
        &machine(2, hz),
        &sweep_plan(10_000, 1),
    )
    .summary
}

#[test]
fn reference_case_r5_matches_the_documented_models() {
    // cfs.md §4 R5 (2 threads × 80 ms every 200 ms, 100 ms/100 ms, 2 CPUs):
    //  - fluid model: 80 % of phases throttled, mean extra 27.5 ms, p50 = 110 ms (median of
    //    80 + extra with extra uniform on [0, 50] for φ ≤ 50 (mass 0.5), 0 on (50, 70], 50 on
    //    (70, 100)), p99 = 130 ms;
    //  - the doc's slice/tick model: 73 % of phases throttled, extra ≤ 49 ms, mean extra 24 ms
    //    (HZ=1000) / 21 ms (HZ=250); with the same shape that puts p50 near 80 + 23 = 103 ms;
    //  - published P1: 8 of 10 runs throttled.
    // Accepted: between the two models, widened by the §6.6 tolerances (throttle fraction ± 5
    // percentage points; p50 ± max(1 tick, 5 %); p99 ± max(2 ticks, 15 %)); mean extra between
    // 21 and 27.5 ms widened by one HZ=250 tick (4 ms).
    for hz in [1000, 250] {
        let s = r5_sweep(hz, 0);
        let frac = s.runs_throttled as f64 / s.runs as f64;
        assert!(
            within(frac, 0.73 - 0.05, 0.80 + 0.05),
            "hz {hz}: throttled phases {frac}"
        );
        let p50 = s.totals.latency.p50_ms;
        assert!(
            within(p50, 103.0 * 0.95, 110.0 * 1.05),
            "hz {hz}: p50 {p50}"
        );
        let p99 = s.totals.latency.p99_ms;
        assert!(
            within(p99, 129.0 * 0.85, 130.0 * 1.15),
            "hz {hz}: p99 {p99}"
        );
        assert!(
            p99 <= 80.0 + 50.0 + 2.0 * 1000.0 / hz as f64,
            "hz {hz}: extra beyond one period: {p99}"
        );
        let mean_extra = s
            .per_run
            .iter()
            .map(|r| r.totals.latency.max_ms - 80.0)
            .sum::<f64>()
            / s.runs as f64;
        assert!(
            within(mean_extra, 21.0 - 4.0, 27.5 + 4.0),
            "hz {hz}: mean extra {mean_extra}"
        );
        // Each throttled phase is throttled once per 200 ms cycle (2 periods): ratio ≈ 0.5 there.
        for r in s
            .per_run
            .iter()
            .filter(|r| r.totals.nr_throttled > 0 && r.totals.latency.max_ms > 90.0)
        {
            assert!(
                within(r.totals.throttled_ratio, 0.45, 0.55),
                "hz {hz} phase {}: {}",
                r.phase_us,
                r.totals.throttled_ratio
            );
        }
        // With 100 ms burst: no throttling at any phase, every request 80 ms.
        let b = r5_sweep(hz, 100);
        assert_eq!(b.runs_throttled, 0);
        assert_eq!(b.totals.latency.p99_ms, 80.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Weights (R7, R7b) and the R6 shape

fn node(groups: Vec<(&str, Limits, &str)>, cpus: u32, duration_ms: u64) -> Vec<GroupOutcome> {
    let groups: Vec<GroupConfig> = groups
        .into_iter()
        .map(|(n, l, load)| GroupConfig::new(n, l, parse_load(load).unwrap()))
        .collect();
    simulate_node(
        &groups,
        &machine(cpus, 250),
        &RunPlan::new(ms(duration_ms), 3, 5),
    )
    .unwrap()
}

fn weighted(w: u64) -> Limits {
    Limits {
        weight: CpuShare::Weight(crate::units::Weight(w)),
        ..limits(-1, 100, 0)
    }
}

#[test]
fn weights_split_cpu_time_r7() {
    // R7: A cpu.weight 100, B 300, 2 spinners each, no quota, 2 CPUs: A 0.50, B 1.50 (± 5 %).
    let o = node(
        vec![
            ("a", weighted(100), "spin:threads=2"),
            ("b", weighted(300), "spin:threads=2"),
        ],
        2,
        5_000,
    );
    let (a, b) = (
        o[0].summary.totals.usage_cores,
        o[1].summary.totals.usage_cores,
    );
    assert!(within(a, 0.475, 0.525), "A {a}");
    assert!(within(b, 1.425, 1.575), "B {b}");
}

#[test]
fn balancer_evens_out_load_r7b() {
    // R7b: A 1 spinner, B 2 spinners, equal weights: A 1.00, B 1.00 after balancing (± 5 %).
    let o = node(
        vec![
            ("a", weighted(100), "spin:threads=1"),
            ("b", weighted(100), "spin:threads=2"),
        ],
        2,
        5_000,
    );
    let (a, b) = (
        o[0].summary.totals.usage_cores,
        o[1].summary.totals.usage_cores,
    );
    assert!(within(a, 0.95, 1.05), "A {a}");
    assert!(within(b, 0.95, 1.05), "B {b}");
}

#[test]
fn quota_and_weight_together() {
    // A limited group cannot take more than its quota even with idle CPUs, and the unlimited
    // sibling takes the rest (work conservation): A quota 0.5 CPU with 2 spinners, B 2 spinners.
    let o = node(
        vec![
            ("a", limits(50, 100, 0), "spin:threads=2"),
            ("b", weighted(100), "spin:threads=2"),
        ],
        2,
        5_000,
    );
    let (a, b) = (
        o[0].summary.totals.usage_cores,
        o[1].summary.totals.usage_cores,
    );
    assert!(within(a, 0.49, 0.51), "A {a}");
    assert!(within(b, 1.47, 1.51), "B {b}");
}

#[test]
fn r6_more_workers_than_quota_shape() {
    // R6: Poisson 800 req/s × 1 ms under 100/100: one worker cannot exceed 1 CPU (nr_throttled ≈
    // 0); with N ≥ 2 workers throttling appears and p50 falls (no queueing behind one worker),
    // while the worst case grows with N (P5 shape). At 80 % load a single worker's queueing delay
    // dominates p99, so p99 is compared among N ≥ 2 only through the maximum.
    let m = machine(2, 250);
    let plan = RunPlan::new(ms(20_000), 2, 11);
    let run = |n: u32| {
        one(
            limits(100, 100, 0),
            &format!("poisson:rate=800/s,work=1ms,threads={n}"),
            &m,
            &plan,
        )
        .summary
        .totals
    };
    let (n1, n2, n8) = (run(1), run(2), run(8));
    assert_eq!(n1.nr_throttled, 0);
    assert!(n2.nr_throttled > 0 && n8.nr_throttled > 0);
    assert!(n2.latency.p50_ms < n1.latency.p50_ms && n8.latency.p50_ms < n1.latency.p50_ms);
    assert!(
        n8.latency.max_ms > n2.latency.max_ms,
        "max {} vs {}",
        n8.latency.max_ms,
        n2.latency.max_ms
    );
    // Usage equals the offered load (0.8) whatever N, up to the backlog left at the end.
    for t in [&n1, &n2, &n8] {
        assert!(within(t.usage_cores, 0.78, 0.82), "{}", t.usage_cores);
    }
}

// ---------------------------------------------------------------------------------------------
// Cgroup writes during a run (tg_set_cfs_bandwidth semantics, cfs.md §1.1 and correction 5)

fn with_changes(
    l: Limits,
    load: &str,
    changes: Vec<(u64, Limits)>,
    plan: &RunPlan,
) -> GroupOutcome {
    let mut g = GroupConfig::new("c", l, parse_load(load).unwrap());
    g.changes = changes
        .into_iter()
        .map(|(at, limits)| LimitChange { at: ms(at), limits })
        .collect();
    let mut out = simulate_node(&[g], &machine(2, 250), plan).unwrap();
    out.pop().unwrap()
}

fn usage_between(o: &GroupOutcome, from_ms: u64, to_ms: u64) -> f64 {
    let s = &o.timeline.as_ref().unwrap().samples;
    let at = |t: u64| s.iter().find(|x| x.t_ns == t * MS).unwrap().usage_us as f64;
    (at(to_ms) - at(from_ms)) / 1e3 / (to_ms - from_ms) as f64
}

#[test]
fn quota_writes_apply_mid_run() {
    let mut plan = fixed_plan(10_000, 30);
    plan.timeline = Some(ms(100));
    // 0.2 CPU, then no limit, then 0.5 CPU: a spinning thread follows each value; the counters
    // stop while the group is unlimited and resume after.
    let o = with_changes(
        limits(20, 100, 0),
        "spin:threads=1",
        vec![(3_000, limits(-1, 100, 0)), (6_000, limits(50, 100, 0))],
        &plan,
    );
    let (a, b, c) = (
        usage_between(&o, 1_000, 3_000),
        usage_between(&o, 3_100, 6_000),
        usage_between(&o, 7_000, 10_000),
    );
    assert!(within(a, 0.19, 0.21), "{a}");
    assert!(within(b, 0.99, 1.0), "{b}");
    assert!(within(c, 0.49, 0.51), "{c}");
    let samples = &o.timeline.as_ref().unwrap().samples;
    let periods_at = |t: u64| {
        samples
            .iter()
            .find(|x| x.t_ns == t * MS)
            .unwrap()
            .nr_periods
    };
    assert_eq!(
        periods_at(4_000),
        periods_at(6_000),
        "no periods counted without a limit"
    );
    assert!(periods_at(10_000) >= periods_at(6_000) + 39);
}

#[test]
fn a_write_unthrottles_at_once() {
    // "Any updates to a group's bandwidth specification will result in it becoming unthrottled"
    // (sched-bwc.rst): quota 10 ms/100 ms, throttled at 12 ms; writing the same value at 50 ms
    // refills the pool (pool + quota, capped) and releases the thread before the 100 ms edge.
    let mut plan = fixed_plan(99, 0);
    plan.timeline = Some(ms(1));
    let o = with_changes(
        limits(10, 100, 0),
        "spin:threads=1",
        vec![(50, limits(10, 100, 0))],
        &plan,
    );
    let s = &o.timeline.as_ref().unwrap().samples;
    let at = |t: u64| s.iter().find(|x| x.t_ns == t * MS).unwrap().usage_us;
    assert_eq!(at(49), at(30), "throttled before the write");
    assert!(
        at(70) >= at(49) + 10_000,
        "runs again after the write: {} -> {}",
        at(49),
        at(70)
    );
    assert_eq!(
        o.summary.per_run[0].totals.nr_throttled, 0,
        "no edge passed while throttled"
    );
    assert!(o.summary.per_run[0].totals.throttled_time_us > 30_000);
}

// ---------------------------------------------------------------------------------------------
// Validation and determinism

#[test]
fn rejects_values_the_kernel_rejects() {
    let m = machine(2, 250);
    let plan = RunPlan::new(ms(1_000), 1, 1);
    let load = parse_load("spin:threads=1").unwrap();
    for (l, why) in [
        (limits(100, 2_000, 0), "period"),
        (limits(100, 0, 0), "period"),
        (
            Limits {
                max: CpuMax {
                    quota: QuotaUs(500),
                    period: PeriodUs(100_000),
                },
                ..limits(1, 100, 0)
            },
            "quota",
        ),
        (limits(50, 100, 60), "burst"),
        (limits(-1, 100, 10), "burst"),
        (
            Limits {
                weight: CpuShare::Weight(crate::units::Weight(0)),
                ..limits(50, 100, 0)
            },
            "weight",
        ),
        (
            Limits {
                weight: CpuShare::Shares(crate::units::Shares(1)),
                ..limits(50, 100, 0)
            },
            "shares",
        ),
    ] {
        let e = simulate_container("c", l, &load, None, &m, &plan).unwrap_err();
        assert!(e.to_string().contains(why), "{e} should mention {why}");
    }
    assert!(simulate_container(
        "c",
        limits(50, 100, 0),
        &load,
        None,
        &machine(0, 250),
        &plan
    )
    .is_err());
    let mut bad = plan.clone();
    bad.phase = Phase::Fixed(ms(100));
    assert!(simulate_container("c", limits(50, 100, 0), &load, None, &m, &bad).is_err());
    let trace = parse_load("trace:x.csv").unwrap();
    assert!(simulate_container("c", limits(50, 100, 0), &trace, None, &m, &plan).is_err());
}

#[test]
fn trace_load_replays_rows() {
    let rows = load::parse_trace_csv("0ms,10ms\n100ms,30ms\n").unwrap();
    let o = simulate_container(
        "c",
        limits(20, 100, 0),
        &parse_load("trace:t.csv").unwrap(),
        Some(rows),
        &machine(1, 0),
        &fixed_plan(1_000, 0),
    )
    .unwrap();
    let t = &o.summary.totals;
    assert_eq!(t.latency.count, 2);
    // 10 ms fits; 30 ms at φ = 0 in the second period: 20 ms (the pool minus nothing carried…
    // the first request left 1 ms in its silo), throttled, rest after the next edge.
    let lat = o.latencies_ns.exact().unwrap();
    assert_eq!(lat[0], 10 * MS);
    assert!(lat[1] > 100 * MS, "{}", lat[1]);
}

#[test]
fn kernel_weights() {
    assert_eq!(
        CpuShare::Weight(crate::units::Weight(100)).kernel_weight(),
        1024
    );
    assert_eq!(
        CpuShare::Weight(crate::units::Weight(1)).kernel_weight(),
        10
    );
    assert_eq!(
        CpuShare::Weight(crate::units::Weight(39)).kernel_weight(),
        399
    );
    assert_eq!(CpuShare::Shares(crate::units::Shares(2)).kernel_weight(), 2);
    assert_eq!(default_quantum(1), Nanos(750_000));
    assert_eq!(default_quantum(2), Nanos(1_500_000));
    assert_eq!(default_quantum(64), Nanos(3_000_000));
}

// ---------------------------------------------------------------------------------------------
// Properties

fn arb_case() -> impl Strategy<Value = (Limits, String, u32, u32, u64)> {
    (
        1u64..=50,  // period in 10 ms steps (10..500 ms)
        1u64..=300, // quota as % of period (0.01..3 CPUs)
        0u64..=100, // burst as % of quota
        1u32..=4,   // cpus
        prop_oneof![Just(0u32), Just(100), Just(250), Just(1000)],
        prop_oneof![
            (1u32..=6).prop_map(|t| format!("spin:threads={t}")),
            (1u32..=4, 1u64..=60, 20u64..=300)
                .prop_map(|(t, w, e)| format!("periodic:threads={t},work={w}ms,every={e}ms")),
            (1u32..=6, 1u64..=200, 1u64..=20)
                .prop_map(|(t, r, w)| format!("poisson:rate={r}/s,work={w}ms,threads={t}")),
        ],
        0u64..1_000,
    )
        .prop_map(|(p10, pct, bpct, cpus, hz, load, phase_seed)| {
            let period_us = p10 * 10_000;
            let quota_us = (period_us * pct / 100).max(1_000);
            let burst_us = quota_us * bpct / 100;
            let l = Limits {
                max: CpuMax {
                    quota: QuotaUs(quota_us as i64),
                    period: PeriodUs(period_us),
                },
                burst: Usec(burst_us),
                weight: CpuShare::default(),
            };
            (l, load, cpus, hz, phase_seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// In every period, CPU time used ≤ the runtime available to it: the pool at the edge
    /// (≤ quota + carried burst) + positive silo runtime carried in (≤ one slice per CPU) + one
    /// tick of overrun per CPU (the debt a silo may end the period with). Also the doc's closed
    /// form (cfs.md §6.5/correction 8): ≤ Q + B + n_cpus·(slice + 1 tick), and the long-run bound
    /// usage(T) ≤ Q·⌈T/P⌉ + Q + B + n_cpus·(slice + 1 tick).
    #[test]
    fn per_period_usage_is_bounded((l, load, cpus, hz, seed) in arb_case()) {
        let m = machine(cpus, hz);
        let mut plan = RunPlan::new(ms(3_000), 1, seed);
        plan.timeline = Some(ms(50));
        let o = simulate_container("p", l, &parse_load(&load).unwrap(), None, &m, &plan).unwrap();
        let tl = o.timeline.unwrap();
        let tick = if hz == 0 { 0 } else { 1_000_000_000 / hz as i64 };
        let slice = 5 * MS as i64;
        let q = l.max.quota.0 * 1_000;
        let b = l.burst.0 as i64 * 1_000;
        let n = cpus as i64;
        prop_assert!(!tl.periods.is_empty());
        for p in &tl.periods {
            let used = p.usage_ns as i64;
            let avail = p.pool_start_ns + p.silos_start_ns + n * tick;
            prop_assert!(used <= avail, "period {:?}: used {} > available {}", p, used, avail);
            prop_assert!(p.pool_start_ns <= q + b);
            prop_assert!(used <= q + b + n * (slice + tick), "period {:?}", p);
        }
        let total: u64 = tl.periods.iter().map(|p| p.usage_ns).sum();
        let t = 3_000 * MS as i64;
        let p_ns = l.max.period.0 as i64 * 1_000;
        // A window holds at most ⌈T/P⌉ edges, each adding ≤ Q (correction 8 writes Q·T/P, which is
        // exact only when T is a whole number of periods).
        let edges = (t + p_ns - 1) / p_ns;
        let bound = q * edges + q + b + n * (slice + tick);
        prop_assert!((total as i64) <= bound, "total {} > {}", total, bound);
        // The per-period records and the summary agree.
        let usage_ns = (o.summary.totals.usage_cores * t as f64).round() as i64;
        prop_assert!((usage_ns - total as i64).abs() <= 1_000);
    }

    /// Sampling only observes: totals are identical whatever the sampling interval, and the same
    /// seed gives the same result.
    #[test]
    fn totals_do_not_depend_on_sampling_and_seeds_repeat((l, load, cpus, hz, seed) in arb_case(), dt in 1u64..=97) {
        let m = machine(cpus, hz);
        let load = parse_load(&load).unwrap();
        let mut plan = RunPlan::new(ms(1_500), 2, seed);
        let none = simulate_container("p", l, &load, None, &m, &plan).unwrap();
        plan.timeline = Some(ms(dt));
        let sampled = simulate_container("p", l, &load, None, &m, &plan).unwrap();
        prop_assert_eq!(&none.summary, &sampled.summary);
        prop_assert_eq!(&none.latencies_ns, &sampled.latencies_ns);
        plan.timeline = Some(ms(1));
        let fine = simulate_container("p", l, &load, None, &m, &plan).unwrap();
        prop_assert_eq!(&none.summary, &fine.summary);
        plan.timeline = None;
        let again = simulate_container("p", l, &load, None, &m, &plan).unwrap();
        prop_assert_eq!(&none, &again);
    }

    /// Node mode: every group's per-period usage stays within the runtime available to it, the
    /// groups together never use more than the CPUs, and sampling still only observes.
    #[test]
    fn node_mode_bounds(cases in proptest::collection::vec(arb_case(), 2..=4), cpus in 1u32..=4, seed in 0u64..1000) {
        let groups: Vec<GroupConfig> = cases
            .iter()
            .enumerate()
            .map(|(i, (l, load, _, _, _))| GroupConfig::new(format!("g{i}"), *l, parse_load(load).unwrap()))
            .collect();
        let m = machine(cpus, 250);
        let mut plan = RunPlan::new(ms(2_000), 1, seed);
        let plain = simulate_node(&groups, &m, &plan).unwrap();
        plan.timeline = Some(ms(20));
        let out = simulate_node(&groups, &m, &plan).unwrap();
        let total: f64 = out.iter().map(|o| o.summary.totals.usage_cores).sum();
        prop_assert!(total <= cpus as f64 + 1e-9, "total usage {} on {} CPUs", total, cpus);
        let tick = 4 * MS as i64;
        for (o, p) in out.iter().zip(&plain) {
            prop_assert_eq!(&o.summary, &p.summary);
            for per in &o.timeline.as_ref().unwrap().periods {
                let avail = per.pool_start_ns + per.silos_start_ns + cpus as i64 * tick;
                prop_assert!(per.usage_ns as i64 <= avail, "{}: {:?}", o.name, per);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The runner's measured window and start-up (issue 11, `fidelity::runner_machine`)

#[test]
fn until_done_window_stops_counting_periods_at_the_last_completion() {
    // One 30 ms request at phase 10 ms under quota 50 ms / period 100 ms, 2 s: the timer runs
    // two more edges after the request (idle mark, then stop); the runner's window ends at the
    // completion, so it sees the one edge before it at most.
    let mut m = machine(2, 0);
    m.accounting = Accounting::Continuous;
    let l = limits(50, 100, 0);
    let mut plan = fixed_plan(2_000, 10);
    let load = "periodic:threads=1,work=30ms,every=5s";
    let whole = one(l, load, &m, &plan).summary.totals;
    plan.window = Window::UntilDone;
    let done = one(l, load, &m, &plan).summary.totals;
    assert_eq!(whole.nr_periods, 2, "{whole:?}");
    assert_eq!(done.nr_periods, 0, "{done:?}");
    // Usage stays the one over the duration.
    assert!((whole.usage_cores - done.usage_cores).abs() < 1e-9);
}

#[test]
fn start_up_draw_throttles_the_second_thread_at_demand_equal_to_quota() {
    // eq-quota of the fidelity grid: 2 threads × 5 ms every 100 ms, quota 10 ms. With 1 ms per
    // CPU taken from the first period's pool by the start-up, one thread gets 1 + 5 ms, the other
    // 1 + 3 ms: exactly one request per period is throttled until the next edge, the other
    // finishes at once. Without the start-up both silos pull 5 ms: both finish (50 µs overhead
    // aside) and none waits.
    let mut m = machine(2, 0);
    m.accounting = Accounting::Continuous;
    m.startup = Some(fidelity::RUNNER_STARTUP);
    let plan = fixed_plan(2_000, 20);
    let o = one(
        limits(10, 100, 0),
        "periodic:threads=2,work=5ms,every=100ms",
        &m,
        &plan,
    );
    let t = o.summary.totals;
    assert!(t.throttled_ratio > 0.9, "{t:?}");
    assert!(t.latency.p50_ms < 6.0, "{t:?}");
    assert!(t.latency.p99_ms > 70.0, "{t:?}");
    m.startup = None;
    let o = one(
        limits(10, 100, 0),
        "periodic:threads=2,work=5ms,every=100ms",
        &m,
        &plan,
    );
    assert_eq!(o.summary.totals.nr_throttled, 0, "{:?}", o.summary.totals);
}

#[test]
fn start_up_draw_keeps_the_period_timer_running_into_the_first_edge() {
    // ref-edge of the fidelity grid: the reference case starting 1 ms before an edge. The
    // start-up's draw started the period timer (`__assign_cfs_rq_runtime` →
    // `start_cfs_bandwidth`), so the edge 1 ms into the run refills the pool: the first cycle
    // gets 2 ms of silos + 100 ms and ends at the fluid 130 ms (kernel: 130.0 ms), and the run
    // counts the first edge (20 periods in 2 s, not 19). Before, the model's timer was idle
    // until the silos ran dry after that edge, the pool was not refilled there, and the cycle
    // ran on 98 + 2 ms, throttled and ended a period's remainder differently.
    let mut m = machine(2, 0);
    m.accounting = Accounting::Continuous;
    m.request_overhead = Nanos(50_000);
    m.wakeup_latency = Nanos(50_000);
    m.startup = Some(fidelity::RUNNER_STARTUP);
    let mut plan = fixed_plan(2_000, 99);
    plan.window = Window::UntilDone;
    plan.timeline = Some(Nanos(1_000_000));
    let o = one(
        limits(100, 100, 0),
        "periodic:threads=2,work=80ms,every=200ms",
        &m,
        &plan,
    );
    let periods = &o.timeline.as_ref().expect("timeline").periods;
    assert_eq!(periods[1].start_ns, 1_000_000, "{periods:?}");
    assert_eq!(periods[1].pool_start_ns, 100_000_000, "{periods:?}");
    let t = o.summary.totals;
    assert_eq!((t.nr_periods, t.nr_throttled), (20, 10), "{t:?}");
    assert!((t.latency.max_ms - 130.1).abs() < 0.2, "{t:?}");
}
