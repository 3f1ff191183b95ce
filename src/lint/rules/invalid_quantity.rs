//! KCPU003 `invalid-quantity`: a resource value that is not a valid Kubernetes quantity, with
//! a repair when one is clear (pure core).

use super::{requote, written_entries};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};
use crate::quantity;

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU003",
        name: "invalid-quantity",
        default_severity: Severity::Error,
        summary: "A request, limit or overhead value is not a valid Kubernetes quantity.",
        doc: DOC,
        fix: FixKind::Mechanical,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Every value under `requests`, `limits`, pod-level `resources` and `overhead` (any resource
name) must parse as a `resource.Quantity` — `^[+-]?[0-9.]+([eEinumkKMGTP]*[-+]?[0-9]*)$`, with
suffixes `n u m k M G T P E`, `Ki … Ei` or a decimal exponent — and must not be negative.
LimitRange and ResourceQuota values are checked too.

## Why it matters for CFS
The API server rejects the object ("quantities must match the regular expression…"), so none
of its CPU settings reach a cgroup; in a pipeline that applies several manifests the rest
may go out without it. Typical causes are a decimal comma (`1,5`), a thousands separator
(`1,000m`), a space (`500 m`), a unit word (`2 cores`) or a letter for a digit (`l0m`).

## Example
```yaml
resources:
  requests: {cpu: "1,5"}
  limits: {cpu: "500 m"}
```

## Fix
Write the number with a dot and the suffix right after it: `1.5` (or `1500m`), `500m`.
`kcpu check --fix` applies the repairs that are unambiguous: removing spaces, a decimal comma
followed by other than three digits, thousands separators in millicores (`1,500m`). Other
repairs (`l0m` → `10m`, `2 cores` → `2`) are shown as suggestions.

## References
- kubernetes/apimachinery `pkg/api/resource/quantity.go` `ParseQuantity`, `UnmarshalJSON`
  (surrounding white space is trimmed, inner white space is an error).
- kubernetes `pkg/apis/core/validation/validation.go` `ValidateResourceRequirements`
  (values must be ≥ 0).
- sapcc/helm-charts PR #2647 (`cpu: 'l0m'` in a real chart).
"#;

fn parses(s: &str) -> bool {
    quantity::parse(s).is_ok_and(|q| !q.is_negative())
}

