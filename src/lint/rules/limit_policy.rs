//! KCPU002 `cpu-limit-policy`: the team's CPU-limit policy (required, optional, forbidden,
//! equal-to-request, max-ratio) with the throttling consequence in the message (pure core).

use super::{fmt_cpu, requote, throttling_note};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity, Subject};
use crate::lint::defaults::Field;
use crate::lint::policy::LimitPolicy;
use crate::lint::{Check, ContainerCx, FixKind, Origin, Rule, RuleMeta, WorkloadCx};
use crate::quantity::Quantity;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU002",
        name: "cpu-limit-policy",
        default_severity: Severity::Warning,
        summary: "A container's CPU limit does not follow the policy's `limits` setting.",
        doc: DOC,
        fix: FixKind::Mechanical,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
The policy file's `limits:` setting, for every container, init container and sidecar (after
LimitRange defaults):
- `optional` (default): nothing is checked;
- `required`: every container sets `limits.cpu`;
- `forbidden`: no container sets `limits.cpu`;
- `equal-to-request`: `limits.cpu` is set and equals the request;
- `max-ratio:<k>`: when both are set, limit ÷ request ≤ k.

## Why it matters for CFS
A CPU limit becomes a CFS bandwidth quota: `cpu.max = "<limit × period> <period>"` (100 ms
period by default). Once the container's threads have used the quota within a period they
are throttled until the period ends — even when the node has idle CPUs. A multi-threaded
process uses the quota up fastest: 4 busy threads exhaust a 1-CPU limit after 25 ms and then
wait 75 ms, which shows up as latency spikes while average CPU looks low. Without a limit,
`cpu.max` is `max` and the container may use any idle CPU; its fair share under contention
comes from the request alone. Teams choose differently (no limits for latency-sensitive
services, limit = request for predictable Guaranteed pods, a bounded burst ratio for shared
clusters), so kcpu makes it a policy instead of hard-coding one side.

## Example
```yaml
# .kcpu.yaml: limits: max-ratio:4
resources:
  requests: {cpu: 250m}
  limits: {cpu: "2"}        # 8× the request
```

## Fix
Follow the policy: add or remove `limits.cpu`, or bring it within the ratio. Under
`equal-to-request`, `kcpu check --fix` sets a written limit to the request's value.

