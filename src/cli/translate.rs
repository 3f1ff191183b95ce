//! `kcpu translate` (I/O shell): inputs → loader → translation → renderer.
//!
//! Each document is translated as it is read and each pod is written as soon as it is
//! translated, in every output format, so memory does not grow with the input.
//! stdout holds only the data (table, JSON, YAML or the explanation); diagnostics go to
//! stderr as `file:line:col: level[code]: message` with a hint.
#![allow(clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::exit;
use crate::manifest::model::LoadIssue;
use crate::manifest::model::{IssueLevel, Object, Workload};
use crate::manifest::{visit_source, LoadOptions, LoadStats, Loaded};
use crate::profile::Assumptions;
use crate::render::oci::oci_stream;
use crate::render::plan::{
    render_diagnostics, render_explain_head, render_explain_pod, render_table_block,
    render_table_head, PlanFormat, PlanStream, RenderError, TABLE_BLOCK,
};
use crate::source::SourceSet;
use crate::translate::{translate_workload, Plan, PodPlan};
use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;

/// Output formats of `translate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Assumptions header and one row per pod and container.
    Table,
    /// The stable JSON contract.
    Json,
    /// The same document as YAML.
    Yaml,
    /// Per container the OCI runtime-spec `linux.resources.cpu` and `linux.cgroupsPath`
    /// containerd hands to runc/crun (JSON).
    Oci,
}

/// Arguments of `kcpu translate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kcpu translate fixtures/web.yaml
  kcpu translate k8s/ --cgroup v1 --runtime crun --output json
  helm template ./chart | kcpu translate - --explain")]
pub struct Args {
    /// Files, directories (recursive *.yaml, *.yml, *.json) or `-` for stdin.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Print how each number was derived, with the upstream rule it follows.
    #[arg(long, conflicts_with = "output")]
    pub explain: bool,
    /// What the node runs.
    #[command(flatten)]
    pub assume: AssumptionArgs,
}

/// An object of the inputs, in input order, as [`load_and_translate`] hands it on.
pub enum Item {
    /// A workload that translated, with its translation.
    Pod(Box<Workload>, Box<PodPlan>),
    /// Any object that is not a workload (HPAs, LimitRanges, quotas, …).
    Other(Box<Object>),
}

/// What one pass over the inputs leaves: the plan (the pods the caller kept, every workload
/// that failed to translate), the loader's issues and statistics (without the objects, which
/// are dropped as soon as they are handed on) and the input errors.
pub struct Pass {
    /// Assumptions, kept pods and translation errors.
    pub plan: Plan,
    /// Loader issues and statistics.
    pub loaded: Loaded,
    /// The sources read and the inputs that could not be read.
    pub collected: crate::input::Collected,
}

