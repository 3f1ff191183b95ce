//! Manifest mode of `simulate` and `run` (I/O shell): load and translate manifests, keep each
//! workload's `kcpu.dev/load*` annotations and replica count, and pick one container by
//! `--container NAME` (and `--workload NAME|KIND/NAME` when several workloads have it).
//!
//! A container's declared load (the default `--load`) follows the same rule as `kcpu check`'s
//! KCPU016 `throttling-risk`: the annotation `kcpu.dev/load.<container>` on the workload or its
//! pod template (the workload wins), else `kcpu.dev/load` for the pod's *first app container*
//! only (a sidecar's load is rarely the app's).
//!
//! Errors (exit 2 through `cli::main`) list the workloads and containers that are available.

use super::assume::AssumptionArgs;
use super::translate::report_problems;
use crate::manifest::model::Object;
use crate::manifest::model::{Role, Workload};
use crate::manifest::{visit_source, LoadOptions, LoadStats, Loaded};
use crate::profile::{Assumptions, CgroupVersion};
use crate::translate::{translate_workload, CgroupValues, ContainerPlan, Plan, PodPlan};
use crate::units::{PeriodUs, QuotaUs, Shares, Weight};
use anyhow::bail;
use std::collections::BTreeMap;

pub use crate::manifest::model::{LOAD_ANNOTATION, LOAD_ANNOTATION_PREFIX};

/// Selection flags shared by `simulate` and `run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PickArgs {
    /// Use this container of the manifests (its translated cgroup values).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Which workload, when several have the container: `NAME` or `KIND/NAME`.
    #[arg(long, value_name = "NAME|KIND/NAME")]
    pub workload: Option<String>,
}

/// One translated workload with what the simulator and the runner need besides the values.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The translation.
    pub pod: PodPlan,
    /// The `kcpu.dev/load` and `kcpu.dev/load.<container>` annotations (workload over template).
    pub loads: BTreeMap<String, String>,
    /// `spec.replicas` (1 when absent).
    pub replicas: u32,
}

/// A container's declared load annotation: its text and the annotation key it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredLoad {
    /// The profile text.
    pub text: String,
    /// `kcpu.dev/load.<container>` or `kcpu.dev/load`.
    pub key: String,
}

impl Entry {
    /// The load declared for `container` (see the module docs), if any.
    pub fn declared_load(&self, container: &str) -> Option<DeclaredLoad> {
        let per = format!("{LOAD_ANNOTATION_PREFIX}{container}");
        if let Some(t) = self.loads.get(&per) {
            return Some(DeclaredLoad {
                text: t.clone(),
                key: per,
            });
        }
        let first_app = self
            .pod
            .containers
            .iter()
            .find(|c| c.role == Role::Container)?;
        if first_app.name != container {
            return None;
        }
        self.loads.get(LOAD_ANNOTATION).map(|t| DeclaredLoad {
            text: t.clone(),
            key: LOAD_ANNOTATION.to_string(),
        })
    }

    /// The name of the pod's first app container (the one `kcpu.dev/load` is for).
    pub fn first_app(&self) -> Option<&str> {
        self.pod
            .containers
            .iter()
            .find(|c| c.role == Role::Container)
            .map(|c| c.name.as_str())
    }
}

/// The `kcpu.dev/load*` annotations of `w`, the workload's own over its template's.
fn load_annotations(w: &Workload) -> BTreeMap<String, String> {
    let is_load = |k: &str| k == LOAD_ANNOTATION || k.starts_with(LOAD_ANNOTATION_PREFIX);
    let mut out = BTreeMap::new();
    for md in [&w.template_metadata, &w.metadata] {
        for (k, v) in &md.annotations {
            if is_load(k) {
                out.insert(k.clone(), v.value.clone());
            }
        }
    }
    out
}

/// Every workload of the inputs, translated under `assumptions`.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The workloads, in input order.
    pub entries: Vec<Entry>,
    /// The assumptions used.
    pub assumptions: Assumptions,
}

/// `Kind namespace/name`.
pub fn label(p: &PodPlan) -> String {
    format!("{} {}/{}", p.kind, p.namespace, p.name)
}

/// Loads and translates `inputs`. Loader or translation errors are printed to stderr (like
/// `kcpu translate`) and make this fail.
pub fn load(inputs: &[String], assume: &AssumptionArgs) -> anyhow::Result<Manifests> {
    let assumptions = assume.to_assumptions()?;
    let collected = crate::input::collect(inputs);
    let mut plan = Plan::new(assumptions.clone());
    let mut loaded = Loaded::default();
    let mut entries = Vec::new();
    for (id, src) in collected.sources.iter() {
        let mut stats = LoadStats::default();
        let mut issues = Vec::new();
        visit_source(
            id,
            &src.text,
            &LoadOptions::default(),
            &mut |o| {
                if let Object::Workload(w) = o {
                    match translate_workload(&w, &assumptions) {
                        Ok(pod) => entries.push(Entry {
                            pod,
                            loads: load_annotations(&w)
                                .into_iter()
                                .map(|(k, v)| {
                                    let v = crate::record::format::resolve_annotation_load(
                                        &v, &src.name,
                                    );
                                    (k, v)
                                })
                                .collect(),
                            replicas: w.replicas.unwrap_or(1),
                        }),
                        Err(e) => plan.errors.push(e),
                    }
                }
            },
            &mut issues,
            &mut stats,
        );
        loaded.extend(Loaded {
            objects: Vec::new(),
            issues,
            stats,
        });
    }
    if report_problems(&plan, &loaded, &collected)? {
        bail!("cannot use the manifests (see the errors above)");
    }
    if entries.is_empty() {
        bail!("the manifests hold no workload with a pod template");
    }
    Ok(Manifests {
        entries,
        assumptions,
    })
}

