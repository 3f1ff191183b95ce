//! KCPU014 `limitrange-violation`: a container's CPU request or limit outside the `min`/`max`
//! of a LimitRange in its namespace (pure core).

use super::fmt_cpu;
use crate::finding::{Finding, Severity};
use crate::lint::defaults::Field;
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU014",
        name: "limitrange-violation",
        default_severity: Severity::Error,
        summary: "A container's CPU request or limit is outside a LimitRange's min/max.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
When the input contains a LimitRange (`type: Container`) for the workload's namespace: after
its defaults are applied, every container's CPU request must be at least `min.cpu` and its
CPU limit at most `max.cpu`. (`maxLimitRequestRatio` is not checked yet.)

## Why it matters for CFS
LimitRanger admission rejects the pod ("minimum cpu usage per Container is 100m, but request
is 50m"), so the Deployment's ReplicaSet never creates pods and the rollout hangs without an
error on the Deployment itself. The limits a LimitRange enforces are exactly the bounds of
the container's `cpu.weight` and `cpu.max`, so the manifest and the namespace disagree about
what the cgroup may be.

## Example
```yaml
kind: LimitRange
spec:
  limits:
  - type: Container
    min: {cpu: 100m}
    max: {cpu: "2"}
---
kind: Deployment
# … containers:
    resources: {requests: {cpu: 50m}, limits: {cpu: "4"}}
```

## Fix
Bring the request and limit inside the namespace's range, or change the LimitRange.

## References
- kubernetes `plugin/pkg/admission/limitranger/admission.go` (`minConstraint`, `maxConstraint`,
  `PodValidateLimitFunc`).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for lr in cx.limit_ranges {
        let min = lr.min.cpu().and_then(|v| v.parsed.as_ref().ok().copied());
        let max = lr.max.cpu().and_then(|v| v.parsed.as_ref().ok().copied());
        for c in &cx.containers {
            let name = &c.container.name;
            let role = super::role(c.container);
            if let (Some(min), Some(r)) =
                (min, c.request.and_then(|r| r.quantity().map(|q| (r, q))))
            {
                if r.1 < min {
                    let span = if r.0.is_written() || r.0.origin == crate::lint::Origin::FromLimit {
                        r.0.value.span
                    } else {
                        c.missing_span(Field::Request)
                    };
                    out.push(
                        RULE.meta
                            .finding(
                                format!(
                                    "CPU request {} of {role} {name:?} is below the minimum {} of LimitRange {:?}",
                                    fmt_cpu(r.1.millicpu()),
                                    fmt_cpu(min.millicpu()),
                                    lr.name
                                ),
                                span,
                            )
                            .label(format!("below {}", fmt_cpu(min.millicpu())))
                            .note(format!(
                                "LimitRanger admission rejects the pod: \"minimum cpu usage per Container is {}, but request is {}\"",
                                fmt_cpu(min.millicpu()),
                                fmt_cpu(r.1.millicpu())
                            ))
                            .help("raise the request to the namespace's minimum, or change the LimitRange")
                            .subject(cx.subject(Some(c.container))),
                    );
                }
            }
            if let (Some(max), Some(l)) = (max, c.limit.and_then(|l| l.quantity().map(|q| (l, q))))
            {
                if l.1 > max {
                    let span = if l.0.is_written() {
                        l.0.value.span
                    } else {
                        c.missing_span(Field::Limit)
                    };
                    out.push(
                        RULE.meta
                            .finding(
                                format!(
                                    "CPU limit {} of {role} {name:?} is above the maximum {} of LimitRange {:?}",
                                    fmt_cpu(l.1.millicpu()),
                                    fmt_cpu(max.millicpu()),
                                    lr.name
                                ),
                                span,
                            )
                            .label(format!("above {}", fmt_cpu(max.millicpu())))
                            .note(format!(
                                "LimitRanger admission rejects the pod: \"maximum cpu usage per Container is {}, but limit is {}\"",
                                fmt_cpu(max.millicpu()),
                                fmt_cpu(l.1.millicpu())
                            ))
                            .help("lower the limit to the namespace's maximum, or change the LimitRange")
                            .subject(cx.subject(Some(c.container))),
                    );
                }
            }
        }
    }
}
