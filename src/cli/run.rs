//! `kcpu run` (I/O shell): apply CPU values to real cgroups, run load (or a command) inside
//! them as a proper init, and measure throttling.
//!
//! Forms:
//! ```text
//! kcpu run --quota 100ms --period 100ms --load periodic:threads=2,work=80ms,every=200ms --duration 5s --runs 20
//! kcpu run --quota 50ms --shares 512 -- ./my-binary --flag
//! kcpu run --cleanup
//! ```
//!
//! Exit codes (besides the contract in `cli/exit.rs`): with `-- CMD`, kcpu exits with the
//! command's status (128 + signal when it was killed); a run interrupted by SIGINT, SIGTERM,
//! SIGHUP or SIGQUIT exits 128 + that signal after removing every process and cgroup it created.
//! Needs root (or a delegated cgroup) and a cpu controller.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::exit;
use crate::cgroupfs::cleanup::{sweep_stale, StateDir};
use crate::cgroupfs::{CgroupName, CpuLimits, Share, DEFAULT_PARENT};
use crate::runner::events::{EventSink, RunEvent};
use crate::runner::{measure_single, Env, Measurement, Options, PhaseMode, Pin, RunError, Work};
use crate::sim::load::parse_load;
use crate::units::{
    format_duration, parse_duration, Nanos, PeriodUs, QuotaUs, Shares, Usec, Weight,
};
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
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
    /// Load duration per run.
    #[arg(long, default_value = "5s", value_parser = parse_dur)]
    pub duration: Nanos,
    /// Number of runs (each in fresh cgroups).
    #[arg(long)]
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
    /// A command to run under the CPU values instead of the built-in load.
    #[arg(last = true)]
    pub command: Vec<OsString>,
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
        (Some(s), _) => Some(Share::Shares(Shares(s))),
        (_, Some(w)) => Some(Share::Weight(Weight(w))),
        _ => None,
    };
    let l = CpuLimits {
        share,
        quota,
        period: PeriodUs(period.as_usec().0),
        burst,
        idle: a.idle.then_some(true),
    };
    l.validate()?;
    Ok(l)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    CgroupName::parent(&args.cgroup_parent)?;
    if args.cleanup {
        return cleanup(&args);
    }
    let lim = limits(&args)?;
    let work = match (&args.load, args.command.is_empty()) {
        (Some(_), false) => bail!("give either --load or a command after --, not both"),
        (Some(l), true) => Work::Load(parse_load(l)?),
        (None, false) => Work::Command(args.command.clone()),
        (None, true) => bail!("nothing to run: give --load PROFILE or -- COMMAND ARGS..."),
    };
    let period = Nanos::from_us(lim.period.0);
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
    let opts = Options {
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
    };
    let env = env()?;
    let mut sink = Progress::new(runs);
    let result = measure_single(&env, lim, work, &opts, &mut sink);
    sink.finish();
    let m = match result {
        Ok(m) => m,
        Err(RunError::Interrupted(sig)) => {
            eprintln!("kcpu run: interrupted by signal {sig}; removed every process and cgroup of the run");
            return Ok(exit::code((128 + sig).clamp(0, 255) as u8));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &m)?;
            writeln!(out)?;
        }
        Output::Table => render_table(&mut out, &m, &args)?,
    }
    out.flush()?;
    if let Some(e) = m.command_exit {
        return Ok(exit::code(e.shell_code().clamp(0, 255) as u8));
    }
    Ok(exit::code(exit::OK))
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
    let mut out = std::io::stdout().lock();
    if args.output == Output::Json {
        serde_json::to_writer_pretty(&mut out, &removed)?;
        writeln!(out)?;
    } else if removed.is_empty() {
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
    }
    Ok(exit::code(exit::OK))
}

/// Progress bar on a TTY (indicatif hides itself otherwise) plus warnings on stderr.
struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    fn new(runs: u32) -> Progress {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(runs as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix("kcpu run");
        Progress { bar }
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
            RunEvent::RunStarted { phase_us, .. } => self.bar.set_message(
                phase_us
                    .map(|p| format!("phase {:.1}ms", p as f64 / 1e3))
                    .unwrap_or_default(),
            ),
            RunEvent::RunFinished { .. } => self.bar.inc(1),
            _ => {}
        }
    }
}

fn ms(v: f64) -> String {
    format!("{v:.1}")
}

