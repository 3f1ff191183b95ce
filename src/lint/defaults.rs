//! LimitRange defaults applied to workloads before they are checked (pure core).
//!
//! Order follows the API server:
//! 1. API defaulting of the pod (`SetDefaults_Pod`, kubernetes `pkg/apis/core/v1/defaults.go`):
//!    a resource present in `limits` but absent from `requests` gets `requests = limits`.
//!    This happens when the object is decoded, before admission.
//! 2. The LimitRange item itself was defaulted when stored (`SetDefaults_LimitRangeItem`, same
//!    file): `default` ← `max` for keys without a default; `defaultRequest` ← `default`, then
//!    ← `min`, for keys without a default request.
//! 3. Admission (`LimitRanger`, kubernetes `plugin/pkg/admission/limitranger/admission.go`,
//!    `defaultContainerResourceRequirements` + `mergeContainerResources`): for every
//!    `type: Container` item of every LimitRange in the namespace, each default limit fills a
//!    missing `limits` key and each default request fills a missing `requests` key — for app
//!    containers and init containers alike. Requests defaulted in step 1 are not missing, and
//!    step 1 is not re-run for limits added here.
//!
//! The result is a copy of the workload whose defaulted values carry the span of the
//! LimitRange value they came from, plus a list saying which values were defaulted.

use crate::manifest::model::{Container, LimitRange, QuantityValue, ResourceList, Workload};
use std::collections::BTreeMap;

/// Which container of the pod spec (`init` selects `initContainers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerRef {
    /// True for `spec.initContainers` (init containers and sidecars).
    pub init: bool,
    /// Index in its list.
    pub index: usize,
}

/// `requests` or `limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `resources.requests`.
    Request,
    /// `resources.limits`.
    Limit,
}

/// One value a LimitRange filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaulted {
    /// The container.
    pub container: ContainerRef,
    /// Request or limit.
    pub field: Field,
    /// Resource name (`cpu`, `memory`).
    pub resource: String,
    /// Name of the LimitRange.
    pub limit_range: String,
}

/// The effective container defaults of one LimitRange after `SetDefaults_LimitRangeItem`.
#[derive(Debug, Clone, Default)]
pub struct EffectiveDefaults {
    /// Default limits (`default`, else `max`).
    pub limits: BTreeMap<String, QuantityValue>,
    /// Default requests (`defaultRequest`, else `default`, else `min`).
    pub requests: BTreeMap<String, QuantityValue>,
}

/// `SetDefaults_LimitRangeItem` for the `type: Container` item kcpu keeps.
pub fn effective_defaults(lr: &LimitRange) -> EffectiveDefaults {
    let mut limits = lr.default_limits.entries.clone();
    for (k, v) in &lr.max.entries {
        limits.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut requests = lr.default_requests.entries.clone();
    for (k, v) in &limits {
        requests.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &lr.min.entries {
        requests.entry(k.clone()).or_insert_with(|| v.clone());
    }
    EffectiveDefaults { limits, requests }
}

fn fill(
    c: &mut Container,
    cref: ContainerRef,
    lrs: &[(&LimitRange, EffectiveDefaults)],
    out: &mut Vec<Defaulted>,
) {
    // Keys whose request the API server already defaulted from the limit (step 1).
    let written_limits: Vec<String> = c.resources.limits.entries.keys().cloned().collect();
    for (lr, d) in lrs {
        for (k, v) in &d.limits {
            if !c.resources.limits.entries.contains_key(k) {
                insert(&mut c.resources.limits, k, v);
                out.push(Defaulted {
                    container: cref,
                    field: Field::Limit,
                    resource: k.clone(),
                    limit_range: lr.name.clone(),
                });
            }
        }
        for (k, v) in &d.requests {
            if !c.resources.requests.entries.contains_key(k) && !written_limits.contains(k) {
                insert(&mut c.resources.requests, k, v);
                out.push(Defaulted {
                    container: cref,
                    field: Field::Request,
                    resource: k.clone(),
                    limit_range: lr.name.clone(),
                });
            }
        }
    }
}

fn insert(list: &mut ResourceList, k: &str, v: &QuantityValue) {
    list.entries.insert(k.to_string(), v.clone());
}

/// Applies the LimitRanges of the workload's namespace (in input order). Returns `None` when
/// no value was defaulted, so callers can keep borrowing the original.
pub fn apply_limit_ranges(w: &Workload, lrs: &[&LimitRange]) -> Option<(Workload, Vec<Defaulted>)> {
    if lrs.is_empty() {
        return None;
    }
    let eff: Vec<(&LimitRange, EffectiveDefaults)> =
        lrs.iter().map(|lr| (*lr, effective_defaults(lr))).collect();
    if eff
        .iter()
        .all(|(_, d)| d.limits.is_empty() && d.requests.is_empty())
    {
        return None;
    }
    let mut copy = w.clone();
    let mut out = Vec::new();
    for (i, c) in copy.pod.init_containers.iter_mut().enumerate() {
        fill(
            c,
            ContainerRef {
                init: true,
                index: i,
            },
            &eff,
            &mut out,
        );
    }
    for (i, c) in copy.pod.containers.iter_mut().enumerate() {
        fill(
            c,
            ContainerRef {
                init: false,
                index: i,
            },
            &eff,
            &mut out,
        );
    }
    if out.is_empty() {
        None
    } else {
        Some((copy, out))
    }
}