/// The one load-and-translate loop of the CLI (`translate`, `report`, and the manifest mode
/// of `simulate` and `run`): reads every input, translates each workload as it is read (so
/// memory follows what `keep` retains, not the input), hands every object to `keep` and puts
/// the pods it returns into the plan. A progress bar labelled `label` shows on a terminal.
pub fn load_and_translate(
    inputs: &[String],
    assume: &AssumptionArgs,
    label: &str,
    keep: &mut dyn FnMut(Item, &SourceSet) -> Option<PodPlan>,
) -> anyhow::Result<Pass> {
    let assumptions = assume.to_assumptions()?;
    let collected = crate::input::collect(inputs);
    let mut plan = Plan::new(assumptions);
    let mut loaded = Loaded::default();
    let opts = LoadOptions::default();
    let bar = super::output::bar(collected.sources.len() as u64, label);
    for (id, src) in collected.sources.iter() {
        let mut stats = LoadStats::default();
        let mut issues = Vec::new();
        src.with_text(|text, _| {
            visit_source(
                id,
                text,
                &opts,
                &mut |o| {
                    let item = match o {
                        Object::Workload(w) => match translate_workload(&w, &plan.assumptions) {
                            Ok(p) => Item::Pod(w, Box::new(p)),
                            Err(e) => return plan.errors.push(e),
                        },
                        other => Item::Other(Box::new(other)),
                    };
                    if let Some(p) = keep(item, &collected.sources) {
                        plan.pods.push(p);
                    }
                },
                &mut issues,
                &mut stats,
            )
        });
        loaded.extend(Loaded {
            objects: Vec::new(),
            issues,
            stats,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(Pass {
        plan,
        loaded,
        collected,
    })
}

/// Prints input errors and the plan's diagnostics to stderr; returns true if any is an error.
pub fn report_problems(
    plan: &Plan,
    loaded: &Loaded,
    collected: &crate::input::Collected,
) -> anyhow::Result<bool> {
    // Rendered first, then wrapped line by line (locations never cut) when COLUMNS is set or
    // stderr is a terminal; piped without COLUMNS, one line per diagnostic.
    let mut err: Vec<u8> = Vec::new();
    for e in &collected.errors {
        writeln!(err, "error: {e}")?;
    }
    render_diagnostics(&mut err, plan, &collected.sources, &loaded.issues)?;
    write_omitted(&mut err, &loaded.stats)?;
    let no_input = collected.sources.is_empty() && collected.errors.is_empty();
    let empty = if no_input {
        Some("the input holds no YAML or JSON documents")
    } else if collected.sources.is_empty() {
        None
    } else {
        loaded.stats.emptiness()
    };
    if let Some(why) = empty {
        writeln!(err, "error: {why}")?;
    }
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    match super::term::stderr_width() {
        Some(width) => {
            for line in String::from_utf8_lossy(&err).lines() {
                for l in crate::render::plan::wrap_diagnostic(line, width, "    ") {
                    writeln!(out, "{l}")?;
                }
            }
        }
        None => out.write_all(&err)?,
    }
    Ok(!collected.errors.is_empty()
        || !plan.errors.is_empty()
        || loaded.issues.iter().any(|i| i.level == IssueLevel::Error)
        || loaded
            .stats
            .omitted
            .keys()
            .any(|(_, l)| *l == IssueLevel::Error)
        || empty.is_some())
}

/// One line per diagnostic code with more repeats than were printed.
pub fn write_omitted(err: &mut dyn Write, stats: &LoadStats) -> std::io::Result<()> {
    for ((code, level), n) in &stats.omitted {
        let level = match level {
            IssueLevel::Note => "note",
            IssueLevel::Warning => "warning",
            IssueLevel::Error => "error",
        };
        writeln!(
            err,
            "… and {n} more {level}(s) [{code}] not shown (the first {} are above)",
            crate::manifest::MAX_ISSUES_PER_CODE
        )?;
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = match (args.explain, args.output) {
        (true, _) => Format::Plan(PlanFormat::Explain),
        (false, Output::Table) => Format::Plan(PlanFormat::Table),
        (false, Output::Json) => Format::Plan(PlanFormat::Json),
        (false, Output::Yaml) => Format::Plan(PlanFormat::Yaml),
        (false, Output::Oci) => Format::Oci,
    };
    run_streaming(&args, format)
}

/// The output chosen by `--output` and `--explain`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Plan(PlanFormat),
    Oci,
}

/// A streamed output: each pod is written as soon as it is translated and then dropped (the
/// table in blocks of [`TABLE_BLOCK`] workloads).
enum Stream<'w> {
    /// JSON, YAML or OCI.
    Plan(PlanStream<'w>),
    Explain {
        out: &'w mut dyn Write,
        any: bool,
    },
    Table(TableStream<'w>),
}

/// `--output table`: pods rendered in blocks of [`TABLE_BLOCK`] (column widths per block).
struct TableStream<'w> {
    out: &'w mut dyn Write,
    block: Vec<PodPlan>,
    any: bool,
    width: usize,
}

impl TableStream<'_> {
    fn pod(&mut self, p: PodPlan, a: &Assumptions, sources: &SourceSet) -> Result<(), RenderError> {
        self.block.push(p);
        self.any = true;
        if self.block.len() >= TABLE_BLOCK {
            self.flush(a, sources)?;
        }
        Ok(())
    }

    fn flush(&mut self, a: &Assumptions, sources: &SourceSet) -> Result<(), RenderError> {
        render_table_block(&mut *self.out, a, &self.block, sources, self.width)?;
        self.block.clear();
        Ok(())
    }

    fn finish(mut self, a: &Assumptions, sources: &SourceSet) -> Result<(), RenderError> {
        if !self.any {
            writeln!(self.out, "no workloads translated")?;
        } else if !self.block.is_empty() {
            self.flush(a, sources)?;
        }
        Ok(())
    }
}

impl<'w> Stream<'w> {
    fn begin(format: Format, out: &'w mut dyn Write, a: &Assumptions) -> Result<Self, RenderError> {
        let format = match format {
            Format::Oci => return Ok(Stream::Plan(oci_stream(out, a)?)),
            Format::Plan(f) => f,
        };
        Ok(match format {
            PlanFormat::Json => Stream::Plan(PlanStream::json(out, a)?),
            PlanFormat::Yaml => Stream::Plan(PlanStream::yaml(out, a)?),
            PlanFormat::Explain => {
                render_explain_head(out, a)?;
                Stream::Explain { out, any: false }
            }
            PlanFormat::Table => {
                let width = super::term::width();
                render_table_head(out, a, width)?;
                Stream::Table(TableStream {
                    out,
                    block: Vec::new(),
                    any: false,
                    width,
                })
            }
        })
    }

    fn pod(&mut self, p: PodPlan, a: &Assumptions, sources: &SourceSet) -> Result<(), RenderError> {
        match self {
            Stream::Plan(s) => s.pod(&p, sources),
            Stream::Explain { out, any } => {
                *any = true;
                Ok(render_explain_pod(&mut **out, &p, a, sources)?)
            }
            Stream::Table(t) => t.pod(p, a, sources),
        }
    }

    fn finish(
        self,
        plan: &Plan,
        sources: &SourceSet,
        issues: &[LoadIssue],
    ) -> Result<(), RenderError> {
        match self {
            Stream::Plan(s) => s.finish(plan, sources, issues),
            Stream::Explain { out, any } => {
                if any {
                    writeln!(out)?;
                }
                Ok(())
            }
            Stream::Table(t) => t.finish(&plan.assumptions, sources),
        }
    }
}

/// Every output streamed: each pod is written as soon as it is translated and then dropped,
/// so memory does not grow with the input (issue 13 defect 7).
fn run_streaming(args: &Args, format: Format) -> anyhow::Result<ExitCode> {
    let assumptions = args.assume.to_assumptions()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut stream = Some(Stream::begin(format, &mut out, &assumptions).map_err(render_io)?);
    let mut write_error: Option<std::io::Error> = None;
    // A closed stdout stops the writing, not the translation: the diagnostics still decide.
    let Pass {
        plan,
        loaded,
        collected,
    } = load_and_translate(
        &args.inputs,
        &args.assume,
        "translating",
        &mut |item, sources| {
            if let (Item::Pod(_, p), Some(s), None) = (item, stream.as_mut(), &write_error) {
                if let Err(e) = s.pod(*p, &assumptions, sources).map_err(render_io) {
                    write_error = Some(e);
                }
            }
            None
        },
    )?;
    if let Some(e) = write_error {
        // A broken pipe (`| head`) is not an error; the diagnostics still decide the exit code.
        super::tolerate_broken_pipe(Err(e)).context("writing the output")?;
        stream = None;
    }
    if let Some(s) = stream.take() {
        let written = s
            .finish(&plan, &collected.sources, &loaded.issues)
            .map_err(render_io)
            .and_then(|()| out.flush());
        super::tolerate_broken_pipe(written).context("writing the output")?;
    }
    if matches!(
        format,
        Format::Plan(PlanFormat::Table | PlanFormat::Explain)
    ) {
        write_skipped(&loaded.stats)?;
    }
    let failed = report_problems(&plan, &loaded, &collected)?;
    Ok(exit::code(if failed {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }))
}

/// The `skipped N document(s) without a pod template` line of the human formats.
fn write_skipped(stats: &LoadStats) -> anyhow::Result<()> {
    if !stats.skipped.is_empty() {
        let total: usize = stats.skipped.values().sum();
        let kinds: Vec<String> = stats
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let line = format!(
            "skipped {total} document(s) without a pod template: {}",
            crate::render::escape::escape(&kinds.join(", "))
        );
        for l in crate::render::plan::wrap(&line, super::term::width(), "  ") {
            eprintln!("{l}");
        }
    }
    Ok(())
}

fn render_io(e: RenderError) -> std::io::Error {
    match e {
        RenderError::Io(e) => e,
        RenderError::Json(e) => e.into(),
        other => std::io::Error::other(other.to_string()),
    }
}
