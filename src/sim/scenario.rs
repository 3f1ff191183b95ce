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
//! ```
//!
//! Quota, period and burst must be whole microseconds (the kernel's unit). A `trace:FILE` load
//! names a CSV file; the caller reads it (relative to the scenario file) and fills
//! [`GroupConfig::trace`].

use super::load::{parse_load, LoadProfile};
use super::{CpuWeight, GroupConfig, Limits};
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

/// Parses scenario YAML text.
pub fn parse_scenario(text: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario =
        serde_saphyr::from_str(text).map_err(|e| ScenarioError::Syntax(e.to_string()))?;
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
        let weight = match (g.shares, g.weight) {
            (Some(_), Some(_)) => {
                return Err(err("give shares (v1) or weight (v2), not both".into()))
            }
            (Some(s), None) => CpuWeight::Shares(Shares(s)),
            (None, Some(w)) => CpuWeight::Weight(Weight(w)),
            (None, None) => CpuWeight::default(),
        };
        let quota = match &g.quota {
            Some(q) => parse_quota(q).map_err(err)?,
            None => QuotaUs::UNLIMITED,
        };
        let period = match &g.period {
            Some(p) => PeriodUs(parse_us(p, "period").map_err(err)?),
            None => PeriodUs::DEFAULT,
        };
        let burst = match &g.burst {
            Some(b) => Usec(parse_us(b, "burst").map_err(err)?),
            None => Usec(0),
        };
        let load: LoadProfile = parse_load(&g.load).map_err(|e| err(e.to_string()))?;
        let limits = Limits {
            quota,
            period,
            burst,
            weight,
        };
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
                name: n,
                limits,
                load: load.clone(),
                trace: None,
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
        assert_eq!(s.groups[0].limits.quota, QuotaUs(200_000));
        assert_eq!(s.groups[0].limits.burst, Usec(50_000));
        assert_eq!(s.groups[0].limits.weight, CpuWeight::Weight(Weight(300)));
        assert_eq!(s.groups[2].limits, Limits::default());
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
