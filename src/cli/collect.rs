//! `kcpu collect` (I/O shell): probe lines (files, `-`, or `kubectl logs --prefix` output on
//! stdin) and Prometheus range-query exports in; per probe the cgroup files against
//! `translate`'s prediction, per node type measured throttling against `simulate` at the
//! parameters the probe recorded, and production throttling beside the prediction.
//!
//! Exit codes: 0; 1 with `--fail-on-mismatch` when a cgroup file differs from the prediction;
//! 2 for unreadable input (lines that are not probe JSON are counted, other log lines skipped).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::exit;
use super::pick::{self, Manifests};
use crate::collect::{self, FileCheck, ProbeInput, Production};
use crate::cpu::files;
use crate::cpu::{CpuMax, CpuShare};
use crate::probe::ProbeRecord;
use crate::profile::CgroupVersion;
use crate::sim::load::{parse_load, LoadProfile};
use crate::sim::{simulate_container, Limits, Machine, RunPlan};
use crate::units::{Nanos, Shares, Usec, Weight};
use anyhow::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub use super::run::Output;

/// Arguments of `kcpu collect`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kubectl logs -l kcpu.dev/run=<id> --prefix | kcpu collect --compare app.yaml
  kcpu collect probe-lines.txt --compare app.yaml --output json
  kcpu collect --prometheus throttling.json --compare app.yaml")]
pub struct Args {
    /// Files of probe lines (`-` = standard input; the default when no --prometheus is given).
    pub inputs: Vec<String>,
    /// Manifests to compare with (their translated values and declared loads).
    #[arg(long, value_name = "MANIFEST")]
    pub compare: Vec<String>,
    /// Prometheus range-query exports (JSON) of the cAdvisor CFS counters (repeatable).
    #[arg(long, value_name = "FILE.json")]
    pub prometheus: Vec<PathBuf>,
    /// The trace file of a `trace:` load (the probe recorded its path inside the pod).
    #[arg(long, value_name = "FILE.csv")]
    pub trace: Option<PathBuf>,
    /// CPUs of the nodes behind the Prometheus export (for its predictions).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub node_cpus: u32,
    /// Prediction window for the Prometheus rows (the declared load's duration).
    #[arg(long, default_value = "10s", value_parser = parse_dur)]
    pub duration: Nanos,
    /// Exit 1 when a cgroup file differs from the prediction.
    #[arg(long)]
    pub fail_on_mismatch: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// What the nodes run (translation of --compare manifests; the probes' cgroup version wins).
    #[command(flatten)]
    pub assume: AssumptionArgs,
}

fn parse_dur(v: &str) -> Result<Nanos, String> {
    crate::units::parse_duration(v).map_err(|e| e.to_string())
}

/// One probe's cgroup check.
#[derive(Debug, Serialize)]
struct ProbeCheck {
    at: String,
    workload: String,
    container: String,
    node: String,
    files: Vec<FileCheck>,
    note: Option<String>,
}

/// Measured vs simulated throttling for one group of probes (same workload, container, node
/// type, recorded limits and load).
#[derive(Debug, Serialize)]
struct GroupRow {
    workload: String,
    container: String,
    node_type: String,
    limits: String,
    load: String,
    runs: usize,
    measured_throttled_ratio: Option<f64>,
    measured_p99_ms: f64,
    simulated_throttled_ratio: Option<f64>,
    simulated_p99_ms: Option<f64>,
    /// What the simulation assumed (HZ when the node did not say) or why there is none.
    assumptions: Vec<String>,
}

/// Production beside prediction.
#[derive(Debug, Serialize)]
struct ProdRow {
    #[serde(flatten)]
    production: Production,
    throttled_ratio: Option<f64>,
    usage_cores: Option<f64>,
    workload: Option<String>,
    predicted_throttled_ratio: Option<f64>,
    prediction: String,
}

#[derive(Debug, Serialize)]
struct Report {
    probes: usize,
    skipped_lines: usize,
    checks: Vec<ProbeCheck>,
    groups: Vec<GroupRow>,
    production: Vec<ProdRow>,
}

