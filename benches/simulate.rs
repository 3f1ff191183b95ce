//! Simulator speed (criterion): simulated seconds per wall-clock second.
//!
//! - `reference_r5`: cfs.md §4 R5 (2 threads × 80 ms every 200 ms under 100 ms/100 ms on 2 CPUs,
//!   HZ 1000), one run of 600 simulated seconds. Target: ≥ 10,000 simulated s per wall s.
//! - `node_110_pods`: 110 pods of 1–3 threads (Poisson and periodic loads, ~5.7 cores of demand,
//!   quotas 1–5 CPUs, shares from requests) on 8 CPUs, HZ 250, one run of 20 simulated seconds.
//!   Target: ≥ 100× real time.
//!
//! Criterion reports "thrpt" in elements/s where one element is one simulated second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcpu::cpu::CpuMax;
use kcpu::sim::load::parse_load;
use kcpu::sim::{
    simulate_container, simulate_node, CpuShare, GroupConfig, Limits, Machine, Phase, RunPlan,
};
use kcpu::units::{Nanos, PeriodUs, QuotaUs, Shares, Usec};
use std::hint::black_box;

fn reference(c: &mut Criterion) {
    let secs = 600;
    let limits = Limits {
        max: CpuMax {
            quota: QuotaUs(100_000),
            period: PeriodUs(100_000),
        },
        burst: Usec(0),
        weight: CpuShare::default(),
    };
    let load = parse_load("periodic:threads=2,work=80ms,every=200ms").unwrap();
    let mut machine = Machine::new(2);
    machine.hz = 1000;
    let mut plan = RunPlan::new(Nanos::from_ms(secs * 1000), 1, 1);
    plan.phase = Phase::Fixed(Nanos::from_ms(20));
    let mut g = c.benchmark_group("simulate");
    g.throughput(Throughput::Elements(secs));
    g.bench_function("reference_r5", |b| {
        b.iter(|| {
            black_box(simulate_container("r5", limits, &load, None, &machine, &plan).unwrap())
        })
    });
    g.finish();
}

/// 110 pods: threads 1–3, mostly Poisson request loads, some periodic; ~5.7 cores of demand.
pub fn node_groups() -> Vec<GroupConfig> {
    (0..110u64)
        .map(|i| {
            let threads = 1 + i % 3;
            let load = if i % 5 == 4 {
                format!(
                    "periodic:threads={threads},work={}ms,every=100ms",
                    2 + i % 4
                )
            } else {
                format!(
                    "poisson:rate={}/s,work={}ms,threads={threads}",
                    5 + i % 10,
                    2 + i % 8
                )
            };
            let limits = Limits {
                max: CpuMax {
                    quota: QuotaUs(100_000 * (1 + (i % 5) as i64)),
                    period: PeriodUs(100_000),
                },
                burst: Usec(0),
                weight: CpuShare::Shares(Shares(102 + (i % 10) * 102)),
            };
            GroupConfig::new(format!("pod-{i}"), limits, parse_load(&load).unwrap())
        })
        .collect()
}

fn node(c: &mut Criterion) {
    let secs = 20;
    let groups = node_groups();
    let mut machine = Machine::new(8);
    machine.hz = 250;
    let plan = RunPlan::new(Nanos::from_ms(secs * 1000), 1, 1);
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(secs));
    g.bench_function("node_110_pods", |b| {
        b.iter(|| black_box(simulate_node(&groups, &machine, &plan).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, reference, node);
criterion_main!(benches);
