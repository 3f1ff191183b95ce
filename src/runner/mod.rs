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
mod layout;
pub mod measure;
pub mod oci;
pub mod sampler;
pub mod spawn;
mod window;
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
use clock::{Clock, SystemClock};
use events::{EventSink, RunEvent};
use init::{Event, Exit, Init};
use layout::RunLayout;
pub use measure::PhaseMode;
use measure::Schedule;
use sampler::GroupFiles;
use serde::Serialize;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use window::{Ended, Measured, Start, Window, Workload};
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

impl Plan {
    /// The direct-flag form: one pod `pod` without limits, one container `main` with `limits`
    /// and `work`.
    pub fn single(limits: CpuLimits, work: Work) -> Plan {
        Plan {
            pods: vec![PodPlan {
                name: "pod".into(),
                limits: CpuLimits::default(),
                containers: vec![ContainerPlan {
                    name: "main".into(),
                    limits,
                    work,
                }],
            }],
        }
    }
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
    /// How the built-in load burns its work ([`worker::Burn`]).
    pub burn: worker::Burn,
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
            burn: worker::Burn::Clock,
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
    /// The detected period edge on `CLOCK_MONOTONIC`, ns (None without a quota). Edges lie on
    /// one grid, so it fixes where this run's edges fall between scheduler ticks, which lie on
    /// multiples of the tick length ([`crate::sim::fidelity::tick_offset_ns`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_ns: Option<u64>,
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
    /// How the built-in load burnt its work (`--burn`): decides how the kernel charged it.
    pub burn: worker::Burn,
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

/// Direct-flag form ([`Plan::single`]).
pub fn measure_single(
    env: &Env,
    limits: CpuLimits,
    work: Work,
    opts: &Options,
    sink: &mut dyn EventSink,
) -> Result<Measurement, RunError> {
    measure(env, &Plan::single(limits, work), opts, sink)
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

/// What every step of a run needs.
struct RunCtx<'a> {
    env: &'a Env,
    init: &'a Init,
    plan: &'a Plan,
    opts: &'a Options,
    layout: &'a RunLayout,
    schedule: &'a Schedule,
    /// CPUs this process may use (for `--pin distinct`).
    cpus: Vec<usize>,
    clock: Arc<dyn Clock>,
}

impl RunCtx<'_> {
    /// The plan entry of slot `si`.
    fn container(&self, si: usize) -> &ContainerPlan {
        let s = &self.layout.slots[si];
        &self.plan.pods[s.pod].containers[s.container]
    }

    /// A measuring window over `files` for run `run`.
    fn window<'w>(
        &self,
        files: &'w mut [GroupFiles],
        own: &'w mut GroupFiles,
        run: u32,
    ) -> Window<'w> {
        Window {
            clock: self.clock.clone(),
            files,
            own,
            interval_ns: self.opts.interval.0,
            mark_ns: Some(self.opts.duration.0),
            noisy_cores: self.opts.noisy_cores,
            run,
        }
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
    let layout = RunLayout::new(plan, opts)?;
    let schedule = Schedule::new(
        layout.is_command,
        layout.edge_limits.map(|l| l.max.period),
        opts,
    );
    let init = Init::start().map_err(|source| RunError::Spawn {
        what: "the mini-init".into(),
        source,
    })?;
    let stale_removed = sweep_stale(env, opts, sink)?;
    let mut tree = create_tree(env, opts)?;
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
    let ctx = RunCtx {
        env,
        init: &init,
        plan,
        opts,
        layout: &layout,
        schedule: &schedule,
        cpus: allowed_cpus(),
        clock: Arc::new(SystemClock),
    };
    sink.event(&RunEvent::Prepared {
        runs: schedule.runs,
        run_dir: tree.run_dir().display().to_string(),
    });
    let mut acc = Accumulated::new(layout.slots.len());
    for run in 0..schedule.runs {
        if let Some(sig) = init.signal() {
            return Err(interrupted(&init, &mut tree, sig));
        }
        one_run(&ctx, &mut tree, oci_session.as_mut(), run, &mut acc, sink)?;
    }
    let removed = tree.teardown()?;
    sink.event(&RunEvent::TornDown {
        removed: removed.len(),
    });
    let environment = environment(&ctx, &acc.infos, oci_session.as_ref());
    let orphans_reaped = init.orphans_reaped();
    Ok(acc.finish(&ctx, environment, orphans_reaped, stale_removed))
}

