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
use crate::render::chart::{render, ChartFormat, SimChart};
use crate::render::report::{write_html, write_json, write_markdown, ChartDoc, ReportDoc};
use crate::render::report_charts;
use crate::sim::load::{parse_load, LoadProfile};
use crate::sim::{self, CpuShare, Limits, Machine, RunPlan};
use crate::translate::{Plan, PodPlan};
use crate::units::{Nanos, Usec};
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kcpu report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kcpu report fixtures/ --nodes 3x4cpu --out kcpu-report/
  kubectl get deploy,sts,ds,cronjob,job,pod,hpa -A -o yaml | kcpu report - --nodes 6x4cpu --max-pods 110
  kcpu report k8s/ --nodes 3x8cpu,2x16cpu --reserved 100m --format md --out out/")]
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
    /// Throttled-period percentage drawn as the alert line.
    #[arg(long, value_name = "PERCENT", default_value_t = 25.0)]
    pub threshold: f64,
    /// What the node runs.
    #[command(flatten)]
    pub assume: AssumptionArgs,
}

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

fn load(inputs: &[String], assume: &AssumptionArgs) -> anyhow::Result<Inputs> {
    let mut pairs = Vec::new();
    let mut hpas = Vec::new();
    let pass = load_and_translate(inputs, assume, "reading", &mut |item, _| {
        match item {
            Item::Pod(w, p) => pairs.push((*w, *p)),
            Item::Other(o) => {
                if let Object::Hpa(h) = *o {
                    hpas.push(h);
                }
            }
        }
        None
    })?;
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

/// The load a container is simulated under, and where it comes from.
fn load_for(
    w: &Workload,
    container: &str,
    first_app: bool,
    limit_m: i64,
    request_m: i64,
    manifest: &str,
) -> Option<(LoadProfile, &'static str)> {
    let per = format!("kcpu.dev/load.{container}");
    let annotated = w.annotation(&per).or_else(|| {
        if first_app {
            w.annotation("kcpu.dev/load")
        } else {
            None
        }
    });
    if let Some(a) = annotated {
        let text = crate::record::format::resolve_annotation_load(&a.value, manifest);
        return parse_load(&text)
            .ok()
            .map(|l| (l, capacity::LOAD_FROM_ANNOTATION));
    }
    let threads = (limit_m as u64).div_ceil(1000) as u32 + 1;
    let period = 100_000_000u64;
    let demand_m = if request_m > 0 { request_m } else { limit_m };
    let work = (demand_m as u64 * period / 1000) / u64::from(threads);
    (work > 0).then_some((
        LoadProfile::Periodic {
            threads,
            work: Nanos(work),
            every: Nanos(period),
        },
        capacity::LOAD_FROM_WHAT_IF,
    ))
}

fn explain(quota_us: i64, period_us: u64, load: &LoadProfile, ratio: f64) -> String {
    let q = quota_us as f64 / 1000.0;
    let p = period_us as f64 / 1000.0;
    let shape = match load {
        LoadProfile::Periodic {
            threads,
            work,
            every,
        } => {
            format!(
                "{threads} thread(s) × {} every {}: bursts of {} of CPU",
                crate::units::format_duration(*work),
                crate::units::format_duration(*every),
                crate::units::format_duration(Nanos(work.0 * u64::from(*threads)))
            )
        }
        other => other.to_string(),
    };
    let verdict = if ratio > 0.0 {
        "a burst needs more CPU inside one period than the quota, so its threads wait for the next refill"
    } else {
        "every burst fits in the quota of the period it starts in"
    };
    format!("quota {q:.1} ms per {p:.0} ms period, no burst; {shape}; {verdict}")
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let formats: Vec<String> = args
        .format
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for f in &formats {
        if !["html", "md", "markdown", "json"].contains(&f.as_str()) {
            bail!("--format: unknown format {f:?} (html, md, json)");
        }
    }
    let sim_duration = crate::units::parse_duration(&args.sim_duration)
        .map_err(|e| anyhow::anyhow!("--sim-duration: {e}"))?;
    let (shapes, policy_path) = node_shapes(&args)?;
    let inp = load(&args.inputs, &args.assume)?;
    let refs: Vec<(&Workload, &PodPlan)> = inp.pairs.iter().map(|(w, p)| (w, p)).collect();
    let mut report = capacity::build(&refs, &inp.hpas, &shapes);

    // Throttling risk.
    let cpus = shapes
        .iter()
        .map(|s| s.capacity_millicores)
        .max()
        .map_or(4, |m| (m as u64).div_ceil(1000).max(1) as u32);
    let machine = Machine::new(cpus);
    let mut jobs = Vec::new();
    let mut not_simulated = Vec::new();
    for (w, p) in &inp.pairs {
        let mut first_app = true;
        for c in &p.containers {
            if c.role == Role::Init {
                continue;
            }
            let is_first = c.role == Role::Container && std::mem::take(&mut first_app);
            let quota = c.values.cfs_quota_us.value;
            let Some(limit_m) = c
                .limit_millicores
                .value
                .filter(|_| !quota.is_unlimited() && quota.0 > 0)
            else {
                continue;
            };
            let Some((profile, from)) = load_for(
                w,
                &c.name,
                is_first,
                limit_m,
                c.request_millicores.value.unwrap_or(0),
                inp.collected
                    .sources
                    .get(w.span.source)
                    .map_or("<stdin>", |s| s.name.as_str()),
            ) else {
                continue;
            };
            // A `trace:` load reads its file; a bad trace skips this container only.
            let trace = match super::simulate::read_trace(&profile, None) {
                Ok(t) => t,
                Err(e) => {
                    not_simulated.push(format!(
                        "{}/{} {}: not simulated: {e:#}",
                        p.namespace, p.name, c.name
                    ));
                    continue;
                }
            };
            let limits = Limits {
                quota,
                period: c.values.cfs_period_us.value,
                burst: Usec(0),
                weight: CpuShare::Shares(c.values.shares.value),
            };
            jobs.push((
                format!("{}/{}", p.namespace, p.name),
                c.name.clone(),
                limit_m,
                c.values.max.value,
                profile,
                from,
                limits,
                trace,
            ));
        }
    }
    jobs.sort_by_key(|j| j.5 != capacity::LOAD_FROM_ANNOTATION);
    let skipped = jobs.len().saturating_sub(args.max_simulations);
    jobs.truncate(args.max_simulations);
    let bar = super::output::bar(jobs.len() as u64, "simulating");
    let mut riskiest: Option<(f64, usize)> = None;
    for (i, (wl, cname, limit_m, cpu_max, profile, from, limits, trace)) in jobs.iter().enumerate()
    {
        let plan = RunPlan::new(sim_duration, RUNS, SEED);
        // One container the simulator refuses (e.g. a 100M limit whose load would create
        // billions of requests) is skipped with its reason; the rest of the report is written.
        let out = match sim::simulate_container(
            cname,
            *limits,
            profile,
            trace.clone(),
            &machine,
            &plan,
        ) {
            Ok(o) => o,
            Err(e) => {
                not_simulated.push(format!("{wl} {cname}: not simulated: {e}"));
                bar.inc(1);
                continue;
            }
        };
        let t = &out.summary.totals;
        // The riskiest-container chart only among declared loads: an assumed load is no risk.
        if *from == capacity::LOAD_FROM_ANNOTATION
            && riskiest.is_none_or(|(r, _)| t.throttled_ratio > r)
        {
            riskiest = Some((t.throttled_ratio, i));
        }
        report.throttling.push(ThrottleRow {
            workload: wl.clone(),
            container: cname.clone(),
            limit_millicores: *limit_m,
            cpu_max: *cpu_max,
            load: profile.to_string(),
            load_from: from,
            throttled_ratio: t.throttled_ratio,
            p99_ms: t.latency.p99_ms,
            p50_ms: t.latency.p50_ms,
            usage_cores: t.usage_cores,
            explanation: explain(limits.quota.0, limits.period.0, profile, t.throttled_ratio),
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

    // Charts.
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut charts = Vec::new();
    let mut write_chart =
        |file: &str, title: String, svg: Vec<u8>, png: Vec<u8>| -> anyhow::Result<()> {
            super::output::write_new(&args.out.join(format!("{file}.svg")), &svg)?;
            super::output::write_new(&args.out.join(format!("{file}.png")), &png)?;
            charts.push(ChartDoc {
                title,
                file: file.to_string(),
                svg: String::from_utf8_lossy(&svg).into_owned(),
            });
            Ok(())
        };
    let ns = report_charts::namespaces(&report);
    write_chart(
        "namespaces",
        ns.title.clone(),
        render(&ns, ChartFormat::Svg)?,
        render(&ns, ChartFormat::Png)?,
    )?;
    if !report.node_fit.nodes.is_empty() {
        let c = report_charts::nodes(&report);
        write_chart(
            "nodes",
            c.title.clone(),
            render(&c, ChartFormat::Svg)?,
            render(&c, ChartFormat::Png)?,
        )?;
    }
    if report
        .throttling
        .iter()
        .any(|t| t.load_from == capacity::LOAD_FROM_ANNOTATION)
    {
        let c = report_charts::throttling(&report, args.threshold);
        write_chart(
            "throttling",
            c.title.clone(),
            render(&c, ChartFormat::Svg)?,
            render(&c, ChartFormat::Png)?,
        )?;
    }
    if let Some((_, i)) = riskiest {
        let (wl, cname, _, _, profile, _, limits, trace) = &jobs[i];
        let mut plan = RunPlan::new(sim_duration, 1, SEED);
        plan.timeline = Some(Nanos::from_ms(10));
        let out = sim::simulate_container(cname, *limits, profile, trace.clone(), &machine, &plan)?;
        let title = format!("Riskiest container: {wl} {cname} under {profile}");
        let groups = [out];
        let c = SimChart {
            groups: &groups,
            title: &title,
        };
        write_chart(
            "timeline",
            title.clone(),
            render(&c, ChartFormat::Svg)?,
            render(&c, ChartFormat::Png)?,
        )?;
    }

    let failed = super::translate::report_problems(&inp.plan, &inp.loaded, &inp.collected)?;
    let mut problems: Vec<String> = inp.collected.errors.iter().map(|e| e.to_string()).collect();
    problems.extend(
        inp.loaded
            .issues
            .iter()
            .filter(|i| i.level == crate::manifest::model::IssueLevel::Error)
            .map(|i| format!("{}: {}", inp.collected.sources.position(i.span), i.message)),
    );
    // Not input problems: what the report left out, and why.
    let mut notes = not_simulated;
    if riskiest.is_none() && !report.throttling.is_empty() {
        notes.push(
            "no riskiest-container timeline: no limited container declares a load (kcpu.dev/load annotation)".into(),
        );
    }
    if skipped > 0 {
        notes.push(format!(
            "{skipped} limited container(s) not simulated (--max-simulations {})",
            args.max_simulations
        ));
    }
    if shapes.is_empty() {
        notes.push("no node shapes: give --nodes (e.g. 3x8cpu) or a policy file with nodes".into());
    }
    let mut inputs = args.inputs.clone();
    if let Some(p) = policy_path {
        inputs.push(format!("policy {p}"));
    }
    let doc = ReportDoc {
        assumptions: &inp.plan.assumptions,
        inputs,
        problems,
        notes,
        model: machine.describe(),
        report: &report,
        charts,
    };
    let mut written = Vec::new();
    for f in &formats {
        let (name, bytes) = match f.as_str() {
            "html" => ("report.html", to_bytes(|o| write_html(o, &doc))?),
            "md" | "markdown" => ("report.md", to_bytes(|o| write_markdown(o, &doc))?),
            _ => ("report.json", to_bytes(|o| write_json(o, &doc))?),
        };
        let path = args.out.join(name);
        super::output::write_new(&path, &bytes)?;
        written.push(path.display().to_string());
    }
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

fn to_bytes(
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    let mut v = Vec::new();
    f(&mut v)?;
    Ok(v)
}
