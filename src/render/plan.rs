//! Translation plan renderers: table, JSON, YAML and `--explain` text (pure core: each
//! writes into a writer it is given; only `cli` chooses stdout or a file).
//!
//! JSON and YAML share one serializable [`PlanDocument`] — the stable contract of
//! `kcpu translate --output json`. Spans are resolved to `file:line:column` here, through
//! [`SourceSet::position`], so every format agrees. Output order is the input order of
//! workloads and diagnostics; nothing depends on hash order.

use crate::manifest::model::{IssueLevel, LoadIssue, Role};
use crate::profile::{Assumptions, CgroupVersion};
use crate::render::escape::escape;
use crate::source::{Position, SourceSet, Span};
use crate::translate::{
    CgroupPaths, CgroupValues, ContainerPlan, Explained, Plan, PodPlan, QosClass, QosTier, Step,
};
use comfy_table::{presets, Cell, CellAlignment, Table};
use serde::Serialize;
use std::io::{self, Write};

/// Output formats of `kcpu translate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// Assumptions header, one row per pod and per container.
    Table,
    /// The JSON contract ([`PlanDocument`]).
    Json,
    /// The same document as YAML.
    Yaml,
    /// The derivation chain of every number, with upstream sources.
    Explain,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Writing to the output failed (a broken pipe included; the CLI decides what to do).
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
    /// JSON serialization failed.
    #[error("serializing JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// YAML serialization failed.
    #[error("serializing YAML: {0}")]
    Yaml(String),
}

/// Renders `plan` in `format`.
pub fn render(
    format: PlanFormat,
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
) -> Result<(), RenderError> {
    match format {
        PlanFormat::Table => render_table(out, plan)?,
        PlanFormat::Json => render_json(out, plan, sources, issues)?,
        PlanFormat::Yaml => render_yaml(out, plan, sources, issues)?,
        PlanFormat::Explain => render_explain(out, plan, sources)?,
    }
    Ok(())
}

/// A diagnostic (loader issue or translation error) with its resolved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `warning` or `error`.
    pub level: IssueLevel,
    /// Stable code, e.g. `invalid-quantity`, `unknown-resources-key`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Where.
    pub source: Position,
}

/// One container in the JSON/YAML contract.
#[derive(Debug, Serialize)]
pub struct ContainerView<'a> {
    /// Container name.
    pub name: &'a str,
    /// `container`, `init` or `sidecar`.
    pub role: Role,
    /// Effective CPU request in millicores, `null` when absent.
    pub request_millicores: Option<i64>,
    /// CPU limit used for the quota in millicores, `null` when absent.
    pub limit_millicores: Option<i64>,
    /// The five cgroup files.
    #[serde(flatten)]
    pub values: &'a CgroupValues,
    /// Exclusive CPUs from the static CPU manager.
    pub exclusive_cpus: u64,
    /// Container cgroup path for the configured driver.
    pub cgroup_path: &'a str,
    /// Position of the container in the manifest.
    pub source: Position,
    /// Caveats.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
}

/// One workload in the JSON/YAML contract.
#[derive(Debug, Serialize)]
pub struct PodView<'a> {
    /// `kind`.
    pub kind: &'a str,
    /// Namespace (`default` when absent).
    pub namespace: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// QoS class.
    pub qos: QosClass,
    /// Position of the workload object.
    pub source: Position,
    /// The pod cgroup's five files.
    pub pod: &'a CgroupValues,
    /// Containers: init containers in order, then app containers.
    pub containers: Vec<ContainerView<'a>>,
    /// `kubepods`, `kubepods/burstable` or `kubepods/besteffort`.
    pub qos_tier: QosTier,
    /// Pod cgroup path for the configured driver.
    pub cgroup_path: &'a str,
    /// Pod cgroup path under both drivers.
    pub cgroup_paths: &'a CgroupPaths,
    /// Effective pod CPU request (incl. overhead) in millicores.
    pub request_millicores: Option<i64>,
    /// Pod CPU limit the pod quota comes from, in millicores.
    pub limit_millicores: Option<i64>,
    /// Caveats.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
}