/// Removes groups of dead owners first (`opts.sweep_stale`), under our parent and the default.
fn sweep_stale(
    env: &Env,
    opts: &Options,
    sink: &mut dyn EventSink,
) -> Result<Vec<Removed>, RunError> {
    let mut stale_removed = Vec::new();
    if !opts.sweep_stale {
        return Ok(stale_removed);
    }
    let parent = CgroupName::parent(&opts.parent)?;
    let mut parents = vec![parent.clone()];
    if parent.as_str() != crate::cgroupfs::DEFAULT_PARENT {
        parents.push(CgroupName::parent(crate::cgroupfs::DEFAULT_PARENT)?);
    }
    let state = StateDir(env.state_dir.clone());
    for r in cleanup::sweep_stale(&*env.io, &env.hierarchy, &parents, &state)? {
        sink.event(&RunEvent::StaleRemoved { removed: r.clone() });
        stale_removed.push(r);
    }
    Ok(stale_removed)
}

/// The run's own tree `<parent>/<run-id>` with its ownership record.
fn create_tree(env: &Env, opts: &Options) -> Result<RunTree, RunError> {
    let parent = CgroupName::parent(&opts.parent)?;
    let state = StateDir(env.state_dir.clone());
    let (run_id, pid, start_ticks) = cleanup::run_id(SEQ.fetch_add(1, Ordering::Relaxed))?;
    let mut tree = RunTree::create(
        env.io.clone(),
        env.hierarchy.clone(),
        parent,
        run_id,
        Some((state, pid, start_ticks)),
    )?;
    if opts.isolate {
        tree.isolate()?;
    }
    Ok(tree)
}

/// One run: fresh groups with their values, the work measured in one window, the totals
/// added to `acc`, then its containers and pod groups removed.
fn one_run<'a>(
    ctx: &RunCtx<'a>,
    tree: &mut RunTree,
    mut oci: Option<&mut oci::Session<'a>>,
    run: u32,
    acc: &mut Accumulated,
    sink: &mut dyn EventSink,
) -> Result<(), RunError> {
    let values = write_values(ctx, tree, oci.is_some(), run, acc)?;
    let groups = &values.slots;
    let mut files: Vec<GroupFiles> = groups
        .iter()
        .map(GroupFiles::open)
        .collect::<Result<_, _>>()?;
    let mut own = GroupFiles::open(&tree.run_group())?;
    let (info, outcome) = if ctx.layout.is_command {
        let argv = ctx
            .layout
            .command(ctx.plan)
            .ok_or_else(|| RunError::Plan("internal: command slot".into()))?;
        let window = ctx.window(&mut files, &mut own, run);
        run_command(ctx, tree, window, &groups[0], argv, oci.as_deref_mut())?
    } else {
        let workers = start_workers(ctx, groups, oci.as_deref_mut())?;
        // With --oci the runtime's values are left alone.
        let rewrite = oci.is_none().then_some(&values);
        run_load(
            ctx,
            tree,
            (&mut files, &mut own),
            workers,
            rewrite,
            run,
            sink,
        )?
    };
    if let (Some(sess), 0) = (oci.as_deref(), run) {
        for (si, s) in ctx.layout.slots.iter().enumerate() {
            let (rb, differs) =
                oci::read_back(&*ctx.env.io, &groups[si], &ctx.container(si).limits);
            for d in differs {
                sink.event(&RunEvent::Warning {
                    message: format!("{} ({}): {d}", s.path, sess.runtime().version),
                });
            }
            acc.slots[si].read_back = rb;
        }
    }
    acc.add(run, ctx.layout.is_command, info, outcome, sink);
    drop(files);
    drop(own);
    if let Some(sess) = oci {
        for e in sess.delete_all() {
            sink.event(&RunEvent::Warning {
                message: e.to_string(),
            });
        }
    }
    for (pn, _) in &ctx.layout.names {
        tree.remove(std::slice::from_ref(pn))?;
    }
    Ok(())
}

