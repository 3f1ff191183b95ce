//! KCPU004 `suspicious-cpu-unit`: a CPU value with a suffix that makes no sense for CPU
//! (`100M` is 100 million CPUs), or a suffix without a number (pure core).

use super::{requote, written_cpu};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::rules::CpuEntry;
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::manifest::model::QuantityValue;
use crate::quantity::{self, Quantity};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU004",
        name: "suspicious-cpu-unit",
        default_severity: Severity::Error,
        summary:
            "A CPU value uses a memory-style or large suffix (M, G, k, Mi, …) or has no number.",
        doc: DOC,
        fix: FixKind::Mechanical,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
CPU values (requests, limits, pod-level resources, overhead) whose suffix is valid Kubernetes
quantity syntax but absurd for CPU:
- decimal suffixes from kilo up — `k`, `M`, `G`, `T`, `P`, `E` (`100M` is 100,000,000 CPUs;
  the millicore suffix is lower-case `m`);
- binary suffixes `Ki`, `Mi`, `Gi`, … (`500Mi` is 524,288,000 CPUs: a memory value pasted
  under `cpu`);
- a suffix without digits (`m`, `Mi`), which apimachinery parses as **0**.

## Why it matters for CFS
The API server accepts these values, so nothing fails until the pod is scheduled: a request
of `100M` CPUs never fits any node (Pending forever), and a limit of `100M` is effectively no
limit at all — `cpu.max` gets a quota of 10^13 µs per 100 ms period. A bare `m` is a request
of 0, i.e. `cpu.shares=2`.

## Example
```yaml
resources:
  requests: {cpu: 100M}     # meant 100m
  limits: {cpu: 1Gi}        # a memory value under cpu
```

## Fix
Use `m` for millicores (`100m`) or a plain number of CPUs (`0.1`, `2`). `kcpu check --fix`
rewrites an upper-case `M` to `m`; other cases need a human.

## References
- kubernetes/apimachinery `pkg/api/resource/suffix.go` (suffix table) and `quantity.go`
  (`parseQuantityString`: an empty number is zero).
- kubernetes `pkg/kubelet/cm/helpers_linux.go` `MilliCPUToQuota` (no upper bound on quota).
"#;

