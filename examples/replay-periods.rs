//! The model's period-by-period view of one recorded fidelity run: replays run RUN of a scenario
//! file as the fidelity test does (its machine, phase, Poisson seed and, where recorded, tick
//! positions) and prints, per period of the group's grid, the CPU used, whether the period was
//! throttled, and the runtime the pool and the per-CPU silos held at its start. Used to find which
//! period flips between kernel and model (tests/data/fidelity/traces/poisson-flipped-periods.tsv).
//!
//!     cargo run --release --example replay-periods -- tests/data/fidelity/6.18.44-fc-v1252-v1/poisson.json 0

#![allow(clippy::print_stdout)]

use kcpu::sim::fidelity::{
    measured_run_plan, parse_scenario, scenario_limits, scenario_machine, REPLAY_SEED,
};
use kcpu::sim::load::parse_load;
use kcpu::sim::{simulate_node, GroupConfig};
use kcpu::units::{parse_duration, Nanos};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(run)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: replay-periods SCENARIO.json RUN");
    };
    let s = parse_scenario(&std::fs::read_to_string(&path)?)?;
    let run: u32 = run.parse()?;
    let r = s
        .runs
        .iter()
        .find(|r| r.run == run)
        .ok_or_else(|| anyhow::anyhow!("no run {run} in {path}"))?;
    let limits = scenario_limits(&s)?;
    let machine = scenario_machine(&s);
    let group = GroupConfig::new(s.scenario.as_str(), limits, parse_load(&s.load)?);
    let mut plan = measured_run_plan(
        &machine,
        s.limits.period_us * 1_000,
        parse_duration(&s.duration)?,
        REPLAY_SEED,
        &r.phase(),
    );
    plan.timeline = Some(Nanos(100_000_000));
    let o = simulate_node(std::slice::from_ref(&group), &machine, &plan)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no outcome"))?;
    println!(
        "# {path} run {run}: measured nr_throttled {}, simulated {}",
        r.nr_throttled, o.summary.totals.nr_throttled
    );
    println!("start_ms\tend_ms\tused_ms\tthrottled\tpool_ms\tsilos_ms");
    for p in o.timeline.map(|t| t.periods).unwrap_or_default() {
        println!(
            "{:.1}\t{:.1}\t{:.2}\t{}\t{:.2}\t{:.2}",
            p.start_ns as f64 / 1e6,
            p.end_ns as f64 / 1e6,
            p.usage_ns as f64 / 1e6,
            p.throttled,
            p.pool_start_ns as f64 / 1e6,
            p.silos_start_ns as f64 / 1e6
        );
    }
    Ok(())
}