/// Fresh groups with their values for one run: every pod, every container with work (their
/// groups are returned in slot order; with `--oci` the runtime writes these values and they
/// are read back once the container exists), and idle containers. Read-backs of run 0 go
/// into `acc`.
fn write_values(
    ctx: &RunCtx<'_>,
    tree: &mut RunTree,
    oci: bool,
    run: u32,
    acc: &mut Accumulated,
) -> Result<Values, RunError> {
    let io = &*ctx.env.io;
    let mut pods = Vec::new();
    for (pi, p) in ctx.plan.pods.iter().enumerate() {
        let pg = tree.group(std::slice::from_ref(&ctx.layout.names[pi].0))?;
        let rb = pg.apply(io, &p.limits)?;
        pods.push(pg);
        if run == 0 {
            acc.pod_values.push(PodValues {
                name: ctx.layout.names[pi].0.to_string(),
                limits: p.limits,
                read_back: rb,
            });
        }
    }
    let mut groups = Vec::new();
    for (si, s) in ctx.layout.slots.iter().enumerate() {
        let g = tree.group(&ctx.layout.group_names(s.pod, s.container))?;
        let rb = if oci {
            Vec::new()
        } else {
            g.apply(io, &ctx.container(si).limits)?
        };
        if run == 0 {
            acc.slots[si].read_back = rb;
        }
        groups.push(g);
    }
    for (pi, p) in ctx.plan.pods.iter().enumerate() {
        for (ci, c) in p.containers.iter().enumerate() {
            if c.work == Work::Idle {
                tree.group(&ctx.layout.group_names(pi, ci))?
                    .apply(io, &c.limits)?;
            }
        }
    }
    Ok(Values {
        pods,
        slots: groups,
    })
}

/// The pod groups and the slot groups (slot order) of one run, with their values written.
struct Values {
    pods: Vec<Group>,
    slots: Vec<Group>,
}

impl Values {
    /// Writes every pod's and slot's values again. The workers' start-up (calibration, thread
    /// creation) ran inside their groups and left runtime in the per-CPU silos (up to
    /// `min_cfs_rq_runtime`, 1 ms per CPU, kept across periods); a write resets every silo and
    /// refills the pool (core.c `tg_set_cfs_bandwidth`: `runtime_remaining` = 0, 1 since 6.18;
    /// cfs.md §1.1) and keeps the period grid, so each run starts as a freshly created container
    /// does and as the simulator starts (`sim::Startup` models what the start message then does).
    fn rewrite(&self, ctx: &RunCtx<'_>) -> Result<(), RunError> {
        let io = &*ctx.env.io;
        for (g, p) in self.pods.iter().zip(&ctx.plan.pods) {
            g.apply(io, &p.limits)?;
        }
        for (si, g) in self.slots.iter().enumerate() {
            g.apply(io, &ctx.container(si).limits)?;
        }
        Ok(())
    }
}

/// Figures of every slot over the runs so far.
#[derive(Debug, Default)]
struct SlotTotals {
    read_back: Vec<ReadBack>,
    per_run: Vec<RunResult>,
    records: Vec<Vec<RequestRecord>>,
    timelines: Vec<Vec<Sample>>,
    incomplete: u64,
    pressure: (Option<u64>, Option<u64>),
}

/// What the runs measured, accumulated run by run.
#[derive(Debug, Default)]
struct Accumulated {
    slots: Vec<SlotTotals>,
    pod_values: Vec<PodValues>,
    infos: Vec<RunInfo>,
    command_exit: Option<Exit>,
}

impl Accumulated {
    fn new(slots: usize) -> Accumulated {
        Accumulated {
            slots: (0..slots).map(|_| SlotTotals::default()).collect(),
            ..Accumulated::default()
        }
    }

