//! `kcpu recommend` (I/O shell): load (trace, profile or annotation) + goal → the pure search
//! ([`crate::recommend`]) → table or JSON, and with `--fix` an in-place edit of exactly the
//! bytes of the container's `limits.cpu` (atomically, with a diff, like `check --fix`).
//!
//! The cgroup values of each candidate limit come from kcpu's own translation (a one-container
//! Pod with `limits.cpu` = the candidate, under the `--cgroup/--runtime/--driver/--kubernetes`
//! assumptions), so the simulated quota is the one the kubelet and runtime would write
//! (including the systemd driver's rounding where it applies).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::exit;
use super::pick::{self, PickArgs};
use super::record::parse_positive;
use super::simulate::OutputFormat;
use crate::manifest::model::{Object, Role, Workload};
use crate::manifest::{visit_source, LoadOptions};
use crate::profile::{Assumptions, CgroupVersion};
use crate::quantity::format_millicores;
use crate::recommend::{
    percentile, recommend, Evaluation, Goal, Problem, RecommendError, Recommendation, Space,
};
use crate::record::format::{self as trace_format, Trace};
use crate::sim::load::{arrivals, parse_load, LoadProfile};
use crate::sim::{Accounting, GroupConfig, KernelModel, Limits, Machine, RunPlan};
use crate::source::SourceId;
use crate::translate::{translate_workload, CgroupValues};
use crate::units::{format_duration, MilliCpu, Nanos, PeriodUs, Usec};
use anyhow::{bail, Context};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `kcpu recommend`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kcpu recommend --load trace:api.trace.csv --max-throttled 5%
  kcpu recommend app.yaml --container api --p99-added 10ms --fix
  kcpu recommend --load periodic:threads=2,work=40ms,every=200ms --output json")]
pub struct Args {
    /// The manifest holding the container (one file; `--fix` edits it)
    #[arg(value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Which container (and workload) of the manifest.
    #[command(flatten)]
    pub pick: PickArgs,
    /// What the node runs (for the cgroup values of each candidate limit).
    #[command(flatten)]
    pub assume: AssumptionArgs,
    /// Load: trace:FILE (from `kcpu record`) or a profile; default: the container's kcpu.dev/load annotation
    #[arg(long, value_name = "PROFILE")]
    pub load: Option<String>,
    /// Goal: at most this share of periods throttled, in every phase (e.g. 5%)
    #[arg(long, value_name = "P%", value_parser = parse_percent)]
    pub max_throttled: Option<f64>,
    /// Goal: at most this much p99 latency added by the limit, in every phase (e.g. 10ms)
    #[arg(long, value_name = "DURATION", value_parser = parse_positive)]
    pub p99_added: Option<Nanos>,
    /// Periods to search (comma separated). Anything but the kubelet's period needs
    /// `cpuCFSQuotaPeriod` and the CustomCPUCFSQuotaPeriod gate on the whole node [default: the kubelet's, --cfs-period]
    #[arg(long, value_name = "D,D,…", value_delimiter = ',', value_parser = parse_positive)]
    pub periods: Vec<Nanos>,
    /// Also search burst = quota (cpu.max.burst / cpu.cfs_burst_us; the kubelet never writes
    /// it, so it needs a runtime hook or manual cgroup setup)
    #[arg(long)]
    pub allow_burst: bool,
    /// Grid of the limit, in millicores
    #[arg(long, value_name = "MILLICORES", default_value_t = 10)]
    pub step: i64,
    /// Largest limit searched, in millicores [default: the node's CPUs]
    #[arg(long, value_name = "MILLICORES")]
    pub max_limit: Option<i64>,
    /// Percentile of per-period CPU use for the request figure
    #[arg(long, value_name = "P", default_value_t = 95.0)]
    pub request_percentile: f64,
    /// CPUs of the node [default: the trace's recording machine, else one per load thread]
    #[arg(long, value_name = "N")]
    pub cpus: Option<u32>,
    /// CONFIG_HZ of the model; 0 = exact [default: the trace's, else the running kernel's, else 250]
    #[arg(long, value_name = "N")]
    pub hz: Option<u32>,
    /// When the kernel charges the program's runtime: `tick` (it rarely enters the kernel),
    /// `continuous` (it reads its CPU clock or blocks often; every `kcpu run` replay), or
    /// `both`: the limit must meet the goal under each (README "How accurate is simulate")
    #[arg(long, value_enum, default_value_t = AccountingChoice::Both)]
    pub accounting: AccountingChoice,
    /// Simulated time per run [default: the trace's length, else 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_positive)]
    pub duration: Option<Nanos>,
    /// Phases per period: each candidate is simulated with the load starting at 0, P/N, 2P/N, …
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub phases: u32,
    /// Seed for tick offsets and Poisson arrivals
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Edit the manifest's limits.cpu in place (atomically) and print the diff
    #[arg(long, requires = "manifest")]
    pub fix: bool,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t.strip_suffix('%').unwrap_or(t);
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected a percentage such as 5%, got {s:?}"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err("must be between 0% and 100%".into());
    }
    Ok(v / 100.0)
}