fn render_table(out: &mut impl Write, m: &Measurement, args: &Args) -> anyhow::Result<()> {
    use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
    let e = &m.environment;
    writeln!(
        out,
        "kcpu run: cgroup {} at {}, kernel {}, HZ {}, slice {} µs, {} CPUs",
        e.cgroup,
        e.cpu_mount.display(),
        e.kernel,
        e.hz.map(|h| h.to_string()).unwrap_or_else(|| "?".into()),
        e.slice_us
            .map(|h| h.to_string())
            .unwrap_or_else(|| "?".into()),
        e.cpus
    )?;
    for g in &m.groups {
        let rb: Vec<String> = g
            .read_back
            .iter()
            .map(|r| format!("{}={}", r.file, r.value))
            .collect();
        writeln!(
            out,
            "group {}: read back {}",
            g.path,
            if rb.is_empty() {
                "(defaults)".into()
            } else {
                rb.join(" ")
            }
        )?;
    }
    writeln!(
        out,
        "work: {}; duration {}; interval {}; isolated: {}; pinned: {}",
        args.load
            .clone()
            .unwrap_or_else(|| format!("command {:?}", args.command)),
        format_duration(args.duration),
        format_duration(Nanos(e.interval_us * 1_000)),
        if e.isolated { "yes" } else { "no" },
        match &e.pinned {
            Pin::None => "no".to_string(),
            Pin::Distinct => "distinct CPUs".to_string(),
            Pin::Cpus(c) => format!("CPUs {c:?}"),
        }
    )?;
    writeln!(
        out,
        "noise: background {:.2} cores on average; {}/{} runs noisy (> {:.2} cores); runner CPU at most {:.2}% of a core",
        e.mean_background_cores,
        e.noisy_runs,
        m.runs.len(),
        e.noisy_threshold_cores,
        e.max_runner_cpu_percent
    )?;
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "run",
        "phase ms",
        "periods",
        "throttled",
        "ratio",
        "thr. ms",
        "usage",
        "p50 ms",
        "p99 ms",
        "max ms",
        "bg cores",
    ]);
    for (r, info) in m.summary.per_run.iter().zip(&m.runs) {
        let x = &r.totals;
        t.add_row(vec![
            r.run.to_string(),
            info.phase_us
                .map(|p| ms(p as f64 / 1e3))
                .unwrap_or_else(|| "-".into()),
            x.nr_periods.to_string(),
            x.nr_throttled.to_string(),
            format!("{:.2}", x.throttled_ratio),
            ms(x.throttled_time_us as f64 / 1e3),
            format!("{:.3}", x.usage_cores),
            ms(x.latency.p50_ms),
            ms(x.latency.p99_ms),
            ms(x.latency.max_ms),
            format!(
                "{:.2}{}",
                info.background_cores,
                if info.noisy { " noisy" } else { "" }
            ),
        ]);
    }
    writeln!(out, "{t}")?;
    let s = &m.summary;
    let x = &s.totals;
    writeln!(
        out,
        "{}: runs throttled {}/{}; throttled ratio {:.3} ({} of {} periods); throttled {} ms; usage {:.3} cores; bursts {}",
        m.primary,
        s.runs_throttled,
        s.runs,
        x.throttled_ratio,
        x.nr_throttled,
        x.nr_periods,
        ms(x.throttled_time_us as f64 / 1e3),
        x.usage_cores,
        x.nr_bursts
    )?;
    if x.latency.count > 0 {
        writeln!(
            out,
            "latency (scheduled → done) p50 {} p90 {} p99 {} max {} ms; wake-up p50 {} p99 {} ms; {} requests",
            ms(x.latency.p50_ms),
            ms(x.latency.p90_ms),
            ms(x.latency.p99_ms),
            ms(x.latency.max_ms),
            ms(x.wakeup.p50_ms),
            ms(x.wakeup.p99_ms),
            x.latency.count
        )?;
    }
    for g in m.groups.iter().skip(1) {
        writeln!(
            out,
            "{}: usage {:.3} cores, throttled ratio {:.3}",
            g.path, g.summary.totals.usage_cores, g.summary.totals.throttled_ratio
        )?;
    }
    if let Some(c) = m.command_exit {
        writeln!(
            out,
            "command exited with {}; orphans reaped {}",
            c.shell_code(),
            m.orphans_reaped
        )?;
    }
    Ok(())
}
