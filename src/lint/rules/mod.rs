//! The rule registry and helpers shared by the rules (pure core).
//!
//! One file per rule; each holds `pub const RULE: Rule` with its id, name, default severity,
//! documentation (fixed sections, see [`super::DOC_SECTIONS`]) and check function. [`RULES`]
//! lists them all in id order.

pub mod absurd_value;
pub mod binary_millicores;
pub mod ignore_annotation;
pub mod ignored_resources_key;
pub mod init_raises_request;
pub mod input_error;
pub mod invalid_quantity;
pub mod limit_below_request;
pub mod limit_policy;
pub mod limitrange_violation;
pub mod namespace_over_quota;
pub mod quota_below_minimum;
pub mod request_exceeds_node;
pub mod request_missing;
pub mod static_cpu_not_integer;
pub mod stray_whitespace;
pub mod sub_millicore;
pub mod suspicious_unit;
pub mod throttling_risk;

use super::defaults::{ContainerRef, Field};
use super::{PodTotals, Rule, WorkloadCx};
use crate::manifest::model::{Container, QuantityValue, Role};
use crate::quantity;
use crate::translate::{self, kubelet, pod};
use crate::units::{MilliCpu, PeriodUs};

/// Every rule, in id order.
pub static RULES: &[&Rule] = &[
    &input_error::RULE,
    &request_missing::RULE,
    &limit_policy::RULE,
    &invalid_quantity::RULE,
    &suspicious_unit::RULE,
    &stray_whitespace::RULE,
    &sub_millicore::RULE,
    &absurd_value::RULE,
    &binary_millicores::RULE,
    &limit_below_request::RULE,
    &quota_below_minimum::RULE,
    &static_cpu_not_integer::RULE,
    &request_exceeds_node::RULE,
    &init_raises_request::RULE,
    &limitrange_violation::RULE,
    &namespace_over_quota::RULE,
    &throttling_risk::RULE,
    &ignored_resources_key::RULE,
    &ignore_annotation::RULE,
];

/// Looks a rule up by id (case-insensitive) or by name.
pub fn lookup(id_or_name: &str) -> Option<&'static Rule> {
    let t = id_or_name.trim();
    RULES
        .iter()
        .copied()
        .find(|r| r.meta.id.eq_ignore_ascii_case(t) || r.meta.name == t)
}

/// `1500m`, `2`, `100u` — the canonical Kubernetes spelling of a millicore amount.
pub fn fmt_cpu(m: MilliCpu) -> String {
    quantity::format_millicores(m)
}

/// `1.5 CPUs`, `1 CPU`, `0.25 CPUs`.
pub fn fmt_cores(m: MilliCpu) -> String {
    let whole = m.0 / 1000;
    let frac = (m.0 % 1000).abs();
    let s = if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    if m.0 == 1000 {
        "1 CPU".to_string()
    } else {
        format!("{s} CPUs")
    }
}

/// The replacement text for a value node, keeping its quoting style.
pub fn requote(original: &str, new: &str) -> String {
    match original.chars().next() {
        Some('"') => format!("\"{new}\""),
        Some('\'') => format!("'{new}'"),
        _ => new.to_string(),
    }
}

/// `50 ms`, `1.5 ms`, `800 µs`.
pub fn fmt_us(us: i64) -> String {
    if us >= 1000 && us % 1000 == 0 {
        format!("{} ms", us / 1000)
    } else if us >= 1000 {
        let s = format!("{:.3}", us as f64 / 1000.0);
        format!("{} ms", s.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{us} µs")
    }
}

/// The throttling consequence of a CPU limit, in cgroup terms.
pub fn throttling_note(limit: MilliCpu, period: PeriodUs) -> String {
    let quota = kubelet::milli_cpu_to_quota(limit, period).0;
    let p = period.0 as i64;
    format!(
        "the kubelet writes cpu.max \"{quota} {p}\" (v1: cpu.cfs_quota_us={quota}, cpu.cfs_period_us={p}): \
         once the container's threads have used {} of CPU time in a {} period they are throttled until \
         the period ends, even on an idle node; 4 busy threads use that up after {}",
        fmt_us(quota),
        fmt_us(p),
        fmt_us(quota / 4),
    )
}

/// One written CPU value of a workload, with a description for messages.
#[derive(Debug, Clone, Copy)]
pub struct CpuEntry<'a> {
    /// The value node.
    pub value: &'a QuantityValue,
    /// `request`, `limit`, `pod-level request`, `overhead`, …
    pub what: &'static str,
    /// The container, for container values.
    pub container: Option<&'a Container>,
}

impl CpuEntry<'_> {
    /// `CPU limit of container "app"` / `pod-level CPU request`.
    pub fn describe(&self) -> String {
        match self.container {
            Some(c) => format!("CPU {} of {} {:?}", self.what, role(c), c.name),
            None => format!("{} CPU", self.what),
        }
    }
}

