//! KCPU013 `init-raises-pod-request`: init containers or sidecars that make the pod's
//! effective CPU request larger than the sum of its app containers (pure core).

use super::{fmt_cpu, pod_input};
use crate::finding::{Finding, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::manifest::model::Role;
use crate::quantity::Quantity;
use crate::translate::pod::{self, ContainerType};

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

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    let Some(input) = pod_input(cx) else { return };
    let mut app = Quantity::ZERO;
    let mut sidecars = Quantity::ZERO;
    let mut peak: Option<(Quantity, usize)> = None;
    let mut init_index = 0usize;
    let (aggregate, text) = pod::aggregate(
        &input,
        |s| s.requests.cpu,
        |c, used, kind| match kind {
            ContainerType::Containers => app = app + used.unwrap_or_default(),
            ContainerType::InitContainers => {
                if c.role == Role::Sidecar {
                    sidecars = sidecars + c.resources.requests.cpu.unwrap_or_default();
                } else if let Some(u) = used {
                    if peak.is_none_or(|(p, _)| u > p) {
                        peak = Some((u, init_index));
                    }
                }
                init_index += 1;
            }
        },
    );
    let aggregate = aggregate.unwrap_or_default();
    if aggregate <= app {
        return;
    }
    let m = |q: Quantity| fmt_cpu(q.millicpu());
    let with_sidecars = app + sidecars;
    // Which container to point at: the init container whose phase is the peak, else the
    // first sidecar.
    let (cref, why, help) = match peak {
        Some((p, i)) if p > with_sidecars => (
            i,
            format!(
                "init container {:?} needs {} while it runs",
                input.init_containers[i].name,
                m(p)
            ),
            "if the init container does not need that much CPU, lower its request: the pod keeps the reservation after the init container has finished",
        ),
        _ => {
            let i = input
                .init_containers
                .iter()
                .position(|c| c.role == Role::Sidecar)
                .unwrap_or(0);
            (
                i,
                format!("sidecars add {} for the pod's whole life", m(sidecars)),
                "nothing to fix if the sidecar needs it: count sidecars when sizing nodes and quotas",
            )
        }
    };
    let Some(c) = cx.containers.iter().filter(|c| c.cref.init).nth(cref) else {
        return;
    };
    let span = c.request.map_or(c.container.span, |r| r.value.span);
    let pods = i128::from(cx.workload.replicas.unwrap_or(1).max(1));
    let mut f = RULE
        .meta
        .finding(
            format!(
                "the pod's effective CPU request is {}, not the {} its app containers request: {why}",
                m(aggregate),
                m(app)
            ),
            span,
        )
        .label("raises the pod's CPU request")
        .note(format!("AggregateContainerRequests: {text}"))
        .note("the scheduler reserves the effective request on the node, and the pod cgroup's cpu.shares/cpu.weight is computed from it")
        .help(help)
        .subject(cx.subject(Some(c.container)));
    if pods > 1 {
        f = f.note(format!(
            "× {pods} replicas: {} reserved, not {}",
            m(Quantity {
                nanos: aggregate.nanos * pods
            }),
            m(Quantity {
                nanos: app.nanos * pods
            })
        ));
    }
    out.push(f);
}
