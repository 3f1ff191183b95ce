//! KCPU012 `request-exceeds-node`: a pod whose effective CPU request is larger than the
//! allocatable CPU of the largest node shape in the policy (pure core).

use super::{fmt_cores, fmt_cpu};
use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::units::MilliCpu;

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

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    let Some(node) = cx.policy.largest_node() else {
        return;
    };
    let Some(plan) = &cx.plan else { return };
    let Some(request) = plan.request_millicores.value else {
        return;
    };
    if request <= node.allocatable.0 {
        return;
    }
    // Point at the container with the largest request (the usual culprit).
    let biggest = cx
        .containers
        .iter()
        .filter_map(|c| c.request.and_then(|r| r.quantity().map(|q| (q, c, r))))
        .max_by_key(|(q, _, _)| *q);
    let (span, container) = match biggest {
        Some((_, c, r)) if r.is_written() || r.origin == crate::lint::Origin::FromLimit => {
            (r.value.span, Some(c.container))
        }
        Some((_, c, _)) => (c.container.span, Some(c.container)),
        None => (cx.workload.span, None),
    };
    let mut f = RULE
        .meta
        .finding(
            format!(
                "the pod requests {}, more than the {} allocatable on the largest node shape {:?}: it can never be scheduled",
                fmt_cores(MilliCpu(request)),
                fmt_cores(node.allocatable),
                node.name
            ),
            span,
        )
        .label("pod request larger than any node")
        .note(format!(
            "the scheduler reports \"0/{} nodes are available: Insufficient cpu\" and the pod stays Pending",
            cx.policy.nodes.iter().map(|n| n.count).sum::<u32>()
        ));
    for step in &plan.request_millicores.steps {
        f = f.note(format!("effective pod request: {}", step.text));
    }
    f = f
        .help(format!(
            "lower the request to at most {} (including init containers, sidecars and overhead), or add a larger node shape to the policy",
            fmt_cpu(node.allocatable)
        ))
        .subject(cx.subject(container));
    out.push(f);
}