/// A repair: the new text, whether `--fix` may apply it, and why.
type Repair = (String, Applicability, &'static str);

/// A repair for an invalid quantity, when one is clear: the new text and whether `--fix` may
/// apply it.
pub fn repair(raw: &str, cpu: bool) -> Option<Repair> {
    let t = raw.trim();
    // 1. Inner white space ("500 m", "1 Gi").
    if t.chars().any(char::is_whitespace) {
        let c: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        if parses(&c) {
            return Some((c, Applicability::Mechanical, "remove the space"));
        }
    }
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = t.to_ascii_lowercase();
    if t.contains(',') {
        if let Some(r) = commas(&t) {
            return Some(r);
        }
    }
    if cpu {
        if let Some(r) = unit_word(&t, &lower) {
            return Some(r);
        }
    }
    // No Kubernetes suffix contains l, I, O or o.
    if t.chars().any(|c| matches!(c, 'l' | 'I' | 'O' | 'o')) {
        if let Some(r) = letters_for_digits(&t) {
            return Some(r);
        }
    }
    if cpu {
        return milli_typed_as_mi(&lower);
    }
    None
}

/// 2. Commas: thousands separators, or a decimal comma.
fn commas(t: &str) -> Option<Repair> {
    let commas = t.matches(',').count();
    let (head, tail) = t.split_once(',').unwrap_or((t, ""));
    let tail_digits = tail.chars().take_while(char::is_ascii_digit).count();
    let head_digits = !head.is_empty() && head.chars().all(|c| c.is_ascii_digit());
    let grouped: String = t.chars().filter(|&c| c != ',').collect();
    let decimal = t.replacen(',', ".", 1);
    if commas > 1 && head_digits {
        if parses(&grouped) {
            return Some((
                grouped,
                Applicability::Mechanical,
                "remove the thousands separators",
            ));
        }
    } else if commas == 1 && tail_digits == 3 && head_digits {
        let suffix = &tail[3..];
        if suffix == "m" && parses(&grouped) {
            return Some((
                grouped,
                Applicability::Mechanical,
                "remove the thousands separator",
            ));
        }
        // `1,500` could be 1.5 or 1500: a human decides.
        if parses(&decimal) {
            return Some((
                decimal,
                Applicability::Suggestion,
                "a comma followed by three digits may be a decimal comma or a thousands separator",
            ));
        }
    } else if commas == 1 && parses(&decimal) {
        return Some((decimal, Applicability::Mechanical, "use a decimal point"));
    }
    None
}

/// 3. Unit words on CPU ("2 cores", "0.5cpu", "500 millicores").
fn unit_word(t: &str, lower: &str) -> Option<Repair> {
    for (word, with) in [
        ("millicores", "m"),
        ("millicore", "m"),
        ("millicpus", "m"),
        ("millicpu", "m"),
        ("vcpus", ""),
        ("vcpu", ""),
        ("cores", ""),
        ("core", ""),
        ("cpus", ""),
        ("cpu", ""),
    ] {
        if lower.ends_with(word) {
            let c = format!("{}{with}", &t[..t.len() - word.len()]);
            if parses(&c) {
                return Some((c, Applicability::Suggestion, "drop the unit word"));
            }
        }
    }
    None
}

/// 4. Letters typed for digits ("l0m", "1O0m").
fn letters_for_digits(t: &str) -> Option<Repair> {
    let c: String = t
        .chars()
        .map(|c| match c {
            'l' | 'I' => '1',
            'O' | 'o' => '0',
            c => c,
        })
        .collect();
    if parses(&c) {
        return Some((
            c,
            Applicability::Suggestion,
            "a letter stands where a digit belongs",
        ));
    }
    None
}

/// 5. `mi`/`MI` on CPU: millicores were almost certainly meant.
fn milli_typed_as_mi(lower: &str) -> Option<Repair> {
    if let Some(num) = lower.strip_suffix("mi") {
        let c = format!("{num}m");
        if parses(&c) {
            return Some((
                c,
                Applicability::Suggestion,
                "CPU has no `mi` suffix; millicores are `m`",
            ));
        }
    }
    None
}

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for (resource, e) in written_entries(cx) {
        let raw = e.value.raw.as_str();
        let res = match resource {
            "cpu" => "CPU",
            other => other,
        };
        let owner = match e.container {
            Some(c) => format!(" of {} {:?}", super::role(c), c.name),
            None => String::new(),
        };
        let (reason, hint) = match &e.value.parsed {
            Err(err) => (err.reason.clone(), err.hint.clone()),
            Ok(q) if q.is_negative() => (
                "negative values are rejected by the API server".to_string(),
                Some("requests and limits must be zero or more".to_string()),
            ),
            Ok(_) => continue,
        };
        let mut f = RULE
            .meta
            .finding(
                format!("invalid {res} {} {raw:?}{owner}: {reason}", e.what),
                e.value.span,
            )
            .label("not a Kubernetes quantity")
            .subject(cx.subject(e.container));
        if resource == "cpu" || resource == "memory" {
            f = f.note(
                "the API server rejects the whole object, so none of its CPU settings are applied",
            );
        } else {
            // Neither CPU nor memory (which decides the QoS class), often a template
            // placeholder such as `${COUNT}` substituted before apply: a warning, the CPU
            // values are still checked.
            f.severity = Severity::Warning;
            f = f.note(
                "not a CPU value, so the CPU checks still ran; unless it is substituted before apply (a template placeholder?), the API server rejects the whole object",
            );
        }
        if let Some((new, applicability, why)) = repair(raw, resource == "cpu") {
            f = f.help(format!("{why}: {new:?}"));
            f = f.fix(Fix {
                title: format!("replace {raw:?} with {new:?}"),
                applicability,
                edits: vec![Edit {
                    span: e.value.span,
                    replacement: requote(cx.text_of(e.value.span), &new),
                }],
            });
        } else if let Some(h) = hint {
            f = f.help(h);
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Applicability::*;

    fn r(s: &str) -> Option<(String, Applicability)> {
        repair(s, true).map(|(c, a, _)| (c, a))
    }

    #[test]
    fn repairs() {
        assert_eq!(r("500 m"), Some(("500m".into(), Mechanical)));
        assert_eq!(r("1,5"), Some(("1.5".into(), Mechanical)));
        assert_eq!(r("0,25"), Some(("0.25".into(), Mechanical)));
        assert_eq!(r("1,500m"), Some(("1500m".into(), Mechanical)));
        assert_eq!(r("1,500"), Some(("1.500".into(), Suggestion)));
        assert_eq!(r("1,000,000m"), Some(("1000000m".into(), Mechanical)));
        assert_eq!(r("2 cores"), Some(("2".into(), Suggestion)));
        assert_eq!(r("500millicores"), Some(("500m".into(), Suggestion)));
        assert_eq!(r("l0m"), Some(("10m".into(), Suggestion)));
        assert_eq!(r("500mi"), Some(("500m".into(), Suggestion)));
        assert_eq!(r("-1"), None);
        assert_eq!(r("abc"), None);
        assert_eq!(repair("512 Mi", false).map(|x| x.0), Some("512Mi".into()));
    }
}
