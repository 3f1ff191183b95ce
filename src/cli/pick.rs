//! Manifest mode of `simulate` and `run` (I/O shell): load and translate manifests, keep each
//! container's declared load (from the `kcpu.dev/load*` annotations) and each workload's replica
//! count, and pick one container by `--container NAME` (and `--workload NAME|KIND/NAME` when
//! several workloads have it).
//!
//! A container's declared load (the default `--load`) follows the same rule as `kcpu check`'s
//! KCPU016 `throttling-risk`: the annotation `kcpu.dev/load.<container>` on the workload or its
//! pod template (the workload wins), else `kcpu.dev/load` for the pod's *first app container*
//! only (a sidecar's load is rarely the app's).
//!
//! Errors (exit 2 through `cli::main`) list the workloads and containers that are available.

use super::assume::AssumptionArgs;
use super::translate::{load_and_translate, report_problems, Item};
use crate::manifest::model::{Role, Workload};
use crate::profile::Assumptions;
use crate::source::SourceSet;
use crate::translate::{ContainerPlan, PodPlan};
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
    /// Each container's declared load, by container name: the one rule of
    /// [`Workload::declared_load`] (shared with `check` KCPU016 and `report`), applied once
    /// when the workload is loaded.
    pub loads: BTreeMap<String, DeclaredLoad>,
    /// `spec.replicas` (1 when absent).
    pub replicas: u32,
    /// 0-based index of the workload's YAML document in its source piece.
    pub doc_index: usize,
    /// Index path inside `kind: List` items (empty for a top-level object).
    pub list_path: Vec<usize>,
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
        self.loads.get(container).cloned()
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

/// The declared load of each container of `pod` (translated from `w`), by container name,
/// with a relative `trace:` path made relative to `manifest`.
fn declared_loads(w: &Workload, pod: &PodPlan, manifest: &str) -> BTreeMap<String, DeclaredLoad> {
    let first_app = pod.containers.iter().find(|c| c.role == Role::Container);
    pod.containers
        .iter()
        .filter_map(|c| {
            let is_first = first_app.is_some_and(|f| f.name == c.name);
            let (key, a) = w.declared_load(&c.name, is_first)?;
            let text = crate::manifest::model::resolve_annotation_load(&a.value, manifest);
            Some((c.name.clone(), DeclaredLoad { text, key }))
        })
        .collect()
}

/// Every workload of the inputs, translated under `assumptions`.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The workloads, in input order.
    pub entries: Vec<Entry>,
    /// The assumptions used.
    pub assumptions: Assumptions,
    /// Some input could not be read or translated (already reported on stderr); the entries
    /// hold everything that could. `simulate` carries on and exits 2; `run` refuses.
    pub input_errors: bool,
    /// The sources the workloads were read from (by each pod's span), so that a caller needing
    /// a workload's raw object (`--emit-job`) reads it from there instead of the inputs again.
    pub sources: SourceSet,
}

/// `Kind namespace/name`.
pub fn label(p: &PodPlan) -> String {
    format!("{} {}/{}", p.kind, p.namespace, p.name)
}

/// Most workloads [`load`] keeps (the memory budget of `simulate`, `run`, `emit-job` and
/// `collect --compare` on manifests).
pub const MAX_ENTRIES: usize = 10_000;

/// Loads and translates `inputs`. Loader or translation errors are printed to stderr (like
/// `kcpu translate`) and make this fail.
pub fn load(inputs: &[String], assume: &AssumptionArgs) -> anyhow::Result<Manifests> {
    let mut entries = Vec::new();
    let mut workloads = 0usize;
    let pass = load_and_translate(inputs, assume, "translating", &mut |item, sources| {
        if let Item::Pod(w, pod) = item {
            workloads += 1;
            if workloads > MAX_ENTRIES {
                // Counted, not kept: the budget error below names the count.
                return None;
            }
            // `trace:` paths in annotations are relative to the manifest that names them.
            let manifest = sources
                .get(pod.span.source)
                .map(|f| f.name.as_str())
                .unwrap_or_default();
            entries.push(Entry {
                loads: declared_loads(&w, &pod, manifest),
                doc_index: w.doc_index,
                list_path: w.list_path.clone(),
                pod: *pod,
                replicas: w.replicas.unwrap_or(1),
            });
        }
        None
    })?;
    let input_errors = report_problems(&pass.plan, &pass.loaded, &pass.collected)?;
    if workloads > MAX_ENTRIES {
        bail!(
            "the manifests hold {workloads} workloads, more than the {MAX_ENTRIES} `simulate` and `run` keep in memory (node mode simulates at most {} groups): pass only the manifests of the workloads to simulate",
            crate::sim::scenario::MAX_GROUPS
        );
    }
    if entries.is_empty() {
        if input_errors {
            bail!("cannot use the manifests (see the errors above)");
        }
        bail!("the manifests hold no workload with a pod template");
    }
    Ok(Manifests {
        entries,
        assumptions: pass.plan.assumptions,
        input_errors,
        sources: pass.collected.sources,
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
