//! KCPU007 `cpu-above-maximum`: a CPU value above the policy's `max-cpu` (default 256 CPUs)
//! (pure core).

use super::{fmt_cores, suspicious_unit, written_cpu};
use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU007",
        name: "cpu-above-maximum",
        default_severity: Severity::Error,
        summary: "A CPU value is larger than the policy's max-cpu (default 256 CPUs).",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
CPU requests, limits, pod-level values and overhead above `max-cpu` in the policy file
(default 256 CPUs). Values already reported as a suspicious unit (KCPU004) are not reported
again.

## Why it matters for CFS
Values this large are almost always unit mistakes (`1e3` for 1000 CPUs, `300` instead of
`300m`). As a request the pod never fits a node and stays Pending; as a limit the CFS quota
is so large that it never throttles, so the limit protects nothing. 256 CPUs is also where
the kubelet stops scaling `cpu.shares` (`MaxShares` = 262144 = 256 × 1024): a larger request
does not even buy a larger weight.

## Example
```yaml
resources:
  requests: {cpu: "300"}   # meant 300m
```

## Fix
Check the unit: millicores need a lower-case `m`. If the value is real (very large nodes),
raise `max-cpu` in `.kcpu.yaml`.

## References
- kubernetes `pkg/kubelet/cm/helpers_linux.go` (`MaxShares = 262144`, `SharesPerCPU = 1024`).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    let max = cx.policy.max_cpu;
    for e in written_cpu(cx) {
        let Ok(q) = e.value.parsed else { continue };
        if q.millicpu() <= max || suspicious_unit::flags(&e.value.raw) {
            continue;
        }
        let raw = e.value.raw.trim();
        out.push(
            RULE.meta
                .finding(
                    format!(
                        "{} {raw:?} is {} CPUs, above the maximum of {}",
                        e.describe(),
                        suspicious_unit::cpus_text(q),
                        fmt_cores(max)
                    ),
                    e.value.span,
                )
                .label(format!("more than {}", fmt_cores(max)))
                .note("as a request the pod never fits a node; as a limit the CFS quota never throttles; above 256 CPUs even cpu.shares stops growing (MaxShares = 262144)")
                .help("check the unit (millicores need a lower-case m), or raise `max-cpu` in .kcpu.yaml")
                .subject(cx.subject(e.container)),
        );
    }
}