/// The document printed by `--output json` and `--output yaml`.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// Everything the numbers depend on.
    pub assumptions: &'a Assumptions,
    /// One entry per translated workload.
    pub pods: Vec<PodView<'a>>,
    /// Loader warnings.
    pub warnings: Vec<Diagnostic>,
    /// Loader errors and workloads that could not be translated.
    pub errors: Vec<Diagnostic>,
}

/// Loader issues and translation errors as positioned diagnostics, split into
/// (warnings, errors). A translation error for a value the loader already reported (same
/// span) is not repeated.
pub fn diagnostics(
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for i in issues {
        let d = Diagnostic {
            level: i.level,
            code: i.code.to_string(),
            message: i.message.clone(),
            hint: i.hint.clone(),
            source: sources.position(i.span),
        };
        match i.level {
            IssueLevel::Note | IssueLevel::Warning => warnings.push(d),
            IssueLevel::Error => errors.push(d),
        }
    }
    let loader_error_spans: Vec<Span> = issues
        .iter()
        .filter(|i| i.level == IssueLevel::Error)
        .map(|i| i.span)
        .collect();
    for e in &plan.errors {
        if loader_error_spans.contains(&e.span()) {
            continue;
        }
        errors.push(Diagnostic {
            level: IssueLevel::Error,
            code: e.code().to_string(),
            message: e.to_string(),
            hint: e.hint(),
            source: sources.position(e.span()),
        });
    }
    (warnings, errors)
}

/// Builds the serializable document.
pub fn document<'a>(plan: &'a Plan, sources: &SourceSet, issues: &[LoadIssue]) -> PlanDocument<'a> {
    let driver = plan.assumptions.driver;
    let pods = plan
        .pods
        .iter()
        .map(|p| pod_view(p, driver, sources))
        .collect();
    let (warnings, errors) = diagnostics(plan, sources, issues);
    PlanDocument {
        assumptions: &plan.assumptions,
        pods,
        warnings,
        errors,
    }
}

/// One pod of the JSON/YAML contract.
pub fn pod_view<'a>(
    p: &'a PodPlan,
    driver: crate::profile::CgroupDriver,
    sources: &SourceSet,
) -> PodView<'a> {
    PodView {
        kind: &p.kind,
        namespace: &p.namespace,
        name: &p.name,
        qos: p.qos.value,
        source: sources.position(p.span),
        pod: &p.pod,
        containers: p
            .containers
            .iter()
            .map(|c| ContainerView {
                name: &c.name,
                role: c.role,
                request_millicores: c.request_millicores.value,
                limit_millicores: c.limit_millicores.value,
                values: &c.values,
                exclusive_cpus: c.exclusive_cpus,
                cgroup_path: c.cgroup.for_driver(driver),
                source: sources.position(c.span),
                notes: &c.notes,
            })
            .collect(),
        qos_tier: p.qos_tier,
        cgroup_path: p.cgroup.for_driver(driver),
        cgroup_paths: &p.cgroup,
        request_millicores: p.request_millicores.value,
        limit_millicores: p.limit_millicores.value,
        notes: &p.notes,
    }
}

/// `--output json` written as the translation goes: the assumptions, then each pod as soon
/// as it is translated (so memory does not grow with the input), then the diagnostics. The
/// bytes are exactly those of [`render_json`] on the whole plan.
pub struct JsonStream<'w> {
    out: &'w mut dyn Write,
    driver: crate::profile::CgroupDriver,
    pods: usize,
}

/// `value` pretty-printed, every line after the first indented by `indent` spaces (JSON
/// strings never hold a raw newline, so this nests it exactly as one pretty document).
fn pretty_nested<T: Serialize>(value: &T, indent: usize) -> Result<String, RenderError> {
    let text = serde_json::to_string_pretty(value)?;
    let pad = format!("\n{}", " ".repeat(indent));
    Ok(text.replace('\n', &pad))
}

