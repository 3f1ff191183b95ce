//! `kcpu run` (I/O shell): apply CPU values to real cgroups, run load (or a command) inside
//! them as a proper init, and measure throttling.
//!
//! Forms:
//! ```text
//! kcpu run --quota 100ms --period 100ms --load periodic:threads=2,work=80ms,every=200ms --duration 5s --runs 20
//! kcpu run --quota 50ms --shares 512 -- ./my-binary --flag
//! kcpu run app.yaml --container api --load spin:threads=4 --duration 10s --compare
//! kcpu run app.yaml --container api -- ./my-binary --flag
//! kcpu run ... --output json --chart run.svg
//! kcpu run --cleanup
//! ```
//!
//! Manifest mode: the container's values come from `translate` (see [`super::pick`]); the runner
//! writes the files this machine's cgroup version has (v1: `cpu.shares` + CFS quota/period; v2:
//! the translated `cpu.weight` + `cpu.max`), and the pod group gets the pod's values. The other
//! app containers and sidecars of the pod get their groups and values but run nothing. The
//! container's declared load (`kcpu.dev/load.<container>`, else `kcpu.dev/load` for the first
//! app container) is the default `--load`.
//!
//! `--compare` simulates the same values and load with each run's measured phase
//! (`Phase::Fixed`) on a machine with this kernel's CPUs, HZ (or `--sim-hz`; 0 = exact
//! accounting without tick granularity) and bandwidth slice, and prints
//! both side by side with [`crate::stats::compare`]. Usage is compared over the same window,
//! `[0, duration)` (the simulator's): a measured run that ended early is rescaled to the
//! duration, one that ran past it is read from its timeline. Poisson arrivals are drawn from
//! different seeds on the two sides (same distribution, different instants).
//!
//! Exit codes (besides the contract in `cli/exit.rs`): `--fail-on-mismatch` exits 1 when a
//! compared figure is outside its tolerance; with `-- CMD`, kcpu exits with the
//! command's status (128 + signal when it was killed); a run interrupted by SIGINT, SIGTERM,
//! SIGHUP or SIGQUIT exits 128 + that signal after removing every process and cgroup it created.
//! Needs root (or a delegated cgroup) and a cpu controller.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::exit;
use super::pick::{self, PickArgs};
use crate::cgroupfs::cleanup::{sweep_stale, StateDir};
use crate::cgroupfs::{CgroupName, CpuLimits, DEFAULT_PARENT};
use crate::cpu::{CgroupVersion, CpuMax, CpuShare};
use crate::render::chart::{render, ChartFormat, RunChart};
use crate::render::trace::{
    write_comparison_table, write_json, write_summary_table_with, RunNotes,
};
use crate::runner::events::{EventSink, RunEvent};
use crate::runner::{
    measure, ContainerPlan, Env, Measurement, Options, PhaseMode, Pin, Plan, PodPlan, RunError,
    Work,
};
use crate::sim::fidelity::{
    places_ticks, runner_machine, simulate_measured_runs, MeasuredRuns, RunPhase,
};
use crate::sim::load::{parse_load, LoadProfile};
use crate::sim::{GroupConfig, KernelModel, Limits};
use crate::stats::{compare, usage_in_window_us, Comparison, Tolerances};
use crate::trace::{RunResult, Summary};
use crate::units::{
    format_duration, parse_duration, Nanos, PeriodUs, QuotaUs, Shares, Usec, Weight,
};
use anyhow::{bail, Context};
use serde::Serialize;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    Table,
    /// The whole measurement as JSON.
    Json,
}

/// Arguments of `kcpu run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sudo kcpu run --quota 100ms --load periodic:threads=2,work=80ms,every=200ms
  sudo kcpu run fixtures/web.yaml --container app --duration 10s --compare
  sudo kcpu run --quota 50ms -- ./my-binary --flag   # runs to completion")]
