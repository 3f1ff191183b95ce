//! KCPU008 `binary-millicores`: `1024m`, `2048m`, … — binary thinking applied to millicores
//! (pure core).

use super::{fmt_cpu, requote, written_cpu};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::units::MilliCpu;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU008",
        name: "binary-millicores",
        default_severity: Severity::Warning,
        summary: "A CPU value is a multiple of 1024m (1.024 CPUs), not of 1000m.",
        doc: DOC,
        fix: FixKind::Suggestion,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
CPU values written in millicores that are a whole multiple of 1024m: `1024m`, `2048m`,
`4096m`.

## Why it matters for CFS
One CPU is 1000m, not 1024m. `1024m` is 1.024 CPUs: the container gets `cpu.shares=1048`
instead of 1024 and a quota of 102400 µs per 100 ms instead of 100000. The pod is never
Guaranteed-with-exclusive-CPUs under the static CPU manager (1.024 is not an integer), and
the extra 2.4 % is reserved on the node for nothing. The value is almost always a habit from
memory sizes (`1024Mi`).

## Example
```yaml
resources:
  requests: {cpu: 1024m}
  limits: {cpu: 2048m}
```

## Fix
Write `1` or `1000m` (`2`, `2000m`, …). kcpu offers the whole-CPU value as a suggestion.

## References
- kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToShares` (`milliCPU × 1024 / 1000`).
- kubernetes `pkg/kubelet/cm/cpumanager/policy_static.go` `guaranteedCPUs` (integer CPUs only).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for e in written_cpu(cx) {
        let Ok(q) = e.value.parsed else { continue };
        let raw = e.value.raw.trim();
        let m = q.milli_value();
        if !raw.ends_with('m') || m < 1024 || m % 1024 != 0 || q.nanos % 1_000_000 != 0 {
            continue;
        }
        let cpus = m / 1024;
        let meant = fmt_cpu(MilliCpu(cpus * 1000));
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "{} {raw:?} is {} CPUs, not {cpus}: one CPU is 1000m",
                        e.describe(),
                        super::suspicious_unit::cpus_text(q)
                    ),
                    e.value.span,
                )
                .label(format!("did you mean {meant}?"))
                .note("1024m gives cpu.shares=1048 and a quota of 102400 µs per 100 ms period, and is never an integer CPU count for the static CPU manager")
                .help(format!("write {meant:?} (or {}m)", cpus * 1000))
                .fix(Fix {
                    title: format!("replace {raw:?} with {meant:?}"),
                    applicability: Applicability::Suggestion,
                    edits: vec![Edit {
                        span: e.value.span,
                        replacement: requote(cx.text_of(e.value.span), &meant),
                    }],
                })
                .subject(cx.subject(e.container)),
        );
    }
}
