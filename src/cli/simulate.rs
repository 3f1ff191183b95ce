//! `kcpu simulate` (I/O shell): flags → machine, cgroup values and loads → the pure simulator
//! ([`crate::sim`]) → a table, JSON and optionally a chart.
//!
//! Where the groups come from:
//! - flags: `--quota/--period/--burst/--shares|--weight --load` (one group);
//! - `MANIFEST --container NAME [--workload NAME|KIND/NAME]`: one container with its translated
//!   values (quota, period, and shares or weight per `--cgroup`; burst only with `--burst`), its
//!   load from `--load` or its declared `kcpu.dev/load*` annotation (see [`super::pick`]);
//! - node mode, `MANIFEST… --cpus N` without `--container`: every app container and sidecar of
//!   every workload, `min(replicas, --max-replicas)` times, each with its declared load or
//!   `--default-load` (`request`: it uses its CPU request; see [`request_load`]), sharing the node
//!   with the weights from translation (the simulator's hierarchy is flat: see
//!   [`crate::sim::node`]);
//! - node mode, `--scenario FILE`: groups from a scenario file.
//!
//! The only I/O here: reading the running kernel's `CONFIG_HZ` (for the `--hz` default), scenario
//! files, trace CSVs, and writing stdout and the chart file.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::assume::AssumptionArgs;
use super::pick::{self, PickArgs};
use crate::cpu::CpuMax;
use crate::manifest::model::Role;
use crate::profile::CgroupVersion;
use crate::render::chart::{render, ChartFormat, SimChart};
use crate::render::trace::{write_groups_table, write_json, write_summary_table, GroupRow};
use crate::sim::load::{parse_load, LoadProfile, Request};
use crate::sim::scenario::{parse_quota, parse_scenario, parse_us};
use crate::sim::{
    default_quantum, simulate_node_with_progress, Accounting, CpuShare, GroupConfig, GroupOutcome,
    KernelModel, Limits, Machine, Phase, RunPlan,
};
use crate::units::{
    format_duration, parse_duration, Nanos, PeriodUs, QuotaUs, Shares, Usec, Weight,
};
use anyhow::{bail, Context};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// HZ used when the running kernel's configuration cannot be read.
pub const FALLBACK_HZ: u32 = 250;
/// Largest scenario or trace file read (bytes).
pub(crate) const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Output format of `kcpu simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables.
    Table,
    /// The full result as JSON (the `kcpu run` schema per group).
    Json,
}

/// Arguments of `kcpu simulate` (boxed, so the subcommand enum stays small).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kcpu simulate --quota 100ms --load periodic:threads=2,work=80ms,every=200ms
  kcpu simulate fixtures/web.yaml --container app --duration 30s --output json
  kcpu simulate fixtures/ --cpus 8 --max-replicas 3   # all on one 8-CPU node")]
pub struct Args {
    /// The options.
    #[command(flatten)]
    pub opts: Box<Options>,
}

/// The options of `kcpu simulate`.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Manifests (files, directories, `-`): simulate one container with its translated values
    /// (`--container NAME`), or every container on one node (node mode: `--cpus N`)
    #[arg(value_name = "MANIFEST", conflicts_with = "scenario")]
    pub inputs: Vec<String>,
    /// Which container of the manifests.
    #[command(flatten)]
    pub pick: PickArgs,
    /// What the node runs (for the translation of manifests).
    #[command(flatten)]
    pub assume: AssumptionArgs,
    /// CPU time per period (the first field of cpu.max), e.g. 100ms; `max` for no limit [default: max]
    #[arg(long, value_name = "DURATION|max", value_parser = parse_quota_arg)]
    pub quota: Option<QuotaUs>,
    /// Enforcement period, 1ms..1s [default: 100ms]
    #[arg(long, value_name = "DURATION", value_parser = parse_period_arg)]
    pub period: Option<PeriodUs>,
    /// Burst (cpu.max.burst / cpu.cfs_burst_us), at most the quota [default: 0]
    #[arg(long, value_name = "DURATION", value_parser = parse_burst_arg)]
    pub burst: Option<Usec>,
    /// Group weight as cgroup v1 cpu.shares (2..262144) [default: 1024]
    #[arg(long, value_name = "N", conflicts_with = "weight")]
    pub shares: Option<u64>,
    /// Group weight as cgroup v2 cpu.weight (1..10000)
    #[arg(long, value_name = "N")]
    pub weight: Option<u64>,
    /// CPUs of the node [default: one per load thread; node mode: the scenario's `cpus`]
    #[arg(long, value_name = "N")]
    pub cpus: Option<u32>,
    /// Load: spin:threads=N | periodic:threads=N,work=D,every=D | poisson:rate=R/s,work=D,threads=N | trace:FILE.csv
    #[arg(long, value_name = "PROFILE", value_parser = parse_load_arg)]
    pub load: Option<LoadProfile>,
    /// Simulated time per run
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration_arg)]
    pub duration: Nanos,
    /// Number of runs, each with its own random phase (ignored with --phase-sweep)
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::sim::MAX_RUNS)))]
    pub runs: u32,
    /// Seed for phases, tick offsets and Poisson arrivals
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Memory budget: most requests one run of all groups may create (each costs about 100
    /// bytes while its run lasts; latency percentiles themselves stay bounded)
    #[arg(long, value_name = "N", default_value_t = crate::sim::MAX_REQUESTS_PER_RUN)]
    pub max_requests: u64,
    /// Start the load this long after a period edge in every run (default: random per run)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, conflicts_with = "phase_sweep")]
    pub phase: Option<Nanos>,
    /// One run per phase 0, STEP, 2·STEP, … < period, and print the phase-resolved table
    #[arg(long, value_name = "STEP", value_parser = parse_duration_arg)]
    pub phase_sweep: Option<Nanos>,
    /// Scheduler tick rate CONFIG_HZ; 0 = exact (no tick) [default: the running kernel's, else 250]
    #[arg(long, value_name = "N")]
    pub hz: Option<u32>,
    /// When runtime is charged: `tick` (pure compute, overruns by up to one tick) or
    /// `continuous` (a workload that reads its CPU clock or enters the kernel often, e.g. `kcpu
    /// run`'s worker); see README "How accurate is simulate"
    #[arg(long, value_name = "tick|continuous", default_value = "tick", value_parser = parse_accounting)]
    pub accounting: Accounting,
    /// CPU time each request costs beyond its nominal work (wake-up, system calls), e.g. `50us`
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration_arg)]
    pub request_overhead: Nanos,
    /// sched_cfs_bandwidth_slice_us: runtime a CPU pulls from the pool at a time
    #[arg(long, value_name = "DURATION", default_value = "5ms", value_parser = parse_duration_arg)]
    pub slice: Nanos,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Also write a chart (per-period usage vs quota, throttled periods, latency CDF)
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub chart: Option<PathBuf>,
    /// Node mode from manifests (no --container): simulate at most N replicas of each workload
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_replicas: u32,
    /// Node mode from manifests: the load of a container without a kcpu.dev/load annotation:
    /// `request` (it uses its CPU request: periodic, one thread per started CPU, every 100ms),
    /// `none` (idle, not simulated) or a load profile
    #[arg(long, value_name = "request|none|PROFILE", default_value = "request", value_parser = parse_default_load)]
    pub default_load: DefaultLoad,
    /// Node mode: groups sharing the CPUs, from a YAML file: `cpus: 8` and `groups:`, each with
    /// `name`, `shares` or `weight`, `quota`, `period`, `burst`, `load`, optional `replicas` and
    /// `changes: [{at: 5s, quota: 400ms}]` (cgroup writes during the run)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["quota", "period", "burst", "shares", "weight", "load"])]
    pub scenario: Option<PathBuf>,
}

