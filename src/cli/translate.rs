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
use crate::render::oci::render_oci;
use crate::render::plan::{render, render_diagnostics, PlanFormat};
use crate::translate::{translate_workload, Plan};
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
    let assumptions = assume.to_assumptions()?;
    let collected = crate::input::collect(inputs);
    let mut plan = Plan::new(assumptions);
    let mut loaded = Loaded::default();
    let opts = LoadOptions::default();
    let bar = super::progress::bar(collected.sources.len() as u64, "translating");
    for (id, src) in collected.sources.iter() {
        let mut stats = LoadStats::default();
        let mut issues = Vec::new();
        visit_source(
            id,
            &src.text,
            &opts,
            &mut |o| {
                if let Object::Workload(w) = o {
                    plan.push(translate_workload(&w, &plan.assumptions));
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
    let no_input = collected.sources.is_empty() && collected.errors.is_empty();
    let empty = !collected.sources.is_empty() && loaded.stats.documents == 0;
    if no_input || empty {
        writeln!(err, "error: the input holds no YAML or JSON documents")?;
    }
    Ok(!collected.errors.is_empty()
        || !plan.errors.is_empty()
        || loaded.issues.iter().any(|i| i.level == IssueLevel::Error)
        || no_input
        || empty)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (plan, loaded, collected) = load_and_translate(&args.inputs, &args.assume)?;
    let format = match (args.explain, args.output) {
        (true, _) => Some(PlanFormat::Explain),
        (false, Output::Table) => Some(PlanFormat::Table),
        (false, Output::Json) => Some(PlanFormat::Json),
        (false, Output::Yaml) => Some(PlanFormat::Yaml),
        (false, Output::Oci) => None,
    };
    {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        match format {
            Some(f) => render(f, &mut out, &plan, &collected.sources, &loaded.issues),
            None => render_oci(&mut out, &plan, &collected.sources, &loaded.issues),
        }
        .context("writing the output")?;
        out.flush().context("writing the output")?;
    }
    let machine = matches!(
        format,
        None | Some(PlanFormat::Json) | Some(PlanFormat::Yaml)
    );
    if !loaded.stats.skipped.is_empty() && !machine {
        let total: usize = loaded.stats.skipped.values().sum();
        let kinds: Vec<String> = loaded
            .stats
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "skipped {total} document(s) without a pod template: {}",
            kinds.join(", ")
        );
    }
    let failed = report_problems(&plan, &loaded, &collected)?;
    Ok(exit::code(if failed {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }))
}