/// The container picked from the manifest, with what `--fix` needs.
struct Picked {
    path: PathBuf,
    text: String,
    label: String,
    container: String,
    /// `limits.cpu` as written: raw text and byte range.
    limit: Option<(String, std::ops::Range<usize>)>,
    request_millicores: Option<i64>,
    limit_millicores: Option<i64>,
    declared_load: Option<(String, String)>,
}

/// Every workload of `text` (the candidate pod, and the `--fix` check that the edited
/// manifest still loads the same workloads).
fn workloads(text: &str) -> Vec<Workload> {
    keep_workloads(text, &|_| true).0
}

/// The workloads of `text` that `keep` accepts (the others are dropped as they are read), and
/// why the input as a whole is unusable if it is (no document, or no Kubernetes object:
/// issue 13 defect 8).
fn keep_workloads(
    text: &str,
    keep: &dyn Fn(&Workload) -> bool,
) -> (Vec<Workload>, Option<&'static str>) {
    let mut kept = Vec::new();
    let mut issues = Vec::new();
    let mut stats = crate::manifest::LoadStats::default();
    visit_source(
        SourceId(0),
        text,
        &LoadOptions::default(),
        &mut |o| {
            if let Object::Workload(w) = o {
                if keep(&w) {
                    kept.push(*w);
                }
            }
        },
        &mut issues,
        &mut stats,
    );
    (kept, stats.emptiness())
}

fn pick_container(path: &Path, sel: &PickArgs) -> anyhow::Result<Picked> {
    let Some(container) = sel.container.as_deref() else {
        bail!("a manifest needs --container NAME");
    };
    let mut src = crate::input::read_path(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let selected = |w: &Workload| match sel.workload.as_deref() {
        None => true,
        Some(sel) => match sel.split_once('/') {
            Some((k, n)) => w.kind.eq_ignore_ascii_case(k) && w.metadata.name == n,
            None => w.metadata.name == sel,
        },
    };
    // Only the selected workloads with the container are kept, so a large manifest costs its
    // text once, not its objects.
    let (ws, unusable) = keep_workloads(&src.text, &|w| {
        selected(w) && w.pod.all_containers().any(|c| c.name == container)
    });
    if let Some(why) = unusable {
        bail!("{}: {why}", path.display());
    }
    let mut found = Vec::new();
    for w in &ws {
        let label = format!("{} {}/{}", w.kind, w.namespace(), w.metadata.name);
        let first_app = w.pod.containers.first().map(|c| c.name.as_str());
        for c in w.pod.all_containers() {
            if c.name != container || c.role == Role::Init {
                continue;
            }
            let q = |v: Option<&crate::manifest::model::QuantityValue>| {
                v.and_then(|q| q.parsed.as_ref().ok())
                    .map(|q| q.millicpu().0)
            };
            found.push(Picked {
                path: path.to_path_buf(),
                // Set once one container is picked (the text is the whole manifest).
                text: String::new(),
                label: label.clone(),
                container: c.name.clone(),
                limit: c
                    .resources
                    .limits
                    .cpu()
                    .map(|v| (v.raw.clone(), v.span.start..v.span.end)),
                request_millicores: q(c.resources.requests.cpu()),
                limit_millicores: q(c.resources.limits.cpu()),
                declared_load: w
                    .declared_load(&c.name, first_app == Some(c.name.as_str()))
                    .map(|(k, v)| (k, v.value.clone())),
            });
        }
    }
    match found.len() {
        1 => {
            let mut p = found.remove(0);
            p.text = std::mem::take(&mut src.text);
            Ok(p)
        }
        0 => bail!(
            "no container {container:?} in {}{}",
            path.display(),
            sel.workload
                .as_deref()
                .map(|w| format!(" (workload {w:?})"))
                .unwrap_or_default()
        ),
        n => bail!(
            "container {container:?} is in {n} workloads of {} ({}{}); pick one with --workload NAME or KIND/NAME",
            path.display(),
            found
                .iter()
                .take(LISTED_WORKLOADS)
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if n > LISTED_WORKLOADS {
                format!(", and {} more", n - LISTED_WORKLOADS)
            } else {
                String::new()
            }
        ),
    }
}

/// Most workloads named in the "container is in several workloads" error.
const LISTED_WORKLOADS: usize = 10;

/// A one-container Pod with these CPU values, translated under `a`.
fn translate_one(
    a: &Assumptions,
    request_millicores: Option<i64>,
    limit_millicores: i64,
) -> anyhow::Result<CgroupValues> {
    let req = request_millicores
        .map(|r| {
            format!(
                "      requests: {{cpu: \"{}\"}}\n",
                format_millicores(MilliCpu(r))
            )
        })
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: recommended}}\nspec:\n  containers:\n  - name: app\n    resources:\n{req}      limits: {{cpu: \"{}\"}}\n",
        format_millicores(MilliCpu(limit_millicores))
    );
    let w = workloads(&text)
        .pop()
        .context("internal: the candidate pod did not parse")?;
    let pod = translate_workload(&w, a).map_err(|e| anyhow::anyhow!("{e}"))?;
    pod.containers
        .into_iter()
        .next()
        .map(|c| c.values)
        .context("internal: the candidate pod has no container")
}

