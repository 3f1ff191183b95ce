//! KCPU005 `stray-whitespace`: a quoted CPU value with leading or trailing white space
//! (pure core).

use super::{requote, written_cpu};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::lint::{Check, FixKind, Rule, RuleMeta, WorkloadCx};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU005",
        name: "stray-whitespace",
        default_severity: Severity::Warning,
        summary: "A quoted CPU value has leading or trailing white space.",
        doc: DOC,
        fix: FixKind::Mechanical,
        configurable: true,
    },
    check: Check::Workload(check),
};

const DOC: &str = r#"## What it checks
Quoted CPU values with white space before or after the number (`" 500m"`, `"1 "`). White
space inside the number (`"500 m"`) is an invalid quantity and reported by KCPU003.

## Why it matters for CFS
`Quantity.UnmarshalJSON` trims the space, so the API server accepts the value and the cgroup
gets the intended `cpu.weight` / `cpu.max`. But other tools are stricter — `kubectl` patch
merges, templating that compares strings, policy engines with regular expressions — and a
value that only works because one parser is lenient tends to break the day a value is
compared or computed elsewhere. It is usually a sign of template whitespace (`{{ .cpu }} `).

## Example
```yaml
resources:
  requests: {cpu: " 250m"}
```

## Fix
Remove the spaces. `kcpu check --fix` does it.

## References
- kubernetes/apimachinery `pkg/api/resource/quantity.go` `UnmarshalJSON` (`strings.TrimSpace`)
  and `ParseQuantity` (no white space allowed).
"#;

fn check(cx: &WorkloadCx<'_>, out: &mut Vec<Finding>) {
    for e in written_cpu(cx) {
        let raw = e.value.raw.as_str();
        let trimmed = raw.trim();
        if raw == trimmed || trimmed.is_empty() || e.value.parsed.is_err() {
            continue;
        }
        out.push(
            RULE.meta
                .finding(
                    format!("{} {raw:?} has white space around the number", e.describe()),
                    e.value.span,
                )
                .label("white space inside the quotes")
                .note("the API server trims it, but string comparisons in other tools do not")
                .help(format!("write {trimmed:?}"))
                .fix(Fix {
                    title: format!("remove the white space around {trimmed:?}"),
                    applicability: Applicability::Mechanical,
                    edits: vec![Edit {
                        span: e.value.span,
                        replacement: requote(cx.text_of(e.value.span), trimmed),
                    }],
                })
                .subject(cx.subject(e.container)),
        );
    }
}