fn read_input(name: &str) -> anyhow::Result<String> {
    if name == "-" {
        let mut s = String::new();
        std::io::stdin()
            .lock()
            .take(1 << 30)
            .read_to_string(&mut s)
            .context("reading standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(name).with_context(|| format!("reading {name}"))
    }
}

/// The recorded limits of a probe as the simulator takes them.
fn recorded_limits(r: &ProbeRecord) -> Option<Limits> {
    let f = |k: &str| r.files.get(k).map(String::as_str);
    if r.node.cgroup_version == "v1" {
        let quota: i64 = f(files::CPU_CFS_QUOTA_US)?.parse().ok()?;
        let period: u64 = f(files::CPU_CFS_PERIOD_US)?.parse().ok()?;
        let shares: u64 = f(files::CPU_SHARES)?.parse().ok()?;
        Some(Limits {
            max: CpuMax::from_v1(quota, period),
            burst: Usec(
                f(files::CPU_CFS_BURST_US)
                    .and_then(|b| b.parse().ok())
                    .unwrap_or(0),
            ),
            weight: CpuShare::Shares(Shares(shares)),
        })
    } else {
        let CpuMax { quota, period } = f(files::CPU_MAX)?.parse().ok()?;
        let weight: u64 = f(files::CPU_WEIGHT)?.parse().ok()?;
        Some(Limits {
            max: CpuMax { quota, period },
            burst: Usec(
                f(files::CPU_MAX_BURST)
                    .and_then(|b| b.parse().ok())
                    .unwrap_or(0),
            ),
            weight: CpuShare::Weight(Weight(weight)),
        })
    }
}

/// The machine of a prediction: `cpus` CPUs (clamped to 1..=1024) ticking at `hz`.
fn sim_machine(cpus: u32, hz: u32) -> Machine {
    let mut machine = Machine::new(cpus.clamp(1, 1024));
    machine.hz = hz;
    machine
}

/// `limits` and `load` (a `trace:` load read from `trace`) simulated on `machine` for `plan`:
/// the throttled share of periods and the p99 latency (ms).
fn simulate(
    limits: Limits,
    load: &LoadProfile,
    trace: Option<&PathBuf>,
    machine: &Machine,
    plan: &RunPlan,
) -> anyhow::Result<(f64, f64)> {
    let trace = match (load, trace) {
        (LoadProfile::Trace { .. }, Some(p)) => Some(crate::sim::load::parse_trace_csv(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )?),
        (LoadProfile::Trace { path }, None) => {
            anyhow::bail!("the trace {path} is inside the pod; pass --trace FILE")
        }
        _ => None,
    };
    let o = simulate_container("simulated", limits, load, trace, machine, plan)?;
    let t = &o.summary.totals;
    Ok((t.throttled_ratio, t.latency.p99_ms))
}

fn find<'a>(
    m: &'a Manifests,
    kind: &str,
    ns: &str,
    name: &str,
    container: &str,
) -> Option<(&'a pick::Entry, &'a crate::translate::ContainerPlan)> {
    m.entries
        .iter()
        .filter(|e| e.pod.kind == kind && e.pod.namespace == ns && e.pod.name == name)
        .find_map(|e| {
            e.pod
                .containers
                .iter()
                .find(|c| c.name == container)
                .map(|c| (e, c))
        })
}

fn limits_text(l: &Limits) -> String {
    let q = if l.max.quota.is_unlimited() {
        "max".to_string()
    } else {
        l.max.quota.0.to_string()
    };
    let w = match l.weight {
        CpuShare::Shares(s) => format!("shares {}", s.0),
        CpuShare::Weight(w) => format!("weight {}", w.0),
    };
    format!("quota {q}/{} µs, {w}", l.max.period.0)
}

