//! KCPU016 `throttling-risk`: the predicted fraction of throttled CFS periods for the
//! container's declared load profile (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::manifest::model::Role;
use crate::predict;
use crate::sim::{self, load};
use crate::units::Nanos;

/// The annotation that declares a container's load profile.
pub use crate::manifest::model::{LOAD_ANNOTATION, LOAD_ANNOTATION_PREFIX};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU016",
        name: "throttling-risk",
        default_severity: Severity::Warning,
        summary: "The declared load profile is predicted to be throttled in more periods than the threshold.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
App containers with a CPU limit and a declared load profile: the annotation
`kcpu.dev/load.<container>` (on the workload or its pod template), else `kcpu.dev/load` for
the first app container, else the policy's `throttling.load` for every app container — for
example `periodic:threads=4,work=20ms,every=100ms`. kcpu runs its CFS bandwidth simulator
(`kcpu simulate`) on the container's exact `cpu.max` quota and period — 4 runs of 2 s with
phases from a fixed seed, on a node with as many CPUs as the policy's largest node shape
(default 4) — and reports when the predicted fraction of throttled periods exceeds
`throttling.threshold` (default 25 %). A `trace:FILE` load (a `kcpu record` trace; relative to
the manifest's directory in an annotation) is replayed from its start, up to its first 60 s, at
the same 4 phases; a trace that cannot be read is reported instead of a prediction.

## Why it matters for CFS
Throttling is decided per period, not on average: 4 threads doing 20 ms of work each every
200 ms use 0.4 CPU on average, well under a 500m limit, yet every burst needs 80 ms of CPU
inside one 100 ms period whose quota is 50 ms — about half of all periods are throttled and
each burst finishes a period later than it would without the limit. The kubernetes-mixin alert `CPUThrottlingHigh` fires at 25 % of periods
throttled; kcpu predicts it before deployment.

## Example
```yaml
metadata:
  annotations:
    kcpu.dev/load: "periodic:threads=4,work=40ms,every=200ms"
# … resources: {limits: {cpu: 500m}}
```

## Fix
Raise the limit, reduce the parallelism (GOMAXPROCS, thread pools) to the limit, spread the
bursts, or remove the limit (see KCPU002).

## References
- Linux `Documentation/scheduler/sched-bwc.rst`; kernel `kernel/sched/fair.c`
  (`assign_cfs_rq_runtime`, `throttle_cfs_rq`).
- kubernetes-monitoring/kubernetes-mixin `CPUThrottlingHigh` (25 % threshold).
- kcpu `src/sim/` (the simulator this rule runs).
"#;

/// Simulated window per run and number of runs (random phases from a fixed seed, so the
/// verdict is deterministic).
const SIM_DURATION_MS: u64 = 2_000;
const SIM_RUNS: u32 = 4;
const SIM_SEED: u64 = 0x6b63_7075;
/// Most of a `trace:` load replayed per run (its first minute): bounded time and memory.
const TRACE_WINDOW: Nanos = Nanos(60_000_000_000);

/// A simulated window in seconds: `2 s`, `12.345 s`.
fn seconds(d: Nanos) -> String {
    if d.0.is_multiple_of(1_000_000_000) {
        format!("{} s", d.0 / 1_000_000_000)
    } else {
        format!("{:.3} s", d.0 as f64 / 1e9)
    }
}

struct Declared<'a> {
    /// The load text as written.
    text: &'a str,
    /// The text with a relative `trace:` path resolved against the manifest's directory.
    resolved: String,
    span: Option<crate::source::Span>,
    from: String,
}

fn declared<'a>(cx: &WorkloadCx<'a>, name: &str, first_app: bool) -> Option<Declared<'a>> {
    if let Some((key, a)) = cx.workload.declared_load(name, first_app) {
        return Some(Declared {
            text: &a.value,
            resolved: crate::manifest::model::resolve_annotation_load(&a.value, cx.manifest),
            span: Some(a.span),
            from: format!("annotation {key}"),
        });
    }
    cx.policy
        .throttling
        .default_load
        .as_deref()
        .map(|t| Declared {
            text: t,
            resolved: t.to_string(),
            span: None,
            from: "the policy's throttling.load".to_string(),
        })
}

/// The finding for a container whose throttling cannot be predicted (the caller adds the hint).
fn cannot_predict(
    cx: &WorkloadCx<'_>,
    c: &crate::lint::ContainerCx<'_>,
    span: crate::source::Span,
    why: &dyn std::fmt::Display,
    label: &str,
) -> Finding {
    RULE.meta
        .finding(
            format!(
                "cannot predict throttling for container {:?}: {why}",
                c.container.name
            ),
            span,
        )
        .label(label)
        .subject(cx.subject(Some(c.container)))
}