fn parse_duration_arg(s: &str) -> Result<Nanos, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn parse_accounting(s: &str) -> Result<Accounting, String> {
    match s {
        "tick" => Ok(Accounting::Tick),
        "continuous" => Ok(Accounting::Continuous),
        _ => Err("expected tick or continuous".into()),
    }
}

fn parse_quota_arg(s: &str) -> Result<QuotaUs, String> {
    parse_quota(s)
}

fn parse_period_arg(s: &str) -> Result<PeriodUs, String> {
    parse_us(s, "period").map(PeriodUs)
}

fn parse_burst_arg(s: &str) -> Result<Usec, String> {
    parse_us(s, "burst").map(Usec)
}

/// The load of a container without a declared one (node mode from manifests).
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultLoad {
    /// The container uses its CPU request ([`request_load`]).
    Request,
    /// The container is idle and not simulated.
    None,
    /// Every such container runs this profile.
    Profile(LoadProfile),
}

fn parse_default_load(s: &str) -> Result<DefaultLoad, String> {
    match s {
        "request" => Ok(DefaultLoad::Request),
        "none" => Ok(DefaultLoad::None),
        _ => parse_load(s)
            .map(DefaultLoad::Profile)
            .map_err(|e| format!("{e} (or `request`, `none`)")),
    }
}

/// Interval of the `request` default load.
pub const REQUEST_LOAD_EVERY: Nanos = Nanos(100_000_000);

/// The `request` default load: a container that uses exactly its CPU request on average, as
/// `ceil(request)` threads each doing `request / threads × 100ms` of work every 100 ms
/// (`None` without a request: such a container is idle).
pub fn request_load(request_millicores: Option<i64>) -> Option<LoadProfile> {
    let m = u64::try_from(request_millicores?).ok().filter(|&m| m > 0)?;
    let threads = m.div_ceil(1_000).max(1);
    let work_ns = m * REQUEST_LOAD_EVERY.0 / 1_000 / threads;
    Some(LoadProfile::Periodic {
        threads: u32::try_from(threads).ok()?,
        work: Nanos(work_ns),
        every: REQUEST_LOAD_EVERY,
    })
}

fn parse_load_arg(s: &str) -> Result<LoadProfile, String> {
    parse_load(s).map_err(|e| e.to_string())
}

