//! KCPU017 `ignored-resources-key`: a key under `resources` (or a resource name) that
//! Kubernetes ignores, so the CPU value written there never reaches a cgroup (pure core).

use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::manifest::model::{Container, Resources};
use crate::source::Span;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU017",
        name: "ignored-resources-key",
        default_severity: Severity::Warning,
        summary: "A key under resources (limts, cpus, …) is not a Kubernetes field and is ignored.",
        doc: DOC,
        fix: FixKind::Suggestion,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Keys under a container's (or the pod's) `resources` other than `requests`, `limits` and
`claims` — typos such as `limts`, `request`, `Limits`, or `cpu:` written directly under
`resources` — and resource names under `requests`/`limits` that look like CPU or memory but
are not the standard names (`cpus`, `CPU`, `vcpu`, `cores`, `mem`).

## Why it matters for CFS
The API server drops unknown fields (or, for odd resource names, treats them as extended
resources nobody provides), so the value silently has no effect: a `limts: {cpu: 1}`
container has **no** CPU quota (`cpu.max = max`), and a `requests: {cpus: 2}` container has
`cpu.shares=2` instead of 2048. The manifest reads as limited and requested; the cgroup is not.

## Example
```yaml
resources:
  requests: {cpu: 250m}
  limts: {cpu: 500m}       # ignored: no CPU limit at all
```

## Fix
Rename the key (`limits`, `requests`, `cpu`, `memory`). kcpu shows the rename as a suggested
edit when the correct key is not already present.

## References
- kubernetes `staging/src/k8s.io/api/core/v1/types.go` `ResourceRequirements`
  (`limits`, `requests`, `claims`).
- kubernetes `pkg/apis/core/validation/validation.go` `validateContainerResourceName`.
"#;

/// Levenshtein distance (small strings only).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What an unknown key under `resources` was probably meant to be.
pub fn meant_field(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    ["limits", "requests"]
        .into_iter()
        .find(|t| distance(&k, t) <= 2 && !k.is_empty())
}

/// What a non-standard resource name was probably meant to be.
pub fn meant_resource(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "cpu" if name != "cpu" => Some("cpu"),
        "cpus" | "cores" | "core" | "vcpu" | "vcpus" | "cpu_count" => Some("cpu"),
        "memory" if name != "memory" => Some("memory"),
        "mem" | "ram" | "memorys" => Some("memory"),
        _ => None,
    }
}

fn rename(cx: &WorkloadCx<'_>, span: Span, to: &str, exists: bool) -> Option<Fix> {
    if exists || cx.text_of(span).is_empty() {
        return None;
    }
    Some(Fix {
        title: format!("rename the key to `{to}`"),
        applicability: Applicability::Suggestion,
        edits: vec![Edit {
            span,
            replacement: super::requote(cx.text_of(span), to),
        }],
    })
}

fn check_resources(
    cx: &WorkloadCx<'_>,
    r: &Resources,
    owner: Option<&Container>,
    out: &mut Vec<Finding>,
) {
    let whose = match owner {
        Some(c) => format!("{} {:?}", super::role(c), c.name),
        None => "the pod-level resources".to_string(),
    };
    for (key, span) in &r.unknown_keys {
        let meant = meant_field(key);
        let mut f = RULE
            .meta
            .finding(
                format!("`{key}` under `resources` of {whose} is not a Kubernetes field; its values are ignored"),
                *span,
            )
            .label("ignored by Kubernetes")
            .subject(cx.subject(owner));
        match meant {
            Some("limits") => {
                f = f
                    .note("the values under it are dropped: the container runs without those limits (cpu.max = max)")
                    .help("did you mean `limits`?");
                if let Some(fix) = rename(cx, *span, "limits", r.limits.span.is_some()) {
                    f = f.fix(fix);
                }
            }
            Some(_) => {
                f = f
                    .note("the values under it are dropped: without a CPU request the container gets cpu.shares=2 unless a limit sets it")
                    .help("did you mean `requests`?");
                if let Some(fix) = rename(cx, *span, "requests", r.requests.span.is_some()) {
                    f = f.fix(fix);
                }
            }
            None if matches!(key.as_str(), "cpu" | "memory" | "cpus") => {
                f = f.help(format!("`{key}` must sit under `requests:` or `limits:`"));
            }
            None => {
                f = f.help("Kubernetes reads only `requests`, `limits` and `claims` here");
            }
        }
        out.push(f);
    }
    for (list, field) in [(&r.requests, "requests"), (&r.limits, "limits")] {
        for (name, v) in &list.entries {
            let Some(meant) = meant_resource(name) else {
                continue;
            };
            let mut f = RULE
                .meta
                .finding(
                    format!("resource name `{name}` in `{field}` of {whose} is not `{meant}`; Kubernetes does not treat it as {meant}"),
                    v.key_span,
                )
                .label(format!("not `{meant}`"))
                .note(format!(
                    "the {meant} {field} of this container is unset, so the cgroup does not get the value written here"
                ))
                .help(format!("did you mean `{meant}`?"))
                .subject(cx.subject(owner));
            if let Some(fix) = rename(cx, v.key_span, meant, list.entries.contains_key(meant)) {
                f = f.fix(fix);
            }
            out.push(f);
        }
    }
}

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for c in &cx.containers {
        check_resources(cx, &c.container.resources, Some(c.container), out);
    }
    if let Some(r) = &cx.workload.pod.resources {
        check_resources(cx, r, None, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        assert_eq!(meant_field("limts"), Some("limits"));
        assert_eq!(meant_field("Limits"), Some("limits"));
        assert_eq!(meant_field("request"), Some("requests"));
        assert_eq!(meant_field("claims2"), None);
        assert_eq!(meant_field("cpu"), None);
        assert_eq!(meant_resource("cpus"), Some("cpu"));
        assert_eq!(meant_resource("CPU"), Some("cpu"));
        assert_eq!(meant_resource("cpu"), None);
        assert_eq!(meant_resource("nvidia.com/gpu"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
