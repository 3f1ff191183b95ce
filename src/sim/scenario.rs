//! Node-mode scenario files: several groups, with their cgroup values and loads, sharing one node
//! (pure core: text in, [`GroupConfig`]s out).
//!
//! ```yaml
//! cpus: 8                 # optional; --cpus overrides it
//! groups:
//!   - name: api
//!     shares: 1024        # v1 cpu.shares, or `weight: 100` (v2 cpu.weight); default shares 1024
//!     quota: 200ms        # per period; omit (or `max`) for no limit
//!     period: 100ms       # default 100ms
//!     burst: 50ms         # default 0
//!     load: poisson:rate=40/s,work=15ms,threads=8
//!     replicas: 3         # optional: api-0, api-1, api-2
//!     changes:            # optional cgroup writes during the run (e.g. an in-place resize);
//!       - at: 5s          # omitted fields keep their value
//!         quota: 400ms
//! ```
//!
//! Quota, period and burst must be whole microseconds (the kernel's unit). A `trace:FILE` load
//! names a CSV file; the caller reads it (relative to the scenario file) and fills
//! [`GroupConfig::trace`].

use super::load::{parse_load, LoadProfile};
use super::{CpuShare, GroupConfig, LimitChange, Limits};
use crate::units::{parse_duration, PeriodUs, QuotaUs, Shares, Usec, Weight};
use serde::Deserialize;

/// Most groups a scenario may expand to.
pub const MAX_GROUPS: usize = 10_000;

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// CPUs of the node, if the file sets them.
    pub cpus: Option<u32>,
    /// Groups in file order (replicas expanded).
    pub groups: Vec<GroupConfig>,
}

/// Error from [`parse_scenario`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid YAML or not the expected shape.
    #[error("scenario is not valid: {0}")]
    Syntax(String),
    /// A group entry is wrong.
    #[error("scenario group {group:?}: {reason}")]
    Group {
        /// Name (or position) of the group.
        group: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    cpus: Option<u32>,
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: Option<String>,
    shares: Option<u64>,
    weight: Option<u64>,
    quota: Option<String>,
    period: Option<String>,
    burst: Option<String>,
    load: String,
    replicas: Option<u32>,
    #[serde(default)]
    changes: Vec<RawChange>,
}

/// A cgroup write during the run: fields left out keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChange {
    at: String,
    shares: Option<u64>,
    weight: Option<u64>,
    quota: Option<String>,
    period: Option<String>,
    burst: Option<String>,
}

/// `base` with the given fields replaced.
fn overlay(
    base: Limits,
    shares: Option<u64>,
    weight: Option<u64>,
    quota: Option<&str>,
    period: Option<&str>,
    burst: Option<&str>,
) -> Result<Limits, String> {
    let mut l = base;
    match (shares, weight) {
        (Some(_), Some(_)) => return Err("give shares (v1) or weight (v2), not both".into()),
        (Some(s), None) => l.weight = CpuShare::Shares(Shares(s)),
        (None, Some(w)) => l.weight = CpuShare::Weight(Weight(w)),
        (None, None) => {}
    }
    if let Some(q) = quota {
        l.max.quota = parse_quota(q)?;
    }
    if let Some(p) = period {
        l.max.period = PeriodUs(parse_us(p, "period")?);
    }
    if let Some(b) = burst {
        l.burst = Usec(parse_us(b, "burst")?);
    }
    Ok(l)
}

fn whole_us(text: &str, what: &str) -> Result<u64, String> {
    let ns = parse_duration(text).map_err(|e| e.to_string())?;
    if ns.0 % 1_000 != 0 {
        return Err(format!(
            "{what} {text} is not a whole number of microseconds"
        ));
    }
    Ok(ns.0 / 1_000)
}

/// Parses a `--quota` style value: a duration, or `max` / `unlimited` for no limit.
pub fn parse_quota(text: &str) -> Result<QuotaUs, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("max") || t.eq_ignore_ascii_case("unlimited") || t == "-1" {
        return Ok(QuotaUs::UNLIMITED);
    }
    let us = whole_us(t, "quota")?;
    i64::try_from(us)
        .map(QuotaUs)
        .map_err(|_| format!("quota {t} is too large"))
}

/// Parses a duration that must be whole microseconds (period, burst).
pub fn parse_us(text: &str, what: &str) -> Result<u64, String> {
    whole_us(text.trim(), what)
}

