//! `kcpu translate` (I/O shell): inputs → loader → translation → renderer.
//!
//! Each document is translated as it is read, so memory follows the output, not the input.
//! stdout holds only the data (table, JSON, YAML or the explanation); diagnostics go to
//! stderr as `file:line:col: level[code]: message` with a hint.
#![allow(clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::exit;
use crate::manifest::model::{IssueLevel, Object};
use crate::manifest::{visit_source, LoadOptions, LoadStats, Loaded};
use crate::render::plan::{render, render_diagnostics, JsonStream, PlanFormat, RenderError};
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
}

/// Arguments of `kcpu translate`.
#[derive(Debug, clap::Args)]
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

/// Loads and translates every input: the plan, the loader output (without the objects, which
/// are dropped as soon as they are translated) and the input errors.
pub fn load_and_translate(
    inputs: &[String],
    assume: &AssumptionArgs,
) -> anyhow::Result<(Plan, Loaded, crate::input::Collected)> {
    load_and_translate_into(inputs, assume, None)
}

/// What receives each translated pod instead of the plan (the streaming JSON writer).
pub type PodSink<'a> = &'a mut dyn FnMut(&PodPlan, &SourceSet) -> std::io::Result<()>;

/// [`load_and_translate`], handing each pod to `sink` (when given) instead of keeping it in
/// the plan, so memory stays bounded whatever the number of workloads. The first write error
/// stops the writing (not the translation: input errors still decide the exit code).
pub fn load_and_translate_into(
    inputs: &[String],
    assume: &AssumptionArgs,
    mut sink: Option<PodSink<'_>>,
) -> anyhow::Result<(Plan, Loaded, crate::input::Collected)> {
    let assumptions = assume.to_assumptions()?;
    let collected = crate::input::collect(inputs);
    let mut plan = Plan::new(assumptions);
    let mut loaded = Loaded::default();
    let opts = LoadOptions::default();
    let bar = super::progress::bar(collected.sources.len() as u64, "translating");
    let mut write_error: Option<std::io::Error> = None;
    for (id, src) in collected.sources.iter() {
        let mut stats = LoadStats::default();
        let mut issues = Vec::new();
        visit_source(
            id,
            &src.text,
            &opts,
            &mut |o| {
                if let Object::Workload(w) = o {
                    let result = translate_workload(&w, &plan.assumptions);
                    match (&mut sink, result) {
                        (Some(sink), Ok(pod)) => {
                            if write_error.is_none() {
                                if let Err(e) = sink(&pod, &collected.sources) {
                                    write_error = Some(e);
                                }
                            }
                        }
                        (_, result) => plan.push(result),
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
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(e) = write_error {
        // A broken pipe (`| head`) is not an error; the caller's diagnostics still decide.
        super::tolerate_broken_pipe(Err(e)).context("writing the output")?;
    }
    Ok((plan, loaded, collected))
}

/// Prints input errors and the plan's diagnostics to stderr; returns true if any is an error.
pub fn report_problems(
    plan: &Plan,
    loaded: &Loaded,
    collected: &crate::input::Collected,
) -> anyhow::Result<bool> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
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
        (true, _) => PlanFormat::Explain,
        (false, Output::Table) => PlanFormat::Table,
        (false, Output::Json) => PlanFormat::Json,
        (false, Output::Yaml) => PlanFormat::Yaml,
    };
    if format == PlanFormat::Json {
        return run_json_streaming(&args);
    }
    let (plan, loaded, collected) = load_and_translate(&args.inputs, &args.assume)?;
    {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let written = render(format, &mut out, &plan, &collected.sources, &loaded.issues)
            .map_err(render_io)
            .and_then(|()| out.flush());
        super::tolerate_broken_pipe(written).context("writing the output")?;
    }
    if !loaded.stats.skipped.is_empty() && format != PlanFormat::Json && format != PlanFormat::Yaml
    {
        let total: usize = loaded.stats.skipped.values().sum();
        let kinds: Vec<String> = loaded
            .stats
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "skipped {total} document(s) without a pod template: {}",
            crate::render::escape::escape(&kinds.join(", "))
        );
    }
    let failed = report_problems(&plan, &loaded, &collected)?;
    Ok(exit::code(if failed {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }))
}

/// `-o json`, streamed: each pod is written as soon as it is translated and then dropped.
fn run_json_streaming(args: &Args) -> anyhow::Result<ExitCode> {
    let assumptions = args.assume.to_assumptions()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut stream = Some(JsonStream::begin(&mut out, &assumptions).map_err(render_io)?);
    let mut sink = |p: &PodPlan, sources: &SourceSet| -> std::io::Result<()> {
        match stream.as_mut() {
            Some(s) => s.pod(p, sources).map_err(render_io),
            None => Ok(()),
        }
    };
    // A closed stdout stops the writing, not the translation: the diagnostics still decide.
    let (plan, loaded, collected) =
        load_and_translate_into(&args.inputs, &args.assume, Some(&mut sink))?;
    if let Some(s) = stream.take() {
        let written = s
            .finish(&plan, &collected.sources, &loaded.issues)
            .map_err(render_io)
            .and_then(|()| out.flush());
        super::tolerate_broken_pipe(written).context("writing the output")?;
    }
    let failed = report_problems(&plan, &loaded, &collected)?;
    Ok(exit::code(if failed {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }))
}

fn render_io(e: RenderError) -> std::io::Error {
    match e {
        RenderError::Io(e) => e,
        RenderError::Json(e) => e.into(),
        other => std::io::Error::other(other.to_string()),
    }
}