pub struct Args {
    /// CPU quota per period (`100ms`, `1.5ms`) or `max` for no limit.
    #[arg(long, default_value = "max", value_parser = parse_quota)]
    pub quota: QuotaArg,
    /// CFS period.
    #[arg(long, default_value = "100ms", value_parser = parse_dur)]
    pub period: Nanos,
    /// Burst (unused quota that may accumulate), e.g. `100ms`.
    #[arg(long, value_parser = parse_dur)]
    pub burst: Option<Nanos>,
    /// cgroup v1 `cpu.shares` (2..=262144).
    #[arg(long, conflicts_with = "weight")]
    pub shares: Option<u64>,
    /// cgroup v2 `cpu.weight` (1..=10000).
    #[arg(long)]
    pub weight: Option<u64>,
    /// Set `cpu.idle` to 1.
    #[arg(long)]
    pub idle: bool,
    /// Load profile: `spin:threads=N`, `periodic:threads=N,work=D,every=D`,
    /// `poisson:rate=R/s,work=D,threads=N`, `trace:FILE.csv`.
    #[arg(long)]
    pub load: Option<String>,
    /// Load duration per run (a command after `--` runs to completion instead).
    #[arg(long, default_value = "5s", value_parser = parse_dur)]
    pub duration: Nanos,
    /// Number of runs (each in fresh cgroups; at least 1, as in `simulate`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::sim::MAX_RUNS)))]
    pub runs: Option<u32>,
    /// Sampling interval of the counters.
    #[arg(long, default_value = "100ms", value_parser = parse_dur)]
    pub interval: Nanos,
    /// Start every run this long after a period edge (default: a random phase per run).
    #[arg(long, conflicts_with = "phase_sweep", value_parser = parse_dur)]
    pub phase: Option<Nanos>,
    /// Run every phase from 0 to the period in this step (one run per phase unless --runs).
    #[arg(long, value_parser = parse_dur)]
    pub phase_sweep: Option<Nanos>,
    /// Seed for Poisson arrivals and random phases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Parent cgroup (must start with `kcpu`).
    #[arg(long, default_value = DEFAULT_PARENT)]
    pub cgroup_parent: String,
    /// Give the kcpu parent the maximum weight so the rest of the machine steals less CPU.
    #[arg(long)]
    pub isolate: bool,
    /// Put each worker thread on its own CPU.
    #[arg(long, conflicts_with = "pin_cpus")]
    pub pin: bool,
    /// How the built-in load burns its work: `clock` reads the thread's CPU clock every ~25 µs
    /// (the kernel charges the group continuously); `loop` spins a calibrated number of
    /// iterations without entering the kernel, like most compute code (charged at ticks).
    /// `--compare` simulates each with the matching accounting.
    #[arg(long, value_enum, default_value_t = crate::runner::worker::Burn::Clock)]
    pub burn: crate::runner::worker::Burn,
    /// Put worker threads round robin on these CPUs (e.g. `0` or `0,1`).
    #[arg(long, value_delimiter = ',')]
    pub pin_cpus: Vec<usize>,
    /// Flag a run as noisy when the rest of the machine used more than this many cores.
    #[arg(long, default_value_t = crate::runner::DEFAULT_NOISY_CORES)]
    pub noisy_cores: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Remove cgroups left by runs whose process is gone, say what was removed, and exit.
    #[arg(long)]
    pub cleanup: bool,
    /// Manifests (files, directories, `-`): run a container with its translated values
    /// (`--container NAME`).
    #[arg(value_name = "MANIFEST")]
    pub inputs: Vec<String>,
    /// Which container of the manifests.
    #[command(flatten)]
    pub pick: PickArgs,
    /// What the node runs (for the translation of manifests; the cgroup files written follow
    /// this machine's cgroup version).
    #[command(flatten)]
    pub assume: AssumptionArgs,
    /// Also simulate each run at its measured phase and print measured vs simulated with the
    /// delta of each figure against its tolerance.
    #[arg(long)]
    pub compare: bool,
    /// With --compare: the tick rate (CONFIG_HZ) the simulator assumes, 0 = exact (no tick
    /// granularity) [default: the kernel's, else 250]. The tolerances keep the kernel's tick.
    #[arg(long, value_name = "N", requires = "compare")]
    pub sim_hz: Option<u32>,
    /// With --compare: exit 1 when a figure is outside its tolerance.
    #[arg(long, requires = "compare")]
    pub fail_on_mismatch: bool,
    /// Write a chart of the measured timeline (per-interval usage vs quota, throttled intervals).
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub chart: Option<PathBuf>,
    /// Run the container with a real OCI runtime (`runc`, `crun`, or a path): a minimal
    /// bundle with the kcpu worker (a command gets the host's root read-only), the translated
    /// `linux.resources.cpu`, a cgroupsPath under the parent; the runtime's version picks the
    /// `--runtime` preset.
    #[arg(long, value_name = "RUNTIME")]
    pub oci: Option<String>,
    /// A command to run under the CPU values instead of the built-in load; it runs to
    /// completion (`--duration` does not stop it) and kcpu exits with its status.
    #[arg(last = true)]
    pub command: Vec<OsString>,
    /// Kubernetes Jobs instead of a local run (`--emit-job --image IMAGE`).
    #[command(flatten)]
    pub emit: super::emit_job::EmitArgs,
}