    /// Adds run `run`'s totals of every slot (the primary's is reported to `sink`).
    fn add(
        &mut self,
        run: u32,
        is_command: bool,
        info: RunInfo,
        outcome: Outcome,
        sink: &mut dyn EventSink,
    ) {
        for (si, slot) in self.slots.iter_mut().enumerate() {
            let recs = outcome.records.get(si).cloned().unwrap_or_default();
            let (b, a) = (&outcome.before[si], &outcome.after[si]);
            let mut totals = measure::run_totals(b, a, outcome.wall_ns, &recs);
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
                    background_cores: info.background_cores,
                    noisy: info.noisy,
                });
            }
            slot.per_run.push(rr);
            slot.records.push(recs);
            slot.timelines
                .push(outcome.timelines.get(si).cloned().unwrap_or_default());
            slot.incomplete += outcome.done.get(si).map(|d| d.incomplete).unwrap_or(0);
            let add = |acc: Option<u64>, x: Option<u64>, y: Option<u64>| match (x, y) {
                (Some(x), Some(y)) => Some(acc.unwrap_or(0) + y.saturating_sub(x)),
                _ => acc,
            };
            slot.pressure = (
                add(slot.pressure.0, b.pressure_some_us, a.pressure_some_us),
                add(slot.pressure.1, b.pressure_full_us, a.pressure_full_us),
            );
        }
        self.command_exit = self.command_exit.or(outcome.command_exit);
        self.infos.push(info);
    }

    fn finish(
        self,
        ctx: &RunCtx<'_>,
        environment: Environment,
        orphans_reaped: u64,
        stale_removed: Vec<Removed>,
    ) -> Measurement {
        let groups: Vec<GroupMeasurement> = self
            .slots
            .into_iter()
            .enumerate()
            .map(|(si, s)| GroupMeasurement {
                path: ctx.layout.slots[si].path.clone(),
                limits: ctx.container(si).limits,
                read_back: s.read_back,
                summary: measure::summarize(s.per_run, &s.records),
                timelines: s.timelines,
                incomplete_requests: s.incomplete,
                pressure_some_us: s.pressure.0,
                pressure_full_us: s.pressure.1,
            })
            .collect();
        Measurement {
            primary: groups[0].path.clone(),
            summary: groups[0].summary.clone(),
            groups,
            pods: self.pod_values,
            runs: self.infos,
            environment,
            command_exit: self.command_exit,
            orphans_reaped,
            stale_removed,
        }
    }
}

