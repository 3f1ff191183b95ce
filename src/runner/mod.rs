//! `kcpu run`'s engine: apply CPU values to real cgroups, run load inside them as a proper
//! init, and measure (I/O shell).
//!
//! Entry points: [`measure`] for a whole plan (pods → containers, each with its own CPU
//! values; the manifest path builds one from `translate`'s output) and [`measure_single`] for
//! the direct-flag form (one pod `pod`, one container `main`). Both return a [`Measurement`]
//! whose `summary` is the shared [`crate::trace::Summary`] schema, with per-run phases, so
//! `--compare` can run the simulator with the same values, load and phases.
//!
//! One run:
//! 1. fresh groups `<parent>/<run-id>/<pod>/<container>` get their values, each read back;
//! 2. workers (`kcpu __worker`) start inside their leaf group (joined before exec, see
//!    [`spawn`]) and report `ready`;
//! 3. the runner finds a period edge of the primary group by polling `nr_periods`
//!    ([`sampler::find_edge`]), then picks the start `edge + k·period + phase` with k ≥ 2 so
//!    that the period timer has gone idle and the pool is full (`cfs.md` corrections 5–6);
//! 4. baseline counters, then the sampler thread (outside the limited groups) samples every
//!    `--interval`; the workers get the start instant;
//! 5. when the workers exit, final counters give the run's totals; `/proc/stat` minus our own
//!    usage gives the background load (noisy runs are flagged); the groups are removed.
//!
//! Everything we create is killed and removed on every exit path (RAII [`RunTree`], signals
//! through [`init::Init`]); a SIGKILLed run leaves a record for `kcpu run --cleanup`.
//! Only one run may be active per process (the mini-init reaps every child of the process).

pub mod clock;
pub mod events;
pub mod init;
pub mod kernel;
pub mod measure;
pub mod oci;
pub mod sampler;
pub mod spawn;
pub mod worker;

use crate::cgroupfs::cleanup::{self, Removed, StateDir};
use crate::cgroupfs::detect::{CpuHierarchy, Layout};
use crate::cgroupfs::tree::RunTree;
use crate::cgroupfs::{
    CgroupError, CgroupIo, CgroupName, CgroupVersion, Counters, CpuLimits, Group, ReadBack, RealFs,
};
use crate::sim::load::LoadProfile;
use crate::trace::{RunResult, Sample, Summary};
use crate::units::Nanos;
use clock::{now_ns, process_cpu_ns, sleep_until};
use events::{EventSink, RunEvent};
use init::{Event, Exit, Init};
pub use measure::PhaseMode;
use sampler::{background_cores, GroupFiles, ProcStat, Sampler};
use serde::Serialize;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use worker::{RequestRecord, WorkerDone, WorkerLine};

/// What a container runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Nothing (the group only holds CPU values, e.g. a sidecar slot).
    Idle,
    /// The built-in load generator.
    Load(LoadProfile),
    /// Any command (`kcpu run -- CMD ARGS…`), run once.
    Command(Vec<OsString>),
}

/// One container: its CPU values and its work.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerPlan {
    /// Name (sanitized into a cgroup name).
    pub name: String,
    /// CPU values of the container's group.
    pub limits: CpuLimits,
    /// What runs in it.
    pub work: Work,
}

/// One pod: the pod-level values and its containers.
#[derive(Debug, Clone, PartialEq)]
pub struct PodPlan {
    /// Name (sanitized).
    pub name: String,
    /// CPU values of the pod's group (kubelet: sum of requests / limits).
    pub limits: CpuLimits,
    /// Its containers.
    pub containers: Vec<ContainerPlan>,
}

/// Everything to create and run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The pods.
    pub pods: Vec<PodPlan>,
}

/// How worker threads are placed on CPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    /// Leave placement to the scheduler.
    None,
    /// Each worker thread (over all containers) on its own CPU, round robin over the CPUs this
    /// process may use.
    Distinct,
    /// Every worker thread round robin over these CPUs.
    Cpus(Vec<usize>),
}

/// Run options.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Parent cgroup name (must start with `kcpu`).
    pub parent: String,
    /// Load duration per run.
    pub duration: Nanos,
    /// Number of runs (ignored for a command).
    pub runs: u32,
    /// Phase of each run's start.
    pub phase: PhaseMode,
    /// Sampling interval.
    pub interval: Nanos,
    /// Give the parent the maximum weight.
    pub isolate: bool,
    /// Thread placement.
    pub pin: Pin,
    /// Seed for Poisson arrivals and random phases.
    pub seed: u64,
    /// Time after `duration` in which queued requests may still start (default: the duration,
    /// clamped to 100 ms ..= 10 s).
    pub drain: Option<Nanos>,
    /// A run is noisy when the rest of the machine used more than this many cores.
    pub noisy_cores: f64,
    /// Remove stale groups of dead owners first.
    pub sweep_stale: bool,
    /// Run each container with a real OCI runtime (`kcpu run --oci`) instead of starting the
    /// workers in kcpu's groups directly; see [`oci`].
    pub oci: Option<oci::OciBackend>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parent: crate::cgroupfs::DEFAULT_PARENT.into(),
            duration: Nanos::from_ms(5_000),
            runs: 1,
            phase: PhaseMode::Random,
            interval: Nanos::from_ms(100),
            isolate: false,
            pin: Pin::None,
            seed: 1,
            drain: None,
            noisy_cores: DEFAULT_NOISY_CORES,
            sweep_stale: true,
            oci: None,
        }
    }
}