/// Where ownership records live: `$KCPU_STATE_DIR`, else `/run/kcpu`, else a temp directory.
fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KCPU_STATE_DIR") {
        return PathBuf::from(d);
    }
    if std::path::Path::new("/run").is_dir() {
        PathBuf::from("/run/kcpu")
    } else {
        std::env::temp_dir().join("kcpu-state")
    }
}

fn env() -> anyhow::Result<Env> {
    let exe = std::env::current_exe().context("cannot find the kcpu binary for the worker")?;
    Ok(Env::detect(state_dir(), exe)?)
}

fn parse_dur(v: &str) -> Result<Nanos, String> {
    parse_duration(v).map_err(|e| e.to_string())
}

/// `--quota`: a duration or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaArg {
    /// `max` / `unlimited`.
    Max,
    /// A quota per period.
    Limit(Nanos),
}

fn parse_quota(v: &str) -> Result<QuotaArg, String> {
    match v {
        "max" | "unlimited" => Ok(QuotaArg::Max),
        _ => parse_dur(v).map(QuotaArg::Limit),
    }
}

fn limits(a: &Args) -> anyhow::Result<CpuLimits> {
    let period = a.period;
    let quota = match a.quota {
        QuotaArg::Max => QuotaUs::UNLIMITED,
        QuotaArg::Limit(q) => QuotaUs(i64::try_from(q.as_usec().0).unwrap_or(i64::MAX)),
    };
    let burst = a.burst.map(|d| Usec(d.as_usec().0));
    let share = match (a.shares, a.weight) {
        (Some(s), _) => Some(CpuShare::Shares(Shares(s))),
        (_, Some(w)) => Some(CpuShare::Weight(Weight(w))),
        _ => None,
    };
    let l = CpuLimits {
        share,
        max: CpuMax {
            quota,
            period: PeriodUs(period.as_usec().0),
        },
        burst,
        idle: a.idle.then_some(true),
    };
    l.validate()?;
    Ok(l)
}

/// What to measure: the plan, the primary container's values and load, and where they came from.
struct Target {
    plan: Plan,
    limits: CpuLimits,
    load: Option<LoadProfile>,
    /// `Deployment shop/web container app, …` in manifest mode.
    source: Option<String>,
    /// The work as the user should read it (the load text, or the command).
    work_text: String,
    /// The primary container's OCI `linux.resources.cpu` (`--oci`).
    oci: crate::translate::oci::LinuxCpu,
}

/// The work: `--load`, a command, or the container's declared load (`(text, where from)`).
fn work_of(args: &Args, declared: Option<(&str, String)>) -> anyhow::Result<Work> {
    Ok(match (&args.load, args.command.is_empty()) {
        (Some(_), false) => bail!("give either --load or a command after --, not both"),
        (Some(l), true) => Work::Load(parse_load(l)?),
        (None, false) => Work::Command(args.command.clone()),
        (None, true) => match declared {
            Some((text, from)) => Work::Load(parse_load(text).with_context(|| from)?),
            None => bail!("nothing to run: give --load PROFILE or -- COMMAND ARGS..."),
        },
    })
}

fn cpu_limits((share, max): (CpuShare, CpuMax)) -> CpuLimits {
    CpuLimits {
        share: Some(share),
        max,
        burst: None,
        idle: None,
    }
}

fn target(args: &Args, version: CgroupVersion) -> anyhow::Result<Target> {
    match args.pick.container.as_deref() {
        Some(container) => manifest_target(args, version, container),
        None => direct_target(args),
    }
}

/// The target of `--quota`/`--shares`/… flags (no manifests).
fn direct_target(args: &Args) -> anyhow::Result<Target> {
    if !args.inputs.is_empty() {
        bail!("give --container NAME to run one container of the manifests");
    }
    let lim = limits(args)?;
    let work = work_of(args, None)?;
    let oci = super::oci::direct_spec(
        args.shares,
        args.weight.filter(|_| args.oci.is_some()),
        lim.max.quota.0,
        lim.max.period.0,
        lim.burst.map(|b| b.0),
        args.idle,
    )?;
    Ok(Target {
        oci,
        plan: Plan::single(lim, work.clone()),
        limits: lim,
        load: match work {
            Work::Load(l) => Some(l),
            _ => None,
        },
        source: None,
        work_text: args
            .load
            .clone()
            .unwrap_or_else(|| format!("command {:?}", args.command)),
    })
}