/// The machine and settings of a measurement.
fn environment(ctx: &RunCtx<'_>, infos: &[RunInfo], oci: Option<&oci::Session<'_>>) -> Environment {
    let (env, opts) = (ctx.env, ctx.opts);
    let k = kernel::detect();
    let n = infos.len().max(1) as f64;
    Environment {
        kernel: k.release,
        cgroup: env.hierarchy.version,
        cpu_mount: env.hierarchy.cpu_mount.clone(),
        acct_mount: env.hierarchy.acct_mount.clone(),
        cpus: ctx.cpus.len(),
        hz: k.hz.map(u64::from),
        slice_us: k.slice_us,
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
        burn: opts.burn,
        oci_runtime: oci.map(|s| {
            let r = s.runtime();
            format!("{} (preset {})", r.version, r.preset)
        }),
    }
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

/// The window's end as a result: a signal tears everything down, a timeout kills the run.
fn ended(init: &Init, tree: &mut RunTree, e: Ended, run: u32) -> Result<Measured, RunError> {
    match e {
        Ended::Done(m) => Ok(m),
        Ended::Signal(sig) => Err(interrupted(init, tree, sig)),
        Ended::Timeout => {
            let _ = tree.teardown();
            Err(RunError::Worker {
                group: "all".into(),
                reason: format!("run {run} did not end in time; killed"),
            })
        }
    }
}

/// Waits for every child of the mini-init, up to `limit` (`None`: as long as it takes).
fn wait_all(init: &Init, limit: Option<Duration>) -> Event {
    match limit {
        Some(l) => init.wait(l),
        None => loop {
            match init.wait(Duration::from_secs(3600)) {
                Event::Timeout => continue,
                e => return e,
            }
        },
    }
}

/// Starts a worker for every container with a load, pinned as `--pin` says.
fn start_workers(
    ctx: &RunCtx<'_>,
    groups: &[Group],
    mut oci: Option<&mut oci::Session<'_>>,
) -> Result<Vec<Running>, RunError> {
    let mut next_cpu = 0usize;
    let mut workers = Vec::new();
    for (si, group) in groups.iter().enumerate().take(ctx.layout.slots.len()) {
        let Work::Load(load) = &ctx.container(si).work else {
            continue;
        };
        let pin_list: Vec<usize> = match &ctx.opts.pin {
            Pin::None => Vec::new(),
            Pin::Cpus(list) => list.clone(),
            Pin::Distinct => (0..load.threads())
                .map(|_| {
                    let c = ctx.cpus[next_cpu % ctx.cpus.len().max(1)];
                    next_cpu += 1;
                    c
                })
                .collect(),
        };
        let w = start_worker(ctx, group, si, load, &pin_list, oci.as_deref_mut())?;
        workers.push(w);
    }
    Ok(workers)
}

/// Starts one worker (`kcpu __worker`) in `group` (slot `si`), directly or through the OCI
/// runtime, and a thread that reads its `ready` line and then the rest of its output.
fn start_worker(
    ctx: &RunCtx<'_>,
    group: &Group,
    si: usize,
    load: &LoadProfile,
    cpus: &[usize],
    oci: Option<&mut oci::Session<'_>>,
) -> Result<Running, RunError> {
    let (env, opts) = (ctx.env, ctx.opts);
    let path = ctx.layout.slots[si].path.as_str();
    let mut args: Vec<OsString> = vec![
        "__worker".into(),
        "--load".into(),
        load.to_string().into(),
        "--duration-ns".into(),
        opts.duration.0.to_string().into(),
        "--drain-ns".into(),
        ctx.schedule.drain.0.to_string().into(),
        "--seed".into(),
        opts.seed.to_string().into(),
        "--burn".into(),
        opts.burn.as_str().into(),
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
            let mut child = ctx.init.spawn(&mut cmd).map_err(|source| RunError::Spawn {
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
        group_index: si,
        pid,
        stdin,
        ready: rx,
        lines,
    })
}

fn wait_ready(ctx: &RunCtx<'_>, tree: &mut RunTree, w: &Running) -> Result<(), RunError> {
    let path = &ctx.layout.slots[w.group_index].path;
    let end = ctx.clock.now_ns() + 30_000_000_000;
    loop {
        if let Some(sig) = ctx.init.signal() {
            return Err(interrupted(ctx.init, tree, sig));
        }
        let got = w.ready.recv_timeout(Duration::from_millis(20));
        // A termination signal forwarded to the worker ends it before it is ready: the signal
        // decides the outcome (128 + signal), not the worker's missing ready line.
        if let (Some(sig), Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected)) =
            (ctx.init.signal(), &got)
        {
            return Err(interrupted(ctx.init, tree, sig));
        }
        match got {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(reason)) => {
                return Err(RunError::Worker {
                    group: path.clone(),
                    reason,
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(RunError::Worker {
                    group: path.clone(),
                    reason: "output closed".into(),
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if ctx.clock.now_ns() > end {
                    return Err(RunError::Worker {
                        group: path.clone(),
                        reason: "not ready after 30 s".into(),
                    });
                }
            }
        }
    }
}

/// The workers of a load run: launched by the `start T` line.
struct LoadWork<'a> {
    init: &'a Init,
    workers: Vec<Running>,
}

impl Workload for LoadWork<'_> {
    fn signal(&self) -> Option<i32> {
        self.init.signal()
    }
    fn launch(&mut self, start_ns: u64) -> Result<(), RunError> {
        for w in &mut self.workers {
            if let Some(stdin) = w.stdin.as_mut() {
                let _ = writeln!(stdin, "start {start_ns}").and_then(|_| stdin.flush());
            }
        }
        Ok(())
    }
    fn wait(&mut self, limit: Option<Duration>) -> Event {
        wait_all(self.init, limit)
    }
}

/// A load run: the workers report ready, the period edge of the primary is found, the start
/// is put on its grid at the run's phase, and the window measures until the workers exit.
fn run_load(
    ctx: &RunCtx<'_>,
    tree: &mut RunTree,
    (files, own): (&mut [GroupFiles], &mut GroupFiles),
    workers: Vec<Running>,
    rewrite: Option<&Values>,
    run: u32,
    sink: &mut dyn EventSink,
) -> Result<(RunInfo, Outcome), RunError> {
    // The primary's timer fires twice after its worker's last activity (start-up): look for
    // the edge right after it is ready, then wait for the others.
    wait_ready(ctx, tree, &workers[0])?;
    let edge_limits = ctx.layout.edge_limits;
    let edge = match edge_limits {
        Some(l) => sampler::find_grid(&mut files[0], l.max.period.0 * 1_000)?,
        None => None,
    };
    for w in &workers[1..] {
        wait_ready(ctx, tree, w)?;
    }
    if edge_limits.is_some() && edge.is_none() {
        sink.event(&RunEvent::Warning {
            message: format!("run {run}: no period edge seen; the phase of this run is unknown"),
        });
    }
    if let Some(v) = rewrite {
        v.rewrite(ctx)?;
    }
    let earliest = ctx.clock.now_ns() + 20_000_000;
    let (start_ns, phase_us) = ctx.schedule.start(run, edge.map(|e| e.at_ns), earliest);
    sink.event(&RunEvent::RunStarted { run, phase_us });
    let mut work = LoadWork {
        init: ctx.init,
        workers,
    };
    let start = Start::At {
        start_ns,
        budget_ns: ctx.schedule.budget_ns(),
    };
    let e = ctx.window(files, own, run).measure(start, &mut work)?;
    let m = ended(ctx.init, tree, e, run)?;
    let (records, done) = collect_workers(ctx.init, work.workers, m.before.len())?;
    let info = RunInfo {
        phase_us,
        edge_uncertainty_us: edge.map(|e| e.uncertainty_ns / 1_000),
        edge_ns: edge.map(|e| e.at_ns),
        edge_poll_cpu_ms: edge.map(|e| e.cpu_ns as f64 / 1e6).unwrap_or(0.0),
        ..m.info
    };
    Ok((
        info,
        Outcome {
            before: m.before,
            after: m.after,
            wall_ns: m.wall_ns,
            records,
            done,
            timelines: m.timelines,
            command_exit: None,
        },
    ))
}

/// The request records and final line of every worker (`groups` slots); a worker that did
/// not report or did not exit 0 fails the run.
fn collect_workers(
    init: &Init,
    workers: Vec<Running>,
    groups: usize,
) -> Result<(Vec<Vec<RequestRecord>>, Vec<WorkerDone>), RunError> {
    let mut records = vec![Vec::new(); groups];
    let mut done = vec![WorkerDone::default(); groups];
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
                reason: format!(
                    "{} before reporting its measurements; the run was stopped and its cgroups removed",
                    describe_exit(exit)
                ),
            });
        }
    }
    Ok((records, done))
}

