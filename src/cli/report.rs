//! `kcpu report` (I/O shell): manifests or a cluster dump → capacity report (HTML, Markdown,
//! JSON, SVG/PNG charts) written into `--out`.
//!
//! The throttling section simulates every limited app container (up to `--max-simulations`)
//! with `kcpu simulate`'s engine: under its `kcpu.dev/load.<container>` or `kcpu.dev/load`
//! annotation (the latter for the first app container, as `kcpu check` reads it): those rows are
//! predictions. A container without one is not predicted: it appears only in a labelled "what
//! if" table, under an assumed profile: the container's request as the mean demand, arriving
//! every CFS period as one synchronous burst on `ceil(limit) + 1` threads — one runnable thread
//! more than the limit's whole CPUs, the pattern of a thread pool or GC sized to the node rather
//! than to the limit. That answers "does a burst at the request level fit the quota", not "what
//! does this service really do"; the throttling chart and the riskiest-container timeline use
//! declared loads only. A container the simulator refuses is skipped with its reason.
#![allow(clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::exit;
use super::translate::{load_and_translate, Item};
use crate::capacity::{self, NodeShape, ThrottleRow};
use crate::manifest::model::{Hpa, Object, Role, Workload};
use crate::manifest::Loaded;
use crate::predict::{self, Job};
use crate::render::chart::{render, Chart, ChartFormat, SimChart};
use crate::render::report::{write_html, write_json, write_markdown, ChartDoc, ReportDoc};
use crate::render::report_charts;
use crate::sim::load::{parse_load, LoadProfile};
use crate::sim::{Machine, RunPlan};
use crate::translate::{Plan, PodPlan};
use crate::units::Nanos;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `kcpu report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kcpu report fixtures/ --nodes 3x4cpu --out kcpu-report/
  kubectl get deploy,sts,ds,cj,po,hpa -A -o yaml | kcpu report - --nodes 6x4cpu
  kcpu report k8s/ --nodes 3x8cpu,2x16cpu --format md --out out/")]
pub struct Args {
    /// Files, directories (recursive *.yaml, *.yml, *.json) or `-` for stdin (e.g. `kubectl get
    /// deploy,sts,ds,cronjob,job,pod,hpa -A -o yaml`).
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
    /// Node shapes, e.g. `3x8cpu,2x16cpu` (default: the policy file's `nodes`).
    #[arg(long, value_name = "SHAPES")]
    pub nodes: Option<String>,
    /// CPU reserved per node for system and kube daemons (with `--nodes`), e.g. `100m`.
    #[arg(long, value_name = "CPU", default_value = "0")]
    pub reserved: String,
    /// Formats to write: any of html, md, json.
    #[arg(long, value_name = "LIST", default_value = "html,md,json")]
    pub format: String,
    /// Most pods per node (the kubelet's `maxPods`; DaemonSet pods count).
    #[arg(long, value_name = "N", default_value_t = capacity::DEFAULT_MAX_PODS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_pods: u32,
    /// Output directory (created when missing).
    #[arg(long, value_name = "DIR", default_value = "kcpu-report")]
    pub out: PathBuf,
    /// Policy file (default: `.kcpu.yaml` found upwards from the first input).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Most containers to simulate for the throttling section.
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub max_simulations: usize,
    /// Simulated time per run for the throttling section.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub sim_duration: String,
    /// Most workloads the report holds in memory (each with its translation, about 25 kB;
    /// the default keeps the report below 256 MB): a larger input is refused with this flag
    /// named, after it is read through once.
    #[arg(long, value_name = "N", default_value_t = MAX_WORKLOADS)]
    pub max_workloads: usize,
    /// Throttled-period percentage drawn as the alert line.
    #[arg(long, value_name = "PERCENT", default_value_t = 25.0)]
    pub threshold: f64,
    /// What the node runs.
    #[command(flatten)]
    pub assume: AssumptionArgs,
}

/// Default of `--max-workloads`.
pub const MAX_WORKLOADS: usize = 8_000;

const RUNS: u32 = 3;
const SEED: u64 = 1;

/// Loaded inputs: workloads with their plans, HPAs, and the plan (for diagnostics).
struct Inputs {
    pairs: Vec<(Workload, PodPlan)>,
    hpas: Vec<Hpa>,
    plan: Plan,
    loaded: Loaded,
    collected: crate::input::Collected,
}