/// The running kernel's HZ and where it came from, or the fallback.
fn detect_hz(k: &crate::runner::kernel::KernelInfo) -> (u32, String) {
    match k.hz {
        Some(hz) => (hz, format!("CONFIG_HZ from {}", k.config_path)),
        None => (
            FALLBACK_HZ,
            format!("default; {} not readable", k.config_path),
        ),
    }
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if meta.len() > MAX_INPUT_BYTES {
        bail!(
            "{what} {} is larger than {} MiB",
            path.display(),
            MAX_INPUT_BYTES >> 20
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Reads the CSV of a `trace:` load (relative paths against `base`): the rows that arrive
/// before `until` (the simulated duration; nothing later can run), at most
/// [`crate::record::format::MAX_ROWS`] of them.
pub(crate) fn read_trace(
    load: &LoadProfile,
    base: Option<&Path>,
    until: Option<Nanos>,
) -> anyhow::Result<Option<Vec<Request>>> {
    let LoadProfile::Trace { path } = load else {
        return Ok(None);
    };
    let p = match base {
        Some(dir) if Path::new(path).is_relative() => dir.join(path),
        _ => PathBuf::from(path),
    };
    // Streamed line by line: memory is the requests, not the file's text.
    let f =
        std::fs::File::open(&p).with_context(|| format!("cannot read trace {}", p.display()))?;
    let until = until.map(|d| d.0);
    let rows = crate::sim::load::read_trace(std::io::BufReader::with_capacity(1 << 16, f), until)
        .with_context(|| format!("cannot read trace {}", p.display()))?;
    Ok(Some(rows))
}

/// `trace:` files for `kcpu check`'s pure rules ([`crate::predict::TraceSource`]): read on first
/// use, streamed up to the rule's window, and kept for the next workload that names the same
/// file (at most [`FileTraces::KEEP`] files, so memory stays bounded on any input).
#[derive(Debug, Default)]
pub(crate) struct FileTraces {
    read: std::sync::Mutex<Vec<ReadTrace>>,
}

/// One file read by [`FileTraces`]: its path, the window it was read up to, the requests.
type ReadTrace = (String, Nanos, Result<std::sync::Arc<Vec<Request>>, String>);

impl FileTraces {
    /// Files kept at once.
    const KEEP: usize = 4;
}

impl crate::predict::TraceSource for FileTraces {
    fn requests(
        &self,
        path: &str,
        until: Nanos,
    ) -> Option<Result<std::sync::Arc<Vec<Request>>, String>> {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, r)) = read.iter().find(|(p, u, _)| p == path && *u == until) {
            return Some(r.clone());
        }
        let load = LoadProfile::Trace {
            path: path.to_string(),
        };
        let r = match read_trace(&load, None, Some(until)) {
            Ok(rows) => Ok(std::sync::Arc::new(rows.unwrap_or_default())),
            Err(e) => Err(format!("{e:#}")),
        };
        if read.len() >= Self::KEEP {
            drop(read.remove(0));
        }
        read.push((path.to_string(), until, r.clone()));
        Some(r)
    }
}

/// Threads of a load: a recorded trace's thread count, else the profile's (at least 1).
fn load_threads(load: &LoadProfile, trace: Option<&[Request]>) -> u32 {
    match (load, trace) {
        (LoadProfile::Trace { .. }, Some(t)) => crate::sim::load::trace_threads(t),
        _ => load.threads(),
    }
    .max(1)
}

/// Formats a group's limit (`100ms/100ms +burst 50ms (1.00 CPU)` or `unlimited`).
pub fn limit_text(l: &Limits) -> String {
    if l.max.quota.is_unlimited() {
        return format!(
            "unlimited (period {})",
            format_duration(Nanos::from_us(l.max.period.0))
        );
    }
    let mut s = format!(
        "{}/{}",
        format_duration(Nanos::from_us(l.max.quota.0 as u64)),
        format_duration(Nanos::from_us(l.max.period.0))
    );
    if l.burst.0 > 0 {
        s.push_str(&format!(
            " +burst {}",
            format_duration(Nanos::from_us(l.burst.0))
        ));
    }
    s.push_str(&format!(
        " ({:.2} CPU)",
        l.max.quota.0 as f64 / l.max.period.0 as f64
    ));
    s
}

fn short_weight_text(w: CpuShare) -> String {
    match w {
        CpuShare::Shares(s) => format!("shares {}", s.0),
        CpuShare::Weight(x) => format!("weight {}", x.0),
    }
}

fn weight_text(w: CpuShare) -> String {
    match w {
        CpuShare::Shares(s) => format!("cpu.shares {} (kernel weight {})", s.0, w.kernel_weight()),
        CpuShare::Weight(x) => format!("cpu.weight {} (kernel weight {})", x.0, w.kernel_weight()),
    }
}

/// Where one simulated group came from (manifest mode).
#[derive(Debug, Serialize)]
struct ManifestGroupJson {
    group: String,
    kind: String,
    namespace: String,
    workload: String,
    replica: u32,
    container: String,
    role: &'static str,
    request_millicores: Option<i64>,
    limit_millicores: Option<i64>,
    /// `annotation kcpu.dev/load…`, `--load`, `--default-load`, or `request`.
    load_from: String,
}

/// Manifest mode in the JSON report.
#[derive(Debug, Serialize)]
struct ManifestJson {
    cgroup: String,
    max_replicas: Option<u32>,
    groups: Vec<ManifestGroupJson>,
    /// Containers not simulated (no declared load and no default), `workload/container`.
    idle: Vec<String>,
}

/// Groups built from manifests, with their provenance.
struct FromManifests {
    groups: Vec<GroupConfig>,
    cpus: u32,
    context: Vec<(String, String)>,
    json: Option<ManifestJson>,
    /// Some input document was bad (already reported); the rest is simulated and the exit code
    /// says so, like translate, check and report.
    input_errors: bool,
}

fn files_text(w: CpuShare) -> &'static str {
    match w {
        CpuShare::Weight(_) => "cpu.max and cpu.weight",
        CpuShare::Shares(_) => "cpu.cfs_quota_us/cfs_period_us and cpu.shares",
    }
}