/// The assumptions with the kubelet period set to `period` (the gate on when it differs from
/// the default, as a node configured for it would have).
fn with_period(a: &Assumptions, period: PeriodUs) -> Assumptions {
    let mut a = a.clone();
    if period != a.cfs_period {
        a.gates.custom_cpu_cfs_quota_period = Some(true);
    }
    a.cfs_period = period;
    a
}

fn limits_of(v: &CgroupValues, version: CgroupVersion) -> anyhow::Result<Limits> {
    let (weight, max) = v.for_version(version);
    Ok(Limits {
        max,
        burst: Usec(0),
        weight,
    })
}

fn read_trace_file(path: &Path, until_ns: Option<u64>) -> anyhow::Result<Trace> {
    // Streamed line by line: memory is the requests kept, not the file's text.
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot read trace {}", path.display()))?;
    trace_format::read(std::io::BufReader::with_capacity(1 << 16, f), until_ns)
        .with_context(|| format!("cannot read trace {}", path.display()))
}

#[derive(Debug, Serialize)]
struct RequestJson {
    mean_millicores: i64,
    percentile: f64,
    percentile_millicores: i64,
    window_us: u64,
}

#[derive(Debug, Serialize)]
struct CgroupJson {
    version: String,
    #[serde(rename = "cpu.cfs_quota_us")]
    cfs_quota_us: i64,
    #[serde(rename = "cpu.cfs_period_us")]
    cfs_period_us: u64,
    #[serde(rename = "cpu.shares")]
    shares: u64,
    #[serde(rename = "cpu.max")]
    max: String,
    #[serde(rename = "cpu.weight")]
    weight: u64,
    /// `cpu.cfs_burst_us` / `cpu.max.burst` (not written by the kubelet).
    burst_us: u64,
}

#[derive(Debug, Serialize)]
struct RecommendationJson {
    limit: String,
    limit_millicores: i64,
    quota_us: i64,
    period_us: u64,
    burst_us: u64,
    worst_throttled_ratio: f64,
    worst_p99_added_ms: f64,
    /// The accounting model that gave the worst figures.
    worst_accounting: Accounting,
}

impl RecommendationJson {
    fn of(best: &Evaluation) -> RecommendationJson {
        RecommendationJson {
            limit: format_millicores(MilliCpu(best.limit_millicores)),
            limit_millicores: best.limit_millicores,
            quota_us: best.quota_us,
            period_us: best.period_us,
            burst_us: best.burst_us,
            worst_throttled_ratio: best.worst_throttled_ratio,
            worst_p99_added_ms: best.worst_p99_added_ms,
            worst_accounting: best.worst_accounting,
        }
    }
}

#[derive(Debug, Serialize)]
struct ModelJson {
    cpus: u32,
    hz: u32,
    /// The kernel model ([`KernelModel::describe`]).
    kernel: String,
    /// The accounting models every candidate was simulated under.
    accounting: Vec<Accounting>,
    duration_ms: u64,
    phases: u32,
    seed: u64,
    load_cpu_ms: u64,
    threads: u32,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    load: String,
    goal: Goal,
    recommendation: RecommendationJson,
    /// The same period and burst one step lower.
    below: Option<&'a Evaluation>,
    request: RequestJson,
    /// The cgroup values of request = the percentile figure, limit = the recommendation.
    cgroup: CgroupJson,
    unlimited_p99_ms: f64,
    model: ModelJson,
    notes: Vec<String>,
    evaluated: &'a [Evaluation],
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<String>,
}