impl<'w> JsonStream<'w> {
    /// Writes the opening and the assumptions.
    pub fn begin(out: &'w mut dyn Write, assumptions: &Assumptions) -> Result<Self, RenderError> {
        write!(
            out,
            "{{\n  \"assumptions\": {},\n  \"pods\": [",
            pretty_nested(assumptions, 2)?
        )?;
        Ok(JsonStream {
            out,
            driver: assumptions.driver,
            pods: 0,
        })
    }

    /// Writes one pod.
    pub fn pod(&mut self, p: &PodPlan, sources: &SourceSet) -> Result<(), RenderError> {
        let sep = if self.pods == 0 { "\n    " } else { ",\n    " };
        let view = pod_view(p, self.driver, sources);
        write!(self.out, "{sep}{}", pretty_nested(&view, 4)?)?;
        self.pods += 1;
        Ok(())
    }

    /// Writes the diagnostics (of `plan`, whose pods were streamed) and the closing brace.
    pub fn finish(
        self,
        plan: &Plan,
        sources: &SourceSet,
        issues: &[LoadIssue],
    ) -> Result<(), RenderError> {
        let (warnings, errors) = diagnostics(plan, sources, issues);
        let close = if self.pods == 0 { "]" } else { "\n  ]" };
        write!(
            self.out,
            "{close},\n  \"warnings\": {},\n  \"errors\": {}\n}}\n",
            pretty_nested(&warnings, 2)?,
            pretty_nested(&errors, 2)?
        )?;
        Ok(())
    }
}