/// A command: spawned into its group, or (`--oci`) its container created before the window
/// (the runtime writes the values then) and started in it.
struct CommandWork<'a, 's> {
    init: &'a Init,
    cmd: Command,
    what: String,
    created: Option<(&'s mut oci::Session<'a>, oci::Created)>,
    pid: Option<u32>,
}

impl Workload for CommandWork<'_, '_> {
    fn signal(&self) -> Option<i32> {
        self.init.signal()
    }
    fn launch(&mut self, _start_ns: u64) -> Result<(), RunError> {
        let pid = match self.created.as_mut() {
            Some((sess, c)) => {
                sess.start(&c.id)?;
                c.pid
            }
            None => {
                let child = self
                    .init
                    .spawn(&mut self.cmd)
                    .map_err(|source| RunError::Spawn {
                        what: self.what.clone(),
                        source,
                    })?;
                child.id()
            }
        };
        self.pid = Some(pid);
        Ok(())
    }
    fn wait(&mut self, limit: Option<Duration>) -> Event {
        wait_all(self.init, limit)
    }
}

/// A command run: one window from right before the command starts to its exit.
fn run_command<'a>(
    ctx: &RunCtx<'a>,
    tree: &mut RunTree,
    mut window: Window<'_>,
    group: &Group,
    argv: &[OsString],
    oci: Option<&mut oci::Session<'a>>,
) -> Result<(RunInfo, Outcome), RunError> {
    let what = argv[0].to_string_lossy().into_owned();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let created = match oci {
        Some(sess) => {
            let c = sess.create(&ctx.layout.slots[0].path, argv, true, false)?;
            Some((sess, c))
        }
        None => {
            let procs =
                spawn::open_procs(&group.procs_files()).map_err(|source| RunError::Spawn {
                    what: what.clone(),
                    source,
                })?;
            spawn::join_cgroups_before_exec(&mut cmd, procs);
            None
        }
    };
    let mut work = CommandWork {
        init: ctx.init,
        cmd,
        what,
        created,
        pid: None,
    };
    let run = window.run;
    let e = window.measure(Start::Now, &mut work)?;
    let m = ended(ctx.init, tree, e, run)?;
    let command_exit = work.pid.and_then(|pid| ctx.init.exit_of(pid));
    Ok((
        m.info,
        Outcome {
            before: m.before,
            after: m.after,
            wall_ns: m.wall_ns,
            records: vec![Vec::new()],
            done: vec![WorkerDone::default()],
            timelines: m.timelines,
            command_exit,
        },
    ))
}
