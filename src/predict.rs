//! Throttling predictions from translated plans (pure core): the one builder of simulation jobs
//! for `kcpu check` (rule KCPU016 `throttling-risk`) and `kcpu report` (its throttling section).
//!
//! A job is one container simulated alone on a node: its exact `cpu.max` quota and period and
//! its `cpu.shares` from the translation ([`ContainerPlan`]), no burst, and a load profile (with
//! the requests of a `trace:` load, which the caller reads). Containers without a CFS quota are
//! no job: nothing can be throttled.

use crate::cpu::CpuMax;
use crate::sim::load::{LoadProfile, Request};
use crate::sim::{self, CpuShare, GroupOutcome, Limits, Machine, RunPlan, SimError};
use crate::translate::ContainerPlan;
use crate::units::{format_duration, Nanos, Usec};
use std::sync::Arc;

/// CPUs of the simulated node when no node shape is known.
pub const DEFAULT_NODE_CPUS: u32 = 4;

/// Most CPUs of a simulated node.
pub const MAX_NODE_CPUS: u32 = 1024;

/// CPUs of the simulated node: the largest node's capacity (millicores) rounded up to whole
/// CPUs, within `1..=MAX_NODE_CPUS`; [`DEFAULT_NODE_CPUS`] without a node shape.
pub fn node_cpus(largest_capacity_millicores: Option<i64>) -> u32 {
    largest_capacity_millicores.map_or(DEFAULT_NODE_CPUS, |m| {
        let cpus = u64::try_from(m).unwrap_or(0).div_ceil(1000);
        cpus.clamp(1, u64::from(MAX_NODE_CPUS)) as u32
    })
}

/// The container's cgroup values as the simulator's limits (quota, period and shares as
/// translated, no burst), or `None` when it has no CFS quota.
pub fn limits(container: &ContainerPlan) -> Option<Limits> {
    let quota = container.values.cfs_quota_us.value;
    if quota.is_unlimited() || quota.0 == 0 {
        return None;
    }
    Some(Limits {
        max: CpuMax {
            quota,
            period: container.values.cfs_period_us.value,
        },
        burst: Usec(0),
        weight: CpuShare::Shares(container.values.shares.value),
    })
}

/// One container to simulate.
#[derive(Debug, Clone)]
pub struct Job {
    /// Container name (the simulated group's name).
    pub container: String,
    /// Its cgroup values.
    pub limits: Limits,
    /// Its load.
    pub load: LoadProfile,
    /// The requests of a `trace:` load (read by the caller), else `None`.
    pub trace: Option<Vec<Request>>,
}

impl Job {
    /// The job of a translated container under a load, or `None` when it has no CFS quota.
    pub fn new(
        container: &ContainerPlan,
        load: LoadProfile,
        trace: Option<Vec<Request>>,
    ) -> Option<Job> {
        Some(Job {
            container: container.name.clone(),
            limits: limits(container)?,
            load,
            trace,
        })
    }

    /// Simulates the container alone on `machine`.
    pub fn simulate(&self, machine: &Machine, plan: &RunPlan) -> Result<GroupOutcome, SimError> {
        sim::simulate_container(
            &self.container,
            self.limits,
            &self.load,
            self.trace.clone(),
            machine,
            plan,
        )
    }
}

/// The requests of `trace:` loads for the pure rules: the shell that runs `kcpu check` reads the
/// files (relative paths already resolved against the manifest's directory), the core only asks.
pub trait TraceSource: Sync + std::fmt::Debug {
    /// The requests of the trace at `path` that arrive before `until`; `None` when traces are
    /// not read here (the caller then makes no prediction), `Some(Err)` with the reason when the
    /// file cannot be read or is not a trace.
    fn requests(&self, path: &str, until: Nanos) -> Option<Result<Arc<Vec<Request>>, String>>;
}

/// Reads no trace: rules run without a file system (fuzzing, unit tests, `check_text`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTraces;

impl TraceSource for NoTraces {
    fn requests(&self, _path: &str, _until: Nanos) -> Option<Result<Arc<Vec<Request>>, String>> {
        None
    }
}

/// How long a trace's span is: its last request's end (at least one nanosecond).
pub fn trace_span(requests: &[Request]) -> Nanos {
    Nanos(sim::load::requests_span_ns(requests, 0).max(1))
}

