//! KCPU010 `quota-below-minimum`: a CPU limit whose CFS quota falls below 1 ms per period
//! (below 10m at the default period), which the kubelet silently raises (pure core).

use super::{fmt_cpu, fmt_us};
use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::translate::kubelet;
use crate::units::{MilliCpu, QuotaUs};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU010",
        name: "quota-below-minimum",
        default_severity: Severity::Warning,
        summary: "A CPU limit maps to a CFS quota below 1 ms per period; the kubelet raises it.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Container and pod-level CPU limits whose quota, `limit × period / 1000` µs, is below 1000 µs
at the effective CFS period (`cfs-period` in the policy, default 100 ms): every limit below
10m at the default period, below 100m at a 10 ms period.

## Why it matters for CFS
The kernel refuses quotas below 1 ms, so the kubelet raises any smaller quota to 1000 µs
(`MinQuotaPeriod`). A `5m` limit therefore behaves exactly like `10m`: the container gets
twice the CPU the manifest says, and every capacity or cost calculation based on the
manifest is off. With custom (shorter) periods the floor bites much earlier.

## Example
```yaml
resources:
  requests: {cpu: 1m}
  limits: {cpu: 5m}      # quota 500 µs → raised to 1000 µs (10m)
```

## Fix
Use at least 10m (or `1000 / period-in-ms` × 10m at a custom period), or drop the limit.

## References
- kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToQuota`, `MinQuotaPeriod = 1000`,
  `MinMilliCPULimit = 10`.
- Linux `kernel/sched/core.c` `tg_set_cfs_bandwidth` (quota and period of at least 1 ms) and
  `Documentation/scheduler/sched-bwc.rst`.
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    let period = cx.policy.cfs_period;
    let p = period.0.max(1) as i64;
    let min = QuotaUs::MIN.0;
    let equivalent = MilliCpu((min * 1000 + p - 1) / p);
    let mut limits: Vec<(
        &crate::manifest::model::QuantityValue,
        Option<&crate::manifest::model::Container>,
        bool,
    )> = cx
        .containers
        .iter()
        .filter_map(|c| {
            c.limit
                .map(|l| (l.value, Some(c.container), l.is_written()))
        })
        .collect();
    if let Some(v) = cx
        .workload
        .pod
        .resources
        .as_ref()
        .and_then(|r| r.limits.cpu())
    {
        limits.push((v, None, true));
    }
    for (v, container, written) in limits {
        let Ok(q) = v.parsed else { continue };
        let m = q.millicpu();
        if q.is_negative() || q.is_zero() {
            continue;
        }
        // The kubelet's own int64 arithmetic: a limit so large that `milli*period` overflows
        // wraps, usually below the floor (KCPU007 explains the overflow).
        let raw = kubelet::raw_quota(m, period);
        if raw >= min {
            continue;
        }
        let what = match container {
            Some(c) => format!(
                "CPU limit {} of {} {:?}",
                fmt_cpu(m),
                super::role(c),
                c.name
            ),
            None => format!("pod-level CPU limit {}", fmt_cpu(m)),
        };
        let mut f = RULE
            .meta
            .finding(
                format!(
                    "{what} gives a CFS quota of {} per {} period, below the 1 ms minimum; the kubelet raises it to 1000 µs ({} at this period)",
                    fmt_us(raw),
                    fmt_us(period.0 as i64),
                    fmt_cpu(equivalent)
                ),
                v.span,
            )
            .label(format!("behaves like {}", fmt_cpu(equivalent)))
            .note(format!(
                "cpu.max will read \"{min} {}\": the container gets {} of CPU, not {}",
                period.0,
                fmt_cpu(equivalent),
                fmt_cpu(m)
            ))
            .help(format!("use a limit of at least {}, or no limit", fmt_cpu(equivalent)))
            .subject(cx.subject(container));
        if kubelet::quota_overflows(m, period) {
            f = f.note(format!(
                "{}*{}/1000 overflows the kubelet's int64 arithmetic and wraps to {raw} µs",
                m.0, period.0
            ));
        }
        if !written {
            f = f.note("the limit is a LimitRange default");
        }
        out.push(f);
    }
}