/// The cgroup files of each probe run against the translation of its `--compare` manifest;
/// `true` when some file differs.
fn probe_checks(probes: &ProbeInput, manifests: Option<&Manifests>) -> (Vec<ProbeCheck>, bool) {
    let mut checks = Vec::new();
    let mut mismatch = false;
    for (at, r) in &probes.records {
        let (Some(w), Some(c)) = (&r.workload, &r.container) else {
            continue;
        };
        let Some(m) = manifests else { break };
        let mut parts = w.splitn(3, '/');
        let (kind, ns, name) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let ns = if ns.is_empty() { "default" } else { ns };
        let (files, note) = match find(m, kind, ns, name, c) {
            Some((_, cp)) => (collect::check_files(r, &cp.values), None),
            None => (
                Vec::new(),
                Some(format!(
                    "{w} container {c:?} is not in the --compare manifests"
                )),
            ),
        };
        mismatch |= files.iter().any(|f| !f.agrees());
        checks.push(ProbeCheck {
            at: at.clone(),
            workload: w.clone(),
            container: c.clone(),
            node: r.node.name.clone().unwrap_or_default(),
            files,
            note,
        });
    }

    (checks, mismatch)
}

/// Probe runs grouped by workload, container, node type, limits and load.
type Groups<'a> = BTreeMap<(String, String, String, String, String), Vec<&'a ProbeRecord>>;

/// Measured vs simulated throttling per group of probe runs.
fn group_rows(probes: &ProbeInput, trace: Option<&PathBuf>) -> Vec<GroupRow> {
    let mut groups: Groups<'_> = BTreeMap::new();
    for (_, r) in &probes.records {
        let lim = recorded_limits(r)
            .map(|l| limits_text(&l))
            .unwrap_or_else(|| "unreadable".into());
        groups
            .entry((
                r.workload.clone().unwrap_or_else(|| "-".into()),
                r.container.clone().unwrap_or_else(|| "-".into()),
                r.node.node_type(),
                lim,
                format!("{} for {}s", r.load, r.duration_s),
            ))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((workload, container, node_type, limits, load), rs)| {
            group_row(workload, container, node_type, limits, load, &rs, trace)
        })
        .collect()
}

/// One group of probe runs: measured totals, and the simulation at the recorded parameters.
fn group_row(
    workload: String,
    container: String,
    node_type: String,
    limits: String,
    load: String,
    rs: &[&ProbeRecord],
    trace: Option<&PathBuf>,
) -> GroupRow {
    let periods: u64 = rs.iter().map(|r| r.measured.nr_periods).sum();
    let throttled: u64 = rs.iter().map(|r| r.measured.nr_throttled).sum();
    let measured_p99 = rs.iter().map(|r| r.measured.latency_ms[2]).sum::<f64>() / rs.len() as f64;
    let first = rs[0];
    let mut assumptions = Vec::new();
    let hz = first.node.hz.unwrap_or_else(|| {
        assumptions.push(format!(
            "HZ {} assumed (the node's CONFIG_HZ was not readable)",
            super::simulate::FALLBACK_HZ
        ));
        super::simulate::FALLBACK_HZ
    });
    let sim = match (recorded_limits(first), parse_load(&first.load)) {
        (Some(l), Ok(load)) => simulate(
            l,
            &load,
            trace,
            &sim_machine(first.node.cpus_allowed, hz),
            &RunPlan::new(
                Nanos((first.duration_s * 1e9) as u64),
                (rs.len() as u32).max(1),
                first.seed,
            ),
        )
        .map_err(|e| format!("{e:#}")),
        (None, _) => Err("the recorded cgroup files are incomplete".to_string()),
        (_, Err(e)) => Err(e.to_string()),
    };
    let (st, sp) = match sim {
        Ok((t, p)) => (Some(t), Some(p)),
        Err(e) => {
            assumptions.push(format!("no simulation: {e}"));
            (None, None)
        }
    };
    GroupRow {
        workload,
        container,
        node_type,
        limits,
        load,
        runs: rs.len(),
        measured_throttled_ratio: (periods > 0).then(|| throttled as f64 / periods as f64),
        measured_p99_ms: measured_p99,
        simulated_throttled_ratio: st,
        simulated_p99_ms: sp,
        assumptions,
    }
}