fn manifest_group(
    e: &pick::Entry,
    replica: u32,
    group: &str,
    c: &crate::translate::ContainerPlan,
    load_from: String,
) -> ManifestGroupJson {
    ManifestGroupJson {
        group: group.to_string(),
        kind: e.pod.kind.clone(),
        namespace: e.pod.namespace.clone(),
        workload: e.pod.name.clone(),
        replica,
        container: c.name.clone(),
        role: c.role.as_str(),
        request_millicores: c.request_millicores.value,
        limit_millicores: c.limit_millicores.value,
        load_from,
    }
}

/// `simulate MANIFEST --container NAME`: one group with the container's translated values.
fn one_container(args: &Options, m: &pick::Manifests) -> anyhow::Result<FromManifests> {
    let container = args.pick.container.as_deref().unwrap_or_default();
    let (entry, c) = pick::pick(m, args.pick.workload.as_deref(), container)?;
    let version = m.assumptions.cgroup;
    let (share, v) = c.values.for_version(version);
    let (load, load_from) = match (&args.load, entry.declared_load(&c.name)) {
        (Some(l), _) => (l.clone(), "--load".to_string()),
        (None, Some(d)) => (
            parse_load(&d.text).map_err(|e| {
                anyhow::anyhow!("{}: annotation {}: {e}", pick::label(&entry.pod), d.key)
            })?,
            format!("annotation {}", d.key),
        ),
        (None, None) => bail!(
            "no --load given and {} has no {}{} annotation{}",
            pick::label(&entry.pod),
            pick::LOAD_ANNOTATION_PREFIX,
            c.name,
            match entry.first_app() {
                Some(first) if first == c.name => format!(" (nor {})", pick::LOAD_ANNOTATION),
                Some(first) => format!(
                    " ({} is for the first app container, {first})",
                    pick::LOAD_ANNOTATION
                ),
                None => String::new(),
            }
        ),
    };
    let weight = share;
    let limits = Limits {
        max: v,
        burst: args.burst.unwrap_or(Usec(0)),
        weight,
    };
    let name = format!("{}/{}/{}", entry.pod.kind, entry.pod.name, c.name);
    let mut context = vec![(
        "manifest".to_string(),
        format!(
            "{} container {} (translated for cgroup {version}: {})",
            pick::label(&entry.pod),
            c.name,
            files_text(weight)
        ),
    )];
    if load_from != "--load" {
        context.push(("load from".to_string(), load_from.clone()));
    }
    let trace = read_trace(&load, None, Some(args.duration))?;
    let cpus = args
        .cpus
        .unwrap_or_else(|| load_threads(&load, trace.as_deref()));
    let json = ManifestJson {
        cgroup: version.to_string(),
        max_replicas: None,
        groups: vec![manifest_group(entry, 0, &name, c, load_from)],
        idle: Vec::new(),
    };
    Ok(FromManifests {
        groups: vec![GroupConfig {
            trace,
            ..GroupConfig::new(name, limits, load)
        }],
        cpus,
        context,
        json: Some(json),
        input_errors: false,
    })
}

/// Short unique pod names: `name`, else `namespace/name`, else `Kind/namespace/name`.
fn pod_labels(entries: &[pick::Entry]) -> Vec<String> {
    let count =
        |f: &dyn Fn(&pick::Entry) -> String, l: &str| entries.iter().filter(|e| f(e) == l).count();
    let short = |e: &pick::Entry| e.pod.name.clone();
    let ns = |e: &pick::Entry| format!("{}/{}", e.pod.namespace, e.pod.name);
    let full = |e: &pick::Entry| format!("{}/{}/{}", e.pod.kind, e.pod.namespace, e.pod.name);
    entries
        .iter()
        .map(|e| {
            let s = short(e);
            if count(&short, &s) == 1 {
                return s;
            }
            let n = ns(e);
            if count(&ns, &n) == 1 {
                n
            } else {
                full(e)
            }
        })
        .collect()
}

