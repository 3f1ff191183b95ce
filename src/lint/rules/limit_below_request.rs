//! KCPU009 `limit-below-request`: a CPU limit smaller than the request (pure core).

use super::fmt_cpu;
use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Origin, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU009",
        name: "limit-below-request",
        default_severity: Severity::Error,
        summary: "A container's CPU limit is below its CPU request.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
For every container, init container and sidecar, after LimitRange defaults: `limits.cpu`
must be greater than or equal to `requests.cpu`. This also catches a LimitRange whose default
limit is below a request the container writes.

## Why it matters for CFS
The API server rejects the pod ("must be less than or equal to cpu limit"), so no cgroup is
ever created. If it were accepted the container would be promised a share (weight from the
request) that its quota (from the limit) can never deliver. The LimitRange case is the
sneaky one: the manifest looks fine, and only admission in that namespace fails.

## Example
```yaml
resources:
  requests: {cpu: "1"}
  limits: {cpu: 500m}
```

## Fix
Raise the limit to at least the request, lower the request, or remove the limit. For the
LimitRange case, set a limit in the container or raise the LimitRange's `default.cpu`.

## References
- kubernetes `pkg/apis/core/validation/validation.go` `ValidateResourceRequirements`.
- kubernetes `plugin/pkg/admission/limitranger/admission.go` (defaults applied before validation).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for c in &cx.containers {
        let (Some(l), Some(r)) = (&c.limit, &c.request) else {
            continue;
        };
        if r.origin == Origin::FromLimit {
            continue;
        }
        let (Some(lq), Some(rq)) = (l.quantity(), r.quantity()) else {
            continue;
        };
        if lq >= rq {
            continue;
        }
        let name = &c.container.name;
        let role = super::role(c.container);
        let span = if l.is_written() {
            l.value.span
        } else {
            r.value.span
        };
        let mut f = RULE
            .meta
            .finding(
                format!(
                    "CPU limit {} of {role} {name:?} is below its request {}",
                    fmt_cpu(lq.millicpu()),
                    fmt_cpu(rq.millicpu())
                ),
                span,
            )
            .label("limit below the request")
            .note(format!(
                "the API server rejects the pod: \"Invalid value: {:?}: must be less than or equal to cpu limit of {}\"",
                fmt_cpu(rq.millicpu()),
                fmt_cpu(lq.millicpu())
            ))
            .help("raise the limit to at least the request, lower the request, or remove the limit")
            .subject(cx.subject(Some(c.container)));
        if let Origin::LimitRange(lr) = l.origin {
            f = f.note(format!(
                "the limit is the default of LimitRange {lr:?} in namespace {:?}; set a limit in the container or raise the LimitRange's default",
                cx.workload.namespace()
            ));
        }
        out.push(f);
    }
}
