//! `kcpu check` (I/O shell): read inputs and the policy file, run the linter, apply `--fix`,
//! render the findings, map them to the exit code.
//!
//! Exit codes (see `exit.rs`): 0 when no finding is at or above `--fail-on`, 1 when one is,
//! 2 for usage, policy-file and input errors — reported together with the findings of the
//! inputs that did parse.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::exit;
use crate::finding::Severity;
use crate::input;
use crate::lint::{self, CheckReport, Policy, ReadError};
use crate::manifest::{self, LoadOptions};
use crate::render::findings::{self as render, Format, RenderOptions};
use crate::source::SourceSet;
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format of `kcpu check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Human-readable snippets with carets (default).
    Text,
    /// kcpu's JSON document.
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// JUnit XML (one test case per workload × rule).
    Junit,
    /// GitHub Actions annotations.
    Github,
    /// Markdown summary for pull-request comments.
    Markdown,
    /// GitLab Code Quality report (Code Climate JSON).
    Codeclimate,
}

/// Severity threshold for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Fail on errors (default).
    Error,
    /// Fail on warnings and errors.
    Warning,
    /// Fail on any finding.
    Info,
    /// Never fail because of findings (input errors still exit 2).
    Never,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    /// On a terminal, following `NO_COLOR`, `CLICOLOR` and `CLICOLOR_FORCE`.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `kcpu check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; \
2 usage, policy or input errors (the inputs that parsed are still reported).\n\
Policy: --policy FILE, else the first .kcpu.yaml found walking up from the first input, \
else from the current directory.\n\n\
Examples:\n  \
kcpu check fixtures/\n  \
helm template ./chart | kcpu check - --format sarif > kcpu.sarif\n  \
kcpu check k8s/ --policy .kcpu.yaml --fail-on warning"
)]
pub struct Args {
    /// Files or directories to check (`-` reads standard input). Directories are searched
    /// for *.yaml, *.yml and *.json.
    pub paths: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Policy file (default: `.kcpu.yaml` found upwards from the first input, then from the
    /// current directory).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Ignore any `.kcpu.yaml` and use the default policy.
    #[arg(long, conflicts_with = "policy")]
    pub no_policy: bool,
    /// Lowest severity that makes the command exit with 1 (default: the policy's
    /// `fail-on`, else `error`).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Apply mechanical fixes in place (unit typos, commas, limit := request under
    /// `equal-to-request`) and print the diff.
    #[arg(long)]
    pub fix: bool,
    /// Leave out files that parse but hold no Kubernetes object (CI configs, Helm values,
    /// package.json), instead of an input error; for hooks that pass every staged YAML/JSON file.
    #[arg(long)]
    pub skip_non_kubernetes: bool,
    /// Print the documentation of a rule (id or name) and exit.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Colour text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Write the report to a file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the same results in another format to a file, e.g.
    /// `--report sarif=kcpu.sarif --report markdown=summary.md` (repeatable; CI uses it to get
    /// annotations, SARIF and a summary from one run).
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    pub reports: Vec<(FormatArg, PathBuf)>,
    /// Most findings listed (the first in output order; the same number of suppressed ones):
    /// the others are counted per rule, every format says how many were left out, and they
    /// still count in the totals and the exit code. Default 10000, which keeps memory below
    /// 256 MB; with `--fix` no cap unless given (every fix is applied, and `--fix` holds the
    /// files whole anyway).
    #[arg(long, value_name = "N")]
    pub max_findings: Option<usize>,
}

/// Parses `FORMAT=FILE` for `--report`.
fn parse_report(s: &str) -> Result<(FormatArg, PathBuf), String> {
    use clap::ValueEnum;
    let (f, path) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=FILE, got {s:?}"))?;
    let format = FormatArg::from_str(f, true).map_err(|_| {
        let names: Vec<String> = FormatArg::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        format!("unknown format {f:?}; one of {}", names.join(", "))
    })?;
    if path.is_empty() {
        return Err("empty file name after `=`".into());
    }
    Ok((format, PathBuf::from(path)))
}

fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Junit => Format::Junit,
        FormatArg::Github => Format::Github,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Codeclimate => Format::Codeclimate,
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(rule) = &args.explain {
        return explain(rule);
    }
    if args.list_rules {
        return list_rules();
    }
    if args.paths.is_empty() {
        eprintln!("error: no input given; pass files, directories, or `-` to read standard input\n\nUsage: kcpu check [OPTIONS] [PATHS]...");
        return Ok(exit::code(exit::INPUT_ERROR));
    }
    match settings(&args) {
        Ok(s) => execute(&args, s),
        Err(msg) => {
            eprintln!("error: {msg}");
            Ok(exit::code(exit::INPUT_ERROR))
        }
    }
}