/// The requests of a `trace:` load (none for a generated profile) and the simulated window: the
/// trace's span up to [`TRACE_WINDOW`], else the rule's fixed window. A trace is a file: the
/// shell reads it, and none is read where there is no file system (`None`, no prediction); a
/// trace that cannot be read is a finding for its container (`None` too).
fn replayed(
    cx: &WorkloadCx<'_>,
    c: &crate::lint::ContainerCx<'_>,
    profile: &load::LoadProfile,
    span: crate::source::Span,
    out: &mut Vec<Finding>,
) -> Option<(Option<Vec<load::Request>>, Nanos)> {
    let load::LoadProfile::Trace { path } = profile else {
        return Some((None, Nanos::from_ms(SIM_DURATION_MS)));
    };
    match cx.traces.requests(path, TRACE_WINDOW)? {
        Ok(rows) => {
            let span = predict::trace_span(&rows).min(TRACE_WINDOW);
            Some((Some(rows.to_vec()), span))
        }
        Err(e) => {
            out.push(cannot_predict(cx, c, span, &e, "trace not readable").help("record one with `kcpu record --out FILE -- PROGRAM`; a relative path is relative to the manifest's directory"));
            None
        }
    }
}

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    let Some(plan) = &cx.plan else { return };
    let cpus = predict::node_cpus(cx.policy.largest_node().map(|n| n.capacity.0));
    let machine = sim::Machine::new(cpus);
    let threshold = cx.policy.throttling.threshold_percent;
    let mut first_app = true;
    for (c, cp) in cx.containers.iter().zip(&plan.containers) {
        if c.container.role != Role::Container {
            continue;
        }
        let is_first = std::mem::replace(&mut first_app, false);
        let Some(d) = declared(cx, &c.container.name, is_first) else {
            continue;
        };
        if predict::limits(cp).is_none() {
            continue; // no CFS quota: nothing can be throttled
        }
        let span = d
            .span
            .or(c.limit.map(|l| l.value.span))
            .unwrap_or(c.container.span);
        let profile = match load::parse_load(&d.resolved) {
            Ok(p) => p,
            Err(e) => {
                out.push(cannot_predict(cx, c, span, &e, "not a load profile").help("examples: periodic:threads=4,work=20ms,every=100ms; poisson:rate=200/s,work=2ms,threads=4; spin:threads=2"));
                continue;
            }
        };
        let Some((trace, duration)) = replayed(cx, c, &profile, span, out) else {
            continue;
        };
        let Some(job) = predict::Job::new(cp, profile, trace) else {
            continue;
        };
        let run_plan = sim::RunPlan::new(duration, SIM_RUNS, SIM_SEED);
        let Ok(outcome) = job.simulate(&machine, &run_plan) else {
            continue;
        };
        let t = &outcome.summary.totals;
        let percent = t.throttled_ratio * 100.0;
        if percent <= threshold {
            continue;
        }
        let mut f = RULE
            .meta
            .finding(
                format!(
                    "container {:?} is predicted to be throttled in {percent:.0}% of CFS periods (threshold {threshold:.0}%) under its load {:?}",
                c.container.name, d.text
            ),
            span,
        )
        .label(format!("{percent:.0}% of periods throttled"))
        .note(format!(
            "simulated {SIM_RUNS} × {} on a {cpus}-CPU node with cpu.max \"{} {}\" (load from {}; {}): {} of {} periods throttled, {} ms throttled in total, {:.2} CPUs used on average",
            seconds(duration),
            job.limits.max.quota.0,
            job.limits.max.period.0,
            d.from,
            machine.describe(),
            t.nr_throttled,
            t.nr_periods,
            t.throttled_time_us / 1000,
            t.usage_cores
        ));
        if t.latency.count > 0 {
            f = f.note(format!(
                "request latency p50 {:.1} ms, p99 {:.1} ms (arrival → completion)",
                t.latency.p50_ms, t.latency.p99_ms
            ));
        }
        if let Some(caveat) = sim::fidelity::accuracy_caveat(&job.limits, &job.load) {
            f = f.note(caveat);
        }
        out.push(
            f.help("raise the CPU limit, cap the threads (GOMAXPROCS, pool sizes) at the limit, spread the bursts, or drop the limit; `kcpu simulate` shows the timeline")
                .subject(cx.subject(Some(c.container))),
        );
    }
}
