//! KCPU000 `input-error`: YAML that does not parse, documents over budget, objects without
//! the fields every workload needs (pure core; reported by the engine from loader diagnostics).

use crate::finding::Severity;
use crate::lint::{Check, FixKind, Rule, RuleMeta};

/// The rule.
pub const RULE: Rule = Rule {
    meta: RuleMeta {
        id: "KCPU000",
        name: "input-error",
        default_severity: Severity::Error,
        summary: "The input could not be read as Kubernetes manifests.",
        doc: DOC,
        fix: FixKind::None,
        configurable: false,
    },
    check: Check::Engine,
};

const DOC: &str = r#"## What it checks
Everything kcpu could not read: a file that is not UTF-8 or not YAML/JSON, a YAML syntax
error, a document larger or deeper than kcpu accepts (alias bombs are stopped this way), a
workload kind without `containers`, a document without `kind`. Errors make `kcpu check` exit
with code 2; the other documents and files are still checked and reported.

## Why it matters for CFS
A document kcpu cannot read is a document nobody checked: its CPU requests and limits — and
so its `cpu.weight` and `cpu.max` — are unknown. The API server would reject most of these
documents too, so a CI pipeline that applies them fails later and less clearly.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web
spec: {}
```
`metadata` is an unterminated flow mapping: the document is reported at the position the YAML
parser stopped, and the documents after the next `---` are still checked.

## Fix
Fix the YAML at the reported line and column. For rendered charts, run `helm template` (or
`kustomize build`) yourself and look at the rendered output: the error is in the output, not
necessarily in the template.

## References
- YAML 1.2 specification, §9.2 (document markers `---` and `...`).
- kcpu `src/manifest/mod.rs` (document splitting and budgets).
"#;