/// The flags and the policy file, read.
struct Settings {
    policy: Policy,
    /// The policy file, as shown.
    policy_path: Option<String>,
    /// The lowest severity that fails the run (`None`: never).
    fail_on: Option<Severity>,
    /// Whether styles reach standard output.
    choice: anstream::ColorChoice,
}

/// The settings, or the policy file's error message.
fn settings(args: &Args) -> Result<Settings, String> {
    let (policy, policy_path) = if args.no_policy {
        (Policy::default(), None)
    } else {
        match super::policy::load(args.policy.as_deref(), &args.paths)? {
            Some((policy, shown)) => (policy, Some(shown)),
            None => (Policy::default(), None),
        }
    };
    let fail_on = match args.fail_on {
        Some(FailOn::Error) => Some(Severity::Error),
        Some(FailOn::Warning) => Some(Severity::Warning),
        Some(FailOn::Info) => Some(Severity::Info),
        Some(FailOn::Never) => None,
        None => Some(policy.fail_on.unwrap_or(Severity::Error)),
    };
    // The renderer styles the text format; `anstream` decides whether the styles reach the
    // terminal (NO_COLOR, CLICOLOR, CLICOLOR_FORCE, a terminal or not) and strips them otherwise.
    let choice = match args.color {
        ColorArg::Always => anstream::ColorChoice::Always,
        ColorArg::Never => anstream::ColorChoice::Never,
        ColorArg::Auto => anstream::ColorChoice::Auto,
    };
    Ok(Settings {
        policy,
        policy_path,
        fail_on,
        choice,
    })
}

fn execute(args: &Args, s: Settings) -> anyhow::Result<ExitCode> {
    // Only JUnit lists every workload checked; the others need the findings alone.
    let junit =
        args.format == FormatArg::Junit || args.reports.iter().any(|(f, _)| *f == FormatArg::Junit);
    let (mut sources, mut report, skipped) = check(args, &s.policy, junit);
    let to_file = args.output.is_some();
    let color = !to_file && s.choice != anstream::ColorChoice::Never;
    let mut fixed_note = None;
    if args.fix {
        let outcome = apply_fixes(&sources, &report)?;
        fixed_note = report_fixes(args, &outcome)?;
        if outcome.files > 0 {
            // Re-check so every position and count reflects the files as they are now.
            (sources, report, _) = check(args, &s.policy, junit);
        }
    }
    let opts = RenderOptions {
        color,
        fail_on: s.fail_on.unwrap_or(Severity::Error),
        policy: s.policy_path,
        version: env!("CARGO_PKG_VERSION").to_string(),
        fix_mode: args.fix,
    };
    write_reports(args, &report, &sources, &opts, s.choice)?;
    if let Some(note) = render::omitted_note(&report) {
        if args.format != FormatArg::Text || args.output.is_some() {
            // The text report on standard output says so itself; the other formats say it
            // in their own way, and a CI log shows this line.
            eprintln!("note: {note}");
        }
    }
    if let Some(n) = fixed_note {
        say(args, &n)?;
    }
    if skipped > 0 {
        say(
            args,
            &format!(
                "Skipped {} without a Kubernetes object (--skip-non-kubernetes).",
                render::plural(skipped, "file")
            ),
        )?;
    }
    let code = if report.has_input_errors() {
        exit::INPUT_ERROR
    } else if s.fail_on.is_some_and(|t| report.fails(t)) {
        exit::FINDINGS
    } else {
        exit::OK
    };
    Ok(exit::code(code))
}