/// `simulate MANIFESTS --cpus N` (no `--container`): every long-running container (app
/// containers and sidecars; init containers run to completion before the pod starts) of every
/// workload, `min(replicas, --max-replicas)` times, as groups sharing the node.
fn node_from_manifests(args: &Options, m: &pick::Manifests) -> anyhow::Result<FromManifests> {
    let Some(cpus) = args.cpus else {
        bail!(
            "node mode (manifests without --container) needs the node's CPU count: pass --cpus N"
        );
    };
    if args.max_replicas == 0 {
        bail!("--max-replicas must be at least 1");
    }
    let version = m.assumptions.cgroup;
    let entries: Vec<&pick::Entry> = m
        .entries
        .iter()
        .filter(|e| {
            args.pick
                .workload
                .as_deref()
                .is_none_or(|w| pick::matches_workload(&e.pod, w))
        })
        .collect();
    if entries.is_empty() {
        bail!(
            "no workload matches --workload {:?}; available: {}",
            args.pick.workload.as_deref().unwrap_or_default(),
            pick::available(m)
        );
    }
    let owned: Vec<pick::Entry> = entries.iter().map(|e| (*e).clone()).collect();
    let labels = pod_labels(&owned);
    let mut node = NodeGroups::default();
    for (e, label) in entries.iter().zip(&labels) {
        node.add_workload(args, version, e, label)?;
    }
    if node.groups.len() > crate::sim::scenario::MAX_GROUPS {
        bail!(
            "node mode would simulate {} groups (more than {}): lower --max-replicas or select with --workload",
            node.groups.len(),
            crate::sim::scenario::MAX_GROUPS
        );
    }
    if node.groups.is_empty() {
        bail!(
            "no container to simulate: none has a kcpu.dev/load annotation and --default-load is none (idle: {})",
            node.idle.join(", ")
        );
    }
    let context = node.context(args, version, entries.len());
    Ok(FromManifests {
        groups: node.groups,
        cpus,
        context,
        json: Some(ManifestJson {
            cgroup: version.to_string(),
            max_replicas: Some(args.max_replicas),
            groups: node.provenance,
            idle: node.idle,
        }),
        input_errors: false,
    })
}

/// Node mode's groups as they are gathered, with where they came from.
#[derive(Default)]
struct NodeGroups {
    groups: Vec<GroupConfig>,
    provenance: Vec<ManifestGroupJson>,
    /// Containers without a load (not simulated).
    idle: Vec<String>,
    /// Workloads whose replicas `--max-replicas` capped.
    capped: Vec<String>,
    /// Groups with a declared load, and with the default load.
    declared: u32,
    defaulted: u32,
}

impl NodeGroups {
    /// Every long-running container of one workload, `min(replicas, --max-replicas)` times.
    fn add_workload(
        &mut self,
        args: &Options,
        version: CgroupVersion,
        e: &pick::Entry,
        label: &str,
    ) -> anyhow::Result<()> {
        let replicas = e.replicas.min(args.max_replicas);
        if replicas < e.replicas {
            self.capped
                .push(format!("{label} {}→{replicas}", e.replicas));
        }
        for c in &e.pod.containers {
            if c.role == Role::Init {
                continue;
            }
            let Some((load, load_from)) = self.container_load(args, e, c, label, replicas)? else {
                continue;
            };
            let (share, v) = c.values.for_version(version);
            let burst = match args.burst {
                // The kernel requires burst ≤ quota: each group gets at most its own quota.
                Some(b) if !v.quota.is_unlimited() => Usec(b.0.min(v.quota.0.max(0) as u64)),
                _ => Usec(0),
            };
            let limits = Limits {
                max: v,
                burst,
                weight: share,
            };
            let trace = read_trace(&load, None, Some(args.duration))?;
            for r in 0..replicas {
                let name = if e.replicas > 1 {
                    format!("{label}-{r}/{}", c.name)
                } else {
                    format!("{label}/{}", c.name)
                };
                self.provenance
                    .push(manifest_group(e, r, &name, c, load_from.clone()));
                self.groups.push(GroupConfig {
                    trace: trace.clone(),
                    ..GroupConfig::new(name, limits, load.clone())
                });
            }
        }
        Ok(())
    }

    /// A container's load and where it came from: its annotation, else `--default-load`;
    /// `None` (and counted idle) without either.
    fn container_load(
        &mut self,
        args: &Options,
        e: &pick::Entry,
        c: &crate::translate::ContainerPlan,
        label: &str,
        replicas: u32,
    ) -> anyhow::Result<Option<(LoadProfile, String)>> {
        if let Some(d) = e.declared_load(&c.name) {
            let l = parse_load(&d.text).map_err(|err| {
                anyhow::anyhow!("{}: annotation {}: {err}", pick::label(&e.pod), d.key)
            })?;
            self.declared += replicas;
            return Ok(Some((l, format!("annotation {}", d.key))));
        }
        let l = match &args.default_load {
            DefaultLoad::Request => {
                request_load(c.request_millicores.value).map(|l| (l, "request".to_string()))
            }
            DefaultLoad::None => None,
            DefaultLoad::Profile(p) => Some((p.clone(), "--default-load".to_string())),
        };
        match l {
            Some(x) => {
                self.defaulted += replicas;
                Ok(Some(x))
            }
            None => {
                self.idle.push(format!("{label}/{}", c.name));
                Ok(None)
            }
        }
    }