/// `container`, `init container` or `sidecar`.
pub fn role(c: &Container) -> &'static str {
    match c.role {
        Role::Container => "container",
        Role::Init => "init container",
        Role::Sidecar => "sidecar",
    }
}

/// Every written entry (any resource name) of the workload's resource lists: containers'
/// requests and limits (LimitRange defaults excluded), pod-level resources and overhead.
/// Yields `(resource name, entry)`.
pub fn written_entries<'a>(cx: &WorkloadCx<'a>) -> Vec<(&'a str, CpuEntry<'a>)> {
    let mut out = Vec::new();
    for c in &cx.containers {
        let lists = [
            (Field::Request, &c.container.resources.requests, "request"),
            (Field::Limit, &c.container.resources.limits, "limit"),
        ];
        for (field, list, what) in lists {
            for (k, v) in &list.entries {
                if is_defaulted(cx, c.cref, field, k) {
                    continue;
                }
                out.push((
                    k.as_str(),
                    CpuEntry {
                        value: v,
                        what,
                        container: Some(c.container),
                    },
                ));
            }
        }
    }
    let pod = &cx.workload.pod;
    if let Some(r) = &pod.resources {
        for (list, what) in [
            (&r.requests, "pod-level request"),
            (&r.limits, "pod-level limit"),
        ] {
            for (k, v) in &list.entries {
                out.push((
                    k.as_str(),
                    CpuEntry {
                        value: v,
                        what,
                        container: None,
                    },
                ));
            }
        }
    }
    for (k, v) in &pod.overhead.entries {
        out.push((
            k.as_str(),
            CpuEntry {
                value: v,
                what: "pod overhead",
                container: None,
            },
        ));
    }
    out
}

/// The written CPU entries only.
pub fn written_cpu<'a>(cx: &WorkloadCx<'a>) -> Vec<CpuEntry<'a>> {
    written_entries(cx)
        .into_iter()
        .filter(|(k, _)| *k == "cpu")
        .map(|(_, e)| e)
        .collect()
}

fn is_defaulted(cx: &WorkloadCx<'_>, cref: ContainerRef, field: Field, resource: &str) -> bool {
    cx.defaulted
        .iter()
        .any(|d| d.container == cref && d.field == field && d.resource == resource)
}

/// The pod as the kubelet sees it after API defaulting — the translator's own reading
/// ([`translate::pod_input`], memory ignored), `None` when a CPU quantity does not parse or is
/// negative (KCPU003 reports those).
pub fn pod_input(cx: &WorkloadCx<'_>) -> Option<pod::PodInput> {
    let source = translate::pod_input(cx.workload, cx.assumptions, false).ok()?;
    Some(pod::apply_defaults(&source.input).0)
}

/// Per-pod totals for namespace rules (ResourceQuota).
pub fn pod_totals(cx: &WorkloadCx<'_>) -> Option<PodTotals> {
    namespace_over_quota::totals(cx)
}

#[cfg(test)]
mod tests {
    use super::super::DOC_SECTIONS;
    use super::*;

    #[test]
    fn registry_is_ordered_unique_and_documented() {
        let mut prev = "";
        let mut names = std::collections::BTreeSet::new();
        for r in RULES {
            let m = &r.meta;
            assert!(m.id > prev, "{} out of order", m.id);
            prev = m.id;
            assert!(names.insert(m.name), "duplicate name {}", m.name);
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                m.name
            );
            let mut at = 0;
            for s in DOC_SECTIONS {
                let marker = format!("## {s}\n");
                let i = m.doc[at..]
                    .find(&marker)
                    .unwrap_or_else(|| panic!("{}: section {s:?} missing or out of order", m.id));
                at += i + marker.len();
                assert!(
                    !m.section(s).unwrap_or("").is_empty(),
                    "{}: section {s:?} is empty",
                    m.id
                );
            }
            assert!(!m.summary.is_empty() && m.summary.ends_with('.'));
            assert_eq!(lookup(m.id).map(|r| r.meta.id), Some(m.id));
            assert_eq!(lookup(m.name).map(|r| r.meta.id), Some(m.id));
            assert_eq!(
                lookup(&m.id.to_ascii_lowercase()).map(|r| r.meta.id),
                Some(m.id)
            );
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(fmt_cores(MilliCpu(1500)), "1.5 CPUs");
        assert_eq!(fmt_cores(MilliCpu(1000)), "1 CPU");
        assert_eq!(fmt_cores(MilliCpu(250)), "0.25 CPUs");
        assert_eq!(requote("\"1,5\"", "1.5"), "\"1.5\"");
        assert_eq!(requote("'x'", "1"), "'1'");
        assert_eq!(requote("100M", "100m"), "100m");
        assert_eq!(fmt_us(50_000), "50 ms");
        assert_eq!(fmt_us(12_500), "12.5 ms");
        assert_eq!(fmt_us(500), "500 µs");
    }
}