/// How a worker ended, in words (`was killed by signal 9 (SIGKILL)`).
fn describe_exit(exit: Option<Exit>) -> String {
    match exit {
        Some(Exit::Code(c)) => format!("exited with status {c}"),
        Some(Exit::Signal(s)) => {
            let name = match s {
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGABRT => " (SIGABRT)",
                _ => "",
            };
            format!("was killed by signal {s}{name}")
        }
        None => "ended without an exit status".into(),
    }
}

/// Default noise threshold: 0.2 cores of other work on the machine.
pub const DEFAULT_NOISY_CORES: f64 = 0.2;

/// Where to find the cgroups, the records and the worker binary.
#[derive(Clone)]
pub struct Env {
    /// File access (the real kernel, or a fake in tests).
    pub io: Arc<dyn CgroupIo>,
    /// The hierarchy to use.
    pub hierarchy: CpuHierarchy,
    /// Directory for ownership records.
    pub state_dir: PathBuf,
    /// The `kcpu` binary that provides `__worker`.
    pub worker_exe: PathBuf,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("hierarchy", &self.hierarchy)
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

impl Env {
    /// Detects the machine's cgroup layout (from `/proc/self/mountinfo`).
    pub fn detect(state_dir: PathBuf, worker_exe: PathBuf) -> Result<Env, RunError> {
        let io: Arc<dyn CgroupIo> = Arc::new(RealFs);
        let hierarchy = Layout::detect()?.cpu_hierarchy(&*io)?;
        Ok(Env {
            io,
            hierarchy,
            state_dir,
            worker_exe,
        })
    }
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// The plan cannot be run.
    #[error("invalid run plan: {0}")]
    Plan(String),
    /// A process could not be started.
    #[error("cannot start {what}")]
    Spawn {
        /// What could not be started or read.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A worker misbehaved.
    #[error("worker for {group}: {reason}")]
    Worker {
        /// The group.
        group: String,
        /// What went wrong.
        reason: String,
    },
    /// A termination signal arrived; everything was cleaned up.
    #[error("interrupted by signal {0}; all processes and cgroups of the run were removed")]
    Interrupted(i32),
    /// The OCI runtime failed (`--oci`).
    #[error(transparent)]
    Oci(#[from] oci::OciError),
}

/// Figures of one group over all runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMeasurement {
    /// `pod/container`.
    pub path: String,
    /// The values applied.
    pub limits: CpuLimits,
    /// What the kernel read back after the writes (first run).
    pub read_back: Vec<ReadBack>,
    /// Runs, totals and per-run figures in the shared schema.
    pub summary: Summary,
    /// Sampled counters, one timeline per run (`t_ns` from the run's start).
    pub timelines: Vec<Vec<Sample>>,
    /// Requests that could not start before the drain deadline, over all runs.
    pub incomplete_requests: u64,
    /// PSI `some` stall time over all runs, µs (v2).
    pub pressure_some_us: Option<u64>,
    /// PSI `full` stall time over all runs, µs (v2).
    pub pressure_full_us: Option<u64>,
}

/// Pod-level values and their read-back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodValues {
    /// Pod name.
    pub name: String,
    /// The values.
    pub limits: CpuLimits,
    /// The read-back.
    pub read_back: Vec<ReadBack>,
}

/// Conditions of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// 0-based run number.
    pub run: u32,
    /// Load start after the detected period edge, µs (None without a quota).
    pub phase_us: Option<u64>,
    /// Half-width of the bracket the edge was found in, µs.
    pub edge_uncertainty_us: Option<u64>,
    /// Wall time from start to the last worker's exit, ms.
    pub wall_ms: f64,
    /// CPU used by the rest of the machine, cores.
    pub background_cores: f64,
    /// Steal time, cores.
    pub steal_cores: f64,
    /// User time of niced processes during the run, cores (part of `background_cores`; with
    /// `--isolate` they hardly compete: a nice-19 task weighs 15 against the parent's 262144).
    pub nice_cores: f64,
    /// `background_cores` above the threshold.
    pub noisy: bool,
    /// The runner's own CPU (all its threads) during the run, in cores.
    pub runner_cpu_cores: f64,
    /// The sampler thread's CPU during the run, in cores.
    pub sampler_cpu_cores: f64,
    /// CPU spent polling for the period edge before the run, ms.
    pub edge_poll_cpu_ms: f64,
}