/// The target of one container of the manifests: its translated values for this machine's
/// cgroup version, the pod's other containers idle with theirs.
fn manifest_target(args: &Args, version: CgroupVersion, container: &str) -> anyhow::Result<Target> {
    if args.inputs.is_empty() {
        bail!("--container needs manifests (kcpu run app.yaml --container NAME ...)");
    }
    let direct = [
        ("--quota", args.quota != QuotaArg::Max),
        ("--burst", args.burst.is_some()),
        ("--shares", args.shares.is_some()),
        ("--weight", args.weight.is_some()),
        ("--idle", args.idle),
    ];
    if let Some((flag, _)) = direct.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} cannot be combined with manifests: the container's translated values are used"
        );
    }
    let m = pick::load(&args.inputs, &args.assume)?;
    if m.input_errors {
        // Real cgroups and real processes: measure only what was read in full.
        anyhow::bail!("cannot use the manifests (see the errors above)");
    }
    let (entry, c) = pick::pick(&m, args.pick.workload.as_deref(), container)?;
    let label = pick::label(&entry.pod);
    let cv = version;
    let declared = entry.declared_load(&c.name);
    if declared.is_none() && args.load.is_none() && args.command.is_empty() {
        bail!(
            "nothing to run: give --load PROFILE or -- COMMAND ARGS... ({label} has no {}{} annotation{})",
            pick::LOAD_ANNOTATION_PREFIX,
            c.name,
            match entry.first_app() {
                Some(first) if first != c.name => {
                    format!("; {} is for the first app container, {first}", pick::LOAD_ANNOTATION)
                }
                _ => format!(" nor {}", pick::LOAD_ANNOTATION),
            }
        );
    }
    let work = work_of(
        args,
        declared
            .as_ref()
            .map(|d| (d.text.as_str(), format!("{label}: annotation {}", d.key))),
    )?;
    let lim = cpu_limits(c.values.for_version(cv));
    let pod_lim = cpu_limits(entry.pod.pod.for_version(cv));
    let mut containers = vec![ContainerPlan {
        name: c.name.clone(),
        limits: lim,
        work: work.clone(),
    }];
    // The pod's other long-running containers hold their values but run nothing.
    for other in &entry.pod.containers {
        if other.name != c.name && other.role != crate::manifest::model::Role::Init {
            containers.push(ContainerPlan {
                name: other.name.clone(),
                limits: cpu_limits(other.values.for_version(cv)),
                work: Work::Idle,
            });
        }
    }
    let files = match version {
        CgroupVersion::V1 => "cpu.shares, cpu.cfs_quota_us, cpu.cfs_period_us",
        CgroupVersion::V2 => "cpu.weight, cpu.max",
    };
    let load_src = match &declared {
        Some(d) if args.load.is_none() && args.command.is_empty() => {
            format!(" (load from its {} annotation)", d.key)
        }
        _ => String::new(),
    };
    Ok(Target {
        oci: crate::translate::oci::LinuxCpu::from_cri(c.cri),
        plan: Plan {
            pods: vec![PodPlan {
                name: entry.pod.name.clone(),
                limits: pod_lim,
                containers,
            }],
        },
        limits: lim,
        load: match &work {
            Work::Load(l) => Some(l.clone()),
            _ => None,
        },
        source: Some(format!(
            "{label} container {}{load_src}: this machine is cgroup {version}, so kcpu writes the translated {files}",
            c.name
        )),
        work_text: match &work {
            Work::Load(l) => l.to_string(),
            _ => format!("command {:?}", args.command),
        },
    })
}

/// The simulated counterpart of a measurement: each run at its measured phase.
#[derive(Debug, Clone, Serialize)]
struct Simulated {
    /// The machine the simulator modelled.
    cpus: u32,
    /// Kernel model and modelling choices, in words.
    model: String,
    hz: u32,
    /// The simulated ticks sit where the kernel's were, placed from each run's measured period
    /// edge ([`crate::sim::fidelity::tick_offset_ns`]); false: drawn per run.
    ticks_from_edges: bool,
    slice_us: u64,
    limits: Limits,
    summary: Summary,
    /// Why the simulated figures are outside the measured tolerances, when they are
    /// ([`crate::sim::fidelity::accuracy_caveat`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    caveat: Option<String>,
}

