//! `kcpu translate --output oci`: per container the OCI runtime-spec `linux.resources.cpu`
//! object and `linux.cgroupsPath` containerd hands to the runtime (pure core: writes into the
//! writer it is given).
//!
//! Containers appear in the same order as in `--output json` (per workload: init containers,
//! then app containers). The container id is unknown before the container exists, so the
//! path ends in the literal `<container-id>`, as `--output json`'s `cgroup_path` does.

use super::plan::{diagnostics, pretty_nested, Diagnostic, PlanStream, RenderError};
use crate::manifest::model::{LoadIssue, Role};
use crate::profile::{Assumptions, CgroupDriver};
use crate::source::{Position, SourceSet};
use crate::translate::oci::{cgroups_path, LinuxCpu};
use crate::translate::{Plan, PodPlan, QosClass};
use serde::Serialize;
use std::io::Write;

/// `linux.resources` with only the `cpu` member.
#[derive(Debug, Serialize)]
pub struct OciResources {
    /// `linux.resources.cpu`.
    pub cpu: LinuxCpu,
}

/// The `linux` object with the members kcpu derives.
#[derive(Debug, Serialize)]
pub struct OciLinux {
    /// `linux.cgroupsPath` (containerd `getCgroupsPath`).
    #[serde(rename = "cgroupsPath")]
    pub cgroups_path: String,
    /// `linux.resources`.
    pub resources: OciResources,
}

/// One container.
#[derive(Debug, Serialize)]
pub struct OciContainer<'a> {
    /// Container name.
    pub name: &'a str,
    /// `container`, `init` or `sidecar`.
    pub role: Role,
    /// The spec members under `linux`.
    pub linux: OciLinux,
    /// Position of the container in the manifest.
    pub source: Position,
}

/// One workload.
#[derive(Debug, Serialize)]
pub struct OciPod<'a> {
    /// `kind`.
    pub kind: &'a str,
    /// `metadata.namespace` (`default` when unset).
    pub namespace: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// QoS class.
    pub qos: QosClass,
    /// Containers, in `--output json` order.
    pub containers: Vec<OciContainer<'a>>,
}

/// The document printed by `--output oci`.
#[derive(Debug, Serialize)]
pub struct OciDocument<'a> {
    /// Everything the numbers depend on (the runtime preset decides nothing here: the spec
    /// is what containerd writes; `translate --output json` shows what the runtime makes of it).
    pub assumptions: &'a Assumptions,
    /// One entry per translated workload.
    pub pods: Vec<OciPod<'a>>,
    /// Loader warnings.
    pub warnings: Vec<Diagnostic>,
    /// Loader errors and workloads that could not be translated.
    pub errors: Vec<Diagnostic>,
}

/// One workload's entry.
fn oci_pod<'a>(p: &'a PodPlan, driver: CgroupDriver, sources: &SourceSet) -> OciPod<'a> {
    OciPod {
        kind: &p.kind,
        namespace: &p.namespace,
        name: &p.name,
        qos: p.qos.value,
        containers: p
            .containers
            .iter()
            .map(|c| OciContainer {
                name: &c.name,
                role: c.role,
                linux: OciLinux {
                    cgroups_path: cgroups_path(&p.cgroup, driver, "<container-id>"),
                    resources: OciResources {
                        cpu: LinuxCpu::from_cri(c.cri),
                    },
                },
                source: sources.position(c.span),
            })
            .collect(),
    }
}

/// Builds the document.
pub fn document<'a>(plan: &'a Plan, sources: &SourceSet, issues: &[LoadIssue]) -> OciDocument<'a> {
    let driver = plan.assumptions.driver;
    let pods = plan
        .pods
        .iter()
        .map(|p| oci_pod(p, driver, sources))
        .collect();
    let (warnings, errors) = diagnostics(plan, sources, issues);
    OciDocument {
        assumptions: &plan.assumptions,
        pods,
        warnings,
        errors,
    }
}

/// `--output oci`: the document, pretty-printed, with a trailing newline.
pub fn render_oci(
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
) -> Result<(), RenderError> {
    serde_json::to_writer_pretty(&mut *out, &document(plan, sources, issues))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// `--output oci` written one workload at a time (byte-identical to [`render_oci`]), so
/// memory does not grow with the input: a JSON [`PlanStream`] whose pods are the OCI view.
pub fn oci_stream<'w>(
    out: &'w mut dyn Write,
    assumptions: &Assumptions,
) -> Result<PlanStream<'w>, RenderError> {
    PlanStream::json_with(out, assumptions, |p, driver, sources| {
        pretty_nested(&oci_pod(p, driver, sources), 4)
    })
}