/// The load to search for, read once.
struct LoadFacts {
    /// As given, and where it came from.
    text: String,
    from: String,
    profile: LoadProfile,
    trace: Option<Trace>,
    threads: u32,
    duration: Nanos,
    /// The load as a trace, for the mean and percentile figures.
    as_trace: Trace,
}

/// `--load`, else the container's annotation (a relative trace path is relative to the
/// manifest), read and measured.
fn read_load(a: &Args, picked: Option<&Picked>) -> anyhow::Result<LoadFacts> {
    let (text, from) = match (&a.load, picked) {
        (Some(l), _) => (l.clone(), "--load".to_string()),
        (None, Some(p)) => match &p.declared_load {
            Some((key, v)) => (
                crate::manifest::model::resolve_annotation_load(v, &p.path.to_string_lossy()),
                format!("annotation {key}"),
            ),
            None => bail!(
                "no --load given and {} container {} has no {}{} annotation",
                p.label,
                p.container,
                pick::LOAD_ANNOTATION_PREFIX,
                p.container
            ),
        },
        (None, None) => bail!("give --load trace:FILE (or a profile), or a MANIFEST --container NAME with a kcpu.dev/load annotation"),
    };
    let profile = parse_load(&text)?;
    let trace = match &profile {
        LoadProfile::Trace { path } => {
            let p = PathBuf::from(path);
            let t = read_trace_file(&p, a.duration.map(|d| d.0))?;
            if t.requests.is_empty() {
                bail!("trace {} holds no CPU use", p.display());
            }
            Some(t)
        }
        _ => None,
    };
    let threads = trace.as_ref().map_or(profile.threads(), |t| t.threads);
    let duration = match (a.duration, &trace) {
        (Some(d), _) => d,
        (None, Some(t)) => Nanos(t.duration_ns().div_ceil(1_000_000) * 1_000_000),
        (None, None) => Nanos::from_ms(10_000),
    };
    let as_trace = match &trace {
        Some(t) => t.clone(),
        None => Trace {
            header: None,
            requests: arrivals(&profile, duration, a.seed),
            threads,
        },
    };
    Ok(LoadFacts {
        text,
        from,
        profile,
        trace,
        threads,
        duration,
        as_trace,
    })
}

/// Which accounting models a candidate must meet the goal under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccountingChoice {
    /// Runtime charged at scheduler ticks (a program that rarely enters the kernel).
    Tick,
    /// Runtime charged continuously (a program that reads its CPU clock or blocks often, and
    /// every `kcpu run` replay).
    Continuous,
    /// Both: the limit must meet the goal whichever way the program is charged.
    Both,
}

impl AccountingChoice {
    fn models(self) -> &'static [Accounting] {
        match self {
            AccountingChoice::Tick => &[Accounting::Tick],
            AccountingChoice::Continuous => &[Accounting::Continuous],
            AccountingChoice::Both => &[Accounting::Tick, Accounting::Continuous],
        }
    }
}

/// The machine models of the search: the kernel the trace was recorded on (its release and
/// `CONFIG_HZ` from the header), else the running kernel, chosen the way `simulate` chooses it
/// ([`KernelModel::for_release`]); one machine per accounting model.
fn machines(a: &Args, header: Option<&trace_format::Header>, cpus: u32) -> Vec<Machine> {
    let running = crate::runner::kernel::detect();
    let release = header
        .map(|h| h.kernel.clone())
        .filter(|k| !k.is_empty())
        .unwrap_or(running.release);
    let known_hz = a.hz.or(header.and_then(|h| h.hz)).or(running.hz);
    let kernel = KernelModel::for_release(Some(&release), known_hz);
    a.accounting
        .models()
        .iter()
        .map(|&accounting| {
            let mut m = Machine::for_kernel(cpus, kernel.clone());
            m.hz = known_hz.unwrap_or(super::simulate::FALLBACK_HZ);
            m.accounting = accounting;
            if let Some(us) = running.slice_us.filter(|_| header.is_none()) {
                m.slice = Nanos::from_us(us);
            }
            m
        })
        .collect()
}