/// Whole and fractional CPUs of a quantity, without saturating (`100000000`).
pub fn cpus_text(q: Quantity) -> String {
    let whole = q.nanos / 1_000_000_000;
    let frac = (q.nanos % 1_000_000_000).abs();
    if frac == 0 {
        format!("{whole}")
    } else {
        let f = format!("{frac:09}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
}

/// The problem with a CPU value's suffix, if any: (explanation, replacement, applicability).
pub fn assess(raw: &str, q: Quantity) -> Option<(String, Option<(String, Applicability)>)> {
    let t = raw.trim();
    let suffix = quantity::suffix_of(t)?;
    let number = &t[..t.len() - suffix.len()];
    let has_digits = number.chars().any(|c| c.is_ascii_digit());
    if !has_digits {
        return Some((
            format!("{t:?} has no number before the suffix and parses as 0"),
            None,
        ));
    }
    let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if binary.contains(&suffix) {
        return Some((
            format!(
                "{t:?} is {} CPUs: binary suffixes ({suffix}) are for memory",
                cpus_text(q)
            ),
            if suffix == "Mi" {
                Some((format!("{number}m"), Applicability::Suggestion))
            } else {
                None
            },
        ));
    }
    let (name, mechanical) = match suffix {
        "k" => ("kilo", None),
        "M" => ("mega", Some(format!("{number}m"))),
        "G" => ("giga", None),
        "T" => ("tera", None),
        "P" => ("peta", None),
        "E" => ("exa", None),
        _ => return None,
    };
    Some((
        format!(
            "{t:?} is {} CPUs ({suffix} = {name}; millicores are lower-case m)",
            cpus_text(q)
        ),
        mechanical.map(|m| (m, Applicability::Mechanical)),
    ))
}

/// True when [`assess`] flags the value (KCPU007 then stays quiet about it).
pub fn flags(raw: &str) -> bool {
    quantity::parse_manifest(raw)
        .ok()
        .and_then(|q| assess(raw, q))
        .is_some()
}

/// The value `v` will have once `--fix` ran: this rule's mechanical replacement when it has
/// one, else the value as written.
fn after_fix(v: &QuantityValue) -> Option<Quantity> {
    let q = v.parsed.as_ref().ok().copied()?;
    match assess(&v.raw, q) {
        Some((_, Some((new, Applicability::Mechanical)))) => quantity::parse_manifest(&new).ok(),
        _ => Some(q),
    }
}

/// When replacing `e` with `new` would leave a limit below its request (both after every
/// fix of this rule), the other value as written; the API server rejects such an object
/// (`ValidateResourceRequirements`: the request must be less than or equal to the limit),
/// so a fix must never produce it.
fn conflict(cx: &WorkloadCx<'_>, e: &CpuEntry<'_>, new: &str) -> Option<String> {
    let new_q = quantity::parse_manifest(new).ok()?;
    let is_limit = e.what.ends_with("limit");
    let other: Option<&QuantityValue> = match e.container {
        Some(c) => {
            let cc = cx
                .containers
                .iter()
                .find(|cc| std::ptr::eq(cc.container, c))?;
            let v = if is_limit { &cc.request } else { &cc.limit };
            v.as_ref().map(|v| v.value)
        }
        None if e.what.starts_with("pod-level") => {
            let r = cx.workload.pod.resources.as_ref()?;
            if is_limit {
                r.requests.cpu()
            } else {
                r.limits.cpu()
            }
        }
        None => None,
    };
    let other = other?;
    let other_q = after_fix(other)?;
    let (request, limit) = if is_limit {
        (other_q, new_q)
    } else {
        (new_q, other_q)
    };
    (limit < request).then(|| other.raw.trim().to_string())
}

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for e in written_cpu(cx) {
        let Ok(q) = e.value.parsed else { continue };
        if q.is_negative() {
            continue;
        }
        let Some((why, fix)) = assess(&e.value.raw, q) else {
            continue;
        };
        let mut f = RULE
            .meta
            .finding(format!("suspicious {}: {why}", e.describe()), e.value.span)
            .label("suspicious unit")
            .subject(cx.subject(e.container));
        f = if q.is_zero() {
            f.note("a CPU request of 0 gives cpu.shares=2 (cpu.weight=1 on cgroup v2)")
        } else {
            f.note("no node has this many CPUs: as a request the pod never schedules; as a limit it is no limit at all")
        };
        let mut conflict_note = None;
        let fix = fix.map(|(new, applicability)| match conflict(cx, &e, &new) {
            Some(other) if applicability == Applicability::Mechanical => {
                let (request, limit) = if e.what.ends_with("limit") {
                    (other.as_str(), new.as_str())
                } else {
                    (new.as_str(), other.as_str())
                };
                conflict_note = Some(format!(
                    "`--fix` does not apply {new:?}: the request ({request}) would then exceed the limit ({limit}), which the API server rejects (KCPU009). Alternatives: lower the request to at most the limit, raise the limit to at least the request, or remove the limit"
                ));
                (new, Applicability::Suggestion)
            }
            _ => (new, applicability),
        });
        if let Some(n) = conflict_note {
            f = f.note(n);
        }
        match fix {
            Some((new, applicability)) => {
                f = f.help(format!("did you mean {new:?}?")).fix(Fix {
                    title: format!("replace {:?} with {new:?}", e.value.raw.trim()),
                    applicability,
                    edits: vec![Edit {
                        span: e.value.span,
                        replacement: requote(cx.text_of(e.value.span), &new),
                    }],
                });
            }
            None => {
                f = f.help("write millicores with a lower-case m (250m) or whole CPUs as a plain number (2)");
            }
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Option<(String, Option<(String, Applicability)>)> {
        assess(s, quantity::parse_manifest(s).unwrap())
    }

    #[test]
    fn assessments() {
        let (why, fix) = a("100M").unwrap();
        assert!(why.contains("100000000 CPUs"), "{why}");
        assert_eq!(fix, Some(("100m".into(), Applicability::Mechanical)));
        assert!(a("2k").unwrap().0.contains("2000 CPUs"));
        assert_eq!(
            a("500Mi").unwrap().1,
            Some(("500m".into(), Applicability::Suggestion))
        );
        assert!(a("1Gi").unwrap().1.is_none());
        assert!(a("m").unwrap().0.contains("parses as 0"));
        assert!(a("500m").is_none());
        assert!(a("2").is_none());
        assert!(a("100u").is_none());
        assert!(a("1e3").is_none());
        assert!(flags("1.5M") && !flags("1.5"));
    }
}
