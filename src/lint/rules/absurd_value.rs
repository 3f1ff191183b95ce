//! KCPU007 `cpu-above-maximum`: a CPU value above the policy's `max-cpu` (default 256 CPUs)
//! (pure core).

use super::{fmt_cores, fmt_us, suspicious_unit, written_cpu};
use crate::cpu::CpuMax;
use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::translate::kubelet;

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
        let period = cx.policy.cfs_period;
        let m = q.millicpu();
        let note = if e.what.ends_with("limit") && kubelet::quota_overflows(m, period) {
            // One arithmetic with `translate`: the kubelet's int64 `milli*period` wraps.
            let quota = kubelet::milli_cpu_to_quota(m, period);
            format!(
                "as a limit it overflows the kubelet's int64 quota arithmetic ({}*{}/1000 wraps): cpu.max reads \"{}\", so the container is throttled to {} of CPU per {} period",
                m.0,
                period.0,
                CpuMax { quota, period },
                fmt_us(quota.0),
                fmt_us(period.0 as i64)
            )
        } else {
            "as a request the pod never fits a node; as a limit the CFS quota never throttles; above 256 CPUs even cpu.shares stops growing (MaxShares = 262144)".to_string()
        };
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
                .note(note)
                .help("check the unit (millicores need a lower-case m), or raise `max-cpu` in .kcpu.yaml")
                .subject(cx.subject(e.container)),
        );
    }
}