    /// The table's context lines about the manifests, the loads, and what was left out.
    fn context(
        &self,
        args: &Options,
        version: CgroupVersion,
        workloads: usize,
    ) -> Vec<(String, String)> {
        let default_text = match &args.default_load {
            DefaultLoad::Request => {
                "request (periodic, uses its CPU request every 100ms)".to_string()
            }
            DefaultLoad::None => "none".to_string(),
            DefaultLoad::Profile(p) => p.to_string(),
        };
        let weight_files = files_text(self.groups[0].limits.weight);
        let (declared, defaulted) = (self.declared, self.defaulted);
        let mut context = vec![
            (
                "manifests".to_string(),
                format!(
                    "{} workload{} → {} groups, values translated for cgroup {version} ({weight_files}); pod and QoS levels folded into each container's own weight",
                    workloads,
                    if workloads == 1 { "" } else { "s" },
                    self.groups.len()
                ),
            ),
            (
                "loads".to_string(),
                format!(
                    "{declared} groups from kcpu.dev/load annotations, {defaulted} from --default-load {default_text}"
                ),
            ),
        ];
        if !self.idle.is_empty() {
            context.push(("idle (not simulated)".to_string(), self.idle.join(", ")));
        }
        if !self.capped.is_empty() {
            context.push((
                "replicas capped".to_string(),
                format!(
                    "--max-replicas {}: {}",
                    args.max_replicas,
                    self.capped.join(", ")
                ),
            ));
        }
        if let Some(b) = args.burst {
            context.push((
                "burst".to_string(),
                format!(
                    "{} for every group with a quota (at most its quota)",
                    format_duration(Nanos::from_us(b.0))
                ),
            ));
        }
        context
    }
}

#[derive(Serialize)]
struct MachineJson {
    cpus: u32,
    /// The kernel model and modelling choices, in words.
    model: String,
    /// The kernel model.
    kernel: KernelModel,
    /// When runtime is charged (`tick` or `continuous`).
    accounting: Accounting,
    /// CPU time added to every request beyond its work, µs.
    request_overhead_us: u64,
    hz: u32,
    hz_source: String,
    slice_us: u64,
    quantum_us: u64,
}

#[derive(Serialize)]
struct PlanJson {
    duration_ms: f64,
    runs: u32,
    seed: u64,
    phase: Phase,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    machine: MachineJson,
    plan: PlanJson,
    groups: &'a [GroupOutcome],
    /// Groups whose figures are outside the measured tolerances, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    caveats: Vec<String>,
    /// Manifest mode: where each group's values and load came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<&'a ManifestJson>,
}

/// The groups to simulate: from a scenario file, from manifests, or one group from the flags.
fn groups(args: &Options) -> anyhow::Result<FromManifests> {
    if let Some(path) = &args.scenario {
        let text = read_text(path, "scenario")?;
        let mut scenario = parse_scenario(&text).map_err(|e| {
            // In the user's terms: no configuration names of the YAML library.
            let msg = crate::manifest::plain_yaml_message(&e.to_string());
            anyhow::anyhow!("in scenario {}: {msg}", path.display())
        })?;
        let base = path.parent();
        for g in &mut scenario.groups {
            g.trace = read_trace(&g.load, base, Some(args.duration))?;
        }
        let Some(cpus) = args.cpus.or(scenario.cpus) else {
            bail!(
                "node mode needs the node's CPU count: pass --cpus N or set `cpus:` in {}",
                path.display()
            );
        };
        return Ok(FromManifests {
            groups: scenario.groups,
            cpus,
            context: Vec::new(),
            json: None,
            input_errors: false,
        });
    }
    if !args.inputs.is_empty() {
        for (flag, given) in [
            ("--quota", args.quota.is_some()),
            ("--period", args.period.is_some()),
            ("--shares", args.shares.is_some()),
            ("--weight", args.weight.is_some()),
        ] {
            if given {
                bail!("{flag} cannot be combined with manifests: the container's translated values are used");
            }
        }
        let m = pick::load(&args.inputs, &args.assume)?;
        let mut from = if args.pick.container.is_some() {
            one_container(args, &m)?
        } else {
            if args.load.is_some() {
                bail!("--load applies to one container (--container NAME); in node mode each container uses its kcpu.dev/load annotation or --default-load");
            }
            node_from_manifests(args, &m)?
        };
        from.input_errors = m.input_errors;
        return Ok(from);
    }
    let Some(load) = args.load.clone() else {
        bail!("--load is required (e.g. --load periodic:threads=2,work=80ms,every=200ms), or use --scenario FILE");
    };
    let weight = match (args.shares, args.weight) {
        (Some(s), _) => CpuShare::Shares(Shares(s)),
        (None, Some(w)) => CpuShare::Weight(Weight(w)),
        (None, None) => CpuShare::default(),
    };
    let limits = Limits {
        max: CpuMax {
            quota: args.quota.unwrap_or(QuotaUs::UNLIMITED),
            period: args.period.unwrap_or(PeriodUs::DEFAULT),
        },
        burst: args.burst.unwrap_or(Usec(0)),
        weight,
    };
    let trace = read_trace(&load, None, Some(args.duration))?;
    let cpus = args
        .cpus
        .unwrap_or_else(|| load_threads(&load, trace.as_deref()));
    Ok(FromManifests {
        groups: vec![GroupConfig {
            trace,
            ..GroupConfig::new("container", limits, load)
        }],
        cpus,
        context: Vec::new(),
        json: None,
        input_errors: false,
    })
}

/// The flags, checked and read, that do not depend on the groups.
struct Settings {
    chart_format: Option<ChartFormat>,
    /// The running kernel (release, `CONFIG_HZ`).
    running: crate::runner::kernel::KernelInfo,
    hz: u32,
    /// Where `hz` came from.
    hz_source: String,
    /// Several groups share a node (a scenario, or manifests without `--container`).
    node_mode: bool,
    phase: Phase,
}