fn load(inputs: &[String], assume: &AssumptionArgs, max: usize) -> anyhow::Result<Inputs> {
    let mut pairs = Vec::new();
    let mut hpas = Vec::new();
    let mut workloads = 0usize;
    let pass = load_and_translate(inputs, assume, "reading", &mut |item, _| {
        match item {
            Item::Pod(w, p) => {
                workloads += 1;
                // Beyond the budget workloads are counted, not kept, and the kept ones are
                // dropped: the report is refused anyway, and the count needs no memory.
                if workloads <= max {
                    pairs.push((*w, *p));
                } else if workloads == max + 1 {
                    pairs = Vec::new();
                }
            }
            Item::Other(o) => {
                if let Object::Hpa(h) = *o {
                    hpas.push(h);
                }
            }
        }
        None
    })?;
    if workloads > max {
        super::translate::report_problems(&pass.plan, &pass.loaded, &pass.collected)?;
        bail!(
            "the input holds {workloads} workloads, more than the {max} a report holds in memory (about 25 kB each); report on a part of the input (a namespace, a directory), or raise --max-workloads"
        );
    }
    Ok(Inputs {
        pairs,
        hpas,
        plan: pass.plan,
        loaded: pass.loaded,
        collected: pass.collected,
    })
}

fn node_shapes(args: &Args) -> anyhow::Result<(Vec<NodeShape>, Option<String>)> {
    let reserved = crate::quantity::parse_cpu(&args.reserved)
        .map_err(|e| anyhow::anyhow!("--reserved {:?}: {}", args.reserved, e.reason))?;
    if let Some(n) = &args.nodes {
        let mut shapes = capacity::parse_nodes(n, reserved)?;
        for s in &mut shapes {
            s.max_pods = args.max_pods;
        }
        return Ok((shapes, None));
    }
    let Some((policy, shown)) = super::policy::load(args.policy.as_deref(), &args.inputs)
        .map_err(|msg| anyhow::anyhow!(msg))?
    else {
        return Ok((Vec::new(), None));
    };
    let shapes = policy
        .nodes
        .iter()
        .map(|n| NodeShape {
            name: n.name.clone(),
            count: n.count,
            capacity_millicores: n.capacity.0,
            allocatable_millicores: (n.allocatable.0 - reserved.0).max(0),
            max_pods: args.max_pods,
        })
        .collect();
    Ok((shapes, Some(shown)))
}

/// The load a container is simulated under, and where it comes from: its `kcpu.dev/load*`
/// annotation, else the assumed "what if" load ([`predict::assumed_load`]).
fn load_for(
    w: &Workload,
    container: &str,
    first_app: bool,
    limit_m: i64,
    request_m: i64,
    manifest: &str,
) -> Option<(LoadProfile, &'static str)> {
    if let Some((_, a)) = w.declared_load(container, first_app) {
        let text = crate::manifest::model::resolve_annotation_load(&a.value, manifest);
        return parse_load(&text)
            .ok()
            .map(|l| (l, capacity::LOAD_FROM_ANNOTATION));
    }
    predict::assumed_load(limit_m, request_m).map(|l| (l, capacity::LOAD_FROM_WHAT_IF))
}

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Markdown,
    Json,
}

/// `--format`: a comma-separated list of html, md (markdown), json.
fn parse_formats(text: &str) -> anyhow::Result<Vec<Format>> {
    text.split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .map(|f| match f.as_str() {
            "html" => Ok(Format::Html),
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            _ => bail!("--format: unknown format {f:?} (html, md, json)"),
        })
        .collect()
}

/// The flags, checked and parsed: what the report is built from.
struct Settings {
    formats: Vec<Format>,
    sim_duration: Nanos,
    shapes: Vec<NodeShape>,
    /// The policy file the node shapes came from, as shown.
    policy_path: Option<String>,
}

fn settings(args: &Args) -> anyhow::Result<Settings> {
    let formats = parse_formats(&args.format)?;
    let sim_duration = crate::units::parse_duration(&args.sim_duration)
        .map_err(|e| anyhow::anyhow!("--sim-duration: {e}"))?;
    let (shapes, policy_path) = node_shapes(args)?;
    Ok(Settings {
        formats,
        sim_duration,
        shapes,
        policy_path,
    })
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = settings(&args)?;
    execute(&args, &settings)
}

