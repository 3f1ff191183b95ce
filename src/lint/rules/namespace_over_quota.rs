//! KCPU015 `namespace-over-quota`: namespaces whose workloads together request (or limit)
//! more CPU than their ResourceQuota allows, and pods a quota would reject (pure core).

use super::{fmt_cores, fmt_cpu, pod_input};
use crate::finding::{Finding, Severity, Subject};
use crate::lint::defaults::Field;
use crate::lint::{Check, FixKind, NamespaceCx, PodTotals, Rule, RuleMeta, WorkloadCx};
use crate::manifest::model::{QuantityValue, ResourceQuota};
use crate::translate::pod;
use crate::units::MilliCpu;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU015",
        name: "namespace-over-quota",
        default_severity: Severity::Error,
        summary: "A namespace's workloads exceed its ResourceQuota for CPU requests or limits.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Namespace(check),
};

const DOC: &str = r#"## What it checks
When the input contains a ResourceQuota, for its namespace: the sum over workloads of
replicas × effective pod CPU request (after LimitRange defaults) must not exceed
`requests.cpu` (or `cpu`), and the sum of pod CPU limits must not exceed `limits.cpu`.
Pods with a container without a CPU limit (request) are reported when the quota tracks
`limits.cpu` (`requests.cpu`): the quota admission rejects them outright — unless the pod
sets pod-level `resources` (PodLevelResources, on by default since 1.34).

## Why it matters for CFS
ResourceQuota admission refuses any pod that would push the namespace over its hard limits,
so the last replicas of a rollout stay uncreated ("exceeded quota") while the Deployment
looks healthy. The quota is the namespace's share of the cluster's CPU: the sum of the
`cpu.weight`s and `cpu.max`es its pods may claim.

## Example
```yaml
kind: ResourceQuota
spec: {hard: {requests.cpu: "4"}}
---
kind: Deployment
spec:
  replicas: 5
  # … resources: {requests: {cpu: "1"}}   → 5 CPUs > 4
```

## Fix
Lower replicas or requests, or raise the quota. For "must specify limits.cpu", set CPU limits
on every container or add a LimitRange default.

## References
- kubernetes `pkg/quota/v1/evaluator/core/pods.go` (`Constraints`: "must specify …"; pod
  usage from `PodRequests`/`PodLimits`).
- kubernetes `plugin/pkg/admission/resourcequota/controller.go` ("exceeded quota").
"#;

/// Per-pod totals of one workload for this rule: `PodRequests` (with overhead and pod-level
/// resources) and `PodLimits` for CPU, and the pods the workload runs (`spec.replicas`,
/// default 1; a DaemonSet runs one pod per node of the policy's node shapes).
pub fn totals(cx: &WorkloadCx<'_>) -> Option<PodTotals> {
    let plan = cx.plan.as_ref()?;
    let input = pod_input(cx)?;
    let pods = if cx.workload.kind == "DaemonSet" {
        cx.policy.node_count()
    } else {
        cx.workload.replicas.unwrap_or(1)
    };
    // Quota admission requires every container to state the tracked values, unless the pod
    // sets pod-level resources and PodLevelResources is on (kubernetes
    // `pkg/quota/v1/evaluator/core/pods.go` `Constraints`).
    let pod_level = input.pod_level.as_ref().is_some_and(|p| p.pod_level_set());
    let unrequested: Vec<(String, crate::source::Span)> = cx
        .containers
        .iter()
        .filter(|c| !pod_level && c.request.is_none())
        .map(|c| (c.container.name.clone(), c.missing_span(Field::Request)))
        .collect();
    let unlimited: Vec<(String, crate::source::Span)> = cx
        .containers
        .iter()
        .filter(|c| !pod_level && c.limit.is_none())
        .map(|c| (c.container.name.clone(), c.missing_span(Field::Limit)))
        .collect();
    let limit = pod::pod_limits_cpu(&input, true)
        .cpu
        .map(|q| q.millicpu())
        .filter(|_| unlimited.is_empty());
    Some(PodTotals {
        subject: cx.subject(None),
        span: cx.workload.span,
        pods,
        request: MilliCpu(plan.request_millicores.value.unwrap_or(0)),
        limit,
        unlimited,
        unrequested,
    })
}

fn quota_subject(q: &ResourceQuota, ns: &str) -> Subject {
    Subject {
        kind: "ResourceQuota".into(),
        namespace: ns.to_string(),
        name: q.name.clone(),
        container: None,
    }
}

fn hard(q: &ResourceQuota, keys: &[&str]) -> Option<(String, QuantityValue)> {
    keys.iter()
        .find_map(|k| q.hard.entries.get(*k).map(|v| (k.to_string(), v.clone())))
        .filter(|(_, v)| v.parsed.is_ok())
}

fn check(cx: &NamespaceCx<'_>, out: &mut Vec<Finding>) {
    for q in cx.quotas {
        let bounds = [
            ("request", hard(q, &["requests.cpu", "cpu"])),
            ("limit", hard(q, &["limits.cpu"])),
        ];
        for (what, bound) in bounds {
            let Some((key, v)) = bound else { continue };
            let Ok(hard_q) = v.parsed else { continue };
            let hard_m = hard_q.millicpu();
            // Pods the quota rejects outright: a container without the tracked value.
            for p in cx.pods {
                let missing = if what == "request" {
                    &p.unrequested
                } else {
                    &p.unlimited
                };
                for (name, span) in missing {
                    out.push(
                        RULE.meta
                            .finding(
                                format!(
                                    "container {name:?} has no CPU {what}, but ResourceQuota {:?} tracks {key}: the pods are rejected",
                                    q.name
                                ),
                                *span,
                            )
                            .label(format!("no CPU {what}"))
                            .note(format!("quota admission refuses the pod: \"must specify {key} for: {name}\""))
                            .help(format!("set a CPU {what} on every container, or add a LimitRange default in namespace {:?}", cx.namespace))
                            .subject(Subject { container: Some(name.clone()), ..p.subject.clone() }),
                    );
                }
            }
            let mut parts: Vec<(i64, String)> = Vec::new();
            let mut total: i64 = 0;
            for p in cx.pods {
                let per = if what == "request" {
                    Some(p.request)
                } else {
                    p.limit
                };
                let Some(per) = per else { continue };
                let sum = per.0.saturating_mul(i64::from(p.pods));
                total = total.saturating_add(sum);
                if sum > 0 {
                    parts.push((
                        sum,
                        format!("{} × {} ({})", p.pods, fmt_cpu(per), p.subject.object()),
                    ));
                }
            }
            if total <= hard_m.0 {
                continue;
            }
            parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let listed: Vec<String> = parts.iter().take(6).map(|(_, s)| s.clone()).collect();
            let more = parts.len().saturating_sub(listed.len());
            out.push(
                RULE.meta
                    .finding(
                        format!(
                            "workloads in namespace {:?} {} {} in total, above the {} of ResourceQuota {:?} ({key})",
                            cx.namespace,
                            if what == "request" { "request" } else { "are limited to" },
                            fmt_cores(MilliCpu(total)),
                            fmt_cores(hard_m),
                            q.name
                        ),
                        v.span,
                    )
                    .label(format!("{} needed", fmt_cpu(MilliCpu(total))))
                    .note(format!(
                        "{}{}",
                        listed.join(" + "),
                        if more > 0 { format!(" + {more} more") } else { String::new() }
                    ))
                    .note("quota admission refuses every pod that would go over: the last replicas are never created (\"exceeded quota\")")
                    .help("lower replicas or CPU values, or raise the quota")
                    .subject(quota_subject(q, cx.namespace)),
            );
        }
    }
}