/// `Deployment shop/web (containers: app, metrics); …` for error messages.
pub fn available(m: &Manifests) -> String {
    m.entries
        .iter()
        .map(|e| {
            let names: Vec<&str> = e.pod.containers.iter().map(|c| c.name.as_str()).collect();
            format!("{} (containers: {})", label(&e.pod), names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// True when `sel` (`NAME` or `KIND/NAME`) names the workload `p`.
pub fn matches_workload(p: &PodPlan, sel: &str) -> bool {
    match sel.split_once('/') {
        Some((kind, name)) => p.kind.eq_ignore_ascii_case(kind) && p.name == name,
        None => p.name == sel,
    }
}

/// Picks the workload (by `workload`, or the only one with the container) and the container.
pub fn pick<'a>(
    m: &'a Manifests,
    workload: Option<&str>,
    container: &str,
) -> anyhow::Result<(&'a Entry, &'a ContainerPlan)> {
    let candidates: Vec<&Entry> = m
        .entries
        .iter()
        .filter(|e| workload.is_none_or(|w| matches_workload(&e.pod, w)))
        .collect();
    if candidates.is_empty() {
        bail!(
            "no workload matches --workload {:?}; available: {}",
            workload.unwrap_or_default(),
            available(m)
        );
    }
    let with: Vec<(&Entry, &ContainerPlan)> = candidates
        .iter()
        .filter_map(|e| {
            e.pod
                .containers
                .iter()
                .find(|c| c.name == container)
                .map(|c| (*e, c))
        })
        .collect();
    match with.as_slice() {
        [one] => Ok(*one),
        [] => bail!("no container {container:?} found; available: {}", available(m)),
        many => bail!(
            "container {container:?} is in several workloads ({}); pick one with --workload NAME or KIND/NAME",
            many.iter()
                .map(|(e, _)| format!("{}/{}", e.pod.kind, e.pod.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The values of one translated cgroup as one cgroup version writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values {
    /// Quota (v1 `cpu.cfs_quota_us`, or the first field of v2 `cpu.max`).
    pub quota: QuotaUs,
    /// Period.
    pub period: PeriodUs,
    /// v1 `cpu.shares` (`None` on v2).
    pub shares: Option<Shares>,
    /// v2 `cpu.weight` (`None` on v1).
    pub weight: Option<Weight>,
}

/// The files of `v` for `version`: v1 shares + `cfs_quota_us`/`cfs_period_us`, or v2 weight +
/// `cpu.max` (parsed: `crun` and systemd may round the quota differently from v1).
pub fn values(v: &CgroupValues, version: CgroupVersion) -> anyhow::Result<Values> {
    Ok(match version {
        CgroupVersion::V1 => Values {
            quota: v.cfs_quota_us.value,
            period: v.cfs_period_us.value,
            shares: Some(v.shares.value),
            weight: None,
        },
        CgroupVersion::V2 => {
            let (q, p) = parse_cpu_max(&v.max.value)?;
            Values {
                quota: q,
                period: p,
                shares: None,
                weight: Some(v.weight.value),
            }
        }
    })
}

/// Parses `cpu.max` text: `"<quota|max> <period>"`.
pub fn parse_cpu_max(s: &str) -> anyhow::Result<(QuotaUs, PeriodUs)> {
    let mut it = s.split_whitespace();
    let (Some(q), Some(p), None) = (it.next(), it.next(), it.next()) else {
        bail!("malformed cpu.max {s:?}");
    };
    let period = PeriodUs(
        p.parse()
            .map_err(|_| anyhow::anyhow!("malformed cpu.max period in {s:?}"))?,
    );
    let quota = if q == "max" {
        QuotaUs::UNLIMITED
    } else {
        QuotaUs(
            q.parse()
                .map_err(|_| anyhow::anyhow!("malformed cpu.max quota in {s:?}"))?,
        )
    };
    Ok((quota, period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_text() {
        assert_eq!(
            parse_cpu_max("150000 100000").unwrap(),
            (QuotaUs(150_000), PeriodUs(100_000))
        );
        assert_eq!(
            parse_cpu_max("max 100000").unwrap(),
            (QuotaUs::UNLIMITED, PeriodUs(100_000))
        );
        assert!(parse_cpu_max("max").is_err());
        assert!(parse_cpu_max("x 1").is_err());
    }
}