/// Mean use and the request percentile, in millicores, and the CPU of the load (ns).
fn request_figures(a: &Args, l: &LoadFacts, window_us: u64) -> anyhow::Result<Figures> {
    if !(0.0..=100.0).contains(&a.request_percentile) {
        bail!("--request-percentile must be between 0 and 100");
    }
    let (load_cpu_ns, mean_millicores) = match &l.profile {
        LoadProfile::Spin { threads } => (l.duration.0 * *threads as u64, *threads as i64 * 1_000),
        _ => {
            let cpu = l.as_trace.cpu_ns().min(u64::MAX / 2);
            let mean = (cpu as f64 * 1_000.0 / l.duration.0 as f64).ceil() as i64;
            (cpu, mean)
        }
    };
    let per_window = match &l.profile {
        LoadProfile::Spin { threads } => vec![*threads as u64 * window_us * 1_000],
        _ => trace_format::usage_per_window(&l.as_trace, window_us * 1_000),
    };
    let pct_millicores = (percentile(&per_window, a.request_percentile) as f64 * 1_000.0
        / (window_us as f64 * 1_000.0))
        .ceil() as i64;
    Ok(Figures {
        load_cpu_ns,
        mean_millicores,
        pct_millicores,
        window_us,
    })
}

/// The periods to search (µs): `--periods`, else the kubelet's.
fn periods(a: &Args, default_period: PeriodUs) -> anyhow::Result<Vec<u64>> {
    let periods_us: Vec<u64> = if a.periods.is_empty() {
        vec![default_period.0]
    } else {
        a.periods.iter().map(|p| p.0 / 1_000).collect()
    };
    for p in &periods_us {
        if !(PeriodUs::MIN.0..=PeriodUs::MAX.0).contains(p) {
            bail!("--periods: {p}us is outside the kernel's 1ms..1s");
        }
    }
    Ok(periods_us)
}

/// Notes on what the recommendation needs beyond the kubelet.
fn notes_for(best: &Evaluation, default_period: PeriodUs, l: &LoadFacts) -> Vec<String> {
    let mut notes = Vec::new();
    if best.period_us != default_period.0 {
        notes.push(format!(
            "period {} differs from the kubelet's {}: it needs cpuCFSQuotaPeriod and the CustomCPUCFSQuotaPeriod gate on the node (it applies to every pod there)",
            format_duration(Nanos::from_us(best.period_us)),
            format_duration(Nanos::from_us(default_period.0))
        ));
    }
    if best.burst_us > 0 {
        notes.push("burst: the kubelet never writes cpu.max.burst / cpu.cfs_burst_us; set it with a runtime hook or by hand".into());
    }
    if l.trace.as_ref().is_some_and(|t| t.header.is_none()) {
        notes.push(
            "the trace is in the older arrival,work format (one shared queue, no machine facts)"
                .into(),
        );
    }
    notes
}

/// The cgroup values of request = `request_millicores`, limit = the recommendation.
fn cgroup_json(
    assumptions: &Assumptions,
    best: &Evaluation,
    request_millicores: i64,
) -> anyhow::Result<CgroupJson> {
    let values = translate_one(
        &with_period(assumptions, PeriodUs(best.period_us)),
        Some(request_millicores.clamp(1, best.limit_millicores.max(1))),
        best.limit_millicores,
    )?;
    Ok(CgroupJson {
        version: assumptions.cgroup.to_string(),
        cfs_quota_us: values.cfs_quota_us.value.0,
        cfs_period_us: values.cfs_period_us.value.0,
        shares: values.shares.value.0,
        max: values.max.value.to_string(),
        weight: values.weight.value.0,
        burst_us: best.burst_us,
    })
}

/// The load's CPU figures behind the request.
struct Figures {
    /// CPU time of the whole load, ns.
    load_cpu_ns: u64,
    /// Mean use, millicores (where the search starts).
    mean_millicores: i64,
    /// `--request-percentile` of the per-window use, millicores (the request).
    pct_millicores: i64,
    /// The window of that percentile: the first searched period, µs.
    window_us: u64,
}

/// What follows from the recommendation besides the search: its cgroup values, notes and the
/// `--fix` diff.
struct Outcome {
    cgroup: CgroupJson,
    notes: Vec<String>,
    fixed: Option<String>,
}