/// Production throttling (Prometheus exports) beside the prediction of the matching
/// `--compare` workload.
fn production_rows(args: &Args, manifests: Option<&Manifests>) -> anyhow::Result<Vec<ProdRow>> {
    let mut prod = BTreeMap::new();
    for p in &args.prometheus {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        collect::parse_prometheus(&text, &mut prod).with_context(|| format!("{}", p.display()))?;
    }
    let version = manifests.map_or(CgroupVersion::V2, |m| m.assumptions.cgroup);
    let mut production = Vec::new();
    for p in prod.into_values() {
        let matched = manifests.and_then(|m| {
            m.entries.iter().find_map(|e| {
                (e.pod.namespace == p.namespace
                    && collect::pod_of(&e.pod.kind, &e.pod.name, &p.pod))
                .then(|| {
                    e.pod
                        .containers
                        .iter()
                        .find(|c| c.name == p.container)
                        .map(|c| (e, c))
                })
                .flatten()
            })
        });
        let (workload, predicted, prediction) = prediction(args, version, matched);
        production.push(ProdRow {
            throttled_ratio: p.throttled_ratio(),
            usage_cores: p.usage_cores(),
            production: p,
            workload,
            predicted_throttled_ratio: predicted,
            prediction,
        });
    }

    Ok(production)
}