## References
- kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToQuota` (limit → quota).
- Linux `Documentation/scheduler/sched-bwc.rst` (CFS bandwidth control).
- kube-linter PR #734 and issues #459/#694, kube-score #30/#107, Checkov #7226 (the CPU-limit debate).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for c in &cx.containers {
        match cx.policy.limits {
            LimitPolicy::Optional => {}
            LimitPolicy::Required => required(cx, c, out),
            LimitPolicy::Forbidden => forbidden(cx, c, out),
            LimitPolicy::EqualToRequest => equal_to_request(cx, c, out),
            LimitPolicy::MaxRatio { milli } => max_ratio(cx, c, milli, out),
        }
    }
}

/// The container's name, its role (`container`, `init container`, `sidecar`) and the
/// finding subject.
fn who<'a>(cx: &WorkloadCx<'_>, c: &ContainerCx<'a>) -> (&'a str, &'static str, Subject) {
    (
        c.container.name.as_str(),
        super::role(c.container),
        cx.subject(Some(c.container)),
    )
}

/// The container's CPU limit and request, where they parse.
fn quantities(c: &ContainerCx<'_>) -> (Option<Quantity>, Option<Quantity>) {
    (
        c.limit.as_ref().and_then(|l| l.quantity()),
        c.request.as_ref().and_then(|r| r.quantity()),
    )
}

/// `limits: required`: every container sets `limits.cpu`.
fn required(cx: &WorkloadCx<'_>, c: &ContainerCx<'_>, out: &mut Vec<Finding>) {
    let (name, role, subject) = who(cx, c);
    if c.limit.is_none() {
        out.push(
            RULE.meta
                .finding(
                    format!("{role} {name:?} has no CPU limit; the policy requires one"),
                    c.missing_span(Field::Limit),
                )
                .label("no `limits.cpu`")
                .note("without a limit cpu.max is \"max\": the container may use every idle CPU on the node, and only its request bounds its share under contention")
                .help("set `limits.cpu` (policy `limits: required`)")
                .subject(subject),
        );
    }
}

/// `limits: forbidden`: no container sets a non-zero `limits.cpu`.
fn forbidden(cx: &WorkloadCx<'_>, c: &ContainerCx<'_>, out: &mut Vec<Finding>) {
    let (name, role, subject) = who(cx, c);
    let limit_q = c.limit.as_ref().and_then(|l| l.quantity());
    let period = cx.policy.cfs_period;
    if let (Some(l), Some(q)) = (&c.limit, limit_q) {
        if q.is_zero() {
            return;
        }
        let mut f = RULE.meta
            .finding(
                format!(
                    "{role} {name:?} sets a CPU limit of {}; the policy forbids CPU limits",
                    fmt_cpu(q.millicpu())
                ),
                limit_span(c),
            )
            .label("CPU limit")
            .note(throttling_note(q.millicpu(), period))
            .help("remove `limits.cpu` (policy `limits: forbidden`); keep the request for the container's share")
            .subject(subject);
        if let Origin::LimitRange(lr) = l.origin {
            f = f.note(format!("the limit is the default of LimitRange {lr:?}"));
        }
        out.push(f);
    }
}

/// `limits: equal-to-request`: the limit is set and equals the request (with a mechanical fix).
fn equal_to_request(cx: &WorkloadCx<'_>, c: &ContainerCx<'_>, out: &mut Vec<Finding>) {
    let (name, role, subject) = who(cx, c);
    let (limit_q, request_q) = quantities(c);
    let period = cx.policy.cfs_period;
    match (&c.limit, &c.request) {
        (None, _) => out.push(
            RULE.meta
                .finding(
                    format!(
                        "{role} {name:?} has no CPU limit; the policy requires limit = request"
                    ),
                    c.missing_span(Field::Limit),
                )
                .label("no `limits.cpu`")
                .help(match request_q {
                    Some(q) => format!(
                        "set `limits.cpu: {}` (equal to the request)",
                        fmt_cpu(q.millicpu())
                    ),
                    None => "set `requests.cpu` and `limits.cpu` to the same value".to_string(),
                })
                .subject(subject),
        ),
        (Some(l), Some(r)) => {
            let (Some(lq), Some(rq)) = (limit_q, request_q) else {
                return;
            };
            if lq == rq {
                return;
            }
            let mut f = RULE.meta
                            .finding(
                                format!(
                                    "CPU limit {} of {role} {name:?} differs from its request {}; the policy requires limit = request",
                                    fmt_cpu(lq.millicpu()),
                                    fmt_cpu(rq.millicpu())
                                ),
                                limit_span(c),
                            )
                            .label(format!("should be {}", r.value.raw.trim()))
                            .note(throttling_note(lq.millicpu(), period))
                            .subject(subject);
            if l.is_written() && r.origin == Origin::Written {
                let new = requote(cx.text_of(l.value.span), r.value.raw.trim());
                f = f.fix(Fix {
                    title: format!("set the CPU limit to the request ({})", r.value.raw.trim()),
                    applicability: Applicability::Mechanical,
                    edits: vec![Edit {
                        span: l.value.span,
                        replacement: new,
                    }],
                });
            }
            f = f.help("set the limit to the request (Guaranteed-style CPU: no burst, no surprise throttling below the request)");
            out.push(f);
        }
        (Some(_), None) => {}
    }
}

/// `limits: max-ratio:<k>`: limit ÷ request ≤ k (`k` in thousandths).
fn max_ratio(cx: &WorkloadCx<'_>, c: &ContainerCx<'_>, k: i64, out: &mut Vec<Finding>) {
    let (name, role, subject) = who(cx, c);
    let (limit_q, request_q) = quantities(c);
    let period = cx.policy.cfs_period;
    let (Some(lq), Some(rq)) = (limit_q, request_q) else {
        return;
    };
    if rq.is_zero() || lq.is_zero() {
        return;
    }
    // limit / request > k/1000  ⇔  limit × 1000 > k × request (exact, in nanos).
    if lq.nanos.saturating_mul(1000) > rq.nanos.saturating_mul(i128::from(k)) {
        let ratio = lq.nanos as f64 / rq.nanos as f64;
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "CPU limit {} of {role} {name:?} is {ratio:.1}× its request {}; the policy allows at most {}×",
                        fmt_cpu(lq.millicpu()),
                        fmt_cpu(rq.millicpu()),
                        ratio_text(k)
                    ),
                    limit_span(c),
                )
                .label(format!("more than {} × the request", ratio_text(k)))
                .note(format!(
                    "the scheduler reserves {} for this container but it may burst to {}; on a busy node that burst competes with pods whose requests were honoured",
                    fmt_cpu(rq.millicpu()),
                    fmt_cpu(lq.millicpu())
                ))
                .note(throttling_note(lq.millicpu(), period))
                .help(format!("lower the limit to at most {} × the request, or raise the request", ratio_text(k)))
                .subject(subject),
        );
    }
}

fn ratio_text(milli: i64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        let s = format!("{}.{:03}", milli / 1000, milli % 1000);
        s.trim_end_matches('0').to_string()
    }
}

fn limit_span(c: &ContainerCx<'_>) -> crate::source::Span {
    match &c.limit {
        Some(l) if l.is_written() => l.value.span,
        _ => c.missing_span(Field::Limit),
    }
}