/// The parser's first line (`line L column C: …`) without its `error: ` prefix and the source
/// snippet it appends (which names no file).
fn syntax_message(e: &serde_saphyr::Error) -> String {
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Parses scenario YAML text.
pub fn parse_scenario(text: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario =
        serde_saphyr::from_str(text).map_err(|e| ScenarioError::Syntax(syntax_message(&e)))?;
    if raw.groups.is_empty() {
        return Err(ScenarioError::Syntax("`groups` is empty".into()));
    }
    let mut groups = Vec::new();
    for (i, g) in raw.groups.into_iter().enumerate() {
        let name = g.name.clone().unwrap_or_else(|| format!("group-{i}"));
        let err = |reason: String| ScenarioError::Group {
            group: name.clone(),
            reason,
        };
        if name.trim().is_empty() {
            return Err(err("name is empty".into()));
        }
        let limits = overlay(
            Limits::default(),
            g.shares,
            g.weight,
            g.quota.as_deref(),
            g.period.as_deref(),
            g.burst.as_deref(),
        )
        .map_err(err)?;
        let load: LoadProfile = parse_load(&g.load).map_err(|e| err(e.to_string()))?;
        let mut changes = Vec::new();
        let mut current = limits;
        for c in &g.changes {
            let at = parse_duration(&c.at).map_err(|e| err(e.to_string()))?;
            current = overlay(
                current,
                c.shares,
                c.weight,
                c.quota.as_deref(),
                c.period.as_deref(),
                c.burst.as_deref(),
            )
            .map_err(|e| err(format!("change at {}: {e}", c.at)))?;
            changes.push(LimitChange {
                at,
                limits: current,
            });
        }
        let replicas = g.replicas.unwrap_or(1);
        if replicas == 0 {
            return Err(err("replicas must be at least 1".into()));
        }
        if groups.len() + replicas as usize > MAX_GROUPS {
            return Err(err(format!(
                "scenario expands to more than {MAX_GROUPS} groups"
            )));
        }
        for r in 0..replicas {
            let n = if replicas == 1 {
                name.clone()
            } else {
                format!("{name}-{r}")
            };
            groups.push(GroupConfig {
                changes: changes.clone(),
                ..GroupConfig::new(n, limits, load.clone())
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for g in &groups {
        if !seen.insert(g.name.as_str()) {
            return Err(ScenarioError::Group {
                group: g.name.clone(),
                reason: "duplicate group name".into(),
            });
        }
    }
    Ok(Scenario {
        cpus: raw.cpus,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_with_defaults_and_replicas() {
        let s = parse_scenario(
            "cpus: 4\ngroups:\n  - name: api\n    weight: 300\n    quota: 200ms\n    burst: 50ms\n    load: spin:threads=2\n    replicas: 2\n  - name: batch\n    load: periodic:threads=1,work=10ms,every=100ms\n",
        )
        .unwrap();
        assert_eq!(s.cpus, Some(4));
        assert_eq!(s.groups.len(), 3);
        assert_eq!(s.groups[0].name, "api-0");
        assert_eq!(s.groups[1].name, "api-1");
        assert_eq!(s.groups[0].limits.max.quota, QuotaUs(200_000));
        assert_eq!(s.groups[0].limits.burst, Usec(50_000));
        assert_eq!(s.groups[0].limits.weight, CpuShare::Weight(Weight(300)));
        assert_eq!(s.groups[2].limits, Limits::default());
    }

    #[test]
    fn changes_overlay_the_previous_values() {
        let s = parse_scenario(
            "groups:\n  - name: a\n    quota: 100ms\n    burst: 10ms\n    load: spin:threads=1\n    changes:\n      - at: 1s\n        quota: 300ms\n      - at: 2s\n        weight: 50\n",
        )
        .unwrap();
        let c = &s.groups[0].changes;
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].at.0, 1_000_000_000);
        assert_eq!(c[0].limits.max.quota, QuotaUs(300_000));
        assert_eq!(c[0].limits.burst, Usec(10_000));
        assert_eq!(c[1].limits.max.quota, QuotaUs(300_000));
        assert_eq!(c[1].limits.weight, CpuShare::Weight(Weight(50)));
        assert!(parse_scenario(
            "groups:\n  - name: a\n    load: spin:threads=1\n    changes:\n      - at: x\n"
        )
        .is_err());
    }

    #[test]
    fn rejects_bad_scenarios() {
        for bad in [
            "groups: []",
            "groups:\n  - name: a\n    load: spin:threads=1\n    colour: red\n",
            "groups:\n  - name: a\n    shares: 2\n    weight: 3\n    load: spin:threads=1\n",
            "groups:\n  - name: a\n    quota: 1.0005ms\n    load: spin:threads=1\n",
            "groups:\n  - name: a\n    load: bogus\n",
            "groups:\n  - name: a\n    load: spin:threads=1\n  - name: a\n    load: spin:threads=1\n",
            "groups:\n  - name: a\n    load: spin:threads=1\n    replicas: 0\n",
            "not: [valid",
        ] {
            assert!(parse_scenario(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quota_words() {
        assert_eq!(parse_quota("max").unwrap(), QuotaUs::UNLIMITED);
        assert_eq!(parse_quota("50ms").unwrap(), QuotaUs(50_000));
        assert!(parse_quota("50").is_err());
    }
}
