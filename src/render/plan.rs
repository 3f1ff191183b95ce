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

/// Width the human formats fit into when the terminal's is unknown (a pipe without `COLUMNS`).
pub const DEFAULT_WIDTH: usize = 80;

/// Narrowest width the table is laid out for (below it, lines may be wider than asked).
pub const MIN_WIDTH: usize = 40;

/// Renders `plan` in `format`; the table and the explanation fit in `width` columns.
pub fn render(
    format: PlanFormat,
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    issues: &[LoadIssue],
    width: usize,
) -> Result<(), RenderError> {
    match format {
        PlanFormat::Table => render_table(out, plan, sources, width)?,
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
    /// File, line and column of the workload.
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
    /// Notes on what the translation assumed or the API server would do.
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
    /// Notes on what the translation assumed for this container.
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

/// `--output json`, `--output yaml` (and `--output oci`, [`crate::render::oci::oci_stream`])
/// written as the translation goes: the assumptions, then each pod as soon as it is translated
/// (so memory does not grow with the input), then the diagnostics. The bytes are exactly those
/// of [`render_json`] / [`render_yaml`] on the whole plan.
pub struct PlanStream<'w> {
    out: &'w mut dyn Write,
    driver: crate::profile::CgroupDriver,
    pods: usize,
    syntax: Syntax,
}

/// The syntax of a [`PlanStream`].
#[derive(Clone, Copy)]
enum Syntax {
    /// JSON, each pod written by the view.
    Json(PodJson),
    /// YAML: each part is serialized as a mapping with the whole document's keys, so its
    /// indentation is the whole document's.
    Yaml,
}

/// One pod's entry in a JSON [`PlanStream`], pretty-printed at the pods' indentation: [`pod_view`]
/// for `--output json`, the OCI view for `--output oci` (`crate::render::oci::oci_stream`).
pub type PodJson =
    fn(&PodPlan, crate::profile::CgroupDriver, &SourceSet) -> Result<String, RenderError>;

/// `value` pretty-printed, every line after the first indented by `indent` spaces (JSON
/// strings never hold a raw newline, so this nests it exactly as one pretty document).
pub(crate) fn pretty_nested<T: Serialize>(value: &T, indent: usize) -> Result<String, RenderError> {
    let text = serde_json::to_string_pretty(value)?;
    let pad = format!("\n{}", " ".repeat(indent));
    Ok(text.replace('\n', &pad))
}

fn to_yaml<T: Serialize>(value: &T) -> Result<String, RenderError> {
    serde_saphyr::to_string(value).map_err(|e| RenderError::Yaml(e.to_string()))
}

impl<'w> PlanStream<'w> {
    /// `--output json`: writes the opening and the assumptions.
    pub fn json(out: &'w mut dyn Write, assumptions: &Assumptions) -> Result<Self, RenderError> {
        Self::json_with(out, assumptions, |p, driver, sources| {
            pretty_nested(&pod_view(p, driver, sources), 4)
        })
    }

    /// [`PlanStream::json`] with another view of each pod.
    pub fn json_with(
        out: &'w mut dyn Write,
        assumptions: &Assumptions,
        view: PodJson,
    ) -> Result<Self, RenderError> {
        write!(
            out,
            "{{\n  \"assumptions\": {},\n  \"pods\": [",
            pretty_nested(assumptions, 2)?
        )?;
        Ok(Self::started(out, assumptions, Syntax::Json(view)))
    }

    /// `--output yaml`: writes the assumptions.
    pub fn yaml(out: &'w mut dyn Write, assumptions: &Assumptions) -> Result<Self, RenderError> {
        #[derive(Serialize)]
        struct Head<'a> {
            assumptions: &'a Assumptions,
        }
        out.write_all(to_yaml(&Head { assumptions })?.as_bytes())?;
        Ok(Self::started(out, assumptions, Syntax::Yaml))
    }

    fn started(out: &'w mut dyn Write, assumptions: &Assumptions, syntax: Syntax) -> Self {
        PlanStream {
            out,
            driver: assumptions.driver,
            pods: 0,
            syntax,
        }
    }

    /// Writes one pod.
    pub fn pod(&mut self, p: &PodPlan, sources: &SourceSet) -> Result<(), RenderError> {
        match self.syntax {
            Syntax::Json(view) => {
                let sep = if self.pods == 0 { "\n    " } else { ",\n    " };
                write!(self.out, "{sep}{}", view(p, self.driver, sources)?)?;
            }
            Syntax::Yaml => {
                #[derive(Serialize)]
                struct Pods<'a> {
                    pods: [PodView<'a>; 1],
                }
                let text = to_yaml(&Pods {
                    pods: [pod_view(p, self.driver, sources)],
                })?;
                // `pods:` and its line break open the sequence once; each pod is one item.
                let item = text.strip_prefix("pods:\n").unwrap_or(&text);
                if self.pods == 0 {
                    self.out.write_all(b"pods:\n")?;
                }
                self.out.write_all(item.as_bytes())?;
            }
        }
        self.pods += 1;
        Ok(())
    }

    /// Writes the diagnostics (of `plan`, whose pods were streamed) and, in JSON, the closing
    /// brace.
    pub fn finish(
        self,
        plan: &Plan,
        sources: &SourceSet,
        issues: &[LoadIssue],
    ) -> Result<(), RenderError> {
        let (warnings, errors) = diagnostics(plan, sources, issues);
        match self.syntax {
            Syntax::Json(_) => {
                let close = if self.pods == 0 { "]" } else { "\n  ]" };
                write!(
                    self.out,
                    "{close},\n  \"warnings\": {},\n  \"errors\": {}\n}}\n",
                    pretty_nested(&warnings, 2)?,
                    pretty_nested(&errors, 2)?
                )?;
            }
            Syntax::Yaml => {
                #[derive(Serialize)]
                struct Tail {
                    warnings: Vec<Diagnostic>,
                    errors: Vec<Diagnostic>,
                }
                if self.pods == 0 {
                    self.out
                        .write_all(to_yaml(&Head0 { pods: [] })?.as_bytes())?;
                }
                let text = to_yaml(&Tail { warnings, errors })?;
                self.out.write_all(text.as_bytes())?;
                if !text.ends_with('\n') {
                    self.out.write_all(b"\n")?;
                }
            }
        }
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

/// `pods: []`, as the whole document writes an empty list.
#[derive(Serialize)]
struct Head0 {
    pods: [u8; 0],
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

fn cell<T: std::fmt::Display>(e: &Explained<T>) -> String {
    if e.kernel_default {
        format!("{}*", e.value)
    } else {
        e.value.to_string()
    }
}

fn value_cells(v: &CgroupValues, version: CgroupVersion) -> Vec<String> {
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

/// Display width of `s` in terminal columns (wide CJK characters count two).
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// [`wrap`] for a diagnostic line: its first word (the `file:line:col:` location) is never cut,
/// so editors and `grep` still find it. A location wider than `width` stands alone on its line
/// and the rest continues below, indented.
pub fn wrap_diagnostic(line: &str, width: usize, indent: &str) -> Vec<String> {
    let trimmed = line.trim_start_matches(' ');
    let first = trimmed.split(' ').next().unwrap_or("");
    let lead = line.len() - trimmed.len();
    if lead > 0 || display_width(first) <= width {
        return wrap(line, width, indent);
    }
    let rest = trimmed[first.len()..].trim_start();
    let mut lines = vec![first.to_string()];
    if !rest.is_empty() {
        lines.extend(wrap(&format!("{indent}{rest}"), width, indent));
    }
    lines
}

/// Greedy word wrap of one line into lines of at most `width` columns; continuation lines
/// start with `indent`. A line that fits is returned unchanged; a word wider than a line is
/// cut at character boundaries.
pub fn wrap(line: &str, width: usize, indent: &str) -> Vec<String> {
    if display_width(line) <= width {
        return vec![line.to_string()];
    }
    let iw = display_width(indent);
    let width = width.max(iw + 8);
    let lead = line.len() - line.trim_start_matches(' ').len();
    let mut lines = Vec::new();
    let mut cur = line[..lead].to_string();
    let mut cur_w = lead;
    let mut start_w = lead;
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_string();
        loop {
            let ww = display_width(&word);
            let sep = usize::from(cur_w > start_w);
            if cur_w + sep + ww <= width {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.push_str(&word);
                cur_w += sep + ww;
                break;
            }
            if cur_w > start_w {
                lines.push(std::mem::replace(&mut cur, indent.to_string()));
                (cur_w, start_w) = (iw, iw);
                continue;
            }
            // The word alone is wider than a line: cut it (at least one character).
            let room = width.saturating_sub(cur_w);
            let mut head_w = 0;
            let mut cut = word.len();
            for (i, c) in word.char_indices() {
                let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                if head_w + cw > room && i > 0 {
                    cut = i;
                    break;
                }
                head_w += cw;
            }
            cur.push_str(&word[..cut]);
            lines.push(std::mem::replace(&mut cur, indent.to_string()));
            (cur_w, start_w) = (iw, iw);
            word = word[cut..].to_string();
            if word.is_empty() {
                break;
            }
        }
    }
    if cur_w > start_w || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

fn write_wrapped(out: &mut dyn Write, line: &str, width: usize) -> io::Result<()> {
    for l in wrap(line, width, "  ") {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

/// A line of the translate table: a full-width workload heading, or cells.
enum TableLine {
    /// `Kind namespace/name  file:line`, across all columns.
    Heading(String),
    /// Name, QoS or role, then right-aligned numbers.
    Cells(Vec<String>),
}

/// Column widths: each column's widest cell, the first (names) shrunk so the line fits in
/// `width` when it can (a longer name then gets a line of its own).
fn column_widths(header: &[String], lines: &[TableLine], width: usize) -> Vec<usize> {
    let mut w: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
    for l in lines {
        if let TableLine::Cells(c) = l {
            for (i, cell) in c.iter().enumerate() {
                w[i] = w[i].max(display_width(cell));
            }
        }
    }
    let rest: usize = w[1..].iter().sum::<usize>() + 2 * (w.len() - 1);
    let name_room = width.saturating_sub(rest).max(8);
    w[0] = w[0]
        .min(name_room)
        .max(display_width(&header[0]).min(name_room));
    w
}

fn write_cells(out: &mut dyn Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    let name = &cells[0];
    if display_width(name) > widths[0] {
        // Too long for its column: the name on a line of its own, the numbers below it.
        writeln!(out, "{name}")?;
        line.push_str(&" ".repeat(widths[0]));
    } else {
        line.push_str(name);
        line.push_str(&" ".repeat(widths[0] - display_width(name)));
    }
    for (i, c) in cells.iter().enumerate().skip(1) {
        let pad = widths[i] - display_width(c);
        line.push_str("  ");
        if i == 1 {
            line.push_str(c);
            line.push_str(&" ".repeat(pad));
        } else {
            line.push_str(&" ".repeat(pad));
            line.push_str(c);
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// `--output table`: assumptions, then per workload a heading line (`Kind namespace/name`
/// and its `file:line`, so equal names from different files stay apart), its pod cgroup row
/// and one row per container with the files of the configured cgroup version; `*` marks a
/// file left at the kernel default. Every line fits in `width` columns (at least
/// [`MIN_WIDTH`]; the v1 columns need about 75): header lines and headings are word-wrapped,
/// and a name too long for its column gets a line of its own.
pub fn render_table(
    out: &mut dyn Write,
    plan: &Plan,
    sources: &SourceSet,
    width: usize,
) -> io::Result<()> {
    render_table_head(out, &plan.assumptions, width)?;
    if plan.pods.is_empty() {
        writeln!(out, "no workloads translated")?;
        Ok(())
    } else {
        render_table_block(out, &plan.assumptions, &plan.pods, sources, width)
    }
}

/// The assumptions lines that open the table.
pub fn render_table_head(out: &mut dyn Write, a: &Assumptions, width: usize) -> io::Result<()> {
    let width = width.max(MIN_WIDTH);
    for line in assumptions_header(a) {
        write_wrapped(out, &line, width)?;
    }
    Ok(())
}

/// Workloads per block of a streamed table (`translate` on a large input prints one table,
/// with its header and legend, per this many workloads, so memory does not grow with the
/// input; up to this many the output is one table).
pub const TABLE_BLOCK: usize = 1_000;

/// The rows of `pods` (at least one) as one table: header, rows, legend and notes.
pub fn render_table_block(
    out: &mut dyn Write,
    a: &Assumptions,
    pods: &[PodPlan],
    sources: &SourceSet,
    width: usize,
) -> io::Result<()> {
    let width = width.max(MIN_WIDTH);
    let mut header: Vec<String> = ["WORKLOAD/CONTAINER", "QOS/ROLE", "REQUEST", "LIMIT"]
        .map(String::from)
        .to_vec();
    match a.cgroup {
        CgroupVersion::V2 => header.extend(["cpu.weight", "cpu.max"].map(String::from)),
        // `cpu.` dropped from the two CFS files so the v1 table fits 80 columns.
        CgroupVersion::V1 => {
            header.extend(["cpu.shares", "cfs_quota_us", "cfs_period_us"].map(String::from))
        }
    }
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    for p in pods {
        let at = sources.position(p.span);
        lines.push(TableLine::Heading(format!(
            "{}  {}:{}",
            workload_label(p),
            escape(&at.file),
            at.line
        )));
        let mut row = vec![
            "  (pod)".to_string(),
            p.qos.value.to_string(),
            millis(p.request_millicores.value),
            millis(p.limit_millicores.value),
        ];
        row.extend(value_cells(&p.pod, a.cgroup));
        lines.push(TableLine::Cells(row));
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
                format!("  {}", escape(&c.name)),
                role,
                millis(c.request_millicores.value),
                millis(c.limit_millicores.value),
            ];
            row.extend(value_cells(&c.values, a.cgroup));
            lines.push(TableLine::Cells(row));
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
    {
        let widths = column_widths(&header, &lines, width);
        if display_width(&header[0]) > widths[0] {
            header[0] = "NAME".into();
        }
        writeln!(out)?;
        write_cells(out, &header, &widths)?;
        let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
        writeln!(out, "{}", "─".repeat(rule.min(width)))?;
        for l in &lines {
            match l {
                TableLine::Heading(h) => write_wrapped(out, h, width)?,
                TableLine::Cells(c) => write_cells(out, c, &widths)?,
            }
        }
        writeln!(out)?;
        write_wrapped(
            out,
            "* kernel default: the file is not written by the kubelet or the runtime",
            width,
        )?;
    }
    for n in notes {
        write_wrapped(out, &format!("note: {n}"), width)?;
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
    render_explain_head(out, a)?;
    for p in &plan.pods {
        render_explain_pod(out, p, a, sources)?;
    }
    if !plan.pods.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// The assumptions lines that open `--explain`.
pub fn render_explain_head(out: &mut dyn Write, a: &Assumptions) -> io::Result<()> {
    for line in assumptions_header(a) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The explanation of one pod (`--explain` writes each as it is translated; after the last
/// one, an empty line).
pub fn render_explain_pod(
    out: &mut dyn Write,
    p: &PodPlan,
    a: &Assumptions,
    sources: &SourceSet,
) -> io::Result<()> {
    {
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
    Ok(())
}

#[cfg(test)]
mod tests;