/// The output document.
fn output<'a>(
    a: &Args,
    l: &LoadFacts,
    rec: &'a Recommendation,
    goal: Goal,
    machines: &[Machine],
    figures: &Figures,
    Outcome {
        cgroup,
        notes,
        fixed,
    }: Outcome,
) -> Output<'a> {
    let Figures {
        load_cpu_ns,
        mean_millicores,
        pct_millicores,
        window_us,
    } = *figures;
    let best = &rec.best;
    let cpus = machines.first().map_or(1, |m| m.cpus);
    Output {
        load: format!("{} ({})", l.text, l.from),
        goal,
        recommendation: RecommendationJson::of(best),
        below: rec.below.as_ref(),
        request: RequestJson {
            mean_millicores,
            percentile: a.request_percentile,
            percentile_millicores: pct_millicores,
            window_us,
        },
        cgroup,
        unlimited_p99_ms: rec.unlimited_p99_ms,
        model: ModelJson {
            cpus,
            hz: machines.first().map_or(0, |m| m.hz),
            kernel: machines
                .first()
                .map(|m| m.kernel.describe())
                .unwrap_or_default(),
            accounting: machines.iter().map(|m| m.accounting).collect(),
            duration_ms: l.duration.0 / 1_000_000,
            phases: a.phases,
            seed: a.seed,
            load_cpu_ms: load_cpu_ns / 1_000_000,
            threads: l.threads,
        },
        notes,
        evaluated: &rec.evaluated,
        fixed,
    }
}

/// Runs `kcpu recommend`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let assumptions = a.assume.to_assumptions()?;
    let picked = match &a.manifest {
        Some(p) => Some(pick_container(p, &a.pick)?),
        None if a.pick.container.is_some() => bail!("--container needs a MANIFEST"),
        None => None,
    };
    let l = read_load(&a, picked.as_ref())?;
    let header = l.trace.as_ref().and_then(|t| t.header.as_ref());
    let cpus = a
        .cpus
        .or(header.map(|h| h.cpus))
        .unwrap_or(l.threads)
        .max(1);
    let machines = machines(&a, header, cpus);
    let default_period = assumptions.cfs_period;
    let periods_us = periods(&a, default_period)?;
    let window_us = periods_us[0];
    let figures = request_figures(&a, &l, window_us)?;
    let goal = Goal {
        max_throttled: a.max_throttled,
        p99_added_ns: a.p99_added.map(|d| d.0),
    };
    let space = Space {
        periods_us: periods_us.clone(),
        allow_burst: a.allow_burst,
        step_millicores: a.step,
        max_millicores: a.max_limit.unwrap_or(cpus as i64 * 1_000).max(a.step),
        phases: a.phases,
    };
    let version = assumptions.cgroup;
    let translate = |m: i64, p: PeriodUs| -> Result<Limits, RecommendError> {
        translate_one(&with_period(&assumptions, p), None, m)
            .and_then(|v| limits_of(&v, version))
            .map_err(|e| RecommendError::Space(format!("translating {m}m: {e:#}")))
    };
    let group = GroupConfig {
        trace: l.trace.as_ref().map(|t| t.requests.clone()),
        ..GroupConfig::new("recommend", Limits::default(), l.profile.clone())
    };
    let bar = super::output::bar(
        (periods_us.len() as u64) * if a.allow_burst { 2 } else { 1 } * 10,
        "simulating candidate limits",
    );
    let plan = RunPlan::new(l.duration, 1, a.seed);
    let problem = Problem {
        group: &group,
        machines: &machines,
        base: &plan,
        floor_millicores: figures.mean_millicores,
        translate: &translate,
    };
    let result = recommend(&problem, &goal, &space, &|_| bar.inc(1));
    bar.finish_and_clear();
    let rec = match result {
        Ok(r) => r,
        Err(e @ RecommendError::Unreachable { .. }) => {
            eprintln!("kcpu recommend: {e}");
            return Ok(exit::code(exit::FINDINGS));
        }
        Err(e) => return Err(e.into()),
    };
    let best = &rec.best;
    let mut notes = notes_for(best, default_period, &l);
    let cgroup = cgroup_json(&assumptions, best, figures.pct_millicores)?;
    let fixed = match (&picked, a.fix) {
        (Some(p), true) => Some(fix_manifest(
            p,
            best.limit_millicores,
            &assumptions,
            &mut notes,
        )?),
        _ => None,
    };
    let outcome = Outcome {
        cgroup,
        notes,
        fixed,
    };
    let out = output(&a, &l, &rec, goal, &machines, &figures, outcome);
    match a.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&out)?),
        OutputFormat::Table => print_table(&out, &rec, picked.as_ref()),
    }
    Ok(exit::code(exit::OK))
}