/// The machine and settings a measurement was taken under.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    /// `uname -r`.
    pub kernel: String,
    /// cgroup version used.
    pub cgroup: CgroupVersion,
    /// CPU hierarchy mount point.
    pub cpu_mount: PathBuf,
    /// Separate cpuacct mount (v1), if used.
    pub acct_mount: Option<PathBuf>,
    /// CPUs this process may use.
    pub cpus: usize,
    /// `CONFIG_HZ` when `/boot/config-<release>` says.
    pub hz: Option<u64>,
    /// `kernel.sched_cfs_bandwidth_slice_us`.
    pub slice_us: Option<u64>,
    /// `--isolate` was on.
    pub isolated: bool,
    /// Worker threads were pinned.
    pub pinned: Pin,
    /// Sampling interval, µs.
    pub interval_us: u64,
    /// Noise threshold, cores.
    pub noisy_threshold_cores: f64,
    /// Runs above the threshold.
    pub noisy_runs: u32,
    /// Mean background load over the runs, cores.
    pub mean_background_cores: f64,
    /// Highest runner CPU use of any run, % of one core.
    pub max_runner_cpu_percent: f64,
    /// Seed of the load generator's random numbers (same seed, same arrivals).
    pub seed: u64,
    /// The OCI runtime that ran the containers (`--oci`), with its version and preset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_runtime: Option<String>,
}

/// Result of [`measure`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// `pod/container` of the primary group (the first container with work).
    pub primary: String,
    /// Summary of the primary group (the shared schema).
    pub summary: Summary,
    /// Every container with work, primary first.
    pub groups: Vec<GroupMeasurement>,
    /// Pod-level values.
    pub pods: Vec<PodValues>,
    /// Conditions of each run.
    pub runs: Vec<RunInfo>,
    /// Machine and settings.
    pub environment: Environment,
    /// Exit of the command (`-- CMD` form).
    pub command_exit: Option<Exit>,
    /// Orphans adopted and reaped by the mini-init.
    pub orphans_reaped: u64,
    /// Stale groups removed before the run.
    pub stale_removed: Vec<Removed>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Checks and sanitizes a plan: names, values, exactly one primary, a command only alone.
fn check_plan(plan: &Plan, opts: &Options) -> Result<Vec<(CgroupName, Vec<CgroupName>)>, RunError> {
    let mut names = Vec::new();
    let mut working = 0;
    let mut commands = 0;
    for p in &plan.pods {
        p.limits.validate()?;
        let pn = CgroupName::sanitize(&p.name)?;
        let mut cs = Vec::new();
        for c in &p.containers {
            c.limits.validate()?;
            let cn = CgroupName::sanitize(&c.name)?;
            if cs.contains(&cn) {
                return Err(RunError::Plan(format!(
                    "two containers named {cn} in pod {pn}"
                )));
            }
            cs.push(cn);
            match &c.work {
                Work::Idle => {}
                Work::Load(_) => working += 1,
                Work::Command(argv) => {
                    if argv.is_empty() {
                        return Err(RunError::Plan("empty command".into()));
                    }
                    working += 1;
                    commands += 1;
                }
            }
        }
        if names.iter().any(|(n, _)| n == &pn) {
            return Err(RunError::Plan(format!("two pods named {pn}")));
        }
        names.push((pn, cs));
    }
    if working == 0 {
        return Err(RunError::Plan(
            "nothing to run: give a --load or a command".into(),
        ));
    }
    if commands > 0 && working > 1 {
        return Err(RunError::Plan(
            "a command runs alone (no other loads in the same run)".into(),
        ));
    }
    if opts.duration.0 == 0 || opts.interval.0 < 1_000_000 {
        return Err(RunError::Plan(
            "duration must be > 0 and interval ≥ 1ms".into(),
        ));
    }
    CgroupName::parent(&opts.parent)?;
    Ok(names)
}

/// Direct-flag form: one pod `pod` without limits, one container `main` with `limits` and `work`.
pub fn measure_single(
    env: &Env,
    limits: CpuLimits,
    work: Work,
    opts: &Options,
    sink: &mut dyn EventSink,
) -> Result<Measurement, RunError> {
    let plan = Plan {
        pods: vec![PodPlan {
            name: "pod".into(),
            limits: CpuLimits::default(),
            containers: vec![ContainerPlan {
                name: "main".into(),
                limits,
                work,
            }],
        }],
    };
    measure(env, &plan, opts, sink)
}

struct Running {
    group_index: usize,
    pid: u32,
    stdin: Option<ChildStdin>,
    ready: std::sync::mpsc::Receiver<Result<(), String>>,
    lines: std::thread::JoinHandle<Vec<String>>,
}

fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&c| set.is_set(c))
            .collect(),
        Err(_) => vec![0],
    }
}

