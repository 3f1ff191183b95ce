//! KCPU011 `static-cpu-not-integer`: a Guaranteed pod whose containers cannot get exclusive
//! CPUs under the static CPU manager because their CPU is not a whole number (pure core).

use super::{fmt_cpu, requote};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::profile::CpuManagerPolicy;
use crate::translate::QosClass;
use crate::units::MilliCpu;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU011",
        name: "static-cpu-not-integer",
        default_severity: Severity::Warning,
        summary: "A Guaranteed pod's container CPU is not an integer, so the static CPU manager grants no exclusive CPUs.",
        doc: DOC,
        fix: FixKind::Suggestion,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Only when the policy says the nodes run `cpu-manager-policy: static`: containers of a
Guaranteed pod (every container has CPU and memory requests equal to non-zero limits) whose
CPU request is not a whole number of CPUs (`1500m`, `0.5`, `1024m`).

## Why it matters for CFS
The static policy gives a container exclusive CPUs — pinned cores, no CFS quota since
Kubernetes 1.33 (`DisableCPUQuotaWithExclusiveCPUs`) — only when the pod is Guaranteed **and**
the container's CPU request is an integer (`Value() × 1000 == MilliValue()`). A Guaranteed
pod with `1500m` is usually written by someone who wanted pinning; it silently runs in the
shared pool instead, with a CFS quota of 150 ms per 100 ms period, and is throttled like any
other limited container.

## Example
```yaml
# .kcpu.yaml: cpu-manager-policy: static
resources:
  requests: {cpu: 1500m, memory: 1Gi}
  limits: {cpu: 1500m, memory: 1Gi}
```

## Fix
Round the request and limit to whole CPUs (`2`), or accept the shared pool and drop the
expectation of exclusive cores. kcpu suggests the next whole number.

## References
- kubernetes `pkg/kubelet/cm/cpumanager/policy_static.go` `guaranteedCPUs`.
- kubernetes `pkg/features/kube_features.go` `DisableCPUQuotaWithExclusiveCPUs` (beta, on, 1.33).
- lfn-cnti/testsuite issue #2537 (exclusive-CPU eligibility check).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    if cx.policy.cpu_manager != CpuManagerPolicy::Static {
        return;
    }
    let Some(plan) = &cx.plan else { return };
    if plan.qos.value != QosClass::Guaranteed {
        return;
    }
    if cx.workload.pod.resources.is_some() && cx.assumptions.pod_level_resources() {
        // The static policy skips pods with pod-level resources altogether.
        return;
    }
    // `plan.containers` and `cx.containers` list init containers first, then app containers.
    for (c, cp) in cx.containers.iter().zip(&plan.containers) {
        let Some(m) = cp.request_millicores.value else {
            continue;
        };
        if cp.exclusive_cpus > 0 || m <= 0 || m % 1000 == 0 {
            continue;
        }
        let whole = (m + 999) / 1000;
        let name = &c.container.name;
        let role = super::role(c.container);
        let span = c.request.map_or(c.container.span, |r| r.value.span);
        let mut f = RULE
            .meta
            .finding(
                format!(
                    "{role} {name:?} of a Guaranteed pod requests {} CPU, not a whole number: the static CPU manager gives it no exclusive CPUs",
                    fmt_cpu(MilliCpu(m))
                ),
                span,
            )
            .label("not an integer")
            .note(format!(
                "it runs in the shared pool with a CFS quota of {} µs per {} µs period instead of on pinned cores without a quota",
                crate::translate::kubelet::milli_cpu_to_quota(MilliCpu(m), cx.policy.cfs_period),
                cx.policy.cfs_period.0
            ))
            .help(format!(
                "request and limit {whole} CPU{} for exclusive cores, or accept the shared pool",
                if whole == 1 { "" } else { "s" }
            ))
            .subject(cx.subject(Some(c.container)));
        if let (Some(r), Some(l)) = (c.request, c.limit) {
            if r.is_written() && l.is_written() && r.value.span.source == l.value.span.source {
                let new = whole.to_string();
                f = f.fix(Fix {
                    title: format!("round the CPU request and limit up to {new}"),
                    applicability: Applicability::Suggestion,
                    edits: vec![
                        Edit {
                            span: r.value.span,
                            replacement: requote(cx.text_of(r.value.span), &new),
                        },
                        Edit {
                            span: l.value.span,
                            replacement: requote(cx.text_of(l.value.span), &new),
                        },
                    ],
                });
            }
        }
        out.push(f);
    }
}