fn settings(args: &Options) -> anyhow::Result<Settings> {
    let chart_format = super::output::chart_format(args.chart.as_deref())?;
    let running = crate::runner::kernel::detect();
    let (hz, hz_source) = match args.hz {
        Some(h) => (h, "--hz".to_string()),
        None => detect_hz(&running),
    };
    let node_mode =
        args.scenario.is_some() || (!args.inputs.is_empty() && args.pick.container.is_none());
    let phase = match (args.phase, args.phase_sweep) {
        (Some(p), _) => Phase::Fixed(p),
        (None, Some(step)) => Phase::Sweep(step),
        (None, None) => Phase::Random,
    };
    Ok(Settings {
        chart_format,
        running,
        hz,
        hz_source,
        node_mode,
        phase,
    })
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let args = *args.opts;
    let settings = settings(&args)?;
    execute(&args, &settings)
}

fn execute(args: &Options, s: &Settings) -> anyhow::Result<ExitCode> {
    let from = groups(args)?;
    let machine = machine(args, s, from.cpus);
    let mut plan = RunPlan::new(args.duration, args.runs, args.seed);
    plan.phase = s.phase;
    plan.max_requests = args.max_requests;
    if s.chart_format.is_some() {
        plan.timeline = Some(Nanos((args.duration.0 / 600).max(1_000_000)));
    }
    let outcomes = simulate_with_bar(&from.groups, &machine, &plan, s.phase)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.output {
        OutputFormat::Json => {
            write_json_report(&mut out, args, s, &machine, &plan, &outcomes, &from)?
        }
        OutputFormat::Table => {
            let context = run_context(args, s, &machine, &outcomes);
            write_tables(&mut out, args, s, context, &outcomes, from.context)?;
        }
    }
    out.flush()?;
    if let (Some(path), Some(format)) = (&args.chart, s.chart_format) {
        write_chart(path, format, &outcomes, from.cpus)?;
    }
    Ok(crate::cli::exit::code(if from.input_errors {
        crate::cli::exit::INPUT_ERROR
    } else {
        crate::cli::exit::OK
    }))
}

/// The simulated machine: the kernel model of the running kernel (its HZ only when known or
/// given), with the flags' slice, accounting and request overhead.
fn machine(args: &Options, s: &Settings, cpus: u32) -> Machine {
    let kernel = KernelModel::for_release(
        Some(&s.running.release),
        (args.hz.is_some() || !s.hz_source.starts_with("default")).then_some(s.hz),
    );
    let mut machine = Machine::for_kernel(cpus, kernel);
    machine.hz = s.hz;
    machine.slice = args.slice;
    machine.accounting = args.accounting;
    machine.request_overhead = args.request_overhead;
    machine
}

/// Simulates the groups with a progress bar counting runs (one per phase step in a sweep).
fn simulate_with_bar(
    groups: &[GroupConfig],
    machine: &Machine,
    plan: &RunPlan,
    phase: Phase,
) -> anyhow::Result<Vec<GroupOutcome>> {
    let total_runs = match phase {
        Phase::Sweep(step) => {
            let p = groups
                .iter()
                .map(|g| g.limits.max.period.0 * 1_000)
                .max()
                .unwrap_or(0);
            p.div_ceil(step.0.max(1))
        }
        _ => plan.runs as u64,
    };
    let bar = super::output::bar(total_runs, "simulating");
    let outcomes = simulate_node_with_progress(groups, machine, plan, &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(outcomes)
}

/// The table's context lines about the machine, the model and the runs.
fn run_context(
    args: &Options,
    s: &Settings,
    machine: &Machine,
    outcomes: &[GroupOutcome],
) -> Vec<(String, String)> {
    let phase_text = match s.phase {
        Phase::Random => "random per run (from the seed)".to_string(),
        Phase::Fixed(p) => format!("{} after a period edge", format_duration(p)),
        Phase::Sweep(step) => format!("sweep 0..period step {}", format_duration(step)),
    };
    let hz_text = if s.hz == 0 {
        "exact (no tick)".to_string()
    } else {
        format!("HZ {} ({})", s.hz, s.hz_source)
    };
    let mut rows = vec![
        (
            "machine".to_string(),
            format!(
                "{} CPUs, {hz_text}, bandwidth slice {}",
                machine.cpus,
                format_duration(machine.slice)
            ),
        ),
        ("model".to_string(), machine.describe()),
        (
            "runs".to_string(),
            format!(
                "{} x {}, seed {}, phase {}",
                outcomes.first().map_or(0, |o| o.summary.runs),
                format_duration(args.duration),
                args.seed,
                phase_text
            ),
        ),
    ];
    rows.extend(
        caveats(outcomes, true)
            .into_iter()
            .map(|c| ("accuracy".to_string(), c)),
    );
    rows
}

/// [`crate::sim::fidelity::accuracy_caveat`] of every group, named when there are several
/// (the name escaped for a terminal when `for_terminal`; JSON escapes its own strings).
fn caveats(outcomes: &[GroupOutcome], for_terminal: bool) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| {
            let load = crate::sim::load::parse_load(&o.load).ok()?;
            let c = crate::sim::fidelity::accuracy_caveat(&o.limits, &load)?;
            Some(if outcomes.len() > 1 {
                let name = if for_terminal {
                    crate::render::escape::escape(&o.name).into_owned()
                } else {
                    o.name.clone()
                };
                format!("{name}: {c}")
            } else {
                c
            })
        })
        .collect()
}

