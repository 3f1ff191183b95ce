//! KCPU006 `sub-millicore-precision`: a CPU value finer than 1m, which the kubelet rounds up
//! (pure core).

use super::{fmt_cpu, requote, written_cpu};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::quantity;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU006",
        name: "sub-millicore-precision",
        default_severity: Severity::Warning,
        summary: "A CPU value is finer than 1m and is rounded up by the kubelet.",
        doc: DOC,
        fix: FixKind::Suggestion,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
CPU values that are not a whole number of millicores: `0.0001`, `100u`, `1.0005`, `5n`.

## Why it matters for CFS
Every CPU formula in the kubelet starts from `MilliValue()`, which rounds **up** to the next
millicore: `100u` becomes 1m (`cpu.shares=2`), `1.0005` becomes 1001m (a quota of 100100 µs
per 100 ms). The API server stores the precise value, so the manifest, `kubectl get` and the
cgroup disagree — and the difference is invisible unless you know the rounding rule.
Millicores are the finest unit the scheduler and the cgroup files understand.

## Example
```yaml
resources:
  requests: {cpu: 100u}   # 0.1 millicore → 1m
  limits: {cpu: "1.0005"} # → 1001m
```

## Fix
Write whole millicores: `1m`, `1001m` (or `1`). kcpu shows the rounded value as a suggested
edit; it does not apply it, because you may have meant a different amount.

## References
- kubernetes/apimachinery `pkg/api/resource/quantity.go` `MilliValue` / `ScaledValue`
  (rounds up).
- kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToShares`, `MilliCPUToQuota`.
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for e in written_cpu(cx) {
        let Ok(q) = e.value.parsed else { continue };
        if q.is_negative() || !quantity::has_sub_milli_precision(&q) {
            continue;
        }
        let rounded = fmt_cpu(q.millicpu());
        let raw = e.value.raw.trim();
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "{} {raw:?} is finer than 1m; the kubelet rounds it up to {rounded}",
                        e.describe()
                    ),
                    e.value.span,
                )
                .label(format!("used as {rounded}"))
                .note("MilliValue() rounds up: every cgroup value is computed from the rounded amount, while the API server keeps the precise one")
                .help(format!("write {rounded:?} (or the amount you meant, in whole millicores)"))
                .fix(Fix {
                    title: format!("replace {raw:?} with {rounded:?}"),
                    applicability: Applicability::Suggestion,
                    edits: vec![Edit {
                        span: e.value.span,
                        replacement: requote(cx.text_of(e.value.span), &rounded),
                    }],
                })
                .subject(cx.subject(e.container)),
        );
    }
}