fn simulate_measured(
    m: &Measurement,
    limits: &CpuLimits,
    load: &LoadProfile,
    duration: Nanos,
    seed: u64,
    hz: Option<u32>,
) -> anyhow::Result<Simulated> {
    let e = &m.environment;
    let weight = limits.share.unwrap_or(CpuShare::kernel_default(e.cgroup));
    let sim_limits = Limits {
        max: limits.max,
        burst: Usec(limits.burst.map_or(0, |b| b.0)),
        weight,
    };
    let kernel = KernelModel::for_release(Some(&e.kernel), e.hz.map(|h| h.min(10_000) as u32));
    let mut machine = runner_machine(e.cpus.clamp(1, 1024) as u32, kernel);
    machine.accounting = e.burn.accounting();
    if let Some(h) = hz {
        machine.hz = h;
    }
    if let Some(us) = e.slice_us {
        machine.slice = Nanos::from_us(us);
    }
    let trace = super::simulate::read_trace(load, None, Some(duration))?;
    let runs: Vec<RunPhase> = m
        .summary
        .per_run
        .iter()
        .map(|r| RunPhase {
            run: r.run,
            phase_us: r.phase_us,
            edge_ns: m
                .runs
                .iter()
                .find(|i| i.run == r.run)
                .and_then(|i| i.edge_ns),
        })
        .collect();
    let group = GroupConfig {
        trace,
        ..GroupConfig::new("simulated", sim_limits, load.clone())
    };
    let measured = MeasuredRuns {
        duration,
        seed,
        runs: &runs,
    };
    let outcomes = simulate_measured_runs(&group, &machine, &measured)?;
    let mut per_run = Vec::new();
    let mut lat = crate::stats::Samples::default();
    let mut wake = crate::stats::Samples::default();
    // Said in the output: the simulated ticks sit where the kernel's were, not drawn.
    let placed = runs.iter().any(|r| places_ticks(&machine, r));
    for (RunPhase { run, phase_us, .. }, o) in runs.into_iter().zip(outcomes) {
        let totals = o.first_run_totals();
        per_run.push(RunResult {
            run,
            phase_us,
            totals,
        });
        lat.merge(&o.latencies_ns);
        wake.merge(&o.wakeups_ns);
    }
    Ok(Simulated {
        cpus: machine.cpus,
        model: machine.describe(),
        ticks_from_edges: placed,
        hz: machine.hz,
        slice_us: machine.slice.0 / 1_000,
        limits: sim_limits,
        summary: crate::stats::aggregate(per_run, &lat, &wake),
        caveat: crate::sim::fidelity::accuracy_caveat(&sim_limits, load),
    })
}

/// The measured summary with usage over `[0, duration)`, the simulator's window (see the
/// module docs).
fn measured_on_sim_window(m: &Measurement, duration: Nanos) -> Summary {
    let mut s = m.summary.clone();
    let timelines = m.groups.first().map(|g| &g.timelines);
    for (i, r) in s.per_run.iter_mut().enumerate() {
        let Some(info) = m.runs.get(i) else { continue };
        let wall_ns = info.wall_ms * 1e6;
        let cpu_us = if wall_ns <= duration.0 as f64 {
            Some(r.totals.usage_cores * wall_ns / 1e3)
        } else {
            timelines
                .and_then(|t| t.get(i))
                .and_then(|t| usage_in_window_us(t, duration.0))
        };
        if let Some(us) = cpu_us {
            r.totals.usage_cores = us * 1e3 / duration.0 as f64;
        }
    }
    if !s.per_run.is_empty() {
        s.totals.usage_cores =
            s.per_run.iter().map(|r| r.totals.usage_cores).sum::<f64>() / s.per_run.len() as f64;
    }
    s
}