/// The prediction for one production container: its workload's label, the simulated throttled
/// ratio, and how it was obtained (or why there is none).
fn prediction(
    args: &Args,
    version: CgroupVersion,
    matched: Option<(&pick::Entry, &crate::translate::ContainerPlan)>,
) -> (Option<String>, Option<f64>, String) {
    match matched {
        None => (None, None, "no workload in --compare matches".to_string()),
        Some((e, c)) => {
            let label = pick::label(&e.pod);
            match e.declared_load(&c.name) {
                None => (
                    Some(label),
                    None,
                    format!(
                        "no prediction: no {}{} annotation",
                        pick::LOAD_ANNOTATION_PREFIX,
                        c.name
                    ),
                ),
                Some(d) => {
                    let (share, max) = c.values.for_version(version);
                    let limits = Limits {
                        max,
                        burst: Usec(0),
                        weight: share,
                    };
                    match parse_load(&d.text)
                        .map_err(anyhow::Error::from)
                        .and_then(|l| {
                            simulate(
                                limits,
                                &l,
                                args.trace.as_ref(),
                                &sim_machine(args.node_cpus, super::simulate::FALLBACK_HZ),
                                &RunPlan::new(args.duration, 5, 1),
                            )
                        }) {
                        Ok((t, _)) => (
                            Some(label),
                            Some(t),
                            format!(
                                "simulated {} ({}) on {} CPUs, HZ {} (assumed)",
                                d.text,
                                d.key,
                                args.node_cpus,
                                super::simulate::FALLBACK_HZ
                            ),
                        ),
                        Err(e) => (Some(label), None, format!("no prediction: {e:#}")),
                    }
                }
            }
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut inputs = args.inputs.clone();
    if inputs.is_empty() && args.prometheus.is_empty() {
        inputs.push("-".into());
    }
    let mut probes = ProbeInput::default();
    for name in &inputs {
        let text = read_input(name)?;
        let shown = if name == "-" { "<stdin>" } else { name };
        collect::parse_probe_lines(shown, &text, &mut probes);
    }
    for e in &probes.errors {
        eprintln!("error: {}", e.escape_debug());
    }
    let manifests = if args.compare.is_empty() {
        None
    } else {
        Some(pick::load(&args.compare, &args.assume)?)
    };

    let (checks, mismatch) = probe_checks(&probes, manifests.as_ref());
    let rows = group_rows(&probes, args.trace.as_ref());
    let production = production_rows(&args, manifests.as_ref())?;
    let report = Report {
        probes: probes.records.len(),
        skipped_lines: probes.skipped,
        checks,
        groups: rows,
        production,
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Output::Table => write_tables(&mut out, &report)?,
    }
    out.flush()?;
    // An empty input is what a failed `kubectl logs … | kcpu collect -` hands on: an input
    // error, not "0 runs, nothing to compare" (issue 13 defect 1, as in every command).
    let empty = report.probes == 0 && args.prometheus.is_empty();
    if empty {
        eprintln!("error: the input holds no probe line (the JSON lines `kcpu probe` prints)");
    }
    let code = if !probes.errors.is_empty() || empty {
        exit::INPUT_ERROR
    } else if args.fail_on_mismatch && mismatch {
        exit::FINDINGS
    } else {
        exit::OK
    };
    Ok(exit::code(code))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

/// Untrusted text (names from probe lines and exports) for a terminal: control characters
/// escaped.
fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn write_tables(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} probe run(s) read, {} other line(s) skipped.",
        r.probes, r.skipped_lines
    )?;
    if !r.checks.is_empty() {
        checks_table(out, r)?;
    }
    if !r.groups.is_empty() {
        groups_table(out, r)?;
    }
    if !r.production.is_empty() {
        production_table(out, r)?;
    }
    Ok(())
}

/// A table with borders only and this header.
fn table(header: Vec<&str>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(header);
    t
}

/// The cgroup files of each probe run against translate.
fn checks_table(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    let mut t = table(vec![
        "probe",
        "workload / container",
        "file",
        "predicted",
        "recorded",
        "",
        "rule",
    ]);
    for c in &r.checks {
        if let Some(n) = &c.note {
            t.add_row(vec![
                clean(&c.at),
                clean(&c.workload),
                String::new(),
                String::new(),
                String::new(),
                "?".into(),
                clean(n),
            ]);
        }
        for f in &c.files {
            t.add_row(vec![
                clean(&c.at),
                format!("{} / {}", clean(&c.workload), clean(&c.container)),
                f.file.clone(),
                f.expected.clone(),
                f.actual.as_deref().map_or("(missing)".into(), clean),
                if f.agrees() { "ok" } else { "DIFFERS" }.into(),
                if f.agrees() {
                    String::new()
                } else {
                    f.rule.clone()
                },
            ]);
        }
    }
    writeln!(out, "\ncgroup files vs translate\n{t}")?;
    Ok(())
}

/// Measured vs simulated throttling per node type.
fn groups_table(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    let mut t = table(vec![
        "workload / container",
        "node type",
        "limits",
        "load",
        "runs",
        "throttled measured",
        "simulated",
        "p99 ms measured",
        "simulated",
        "notes",
    ]);
    for g in &r.groups {
        t.add_row(vec![
            format!("{} / {}", clean(&g.workload), clean(&g.container)),
            clean(&g.node_type),
            g.limits.clone(),
            clean(&g.load),
            g.runs.to_string(),
            pct(g.measured_throttled_ratio),
            pct(g.simulated_throttled_ratio),
            format!("{:.2}", g.measured_p99_ms),
            g.simulated_p99_ms.map_or("-".into(), |v| format!("{v:.2}")),
            clean(&g.assumptions.join("; ")),
        ]);
    }
    writeln!(
        out,
        "\nthrottling per node type: measured vs simulate at the recorded parameters\n{t}"
    )?;
    Ok(())
}

/// Production throttling beside the prediction.
fn production_table(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    let mut t = table(vec![
        "namespace/pod",
        "container",
        "throttled (production)",
        "usage cores",
        "workload",
        "predicted",
        "prediction",
    ]);
    for p in &r.production {
        t.add_row(vec![
            format!(
                "{}/{}",
                clean(&p.production.namespace),
                clean(&p.production.pod)
            ),
            clean(&p.production.container),
            pct(p.throttled_ratio),
            p.usage_cores.map_or("-".into(), |v| format!("{v:.3}")),
            p.workload.as_deref().map_or("-".into(), clean),
            pct(p.predicted_throttled_ratio),
            clean(&p.prediction),
        ]);
    }
    writeln!(
        out,
        "\nproduction throttling (Prometheus) beside the prediction\n{t}"
    )?;
    Ok(())
}