/// Untrusted text (names, paths, annotation values) with control characters escaped, so it
/// cannot move the cursor or forge lines on a terminal or in a CI log.
fn term(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let v: Vec<char> = if c.is_control() {
                c.escape_debug().collect()
            } else {
                vec![c]
            };
            v
        })
        .collect()
}

/// `  FILE N` when a burst is set, else nothing.
fn burst_file(file: &str, us: u64) -> String {
    if us > 0 {
        format!("  {file} {us}")
    } else {
        String::new()
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The rows above the recommendation: load, container, goal, model.
fn input_rows(o: &Output<'_>, picked: Option<&Picked>) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let mut row = |k: &'static str, v: String| rows.push((k, v));
    row("load", term(&o.load));
    if let Some(p) = picked {
        row(
            "container",
            term(&format!(
                "{} container {} ({})",
                p.label,
                p.container,
                p.path.display()
            )),
        );
        if let Some(l) = p.limit_millicores {
            row("current limit", format_millicores(MilliCpu(l)));
        }
    }
    let mut goal = Vec::new();
    if let Some(m) = o.goal.max_throttled {
        goal.push(format!("at most {} of periods throttled", pct(m)));
    }
    if let Some(d) = o.goal.p99_added_ns {
        goal.push(format!("p99 at most +{}", format_duration(Nanos(d))));
    }
    row(
        "goal",
        format!(
            "{}, in every one of {} phases",
            goal.join(" and "),
            o.model.phases
        ),
    );
    row(
        "model",
        format!(
            "{} CPU(s), HZ {}, {} per run, {} thread(s), load {:.3} cores on average",
            o.model.cpus,
            o.model.hz,
            format_duration(Nanos::from_ms(o.model.duration_ms)),
            o.model.threads,
            o.model.load_cpu_ms as f64 / o.model.duration_ms.max(1) as f64
        ),
    );
    let accounting: Vec<String> = o.model.accounting.iter().map(|a| a.to_string()).collect();
    row(
        "kernel",
        format!(
            "{}; {} accounting (the goal must hold under each)",
            o.model.kernel,
            accounting.join(" and ")
        ),
    );
    rows
}

/// The table's "one step lower" text: the candidate below the recommendation and why it was
/// not taken.
fn step_below(below: Option<&Evaluation>) -> String {
    let Some(b) = below else {
        return "not simulated (the recommendation is the search floor: the load's mean use)"
            .into();
    };
    let why = if b.on_edge {
        format!(
            "meets the goal as given but not with {:.0} % more CPU per request: on the edge where the kernel's outcome turns on ~1 % of cost",
            crate::recommend::COST_MARGIN * 100.0
        )
    } else {
        "misses the goal".to_string()
    };
    format!(
        "{}: worst phase {} throttled, p99 +{:.2} ms ({why})",
        format_millicores(MilliCpu(b.limit_millicores)),
        pct(b.worst_throttled_ratio),
        b.worst_p99_added_ms,
    )
}

fn print_table(o: &Output<'_>, rec: &Recommendation, picked: Option<&Picked>) {
    let r = &o.recommendation;
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING);
    for (k, v) in input_rows(o, picked) {
        t.add_row(vec![k.to_string(), v]);
    }
    let mut row = |k: &str, v: String| {
        t.add_row(vec![k.to_string(), v]);
    };
    row(
        "recommended limit",
        format!(
            "{} (quota {} per {}{})",
            r.limit,
            format_duration(Nanos::from_us(r.quota_us.max(0) as u64)),
            format_duration(Nanos::from_us(r.period_us)),
            if r.burst_us > 0 {
                format!(", burst {}", format_duration(Nanos::from_us(r.burst_us)))
            } else {
                String::new()
            }
        ),
    );
    row(
        "  at that limit",
        format!(
            "worst phase {} of periods throttled, p99 +{:.2} ms (unlimited p99 {:.2} ms; worst under {} accounting)",
            pct(r.worst_throttled_ratio),
            r.worst_p99_added_ms,
            rec.unlimited_p99_ms,
            r.worst_accounting
        ),
    );
    row("  one step lower", step_below(o.below));
    row(
        "request",
        format!(
            "{} (mean use) … {} (p{} of use per {} window)",
            format_millicores(MilliCpu(o.request.mean_millicores.max(1))),
            format_millicores(MilliCpu(o.request.percentile_millicores.max(1))),
            o.request.percentile,
            format_duration(Nanos::from_us(o.request.window_us))
        ),
    );
    let c = &o.cgroup;
    row(
        "cgroup v1",
        format!(
            "cpu.cfs_quota_us {}  cpu.cfs_period_us {}  cpu.shares {}{}",
            c.cfs_quota_us,
            c.cfs_period_us,
            c.shares,
            burst_file("cpu.cfs_burst_us", c.burst_us)
        ),
    );
    row(
        "cgroup v2",
        format!(
            "cpu.max \"{}\"  cpu.weight {}{}",
            c.max,
            c.weight,
            burst_file("cpu.max.burst", c.burst_us)
        ),
    );
    println!("{t}");
    println!(
        "(values translated for --cgroup {} with request = the p{} figure; {} candidate simulations)",
        c.version,
        o.request.percentile,
        rec.evaluated.len()
    );
    for n in &o.notes {
        println!("note: {}", term(n));
    }
    if let Some(d) = &o.fixed {
        print!("{d}");
    }
}

/// Quantity text for `millicores`, in the quoting style of the value it replaces.
fn replacement(raw_node: &str, millicores: i64) -> String {
    let q = format_millicores(MilliCpu(millicores));
    match raw_node.chars().next() {
        Some(c @ ('"' | '\'')) => format!("{c}{q}{c}"),
        _ => {
            // A bare YAML scalar: a plain number stays unquoted, `350m` needs no quotes either.
            q
        }
    }
}

/// `--fix`: replaces exactly the bytes of `limits.cpu` with the recommendation (raised to the
/// request when the request is higher: a limit below the request is rejected by the API
/// server), checks the result still loads and translates, writes it atomically and returns
/// the diff.
fn fix_manifest(
    p: &Picked,
    best_millicores: i64,
    assumptions: &Assumptions,
    notes: &mut Vec<String>,
) -> anyhow::Result<String> {
    let Some((_, range)) = &p.limit else {
        bail!(
            "--fix: container {} has no limits.cpu to edit; add `limits: {{cpu: {}}}` to its resources",
            p.container,
            format_millicores(MilliCpu(best_millicores))
        );
    };
    let mut new_limit = best_millicores;
    if let Some(r) = p.request_millicores {
        if r > new_limit {
            notes.push(format!(
                "--fix: the limit is set to the request {} instead of {} (a limit below the request is invalid)",
                format_millicores(MilliCpu(r)),
                format_millicores(MilliCpu(best_millicores))
            ));
            new_limit = r;
        }
    }
    if p.limit_millicores == Some(new_limit) {
        notes.push("--fix: the limit already has this value; nothing written".into());
        return Ok(String::new());
    }
    let raw = p.text.get(range.clone()).unwrap_or_default();
    let edit = crate::finding::Edit {
        span: crate::source::Span::new(SourceId(0), range.start, range.end),
        replacement: replacement(raw, new_limit),
    };
    let (new_text, skipped) = crate::finding::apply_edits(&p.text, &[edit]);
    if !skipped.is_empty() {
        bail!("--fix: the limit's bytes could not be edited");
    }
    // Never write a manifest that no longer loads or translates.
    let before = workloads(&p.text).len();
    let after = workloads(&new_text);
    if after.len() != before {
        bail!("--fix: the edited manifest would not load the same workloads; nothing written");
    }
    for w in &after {
        translate_workload(w, assumptions).map_err(|e| {
            anyhow::anyhow!("--fix: the edited manifest would not translate ({e}); nothing written")
        })?;
    }
    let name = p.path.to_string_lossy();
    super::output::replace_atomically(&p.path, new_text.as_bytes())
        .with_context(|| format!("writing the fixed {name}"))?;
    Ok(crate::render::findings::unified_diff(
        &name, &p.text, &new_text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_and_replacement() {
        assert_eq!(parse_percent("5%").unwrap(), 0.05);
        assert_eq!(parse_percent("0.5").unwrap(), 0.005);
        assert!(parse_percent("101%").is_err());
        assert!(parse_percent("x").is_err());
        assert_eq!(replacement("\"500m\"", 350), "\"350m\"");
        assert_eq!(replacement("'1'", 2000), "'2'");
        assert_eq!(replacement("1", 1500), "1500m");
    }

    #[test]
    fn candidate_pod_translates() {
        let a = Assumptions::default();
        let v = translate_one(&a, Some(100), 350).unwrap();
        let l = limits_of(&v, CgroupVersion::V1).unwrap();
        assert_eq!(l.max.quota.0, 35_000);
        assert_eq!(l.max.period.0, 100_000);
    }
}