/// Runs `plan` `opts.runs` times (once for a command) and measures it. See the module docs.
///
/// Must be called from a thread that outlives the run: children get SIGKILL when the thread
/// that spawned them exits (`PR_SET_PDEATHSIG`).
pub fn measure(
    env: &Env,
    plan: &Plan,
    opts: &Options,
    sink: &mut dyn EventSink,
) -> Result<Measurement, RunError> {
    let names = check_plan(plan, opts)?;
    let io = env.io.clone();
    let parent = CgroupName::parent(&opts.parent)?;
    let state = StateDir(env.state_dir.clone());
    let init = Init::start().map_err(|source| RunError::Spawn {
        what: "the mini-init".into(),
        source,
    })?;

    let mut stale_removed = Vec::new();
    if opts.sweep_stale {
        let mut parents = vec![parent.clone()];
        if parent.as_str() != crate::cgroupfs::DEFAULT_PARENT {
            parents.push(CgroupName::parent(crate::cgroupfs::DEFAULT_PARENT)?);
        }
        for r in cleanup::sweep_stale(&*io, &env.hierarchy, &parents, &state)? {
            sink.event(&RunEvent::StaleRemoved { removed: r.clone() });
            stale_removed.push(r);
        }
    }

    let (run_id, pid, start_ticks) = cleanup::run_id(SEQ.fetch_add(1, Ordering::Relaxed))?;
    let mut tree = RunTree::create(
        io.clone(),
        env.hierarchy.clone(),
        parent,
        run_id,
        Some((state, pid, start_ticks)),
    )?;
    if opts.isolate {
        tree.isolate()?;
    }
    let mut oci_session = match &opts.oci {
        Some(b) => Some(oci::Session::new(
            b,
            &init,
            &env.worker_exe,
            CgroupName::parent(&opts.parent)?,
            tree.run_id().to_string(),
            std::iter::once(env.hierarchy.cpu_mount.clone())
                .chain(env.hierarchy.acct_mount.clone())
                .collect(),
        )?),
        None => None,
    };

    // Flatten containers with work; the first is the primary.
    struct Slot {
        pod: usize,
        container: usize,
        path: String,
    }
    let mut slots = Vec::new();
    for (pi, p) in plan.pods.iter().enumerate() {
        for (ci, c) in p.containers.iter().enumerate() {
            if c.work != Work::Idle {
                slots.push(Slot {
                    pod: pi,
                    container: ci,
                    path: format!("{}/{}", names[pi].0, names[pi].1[ci]),
                });
            }
        }
    }
    let primary = &slots[0];
    let primary_limits = plan.pods[primary.pod].containers[primary.container].limits;
    let pod_limits = plan.pods[primary.pod].limits;
    let edge_limits = if primary_limits.is_limited() {
        Some(primary_limits)
    } else if pod_limits.is_limited() {
        Some(pod_limits)
    } else {
        None
    };
    let is_command = slots.iter().any(|s| {
        matches!(
            plan.pods[s.pod].containers[s.container].work,
            Work::Command(_)
        )
    });
    let runs = if is_command { 1 } else { opts.runs.max(1) };
    let period = Nanos::from_us(edge_limits.map(|l| l.period.0).unwrap_or(100_000));
    let phase_list = measure::phases(opts.phase, runs, period, opts.seed);
    let drain = opts
        .drain
        .unwrap_or(Nanos(opts.duration.0.clamp(100_000_000, 10_000_000_000)));
    let cpus = allowed_cpus();
    sink.event(&RunEvent::Prepared {
        runs,
        run_dir: tree.run_dir().display().to_string(),
    });

    let mut read_backs: Vec<Vec<ReadBack>> = vec![Vec::new(); slots.len()];
    let mut pod_values: Vec<PodValues> = Vec::new();
    let mut per_run: Vec<Vec<RunResult>> = vec![Vec::new(); slots.len()];
    let mut records: Vec<Vec<Vec<RequestRecord>>> = vec![Vec::new(); slots.len()];
    let mut timelines: Vec<Vec<Vec<Sample>>> = vec![Vec::new(); slots.len()];
    let mut incomplete = vec![0u64; slots.len()];
    let mut psi: Vec<(Option<u64>, Option<u64>)> = vec![(None, None); slots.len()];
    let mut infos = Vec::new();
    let mut command_exit = None;

    for run in 0..runs {
        if let Some(sig) = init.signal() {
            return Err(interrupted(&init, &mut tree, sig));
        }
        // 1. Fresh groups with their values.
        let mut groups: Vec<Group> = Vec::new();
        let mut pod_groups: Vec<Group> = Vec::new();
        for (pi, p) in plan.pods.iter().enumerate() {
            let pg = tree.group(std::slice::from_ref(&names[pi].0))?;
            let rb = pg.apply(&*io, &p.limits)?;
            pod_groups.push(pg.clone());
            if run == 0 {
                pod_values.push(PodValues {
                    name: names[pi].0.to_string(),
                    limits: p.limits,
                    read_back: rb,
                });
            }
        }
        for (si, s) in slots.iter().enumerate() {
            let c = &plan.pods[s.pod].containers[s.container];
            let g = tree.group(&[names[s.pod].0.clone(), names[s.pod].1[s.container].clone()])?;
            // With --oci the runtime writes the values (read back once the container exists).
            let rb = if oci_session.is_some() {
                Vec::new()
            } else {
                g.apply(&*io, &c.limits)?
            };
            if run == 0 {
                read_backs[si] = rb;
            }
            groups.push(g);
        }
        // Idle containers still get their groups and values.
        for (pi, p) in plan.pods.iter().enumerate() {
            for (ci, c) in p.containers.iter().enumerate() {
                if c.work == Work::Idle {
                    let g = tree.group(&[names[pi].0.clone(), names[pi].1[ci].clone()])?;
                    g.apply(&*io, &c.limits)?;
                }
            }
        }
        let mut files: Vec<GroupFiles> = groups
            .iter()
            .map(GroupFiles::open)
            .collect::<Result<_, _>>()?;
        let mut own = GroupFiles::open(&tree.run_group())?;

        // 2./3./4. Start.
        let (info, outcome) = if is_command {
            let Work::Command(argv) = &plan.pods[slots[0].pod].containers[slots[0].container].work
            else {
                return Err(RunError::Plan("internal: command slot".into()));
            };
            run_command(
                &init,
                &mut tree,
                &groups[0],
                argv,
                &mut files,
                &mut own,
                opts,
                run,
                oci_session.as_mut().map(|s| (s, slots[0].path.as_str())),
            )?
        } else {
            let mut next_cpu = 0usize;
            let mut workers = Vec::new();
            for (si, s) in slots.iter().enumerate() {
                let Work::Load(load) = &plan.pods[s.pod].containers[s.container].work else {
                    continue;
                };
                let pin_list: Vec<usize> = match &opts.pin {
                    Pin::None => Vec::new(),
                    Pin::Cpus(list) => list.clone(),
                    Pin::Distinct => (0..load.threads())
                        .map(|_| {
                            let c = cpus[next_cpu % cpus.len().max(1)];
                            next_cpu += 1;
                            c
                        })
                        .collect(),
                };
                let w = start_worker(
                    env,
                    &init,
                    &groups[si],
                    si,
                    load,
                    opts,
                    drain,
                    &pin_list,
                    &s.path,
                    oci_session.as_mut(),
                )?;
                workers.push(w);
            }
            // The primary's timer fires twice after its worker's last activity (start-up):
            // look for the edge right after it is ready, then wait for the others.
            wait_ready(
                &init,
                &mut tree,
                &workers[0],
                &slots[workers[0].group_index].path,
            )?;
            let edge = match edge_limits {
                Some(l) => sampler::find_grid(&mut files[0], l.period.0 * 1_000)?,
                None => None,
            };
            for w in &workers[1..] {
                wait_ready(&init, &mut tree, w, &slots[w.group_index].path)?;
            }
            if edge_limits.is_some() && edge.is_none() {
                sink.event(&RunEvent::Warning {
                    message: format!(
                        "run {run}: no period edge seen; the phase of this run is unknown"
                    ),
                });
            }
            // The workers' start-up (calibration, thread creation) ran inside their groups and
            // left runtime in the per-CPU silos (up to `min_cfs_rq_runtime`, 1 ms per CPU, kept
            // across periods). Writing the values again resets every silo and refills the pool
            // (core.c `tg_set_cfs_bandwidth`: `runtime_remaining` = 0, 1 since 6.18; cfs.md §1.1),
            // keeping the period grid, so each run starts as a freshly created container does and
            // as the simulator starts. With --oci the runtime's values are left alone.
            if oci_session.is_none() {
                for (pi, p) in plan.pods.iter().enumerate() {
                    pod_groups[pi].apply(&*io, &p.limits)?;
                }
                for (si, s) in slots.iter().enumerate() {
                    groups[si].apply(&*io, &plan.pods[s.pod].containers[s.container].limits)?;
                }
            }
            let phase = phase_list[run as usize];
            let earliest = now_ns() + 20_000_000;
            let start = match (edge, edge_limits) {
                (Some(e), Some(l)) => {
                    measure::start_instant(e.at_ns, l.period.0 * 1_000, phase.0, 2, earliest)
                }
                _ => earliest,
            };
            let phase_us = edge.map(|e| ((start - e.at_ns) % period.0) / 1_000);
            sink.event(&RunEvent::RunStarted { run, phase_us });
            let out = run_load(
                &init, &mut tree, workers, &mut files, &mut own, start, opts, drain, run,
            )?;
            let info = RunInfo {
                phase_us,
                edge_uncertainty_us: edge.map(|e| e.uncertainty_ns / 1_000),
                edge_poll_cpu_ms: edge.map(|e| e.cpu_ns as f64 / 1e6).unwrap_or(0.0),
                ..out.0
            };
            (info, out.1)
        };
        if let Some(sess) = &oci_session {
            if run == 0 {
                for (si, s) in slots.iter().enumerate() {
                    let want = &plan.pods[s.pod].containers[s.container].limits;
                    let (rb, differs) = oci::read_back(&*io, &groups[si], want);
                    for d in differs {
                        sink.event(&RunEvent::Warning {
                            message: format!("{} ({}): {d}", s.path, sess.runtime().version),
                        });
                    }
                    read_backs[si] = rb;
                }
            }
        }
        // 5. Totals per group.
        let noisy = info.noisy;
        let bg = info.background_cores;
        for si in 0..slots.len() {
            let recs = outcome.records.get(si).cloned().unwrap_or_default();
            let mut totals = measure::run_totals(
                &outcome.before[si],
                &outcome.after[si],
                outcome.wall_ns,
                &recs,
            );
            if is_command {
                totals.latency = Default::default();
                totals.wakeup = Default::default();
            }
            let rr = RunResult {
                run,
                phase_us: info.phase_us.unwrap_or(0),
                totals,
            };
            if si == 0 {
                sink.event(&RunEvent::RunFinished {
                    result: rr.clone(),
                    background_cores: bg,
                    noisy,
                });
            }
            per_run[si].push(rr);
            records[si].push(recs);
            timelines[si].push(outcome.timelines.get(si).cloned().unwrap_or_default());
            incomplete[si] += outcome.done.get(si).map(|d| d.incomplete).unwrap_or(0);
            let (b, a) = (&outcome.before[si], &outcome.after[si]);
            let add = |acc: Option<u64>, x: Option<u64>, y: Option<u64>| match (x, y) {
                (Some(x), Some(y)) => Some(acc.unwrap_or(0) + y.saturating_sub(x)),
                _ => acc,
            };
            psi[si] = (
                add(psi[si].0, b.pressure_some_us, a.pressure_some_us),
                add(psi[si].1, b.pressure_full_us, a.pressure_full_us),
            );
        }
        command_exit = command_exit.or(outcome.command_exit);
        infos.push(info);
        drop(files);
        drop(own);
        if let Some(sess) = oci_session.as_mut() {
            for e in sess.delete_all() {
                sink.event(&RunEvent::Warning {
                    message: e.to_string(),
                });
            }
        }
        for (pn, _) in &names {
            tree.remove(std::slice::from_ref(pn))?;
        }
    }

    let removed = tree.teardown()?;
    sink.event(&RunEvent::TornDown {
        removed: removed.len(),
    });
    let k = kernel::detect();
    let (kernel, hz, slice_us) = (k.release, k.hz.map(u64::from), k.slice_us);
    let n = infos.len().max(1) as f64;
    let environment = Environment {
        kernel,
        cgroup: env.hierarchy.version,
        cpu_mount: env.hierarchy.cpu_mount.clone(),
        acct_mount: env.hierarchy.acct_mount.clone(),
        cpus: cpus.len(),
        hz,
        slice_us,
        isolated: opts.isolate,
        pinned: opts.pin.clone(),
        interval_us: opts.interval.0 / 1_000,
        noisy_threshold_cores: opts.noisy_cores,
        noisy_runs: infos.iter().filter(|i| i.noisy).count() as u32,
        mean_background_cores: infos.iter().map(|i| i.background_cores).sum::<f64>() / n,
        max_runner_cpu_percent: infos
            .iter()
            .map(|i| i.runner_cpu_cores * 100.0)
            .fold(0.0, f64::max),
        seed: opts.seed,
        oci_runtime: oci_session.as_ref().map(|s| {
            let r = s.runtime();
            format!("{} (preset {})", r.version, r.preset)
        }),
    };
    let groups: Vec<GroupMeasurement> = slots
        .iter()
        .enumerate()
        .map(|(si, s)| GroupMeasurement {
            path: s.path.clone(),
            limits: plan.pods[s.pod].containers[s.container].limits,
            read_back: std::mem::take(&mut read_backs[si]),
            summary: measure::summarize(std::mem::take(&mut per_run[si]), &records[si]),
            timelines: std::mem::take(&mut timelines[si]),
            incomplete_requests: incomplete[si],
            pressure_some_us: psi[si].0,
            pressure_full_us: psi[si].1,
        })
        .collect();
    let orphans_reaped = init.orphans_reaped();
    Ok(Measurement {
        primary: groups[0].path.clone(),
        summary: groups[0].summary.clone(),
        groups,
        pods: pod_values,
        runs: infos,
        environment,
        command_exit,
        orphans_reaped,
        stale_removed,
    })
}

