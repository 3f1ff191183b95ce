//! KCPU001 `cpu-request-missing`: a container without a CPU request (pure core).

use crate::finding::{Finding, Severity};
use crate::lint::defaults::Field;
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU001",
        name: "cpu-request-missing",
        // Warning, not error: on public manifests (README "Default severities") it is most of
        // what fires, and Polaris' default is `warning` too; `--fail-on warning` or the policy
        // (`rules: {KCPU001: error}`) makes it fail CI.
        default_severity: Severity::Warning,
        summary: "A container has no CPU request (or a request of 0).",
        doc: DOC,
        fix: FixKind::None,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Every container, init container and sidecar must end up with a non-zero CPU request after the
API server's defaulting: a written `requests.cpu`, a `limits.cpu` (the request then defaults to
the limit), or a LimitRange default in the same namespace. Pods with pod-level
`spec.resources.requests.cpu` (KEP-2837) are exempt: the pod-level request sets the pod's
weight.

## Why it matters for CFS
The request is the container's CFS weight. Without one the kubelet writes `cpu.shares=2`
(`MilliCPUToShares(0)`), which is `cpu.weight=1` on cgroup v2 — the smallest weight there is,
1/100 of a container requesting one CPU. Under contention such a container gets almost no
CPU time, and the scheduler places the pod as if it needed no CPU, so nodes fill up with
work that then starves.

## Example
```yaml
containers:
- name: app
  image: registry.example.com/app:1
  resources:
    limits: {memory: 256Mi}
```
No `requests.cpu`, no `limits.cpu`: the container runs with `cpu.weight=1`.

## Fix
Set `resources.requests.cpu` to what the container uses at steady state (for example the p95
of its usage): `requests: {cpu: 250m}`.

## References
- kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToShares` (0 → 2 shares).
- kubernetes `pkg/kubelet/kuberuntime/kuberuntime_container_linux.go` `calculateLinuxResources`.
- opencontainers/cgroups `utils.go` `ConvertCPUSharesToCgroupV2Value` (2 shares → weight 1).
- kube-linter `unset-cpu-requirements`, Checkov `CKV_K8S_10` (presence-only versions of this rule).
- Default severity `warning`, as Polaris' `cpuRequestsMissing` (FairwindsOps/polaris
  `examples/config.yaml`); kube-linter enables its check by default and fails on any finding.
  On 475 public manifest files (README, "Default severities") it was all 94 rule findings
  other than unreadable templates, at 0.55 per workload.
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    let pod_level = cx
        .workload
        .pod
        .resources
        .as_ref()
        .is_some_and(|r| r.requests.cpu().is_some());
    if pod_level {
        return;
    }
    for c in &cx.containers {
        let name = &c.container.name;
        let role = super::role(c.container);
        match &c.request {
            None => out.push(
                RULE.meta
                    .finding(
                        format!("{role} {name:?} has no CPU request"),
                        c.missing_span(Field::Request),
                    )
                    .label("no `requests.cpu` (and no `limits.cpu` to default it from)")
                    .note("without a request the kubelet writes cpu.shares=2 (cpu.weight=1 on cgroup v2): under contention this container gets almost no CPU, and the scheduler places the pod as if it needed none")
                    .help("set `resources.requests.cpu` to the CPU the container uses at steady state, e.g. `requests: {cpu: 100m}`")
                    .subject(cx.subject(Some(c.container))),
            ),
            Some(r) if r.quantity().is_some_and(|q| q.is_zero()) => out.push(
                RULE.meta
                    .finding(format!("CPU request of {role} {name:?} is 0"), r.value.span)
                    .label("zero request")
                    .note("a zero request gives cpu.shares=2 (cpu.weight=1 on cgroup v2), the smallest weight there is")
                    .help("request the CPU the container uses at steady state, e.g. 100m")
                    .subject(cx.subject(Some(c.container))),
            ),
            Some(_) => {}
        }
    }
}