#[derive(Serialize)]
struct CompareJson<'a> {
    measurement: &'a Measurement,
    /// The measured summary with usage over the simulator's window.
    measured: &'a Summary,
    simulated: &'a Simulated,
    comparison: &'a Comparison,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    CgroupName::parent(&args.cgroup_parent)?;
    if args.emit.emit_job {
        return super::emit_job::run(&args);
    }
    if args.cleanup {
        return cleanup(&args);
    }
    let chart_format = super::output::chart_format(args.chart.as_deref())?;
    let env = env()?;
    let mut args = args;
    let rt = match &args.oci {
        Some(name) => Some(super::oci::detect(
            &name.clone(),
            &env.state_dir,
            &mut args.assume,
        )?),
        None => None,
    };
    let mut t = target(&args, env.hierarchy.version)?;
    let oci = match rt {
        Some(rt) => Some(oci_backend(&args, &env, &mut t, rt)?),
        None => None,
    };
    if args.compare && t.load.is_none() {
        bail!(
            "--compare needs a built-in load (--load or a kcpu.dev/load annotation), not a command"
        );
    }
    let opts = options(&args, &t, oci)?;
    let mut sink = Progress::new(opts.runs);
    let result = measure(&env, &t.plan, &opts, &mut sink);
    sink.finish();
    let m = match result {
        Ok(m) => m,
        Err(RunError::Interrupted(sig)) => {
            eprintln!("kcpu run: interrupted by signal {sig}; removed every process and cgroup of the run");
            return Ok(exit::code((128 + sig).clamp(0, 255) as u8));
        }
        Err(e) => return Err(e.into()),
    };
    let lim = t.limits;
    let compared = match (&t.load, args.compare) {
        (Some(load), true) => {
            let sim = simulate_measured(&m, &lim, load, args.duration, args.seed, args.sim_hz)?;
            let measured = measured_on_sim_window(&m, args.duration);
            let hz = m
                .environment
                .hz
                .unwrap_or(super::simulate::FALLBACK_HZ as u64);
            let c = compare(&measured, &sim.summary, &Tolerances::for_hz(hz));
            Some((measured, sim, c))
        }
        _ => None,
    };
    write_output(&args, &t, &m, compared.as_ref())?;
    if let (Some(path), Some(format)) = (&args.chart, chart_format) {
        write_chart(path, format, &t, &m)?;
    }
    if let Some(e) = m.command_exit {
        return Ok(exit::code(e.shell_code().clamp(0, 255) as u8));
    }
    if args.fail_on_mismatch && compared.as_ref().is_some_and(|(_, _, c)| c.mismatch()) {
        return Ok(exit::code(exit::FINDINGS));
    }
    Ok(exit::code(exit::OK))
}

/// The `--oci` backend: direct-flag values get the share the runtime writes, stale
/// containers of dead runs are deleted, and the first container runs in the runtime.
fn oci_backend(
    args: &Args,
    env: &Env,
    t: &mut Target,
    rt: crate::runner::oci::OciRuntime,
) -> anyhow::Result<crate::runner::oci::OciBackend> {
    if t.source.is_none() {
        // Direct flags: the runtime turns shares into a weight on v2.
        let share = super::oci::expected_share(&t.oci, &rt, env.hierarchy.version);
        t.limits.share = share;
        if let Some(c) = t.plan.pods.get_mut(0).and_then(|p| p.containers.get_mut(0)) {
            c.limits.share = share;
        }
    }
    super::oci::sweep(&rt, &args.cgroup_parent)?;
    let (pod, container) = t
        .plan
        .pods
        .first()
        .and_then(|p| {
            p.containers
                .first()
                .map(|c| (p.name.clone(), c.name.clone()))
        })
        .unwrap_or_default();
    super::oci::backend(rt, &pod, &container, t.oci.clone())
}

/// The runner's options from the flags (phases, runs, pinning).
fn options(
    args: &Args,
    t: &Target,
    oci: Option<crate::runner::oci::OciBackend>,
) -> anyhow::Result<Options> {
    let period = Nanos::from_us(t.limits.max.period.0);
    let (phase, runs) = match (&args.phase, &args.phase_sweep) {
        (Some(p), _) => (PhaseMode::Fixed(*p), args.runs.unwrap_or(1)),
        (_, Some(s)) => {
            let step = *s;
            if step.0 == 0 {
                bail!("--phase-sweep must be > 0");
            }
            let n = crate::runner::measure::sweep_runs(period, step);
            (PhaseMode::Sweep(step), args.runs.unwrap_or(n))
        }
        _ => (PhaseMode::Random, args.runs.unwrap_or(1)),
    };
    Ok(Options {
        parent: args.cgroup_parent.clone(),
        duration: args.duration,
        runs,
        phase,
        interval: args.interval,
        isolate: args.isolate,
        pin: if args.pin {
            Pin::Distinct
        } else if !args.pin_cpus.is_empty() {
            Pin::Cpus(args.pin_cpus.clone())
        } else {
            Pin::None
        },
        seed: args.seed,
        drain: None,
        noisy_cores: args.noisy_cores,
        sweep_stale: true,
        oci,
        burn: args.burn,
    })
}