/// Period of the assumed load.
pub const ASSUMED_EVERY: Nanos = Nanos(100_000_000);

/// The load `report` assumes for a limited container that declares none (a "what if", not a
/// prediction): its request (else its limit) as the mean demand, arriving every 100 ms as one
/// synchronous burst on `ceil(limit) + 1` threads. `None` when that is no work at all.
pub fn assumed_load(limit_millicores: i64, request_millicores: i64) -> Option<LoadProfile> {
    let threads = (limit_millicores as u64).div_ceil(1000) as u32 + 1;
    let demand_m = if request_millicores > 0 {
        request_millicores
    } else {
        limit_millicores
    };
    let work = (demand_m as u64 * ASSUMED_EVERY.0 / 1000) / u64::from(threads);
    (work > 0).then_some(LoadProfile::Periodic {
        threads,
        work: Nanos(work),
        every: ASSUMED_EVERY,
    })
}

/// Why a container is (or is not) throttled under its load, in words.
pub fn explain(limits: &Limits, load: &LoadProfile, throttled_ratio: f64) -> String {
    let q = limits.max.quota.0 as f64 / 1000.0;
    let p = limits.max.period.0 as f64 / 1000.0;
    let shape = match load {
        LoadProfile::Periodic {
            threads,
            work,
            every,
        } => format!(
            "{threads} thread(s) × {} every {}: bursts of {} of CPU",
            format_duration(*work),
            format_duration(*every),
            format_duration(Nanos(work.0 * u64::from(*threads)))
        ),
        other => other.to_string(),
    };
    let verdict = if throttled_ratio > 0.0 {
        "a burst needs more CPU inside one period than the quota, so its threads wait for the next refill"
    } else {
        "every burst fits in the quota of the period it starts in"
    };
    let text = format!("quota {q:.1} ms per {p:.0} ms period, no burst; {shape}; {verdict}");
    match sim::fidelity::accuracy_caveat(limits, load) {
        Some(caveat) => format!("{text}. Accuracy: {caveat}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_cpus_round_up_within_bounds() {
        assert_eq!(node_cpus(None), DEFAULT_NODE_CPUS);
        assert_eq!(node_cpus(Some(4_000)), 4);
        assert_eq!(node_cpus(Some(3_500)), 4);
        assert_eq!(node_cpus(Some(1)), 1);
        assert_eq!(node_cpus(Some(0)), 1);
        assert_eq!(node_cpus(Some(-5)), 1);
        assert_eq!(node_cpus(Some(i64::MAX)), MAX_NODE_CPUS);
    }

    #[test]
    fn assumed_load_bursts_the_request_on_one_thread_more_than_the_limit() {
        assert_eq!(
            assumed_load(500, 250).map(|l| l.to_string()).as_deref(),
            Some("periodic:threads=2,work=12.5ms,every=100ms")
        );
        // Without a request the limit is the demand.
        assert_eq!(
            assumed_load(2_000, 0).map(|l| l.to_string()).as_deref(),
            Some("periodic:threads=3,work=66666.666us,every=100ms")
        );
        assert_eq!(assumed_load(0, 0), None);
    }

    #[test]
    fn explanation_names_quota_burst_and_verdict() {
        let l = Limits {
            max: CpuMax {
                quota: crate::units::QuotaUs(50_000),
                period: crate::units::PeriodUs::DEFAULT,
            },
            ..Limits::default()
        };
        let load = assumed_load(500, 500).expect("load");
        let text = explain(&l, &load, 0.5);
        assert!(text.starts_with("quota 50.0 ms per 100 ms period, no burst; 2 thread(s)"));
        // Request = limit puts the assumed demand at the quota: the figures are labelled.
        assert!(
            text.contains("wait for the next refill. Accuracy: mean demand is 100 % of the quota"),
            "{text}"
        );
        // Away from the quota (request 250m under a 500m limit) there is no caveat.
        let half = assumed_load(500, 250).expect("load");
        assert!(explain(&l, &half, 0.5).ends_with("wait for the next refill"));
        assert!(explain(&l, &half, 0.0).ends_with("starts in"));
    }
}