fn execute(args: &Args, s: &Settings) -> anyhow::Result<ExitCode> {
    let inp = load(&args.inputs, &args.assume, args.max_workloads)?;
    let refs: Vec<(&Workload, &PodPlan)> = inp.pairs.iter().map(|(w, p)| (w, p)).collect();
    let mut report = capacity::build(&refs, &inp.hpas, &s.shapes);
    let largest = s.shapes.iter().map(|s| s.capacity_millicores).max();
    let machine = Machine::new(predict::node_cpus(largest));
    let mut sims = throttling_jobs(&inp);
    sims.skipped = sims.jobs.len().saturating_sub(args.max_simulations);
    sims.jobs.truncate(args.max_simulations);
    let riskiest = simulate_jobs(&mut report, &mut sims, &machine, s.sim_duration);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let charts = write_charts(args, s, &report, riskiest.map(|i| &sims.jobs[i]), &machine)?;
    let failed = super::translate::report_problems(&inp.plan, &inp.loaded, &inp.collected)?;
    let notes = notes(args, s, &report, &sims, riskiest.is_some());
    let mut inputs = args.inputs.clone();
    if let Some(p) = &s.policy_path {
        inputs.push(format!("policy {p}"));
    }
    let doc = ReportDoc {
        assumptions: &inp.plan.assumptions,
        inputs,
        problems: problems(&inp),
        notes,
        model: machine.describe(),
        report: &report,
        charts,
    };
    let written = write_documents(&args.out, &s.formats, &doc)?;
    eprintln!(
        "wrote {} ({} workloads, {} pods, {} containers simulated)",
        written.join(", "),
        report.totals.workloads,
        report.totals.pods,
        report.throttling.len()
    );
    Ok(exit::code(if failed {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }))
}

/// One limited container of the throttling section.
struct SimJob {
    workload: String,
    limit_millicores: i64,
    cpu_max: crate::cpu::CpuMax,
    from: &'static str,
    job: Job,
}

/// The throttling section's work: the jobs, and what was left out.
struct SimJobs {
    jobs: Vec<SimJob>,
    /// Containers not simulated, with the reason.
    not_simulated: Vec<String>,
    /// Limited containers left out by `--max-simulations`.
    skipped: usize,
}

/// Every limited app container with a load (declared ones first).
fn throttling_jobs(inp: &Inputs) -> SimJobs {
    let mut jobs = Vec::new();
    let mut not_simulated = Vec::new();
    for (w, p) in &inp.pairs {
        let manifest = inp
            .collected
            .sources
            .get(w.span.source)
            .map_or("<stdin>", |s| s.name.as_str());
        let mut first_app = true;
        for c in &p.containers {
            if c.role == Role::Init {
                continue;
            }
            let is_first = c.role == Role::Container && std::mem::take(&mut first_app);
            let Some(limit_m) = c
                .limit_millicores
                .value
                .filter(|_| predict::limits(c).is_some())
            else {
                continue;
            };
            let request_m = c.request_millicores.value.unwrap_or(0);
            let Some((profile, from)) =
                load_for(w, &c.name, is_first, limit_m, request_m, manifest)
            else {
                continue;
            };
            // A `trace:` load reads its file; a bad trace skips this container only.
            let trace = match super::simulate::read_trace(&profile, None, None) {
                Ok(t) => t,
                Err(e) => {
                    not_simulated.push(format!(
                        "{}/{} {}: not simulated: {e:#}",
                        p.namespace, p.name, c.name
                    ));
                    continue;
                }
            };
            let Some(job) = Job::new(c, profile, trace) else {
                continue;
            };
            jobs.push(SimJob {
                workload: format!("{}/{}", p.namespace, p.name),
                limit_millicores: limit_m,
                cpu_max: c.values.max.value,
                from,
                job,
            });
        }
    }
    jobs.sort_by_key(|j| j.from != capacity::LOAD_FROM_ANNOTATION);
    SimJobs {
        jobs,
        not_simulated,
        skipped: 0,
    }
}