/// `--output json`: the contract, pretty-printed, with a trailing newline.
pub fn render_json(
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
) -> Result<(), RenderError> {
    let doc = document(plan, sources, issues);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// `--output yaml`: the same document as YAML (serde-saphyr serializer).
pub fn render_yaml(
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
) -> Result<(), RenderError> {
    let doc = document(plan, sources, issues);
    let text = serde_saphyr::to_string(&doc).map_err(|e| RenderError::Yaml(e.to_string()))?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// The assumptions as a few human-readable lines (shared by table and explain).
pub fn assumptions_header(a: &Assumptions) -> Vec<String> {
    let mut lines = vec![
        format!(
            "cgroup {} | runtime {} (container weight: {}{}) | driver {} | CFS period {} us | cpuCFSQuota {} | CPU manager {} | Kubernetes {}",
            a.cgroup,
            a.runtime,
            a.effective_weight_formula(),
            if a.weight_formula.is_some() { ", overridden" } else { "" },
            a.driver,
            a.cfs_period,
            on_off(a.cpu_cfs_quota),
            a.cpu_manager_policy,
            a.kubernetes
        ),
        format!(
            "feature gates: {}",
            a.feature_gates().iter().map(|(k, v)| format!("{k}={}", on_off(*v))).collect::<Vec<_>>().join(" ")
        ),
        format!(
            "pod cgroups: written by the kubelet via {} (linear cpu.weight{})",
            a.kubelet_cgroup_library(),
            match a.driver {
                crate::profile::CgroupDriver::Systemd if a.kubelet_writes_rounded_quota() => ", systemd-rounded quota",
                crate::profile::CgroupDriver::Systemd => ", unrounded quota in cgroupfs",
                crate::profile::CgroupDriver::Cgroupfs => "",
            }
        ),
    ];
    lines.extend(a.caveats().into_iter().map(|c| format!("caveat: {c}")));
    lines
}

fn millis(v: Option<i64>) -> String {
    v.map_or_else(|| "-".to_string(), |m| format!("{m}m"))
}

fn cell<T: std::fmt::Display>(e: &Explained<T>) -> Cell {
    let text = if e.kernel_default {
        format!("{}*", e.value)
    } else {
        e.value.to_string()
    };
    Cell::new(text).set_alignment(CellAlignment::Right)
}

fn value_cells(v: &CgroupValues, version: CgroupVersion) -> Vec<Cell> {
    match version {
        CgroupVersion::V2 => vec![cell(&v.weight), cell(&v.max)],
        CgroupVersion::V1 => vec![
            cell(&v.shares),
            cell(&v.cfs_quota_us),
            cell(&v.cfs_period_us),
        ],
    }
}

/// Writes loader issues and translation errors as `file:line:col: level[code]: message` lines
/// with hints (the CLI sends them to stderr so stdout holds only the data).
pub fn render_diagnostics(
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
) -> io::Result<()> {
    let (warnings, errors) = diagnostics(plan, sources, issues);
    for d in warnings.iter().chain(&errors) {
        let level = match d.level {
            IssueLevel::Note => "note",
            IssueLevel::Warning => "warning",
            IssueLevel::Error => "error",
        };
        writeln!(
            out,
            "{}: {level}[{}]: {}",
            escape(&d.source.to_string()),
            d.code,
            escape(&d.message)
        )?;
        if let Some(h) = &d.hint {
            writeln!(out, "  hint: {}", escape(h))?;
        }
    }
    Ok(())
}

/// `Kind namespace/name`, escaped for a terminal (names come from the manifest).
fn workload_label(p: &PodPlan) -> String {
    escape(&format!("{} {}/{}", p.kind, p.namespace, p.name)).into_owned()
}

/// `--output table`: assumptions, then one row per pod cgroup and per container with the
/// files of the configured cgroup version; `*` marks a file left at the kernel default.
pub fn render_table(out: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let a = &plan.assumptions;
    for line in assumptions_header(a) {
        writeln!(out, "{line}")?;
    }
    let mut table = Table::new();
    table.load_style(presets::UTF8_BORDERS_ONLY).force_no_tty();
    let mut header = vec!["WORKLOAD", "CONTAINER", "ROLE", "QOS", "REQUEST", "LIMIT"];
    match a.cgroup {
        CgroupVersion::V2 => header.extend(["cpu.weight", "cpu.max"]),
        CgroupVersion::V1 => header.extend(["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"]),
    }
    table.set_header(header);
    let mut notes = Vec::new();
    for p in &plan.pods {
        let mut row = vec![
            Cell::new(workload_label(p)),
            Cell::new("(pod)"),
            Cell::new("pod"),
            Cell::new(p.qos.value),
            Cell::new(millis(p.request_millicores.value)).set_alignment(CellAlignment::Right),
            Cell::new(millis(p.limit_millicores.value)).set_alignment(CellAlignment::Right),
        ];
        row.extend(value_cells(&p.pod, a.cgroup));
        table.add_row(row);
        for n in &p.notes {
            notes.push(format!("{}: {}", workload_label(p), escape(n)));
        }
        for c in &p.containers {
            let role = if c.exclusive_cpus > 0 {
                format!("{} ({} excl. CPUs)", c.role.as_str(), c.exclusive_cpus)
            } else {
                c.role.as_str().to_string()
            };
            let mut row = vec![
                Cell::new(""),
                Cell::new(escape(&c.name)),
                Cell::new(role),
                Cell::new(""),
                Cell::new(millis(c.request_millicores.value)).set_alignment(CellAlignment::Right),
                Cell::new(millis(c.limit_millicores.value)).set_alignment(CellAlignment::Right),
            ];
            row.extend(value_cells(&c.values, a.cgroup));
            table.add_row(row);
            for n in &c.notes {
                notes.push(format!(
                    "{} container {}: {}",
                    workload_label(p),
                    escape(&c.name),
                    escape(n)
                ));
            }
        }
    }
    if plan.pods.is_empty() {
        writeln!(out, "no workloads translated")?;
    } else {
        writeln!(out, "{table}")?;
        writeln!(
            out,
            "* kernel default: the file is not written by the kubelet or the runtime"
        )?;
    }
    for n in notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

fn write_steps(out: &mut dyn Write, indent: &str, steps: &[Step]) -> io::Result<()> {
    for s in steps {
        writeln!(out, "{indent}- {}", escape(&s.text))?;
        writeln!(out, "{indent}    [{}]", s.source)?;
    }
    Ok(())
}

fn write_value<T: std::fmt::Display>(
    out: &mut dyn Write,
    name: &str,
    e: &Explained<T>,
) -> io::Result<()> {
    let default = if e.kernel_default {
        " (kernel default, not written)"
    } else {
        ""
    };
    writeln!(out, "    {name} = {}{default}", e.value)?;
    write_steps(out, "      ", &e.steps)
}

fn write_values(out: &mut dyn Write, v: &CgroupValues, version: CgroupVersion) -> io::Result<()> {
    let v2 = |out: &mut dyn Write| -> io::Result<()> {
        write_value(out, "cpu.weight", &v.weight)?;
        write_value(out, "cpu.max", &v.max)
    };
    let v1 = |out: &mut dyn Write| -> io::Result<()> {
        write_value(out, "cpu.shares", &v.shares)?;
        write_value(out, "cpu.cfs_quota_us", &v.cfs_quota_us)?;
        write_value(out, "cpu.cfs_period_us", &v.cfs_period_us)
    };
    match version {
        CgroupVersion::V2 => {
            v2(out)?;
            v1(out)
        }
        CgroupVersion::V1 => {
            v1(out)?;
            v2(out)
        }
    }
}

fn write_container(
    out: &mut dyn Write,
    c: &ContainerPlan,
    a: &Assumptions,
    sources: &SourceSet,
) -> io::Result<()> {
    writeln!(
        out,
        "  container {} ({}) at {}",
        escape(&c.name),
        c.role.as_str(),
        escape(&sources.position(c.span).to_string())
    )?;
    writeln!(out, "    cgroup: {}", c.cgroup.for_driver(a.driver))?;
    writeln!(out, "    request = {}", millis(c.request_millicores.value))?;
    write_steps(out, "      ", &c.request_millicores.steps)?;
    writeln!(out, "    limit = {}", millis(c.limit_millicores.value))?;
    write_steps(out, "      ", &c.limit_millicores.steps)?;
    if c.exclusive_cpus > 0 {
        writeln!(out, "    exclusive CPUs = {}", c.exclusive_cpus)?;
    }
    write_values(out, &c.values, a.cgroup)?;
    for n in &c.notes {
        writeln!(out, "    note: {}", escape(n))?;
    }
    Ok(())
}

/// `--explain`: for every workload the QoS decision, the pod request and limit, and each
/// of the five files of the pod cgroup and every container cgroup, each with the ordered
/// derivation steps and the upstream source of every rule.
pub fn render_explain(out: &mut dyn Write, plan: &Plan, sources: &SourceSet) -> io::Result<()> {
    let a = &plan.assumptions;
    for line in assumptions_header(a) {
        writeln!(out, "{line}")?;
    }
    for p in &plan.pods {
        writeln!(out)?;
        writeln!(
            out,
            "{} at {}",
            workload_label(p),
            escape(&sources.position(p.span).to_string())
        )?;
        writeln!(
            out,
            "  QoS = {} (tier {})",
            p.qos.value,
            p.qos_tier.as_str()
        )?;
        write_steps(out, "    ", &p.qos.steps)?;
        writeln!(
            out,
            "  pod request = {}",
            millis(p.request_millicores.value)
        )?;
        write_steps(out, "    ", &p.request_millicores.steps)?;
        writeln!(out, "  pod limit = {}", millis(p.limit_millicores.value))?;
        write_steps(out, "    ", &p.limit_millicores.steps)?;
        writeln!(out, "  pod cgroup: {}", p.cgroup.for_driver(a.driver))?;
        write_values(out, &p.pod, a.cgroup)?;
        for c in &p.containers {
            write_container(out, c, a, sources)?;
        }
        for n in &p.notes {
            writeln!(out, "  note: {}", escape(n))?;
        }
    }
    if !plan.pods.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