fn write_json_report<W: Write>(
    out: &mut W,
    args: &Options,
    s: &Settings,
    machine: &Machine,
    plan: &RunPlan,
    outcomes: &[GroupOutcome],
    from: &FromManifests,
) -> anyhow::Result<()> {
    let quantum = machine
        .quantum
        .unwrap_or_else(|| default_quantum(machine.cpus));
    let report = ReportJson {
        machine: MachineJson {
            cpus: machine.cpus,
            model: machine.describe(),
            kernel: machine.kernel.clone(),
            accounting: machine.accounting,
            request_overhead_us: machine.request_overhead.0 / 1_000,
            hz: s.hz,
            hz_source: s.hz_source.clone(),
            slice_us: machine.slice.0 / 1_000,
            quantum_us: quantum.0 / 1_000,
        },
        plan: PlanJson {
            duration_ms: args.duration.0 as f64 / 1e6,
            runs: plan.runs,
            seed: args.seed,
            phase: s.phase,
        },
        groups: outcomes,
        caveats: caveats(outcomes, false),
        manifest: from.json.as_ref(),
    };
    write_json(out, &report)?;
    Ok(())
}

/// The table output: one group's summary (its limit, weight and load first), or the groups
/// table of a node.
fn write_tables<W: Write>(
    out: &mut W,
    args: &Options,
    s: &Settings,
    mut context: Vec<(String, String)>,
    outcomes: &[GroupOutcome],
    manifest_context: Vec<(String, String)>,
) -> anyhow::Result<()> {
    if let [one] = outcomes {
        if !s.node_mode {
            context.insert(0, ("limit".to_string(), limit_text(&one.limits)));
            context.insert(1, ("weight".to_string(), weight_text(one.limits.weight)));
            context.insert(2, ("load".to_string(), one.load.clone()));
            if args.scenario.is_none() && args.inputs.is_empty() {
                context.insert(3, ("load from".to_string(), "--load flag".to_string()));
            }
            for (i, kv) in manifest_context.into_iter().enumerate() {
                context.insert(i, kv);
            }
            write_summary_table(out, &context, &one.summary)?;
            return Ok(());
        }
    }
    context.extend(manifest_context);
    let limits: Vec<String> = outcomes.iter().map(|o| limit_text(&o.limits)).collect();
    let weights: Vec<String> = outcomes
        .iter()
        .map(|o| short_weight_text(o.limits.weight))
        .collect();
    let rows: Vec<GroupRow<'_>> = outcomes
        .iter()
        .zip(limits.iter().zip(&weights))
        .map(|(o, (l, w))| GroupRow {
            name: &o.name,
            limit: l,
            weight: w,
            load: &o.load,
            summary: &o.summary,
        })
        .collect();
    write_groups_table(out, &context, &rows)?;
    Ok(())
}

fn write_chart(
    path: &Path,
    format: ChartFormat,
    outcomes: &[GroupOutcome],
    cpus: u32,
) -> anyhow::Result<()> {
    let title = match outcomes {
        [one] => format!("kcpu simulate: {}, {}", limit_text(&one.limits), one.load),
        many => format!("kcpu simulate: {} groups on {cpus} CPUs", many.len()),
    };
    let bytes = render(
        &SimChart {
            groups: outcomes,
            title: &title,
        },
        format,
    )?;
    super::output::write_new(path, &bytes)
        .with_context(|| format!("cannot write chart {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_load_uses_exactly_the_request() {
        assert_eq!(request_load(None), None);
        assert_eq!(request_load(Some(0)), None);
        assert_eq!(
            request_load(Some(50)).map(|l| l.to_string()).as_deref(),
            Some("periodic:threads=1,work=5ms,every=100ms")
        );
        // 1500m: two threads of 75 ms every 100 ms.
        assert_eq!(
            request_load(Some(1_500)).map(|l| l.to_string()).as_deref(),
            Some("periodic:threads=2,work=75ms,every=100ms")
        );
        for m in [1, 7, 250, 999, 1_000, 1_001, 2_500, 64_000] {
            let l = request_load(Some(m)).unwrap();
            let demand = l.demand_cores().unwrap();
            assert!((demand - m as f64 / 1e3).abs() < 1e-6, "{m}: {demand}");
            assert!(l.threads() as i64 >= (m + 999) / 1_000);
        }
    }

    #[test]
    fn default_load_flag() {
        assert_eq!(parse_default_load("request"), Ok(DefaultLoad::Request));
        assert_eq!(parse_default_load("none"), Ok(DefaultLoad::None));
        assert!(matches!(
            parse_default_load("spin:threads=2"),
            Ok(DefaultLoad::Profile(LoadProfile::Spin { threads: 2 }))
        ));
        assert!(parse_default_load("idle").is_err());
    }

    #[test]
    fn limit_texts() {
        let l = Limits {
            max: CpuMax {
                quota: QuotaUs(100_000),
                period: PeriodUs::DEFAULT,
            },
            burst: Usec(50_000),
            ..Limits::default()
        };
        assert_eq!(limit_text(&l), "100ms/100ms +burst 50ms (1.00 CPU)");
        assert_eq!(limit_text(&Limits::default()), "unlimited (period 100ms)");
    }
}