/// Counters and records of one run.
struct Outcome {
    before: Vec<Counters>,
    after: Vec<Counters>,
    wall_ns: u64,
    records: Vec<Vec<RequestRecord>>,
    done: Vec<WorkerDone>,
    timelines: Vec<Vec<Sample>>,
    command_exit: Option<Exit>,
}

/// Grace period between forwarding a termination signal and killing what is left.
pub const SIGNAL_GRACE: Duration = Duration::from_millis(300);

fn interrupted(init: &Init, tree: &mut RunTree, sig: i32) -> RunError {
    init.forward(sig);
    init.wait_exit(SIGNAL_GRACE);
    if let Err(e) = tree.teardown() {
        return RunError::Cgroup(e);
    }
    init.reap();
    RunError::Interrupted(sig)
}

#[allow(clippy::too_many_arguments)]
fn start_worker(
    env: &Env,
    init: &Init,
    group: &Group,
    group_index: usize,
    load: &LoadProfile,
    opts: &Options,
    drain: Nanos,
    cpus: &[usize],
    path: &str,
    oci: Option<&mut oci::Session<'_>>,
) -> Result<Running, RunError> {
    let mut args: Vec<OsString> = vec![
        "__worker".into(),
        "--load".into(),
        load.to_string().into(),
        "--duration-ns".into(),
        opts.duration.0.to_string().into(),
        "--drain-ns".into(),
        drain.0.to_string().into(),
        "--seed".into(),
        opts.seed.to_string().into(),
    ];
    if !cpus.is_empty() {
        args.push("--cpus".into());
        args.push(
            cpus.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
                .into(),
        );
    }
    let (pid, stdin, stdout) = match oci {
        Some(sess) => {
            let c = sess.create(path, &args, false, true)?;
            sess.start(&c.id)?;
            (c.pid, c.stdin, c.stdout)
        }
        None => {
            let mut cmd = Command::new(&env.worker_exe);
            cmd.args(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            let procs =
                spawn::open_procs(&group.procs_files()).map_err(|source| RunError::Spawn {
                    what: path.into(),
                    source,
                })?;
            spawn::join_cgroups_before_exec(&mut cmd, procs);
            let mut child = init.spawn(&mut cmd).map_err(|source| RunError::Spawn {
                // Between fork and exec the child writes itself into `cgroup.procs`; a refusal
                // there (EINVAL for a real-time task, ENODEV for a removed group) ends here.
                what: format!(
                    "the worker of {path} ({} __worker): the kernel refused its move into {} or the exec failed",
                    env.worker_exe.display(),
                    group.cpu_dir.join(crate::cgroupfs::CGROUP_PROCS).display()
                ),
                source,
            })?;
            (child.id(), child.stdin.take(), child.stdout.take())
        }
    };
    let stdout = stdout.ok_or_else(|| RunError::Worker {
        group: path.into(),
        reason: "no stdout".into(),
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut first = String::new();
        let ok = match r.read_line(&mut first) {
            Ok(n) if n > 0 => match serde_json::from_str::<WorkerLine>(first.trim()) {
                Ok(WorkerLine::Ready { .. }) => Ok(()),
                _ => Err(format!("expected a ready line, got {:?}", first.trim())),
            },
            _ => Err("exited before it was ready".to_string()),
        };
        let _ = tx.send(ok);
        r.lines().map_while(Result::ok).collect()
    });
    Ok(Running {
        group_index,
        pid,
        stdin,
        ready: rx,
        lines,
    })
}

fn wait_ready(init: &Init, tree: &mut RunTree, w: &Running, path: &str) -> Result<(), RunError> {
    let end = now_ns() + 30_000_000_000;
    loop {
        if let Some(sig) = init.signal() {
            return Err(interrupted(init, tree, sig));
        }
        match w.ready.recv_timeout(Duration::from_millis(20)) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(reason)) => {
                return Err(RunError::Worker {
                    group: path.into(),
                    reason,
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(RunError::Worker {
                    group: path.into(),
                    reason: "output closed".into(),
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if now_ns() > end {
                    return Err(RunError::Worker {
                        group: path.into(),
                        reason: "not ready after 30 s".into(),
                    });
                }
            }
        }
    }
}

/// Sleeps until `deadline_ns` in short steps; returns a termination signal if one arrives.
fn sleep_until_or_signal(init: &Init, deadline_ns: u64) -> Option<i32> {
    loop {
        if let Some(s) = init.signal() {
            return Some(s);
        }
        let now = now_ns();
        if now >= deadline_ns {
            return None;
        }
        sleep_until(deadline_ns.min(now + 20_000_000));
    }
}

fn read_all(files: &mut [GroupFiles]) -> Result<Vec<Counters>, RunError> {
    files
        .iter_mut()
        .map(|f| f.read().map_err(RunError::from))
        .collect()
}

struct Window {
    t0: u64,
    own0: Counters,
    stat0: Option<ProcStat>,
    cpu0: u64,
}

fn open_window(own: &mut GroupFiles) -> Result<Window, RunError> {
    Ok(Window {
        t0: now_ns(),
        own0: own.read()?,
        stat0: ProcStat::read(),
        cpu0: process_cpu_ns(),
    })
}

fn close_window(
    w: &Window,
    own: &mut GroupFiles,
    start: u64,
    end: u64,
    sampler_cpu_ns: u64,
    noisy_cores: f64,
    run: u32,
) -> RunInfo {
    let own1 = own.read().unwrap_or(w.own0);
    let stat1 = ProcStat::read();
    let cpu1 = process_cpu_ns();
    let wall = end.saturating_sub(start).max(1);
    let window = now_ns().saturating_sub(w.t0).max(1);
    let (busy, steal, nice) = match (w.stat0, stat1) {
        (Some(a), Some(b)) => (
            b.busy_ticks.saturating_sub(a.busy_ticks),
            b.steal_ticks.saturating_sub(a.steal_ticks),
            b.nice_ticks.saturating_sub(a.nice_ticks),
        ),
        _ => (0, 0, 0),
    };
    let ticks_to_cores = |t: u64| t as f64 * (1e9 / sampler::USER_HZ as f64) / window as f64;
    let runner_ns = cpu1.saturating_sub(w.cpu0);
    let bg = background_cores(
        busy,
        own1.usage_us.saturating_sub(w.own0.usage_us),
        runner_ns,
        window,
    );
    RunInfo {
        run,
        phase_us: None,
        edge_uncertainty_us: None,
        wall_ms: wall as f64 / 1e6,
        background_cores: bg,
        steal_cores: ticks_to_cores(steal),
        nice_cores: ticks_to_cores(nice),
        noisy: bg > noisy_cores,
        runner_cpu_cores: runner_ns as f64 / window as f64,
        sampler_cpu_cores: sampler_cpu_ns as f64 / window as f64,
        edge_poll_cpu_ms: 0.0,
    }
}

#[allow(clippy::too_many_arguments)]
fn run_load(
    init: &Init,
    tree: &mut RunTree,
    mut workers: Vec<Running>,
    files: &mut [GroupFiles],
    own: &mut GroupFiles,
    start: u64,
    opts: &Options,
    drain: Nanos,
    run: u32,
) -> Result<(RunInfo, Outcome), RunError> {
    // Baseline just before the start: the timer is idle by now (start ≥ edge + 2 periods).
    if let Some(sig) = sleep_until_or_signal(init, start.saturating_sub(2_000_000)) {
        return Err(interrupted(init, tree, sig));
    }
    let before = read_all(files)?;
    let window = open_window(own)?;
    let mut sfiles = Vec::new();
    for f in files.iter() {
        sfiles.push(f.reopen()?);
    }
    let sampler = Sampler::start_with_mark(sfiles, start, opts.interval.0, Some(opts.duration.0));
    for w in &mut workers {
        if let Some(stdin) = w.stdin.as_mut() {
            let _ = writeln!(stdin, "start {start}").and_then(|_| stdin.flush());
        }
    }
    let limit = Duration::from_nanos(start.saturating_sub(now_ns()) + opts.duration.0 + drain.0)
        + Duration::from_secs(30);
    match init.wait(limit) {
        Event::AllExited => {}
        Event::Signal(sig) => {
            drop(sampler.stop());
            return Err(interrupted(init, tree, sig));
        }
        Event::Timeout => {
            drop(sampler.stop());
            let _ = tree.teardown();
            return Err(RunError::Worker {
                group: "all".into(),
                reason: format!("run {run} did not end in time; killed"),
            });
        }
    }
    let end = now_ns();
    let after = read_all(files)?;
    let sampled = sampler.stop();
    let info = close_window(
        &window,
        own,
        start,
        end,
        sampled.cpu_ns,
        opts.noisy_cores,
        run,
    );
    let mut records = vec![Vec::new(); files.len()];
    let mut done = vec![WorkerDone::default(); files.len()];
    for w in workers {
        let exit = init.exit_of(w.pid);
        let lines = w.lines.join().unwrap_or_default();
        let mut got_done = false;
        for l in lines {
            match serde_json::from_str::<WorkerLine>(&l) {
                Ok(WorkerLine::Request(r)) => records[w.group_index].push(r),
                Ok(WorkerLine::Done(d)) => {
                    done[w.group_index] = d;
                    got_done = true;
                }
                _ => {}
            }
        }
        if !got_done || exit != Some(Exit::Code(0)) {
            return Err(RunError::Worker {
                group: format!("#{}", w.group_index),
                reason: format!("{} before reporting its measurements; the run was stopped and its cgroups removed", describe_exit(exit)),
            });
        }
    }
    Ok((
        info,
        Outcome {
            before,
            after,
            wall_ns: end - start,
            records,
            done,
            timelines: sampled.timelines,
            command_exit: None,
        },
    ))
}

#[allow(clippy::too_many_arguments)]
fn run_command(
    init: &Init,
    tree: &mut RunTree,
    group: &Group,
    argv: &[OsString],
    files: &mut [GroupFiles],
    own: &mut GroupFiles,
    opts: &Options,
    run: u32,
    oci: Option<(&mut oci::Session<'_>, &str)>,
) -> Result<(RunInfo, Outcome), RunError> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    // --oci: the container is created (values written) before the window opens, started in it.
    let created = match oci {
        Some((sess, path)) => {
            let c = sess.create(path, argv, true, false)?;
            Some((sess, c))
        }
        None => {
            let procs =
                spawn::open_procs(&group.procs_files()).map_err(|source| RunError::Spawn {
                    what: argv[0].to_string_lossy().into_owned(),
                    source,
                })?;
            spawn::join_cgroups_before_exec(&mut cmd, procs);
            None
        }
    };
    let before = read_all(files)?;
    let window = open_window(own)?;
    let start = now_ns();
    let mut sfiles = Vec::new();
    for f in files.iter() {
        sfiles.push(f.reopen()?);
    }
    let sampler = Sampler::start_with_mark(sfiles, start, opts.interval.0, Some(opts.duration.0));
    let pid = match created {
        Some((sess, c)) => {
            if let Err(e) = sess.start(&c.id) {
                drop(sampler.stop());
                return Err(e.into());
            }
            c.pid
        }
        None => match init.spawn(&mut cmd) {
            Ok(child) => child.id(),
            Err(source) => {
                drop(sampler.stop());
                return Err(RunError::Spawn {
                    what: argv[0].to_string_lossy().into_owned(),
                    source,
                });
            }
        },
    };
    loop {
        match init.wait(Duration::from_secs(3600)) {
            Event::AllExited => break,
            Event::Signal(sig) => {
                drop(sampler.stop());
                return Err(interrupted(init, tree, sig));
            }
            Event::Timeout => continue,
        }
    }
    let end = now_ns();
    let after = read_all(files)?;
    let sampled = sampler.stop();
    let info = close_window(
        &window,
        own,
        start,
        end,
        sampled.cpu_ns,
        opts.noisy_cores,
        run,
    );
    Ok((
        info,
        Outcome {
            before,
            after,
            wall_ns: end - start,
            records: vec![Vec::new()],
            done: vec![WorkerDone::default()],
            timelines: sampled.timelines,
            command_exit: init.exit_of(pid),
        },
    ))
}