/// Simulates every job into `report.throttling` (riskiest first); returns the index of the
/// riskiest job with a declared load.
fn simulate_jobs(
    report: &mut capacity::CapacityReport,
    sims: &mut SimJobs,
    machine: &Machine,
    sim_duration: Nanos,
) -> Option<usize> {
    let bar = super::output::bar(sims.jobs.len() as u64, "simulating");
    let mut riskiest: Option<(f64, usize)> = None;
    let plan = RunPlan::new(sim_duration, RUNS, SEED);
    for (i, j) in sims.jobs.iter().enumerate() {
        let cname = &j.job.container;
        // One container the simulator refuses (e.g. a 100M limit whose load would create
        // billions of requests) is skipped with its reason; the rest of the report is written.
        let out = match j.job.simulate(machine, &plan) {
            Ok(o) => o,
            Err(e) => {
                sims.not_simulated
                    .push(format!("{} {cname}: not simulated: {e}", j.workload));
                bar.inc(1);
                continue;
            }
        };
        let t = &out.summary.totals;
        // The riskiest-container chart only among declared loads: an assumed load is no risk.
        if j.from == capacity::LOAD_FROM_ANNOTATION
            && riskiest.is_none_or(|(r, _)| t.throttled_ratio > r)
        {
            riskiest = Some((t.throttled_ratio, i));
        }
        report.throttling.push(ThrottleRow {
            workload: j.workload.clone(),
            container: cname.clone(),
            limit_millicores: j.limit_millicores,
            cpu_max: j.cpu_max,
            load: j.job.load.to_string(),
            load_from: j.from,
            throttled_ratio: t.throttled_ratio,
            p99_ms: t.latency.p99_ms,
            p50_ms: t.latency.p50_ms,
            usage_cores: t.usage_cores,
            explanation: predict::explain(&j.job.limits, &j.job.load, t.throttled_ratio),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Stable sort, riskiest first; ties keep the simulation order, so the first row with a
    // declared load is the container `riskiest` picked (the first with the highest ratio
    // among declared loads): the timeline chart and the table name the same container.
    report.throttling.sort_by(|a, b| {
        b.throttled_ratio
            .partial_cmp(&a.throttled_ratio)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    riskiest.map(|(_, i)| i)
}

/// Writes one chart as SVG and PNG into `out`.
fn write_chart<C: Chart>(
    out: &Path,
    file: &str,
    title: String,
    chart: &C,
) -> anyhow::Result<ChartDoc> {
    let svg = render(chart, ChartFormat::Svg)?;
    let png = render(chart, ChartFormat::Png)?;
    super::output::write_new(&out.join(format!("{file}.svg")), &svg)?;
    super::output::write_new(&out.join(format!("{file}.png")), &png)?;
    Ok(ChartDoc {
        title,
        file: file.to_string(),
        svg: String::from_utf8_lossy(&svg).into_owned(),
    })
}

/// The report's charts: namespaces, nodes, throttling (declared loads only), and the riskiest
/// container's timeline.
fn write_charts(
    args: &Args,
    s: &Settings,
    report: &capacity::CapacityReport,
    riskiest: Option<&SimJob>,
    machine: &Machine,
) -> anyhow::Result<Vec<ChartDoc>> {
    let mut charts = Vec::new();
    let ns = report_charts::namespaces(report);
    charts.push(write_chart(&args.out, "namespaces", ns.title.clone(), &ns)?);
    if !report.node_fit.nodes.is_empty() {
        let c = report_charts::nodes(report);
        charts.push(write_chart(&args.out, "nodes", c.title.clone(), &c)?);
    }
    if report
        .throttling
        .iter()
        .any(|t| t.load_from == capacity::LOAD_FROM_ANNOTATION)
    {
        let c = report_charts::throttling(report, args.threshold);
        charts.push(write_chart(&args.out, "throttling", c.title.clone(), &c)?);
    }
    if let Some(j) = riskiest {
        let mut plan = RunPlan::new(s.sim_duration, 1, SEED);
        plan.timeline = Some(Nanos::from_ms(10));
        let out = j.job.simulate(machine, &plan)?;
        let title = format!(
            "Riskiest container: {} {} under {}",
            j.workload, j.job.container, j.job.load
        );
        let groups = [out];
        let c = SimChart {
            groups: &groups,
            title: &title,
        };
        charts.push(write_chart(&args.out, "timeline", title.clone(), &c)?);
    }
    Ok(charts)
}

/// Input problems: collection errors and manifest errors, with their positions.
fn problems(inp: &Inputs) -> Vec<String> {
    let mut problems: Vec<String> = inp.collected.errors.iter().map(|e| e.to_string()).collect();
    problems.extend(
        inp.loaded
            .issues
            .iter()
            .filter(|i| i.level == crate::manifest::model::IssueLevel::Error)
            .map(|i| format!("{}: {}", inp.collected.sources.position(i.span), i.message)),
    );
    problems
}

/// Not input problems: what the report left out, and why.
fn notes(
    args: &Args,
    s: &Settings,
    report: &capacity::CapacityReport,
    sims: &SimJobs,
    has_riskiest: bool,
) -> Vec<String> {
    let mut notes = sims.not_simulated.clone();
    if !has_riskiest && !report.throttling.is_empty() {
        notes.push(
            "no riskiest-container timeline: no limited container declares a load (kcpu.dev/load annotation)".into(),
        );
    }
    if sims.skipped > 0 {
        notes.push(format!(
            "{} limited container(s) not simulated (--max-simulations {})",
            sims.skipped, args.max_simulations
        ));
    }
    if s.shapes.is_empty() {
        notes.push("no node shapes: give --nodes (e.g. 3x8cpu) or a policy file with nodes".into());
    }
    notes
}

/// Writes the report in every format; returns the paths written.
fn write_documents(out: &Path, formats: &[Format], doc: &ReportDoc) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    for f in formats {
        let (name, bytes) = match f {
            Format::Html => ("report.html", to_bytes(|o| write_html(o, doc))?),
            Format::Markdown => ("report.md", to_bytes(|o| write_markdown(o, doc))?),
            Format::Json => ("report.json", to_bytes(|o| write_json(o, doc))?),
        };
        let path = out.join(name);
        super::output::write_new(&path, &bytes)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn to_bytes(
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    let mut v = Vec::new();
    f(&mut v)?;
    Ok(v)
}