/// The measured summary on `simulate`'s window, the simulation and their comparison.
type Compared = (Summary, Simulated, Comparison);

/// Prints the measurement (and the comparison with `simulate`) as JSON or a table.
fn write_output(
    args: &Args,
    t: &Target,
    m: &Measurement,
    compared: Option<&Compared>,
) -> anyhow::Result<()> {
    if let (Output::Json, Some(src)) = (args.output, &t.source) {
        eprintln!("kcpu run: values: {src}");
    }
    let mut out = std::io::stdout().lock();
    match (args.output, compared) {
        (Output::Json, None) => write_json(&mut out, m)?,
        (Output::Json, Some((measured, simulated, comparison))) => write_json(
            &mut out,
            &CompareJson {
                measurement: m,
                measured,
                simulated,
                comparison,
            },
        )?,
        (Output::Table, _) => {
            let (context, notes) = table_parts(m, args, t);
            write_summary_table_with(&mut out, &context, &m.summary, &notes)?;
            if let Some((_, sim, c)) = compared {
                writeln!(out)?;
                writeln!(
                    out,
                    "measured vs simulated (each run simulated at its measured phase; {} CPUs, {}, slice {} µs; usage over the first {}):",
                    sim.cpus,
                    match (sim.hz, sim.ticks_from_edges) {
                        (0, _) => "no tick (exact)".to_string(),
                        (hz, true) => format!("HZ {hz}, ticks where the kernel's were"),
                        (hz, false) => format!("HZ {hz}"),
                    },
                    sim.slice_us,
                    format_duration(args.duration)
                )?;
                write_comparison_table(&mut out, c)?;
                if let Some(caveat) = &sim.caveat {
                    writeln!(out, "accuracy: {caveat}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes the primary group's first timeline as a chart.
fn write_chart(
    path: &Path,
    format: ChartFormat,
    t: &Target,
    m: &Measurement,
) -> anyhow::Result<()> {
    let lim = t.limits;
    let title = format!("kcpu run: {}, {}", limit_label(&lim), t.work_text);
    let g = m.groups.first();
    let chart = RunChart {
        timeline: g
            .and_then(|g| g.timelines.first())
            .map(|v| v.as_slice())
            .unwrap_or(&[]),
        quota_cores: lim
            .max
            .is_limited()
            .then(|| lim.max.quota.0 as f64 / lim.max.period.0.max(1) as f64),
        title: &title,
    };
    let bytes = render(&chart, format)?;
    super::output::write_new(path, &bytes)
        .with_context(|| format!("cannot write chart {}", path.display()))?;
    Ok(())
}

fn limit_label(l: &CpuLimits) -> String {
    if !l.max.is_limited() {
        "no quota".to_string()
    } else {
        format!(
            "quota {}/{}",
            format_duration(Nanos::from_us(l.max.quota.0 as u64)),
            format_duration(Nanos::from_us(l.max.period.0))
        )
    }
}

fn cleanup(args: &Args) -> anyhow::Result<ExitCode> {
    let env = env()?;
    let mut parents = vec![CgroupName::parent(DEFAULT_PARENT)?];
    let p = CgroupName::parent(&args.cgroup_parent)?;
    if !parents.contains(&p) {
        parents.push(p);
    }
    let removed = sweep_stale(
        &*env.io,
        &env.hierarchy,
        &parents,
        &StateDir(env.state_dir.clone()),
    )?;
    let swept = super::oci::sweep_installed(&env.state_dir, &args.cgroup_parent);
    let mut out = std::io::stdout().lock();
    if args.output == Output::Json {
        serde_json::to_writer_pretty(&mut out, &removed)?;
        writeln!(out)?;
    } else if removed.is_empty()
        && swept
            .iter()
            .all(|s| s.dirs.is_empty() && s.containers.is_empty())
    {
        writeln!(out, "kcpu run --cleanup: nothing to remove")?;
    } else {
        for r in &removed {
            writeln!(
                out,
                "removed {} (owner pid {} is gone): {} cgroup(s)",
                r.path.display(),
                r.owner_pid,
                r.dirs.len()
            )?;
        }
        for s in &swept {
            if !s.dirs.is_empty() {
                writeln!(
                    out,
                    "removed {} cgroup(s) an OCI runtime created for dead runs in the other hierarchies",
                    s.dirs.len()
                )?;
            }
        }
    }
    Ok(exit::code(exit::OK))
}

/// The shared progress bar ([`super::output::bar`]: on a terminal only, quiet in pipes and CI)
/// plus warnings on stderr.
struct Progress {
    bar: indicatif::ProgressBar,
}

/// The bar's label, also shown with each run's phase.
const PROGRESS_LABEL: &str = "kcpu run: runs";

impl Progress {
    fn new(runs: u32) -> Progress {
        Progress {
            bar: super::output::bar(runs as u64, PROGRESS_LABEL),
        }
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl EventSink for Progress {
    fn event(&mut self, e: &RunEvent) {
        match e {
            RunEvent::StaleRemoved { removed } => self.bar.suspend(|| {
                eprintln!(
                    "kcpu run: removed stale {} (owner pid {} is gone)",
                    removed.path.display(),
                    removed.owner_pid
                )
            }),
            RunEvent::Warning { message } => self
                .bar
                .suspend(|| eprintln!("kcpu run: warning: {message}")),
            RunEvent::RunStarted { phase_us, .. } => self.bar.set_message(match phase_us {
                Some(p) => format!("{PROGRESS_LABEL} (phase {:.1}ms)", *p as f64 / 1e3),
                None => PROGRESS_LABEL.to_string(),
            }),
            RunEvent::RunFinished { .. } => self.bar.inc(1),
            _ => {}
        }
    }
}

/// The context lines, per-run extras and footer of a measurement, for the shared renderer
/// ([`write_summary_table_with`]).
/// The "read back" context line of one measured group.
fn read_back_line(g: &crate::runner::GroupMeasurement) -> (String, String) {
    let rb: Vec<String> = g
        .read_back
        .iter()
        .map(|r| format!("{}={}", r.file, r.value))
        .collect();
    let values = if rb.is_empty() {
        "(defaults)".into()
    } else {
        rb.join(" ")
    };
    ("read back".to_string(), format!("{}: {values}", g.path))
}

fn table_parts(m: &Measurement, args: &Args, t: &Target) -> (Vec<(String, String)>, RunNotes) {
    let e = &m.environment;
    let opt = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |h| h.to_string());
    let mut context = Vec::new();
    if let Some(src) = &t.source {
        context.push(("values".to_string(), src.clone()));
    }
    context.push((
        "machine".to_string(),
        format!(
            "cgroup {} at {}, kernel {}, HZ {}, slice {} µs, {} CPUs",
            e.cgroup,
            e.cpu_mount.display(),
            e.kernel,
            opt(e.hz),
            opt(e.slice_us),
            e.cpus
        ),
    ));
    context.extend(m.groups.iter().map(read_back_line));
    context.push(("measured".to_string(), m.primary.clone()));
    context.push((
        "work".to_string(),
        format!(
            "{}; {}; interval {}; isolated: {}; pinned: {}",
            t.work_text,
            if args.command.is_empty() {
                format!("duration {}", format_duration(args.duration))
            } else {
                "runs to completion (--duration applies to built-in loads)".to_string()
            },
            format_duration(Nanos(e.interval_us * 1_000)),
            if e.isolated { "yes" } else { "no" },
            match &e.pinned {
                Pin::None => "no".to_string(),
                Pin::Distinct => "distinct CPUs".to_string(),
                Pin::Cpus(c) => format!("CPUs {c:?}"),
            }
        ),
    ));
    context.push((
        "noise".to_string(),
        format!(
            "background {:.2} cores on average; {}/{} runs noisy (> {:.2} cores); runner CPU at most {:.2}% of a core",
            e.mean_background_cores,
            e.noisy_runs,
            m.runs.len(),
            e.noisy_threshold_cores,
            e.max_runner_cpu_percent
        ),
    ));
    let mut footer: Vec<String> = m
        .groups
        .iter()
        .skip(1)
        .map(|g| {
            format!(
                "{}: usage {:.3} cores, throttled ratio {:.3}",
                g.path, g.summary.totals.usage_cores, g.summary.totals.throttled_ratio
            )
        })
        .collect();
    if let Some(c) = m.command_exit {
        footer.push(format!(
            "command exited with {}; orphans reaped {}",
            c.shell_code(),
            m.orphans_reaped
        ));
    }
    let notes = RunNotes {
        phases_us: Some(m.runs.iter().map(|r| r.phase_us).collect()),
        extra: vec![(
            "bg cores".to_string(),
            m.runs
                .iter()
                .map(|r| {
                    format!(
                        "{:.2}{}",
                        r.background_cores,
                        if r.noisy { " noisy" } else { "" }
                    )
                })
                .collect(),
        )],
        footer,
    };
    (context, notes)
}