/// A line for the user beside the report: on standard output with the text format there,
/// else on standard error (so machine-readable output stays parseable).
fn say(args: &Args, text: &str) -> anyhow::Result<()> {
    if args.format == FormatArg::Text && args.output.is_none() {
        let mut out = std::io::stdout().lock();
        super::tolerate_broken_pipe(writeln!(out, "{text}"))?;
    } else {
        eprintln!("{text}");
    }
    Ok(())
}

/// Prints the fixes' diff and notes; returns the "Fixed N values in M files." line, printed
/// after the report, when a file changed.
fn report_fixes(args: &Args, outcome: &FixOutcome) -> anyhow::Result<Option<String>> {
    if !outcome.diff.is_empty() {
        say(args, &outcome.diff)?;
    }
    for note in &outcome.notes {
        eprintln!("note: {note}");
    }
    Ok((outcome.files > 0).then(|| {
        format!(
            "Fixed {} in {}.",
            render::plural(outcome.edits, "value"),
            render::plural(outcome.files, "file")
        )
    }))
}

/// Writes the `--report` files, then the report itself to `--output` or standard output.
fn write_reports(
    args: &Args,
    report: &CheckReport,
    sources: &SourceSet,
    opts: &RenderOptions,
    choice: anstream::ColorChoice,
) -> anyhow::Result<()> {
    for (f, path) in &args.reports {
        let mut buf = Vec::new();
        let opts = RenderOptions {
            color: false,
            ..opts.clone()
        };
        render::render(format_of(*f), report, sources, &opts, &mut buf)?;
        std::fs::write(path, &buf)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    let mut buf = Vec::new();
    render::render(format_of(args.format), report, sources, opts, &mut buf)?;
    match &args.output {
        Some(path) => super::output::write_new(path, &buf)
            .with_context(|| format!("writing the report to {}", path.display()))?,
        None => {
            let mut out = anstream::AutoStream::new(std::io::stdout().lock(), choice);
            super::tolerate_broken_pipe(out.write_all(&buf).and_then(|()| out.flush()))?;
        }
    }
    Ok(())
}

/// Reads and checks the inputs; returns the sources, the report and how many files
/// `--skip-non-kubernetes` left out. With `--fix` each file is read into memory whole (it
/// rewrites whole files); otherwise inputs are read in pieces and memory does not grow with
/// their size.
fn check(args: &Args, policy: &Policy, junit: bool) -> (SourceSet, CheckReport, usize) {
    // Directory walks skip dotfiles, so a `.kcpu.yaml` next to the manifests is not an input.
    let input::Collected { sources, errors } = if args.fix {
        input::collect_whole(&args.paths)
    } else {
        input::collect(&args.paths)
    };
    let (sources, skipped) = if args.skip_non_kubernetes {
        kubernetes_only(sources)
    } else {
        (sources, 0)
    };
    let traces = super::simulate::FileTraces::default();
    let mut report = lint::check_streaming(
        &sources,
        policy,
        &LoadOptions::default(),
        junit,
        args.max_findings.unwrap_or(if args.fix {
            usize::MAX
        } else {
            lint::MAX_FINDINGS
        }),
        &traces,
    );
    report.read_errors = errors
        .into_iter()
        .map(|e| ReadError {
            path: e.path,
            message: e.message,
        })
        .collect();
    let nothing_read = sources.is_empty() && report.read_errors.is_empty() && skipped == 0;
    let why = if nothing_read {
        Some("the input holds no YAML or JSON documents")
    } else if sources.is_empty() {
        None
    } else {
        report.stats.emptiness()
    };
    if let Some(why) = why {
        // A failed `helm template | kcpu check -` must fail CI, not check nothing.
        let mut names: Vec<&str> = sources.iter().map(|(_, f)| f.name.as_str()).collect();
        names.dedup();
        report.read_errors.push(ReadError {
            path: match names.as_slice() {
                [] => "<input>".to_string(),
                [one] => one.to_string(),
                [first, rest @ ..] => format!("{first} and {} more", rest.len()),
            },
            message: format!("{why}; expected Kubernetes manifests"),
        });
    }
    (sources, report, skipped)
}

/// The sources in which some document is a Kubernetes object (or that do not parse: those stay
/// input errors), and how many were left out.
fn kubernetes_only(sources: SourceSet) -> (SourceSet, usize) {
    let mut kept = SourceSet::default();
    let mut skipped = 0;
    for (id, file) in sources.iter() {
        // A piece of a large file is read back for the look (pieces are unloaded).
        let stats = file
            .with_text(|text, _| manifest::load_source(id, text, &LoadOptions::default()).stats);
        if stats.objects == 0 && stats.unparsed == 0 {
            skipped += 1;
        } else {
            kept.add(file.clone());
        }
    }
    (kept, skipped)
}

fn explain(rule: &str) -> anyhow::Result<ExitCode> {
    let Some(r) = lint::lookup(rule) else {
        eprintln!("error: unknown rule {rule:?}; `kcpu check --list-rules` lists them");
        return Ok(exit::code(exit::INPUT_ERROR));
    };
    let m = &r.meta;
    println!("# {} {}\n", m.id, m.name);
    println!("{}\n", m.summary);
    println!(
        "Default severity: {}. Fix: {}.{}\n",
        m.default_severity,
        m.fix.as_str(),
        if m.configurable {
            ""
        } else {
            " Not configurable."
        }
    );
    print!("{}", m.doc);
    Ok(exit::code(exit::OK))
}

fn list_rules() -> anyhow::Result<ExitCode> {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    t.set_header(vec!["ID", "NAME", "SEVERITY", "FIX", "SUMMARY"]);
    for r in lint::rules::RULES {
        let m = &r.meta;
        t.add_row(vec![
            m.id,
            m.name,
            m.default_severity.as_str(),
            m.fix.as_str(),
            m.summary,
        ]);
    }
    println!("{t}");
    Ok(exit::code(exit::OK))
}

struct FixOutcome {
    diff: String,
    files: usize,
    edits: usize,
    notes: Vec<String>,
}

fn apply_fixes(sources: &SourceSet, report: &CheckReport) -> anyhow::Result<FixOutcome> {
    let edits = render::mechanical_edits(&report.findings);
    let mut out = FixOutcome {
        diff: String::new(),
        files: 0,
        edits: 0,
        notes: Vec::new(),
    };
    for (id, es) in &edits {
        let Some(file) = sources.get(*id) else {
            continue;
        };
        if file.name == "<stdin>" {
            out.notes.push(format!(
                "standard input cannot be fixed in place; the {} shown below would apply to the original file",
                render::plural(es.len(), "change")
            ));
            let (new, _) = crate::finding::apply_edits(&file.text, es);
            out.diff
                .push_str(&render::unified_diff(&file.name, &file.text, &new));
            continue;
        }
        let (new, skipped) = crate::finding::apply_edits(&file.text, es);
        if !skipped.is_empty() {
            out.notes.push(format!(
                "{}: {} overlapping fix(es) skipped; run --fix again",
                file.name,
                skipped.len()
            ));
        }
        if new == file.text {
            continue;
        }
        super::output::replace_atomically(&file.write_path(), new.as_bytes())
            .with_context(|| format!("writing the fixed {}", file.name))?;
        out.diff
            .push_str(&render::unified_diff(&file.name, &file.text, &new));
        out.files += 1;
        out.edits += es.len() - skipped.len();
    }
    Ok(out)
}
