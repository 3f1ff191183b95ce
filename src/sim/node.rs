//! The discrete-event engine: CPUs, threads, groups, scheduler ticks, CPU weights and load
//! balancing around the bandwidth state machine of [`super::cfs`] (pure core).
//!
//! One [`Engine`] simulates one run of one node: any number of groups (one for `simulate
//! --quota …`, many for a scenario) sharing `cpus` CPUs. Time is integer nanoseconds; events sit in
//! a binary heap keyed by [`EventKey`] (time, [`EventKind`], sequence), so ties resolve as cfs.md §6.3 asks — timers
//! before ticks before thread events — and every run is deterministic.
//!
//! # What is modelled (and where it comes from)
//! - **Ticks without simulating every tick.** The kernel charges runtime in `update_curr()` at
//!   every scheduler tick and at every enqueue/dequeue/preemption (fair.c `update_curr`,
//!   `__account_cfs_rq_runtime`). A tick at which a silo still holds runtime changes nothing but
//!   the silo's balance, so the engine charges lazily and only wakes a CPU at the *first tick at
//!   which its silo would be ≤ 0* (ticks at `tick_offset + k/HZ`, aligned across CPUs as with
//!   `sched_skew_tick=0`; the offset is drawn per run, or placed from a measured period edge by
//!   [`super::fidelity::tick_offset_ns`]), at the completion of the running request, or at the
//!   tick that ends the running thread's time slice. The result is identical to charging at
//!   every tick: a CPU pulls `min(pool, slice − remaining)` at the first tick at or after its
//!   silo runs dry, and overruns by less than one tick. `hz = 0` is the idealised "exact" mode
//!   (no tick granularity).
//! - **Throttle and unthrottle** as in [`super::cfs`]: a throttled silo stops every thread of its
//!   group on that CPU; threads stay on that CPU (fair.c `throttled_lb_pair` forbids migrating
//!   them); unthrottled silos hold 1 ns and pull a full slice at their next tick.
//! - **Weights** (cfs.md correction 10): per CPU, a group's entity weight is
//!   `max(2, shares × runnable threads of the group on this CPU / runnable threads of the group)`
//!   (fair.c `calc_group_shares` with instantaneous loads instead of PELT averages). CPU time on a
//!   CPU goes to the runnable entity with the smallest virtual runtime (advanced by
//!   `Δ·1024/weight`), and inside a group to its thread with the smallest virtual runtime.
//! - **Time slices.** When more than one thread is ready on a CPU, the running one is preempted at
//!   the first tick after it has run `quantum` (default `0.75 ms × (1 + log2(min(cpus, 8)))`, the
//!   `sysctl_sched_base_slice` scaling of fair.c `get_update_sysctl_factor`).
//! - **Placement and balancing.** A waking thread goes to its previous CPU if idle, else to the
//!   next idle CPU, else to the CPU with the least load (Σ over ready threads of
//!   `shares / runnable threads of the group`). A CPU that goes idle pulls one waiting thread from
//!   the busiest CPU (`newidle_balance`), and every `balance_interval` (4 ms) waiting threads are
//!   moved from the most to the least loaded CPU while that narrows the gap.
//!
//! # Approximations (stated, not hidden)
//! - Weights are resolved from instantaneous runnable counts, not PELT `load_avg` (32 ms
//!   half-life), so group weights react to wake-ups immediately instead of over tens of ms.
//! - EEVDF lag, deadlines and wake-up preemption are not modelled: a woken thread waits for the
//!   running thread's slice to end at a tick; sleepers get no vruntime bonus.
//! - The hierarchy is flat: each group competes directly with its siblings (QoS-tier and pod
//!   levels are folded into the group's own weight, and pod-level quotas are not enforced in
//!   addition to container quotas).
//! - No IRQ, steal, SMT, frequency or migration costs; remote unthrottles take effect at once
//!   (the kernel's async IPI takes µs).
//! - A charge made at another group's event on the same CPU (bookkeeping only) is checked at the
//!   next tick, as the kernel would at its next `update_curr()` of that queue.

use super::cfs::{Bandwidth, BandwidthParams, BandwidthStat};
use super::PeriodUsage;
use crate::sim::load::Request;
use crate::trace::Sample;
use crate::units::Shares;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// `NICE_0_LOAD` scaled down (kernel weight of a nice-0 task / a 1024-share group).
const NICE_0_LOAD: u64 = 1024;
/// `MIN_SHARES` (sched.h): the smallest per-CPU group entity weight, the kernel's lower
/// `cpu.shares` bound ([`Shares::MIN`], written once in `crate::cpu`).
const MIN_SHARES: u64 = Shares::MIN.0;
/// Events allowed at one instant before the engine reports a stall instead of looping.
const MAX_EVENTS_PER_INSTANT: u64 = 10_000_000;

/// What an event does. The declaration order is the tie-break order at equal times (derived
/// `Ord`): recorders, timers, configuration writes, CPUs, arrivals, balancing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    /// Timeline sample.
    Sample,
    /// Closes a period record just before the edge is processed (sees the throttled list as the
    /// edge does).
    Grid,
    /// Period timer of a group.
    Edge,
    /// Slack timer of a group.
    Slack,
    /// A cgroup write (quota, period, burst or weight) at a planned time.
    Config,
    /// Opens the next period record just after the edge (sees the refilled pool).
    GridOpen,
    /// A CPU's next check (completion, silo empty, slice end).
    Cpu,
    /// Request arrivals of a group.
    Arrival,
    /// Periodic load balance.
    Balance,
}

/// Heap key of a queued event; the heap pops the smallest (time, kind, sequence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EventKey {
    /// When it fires.
    time: u64,
    /// What it does (tie-break at equal times).
    kind: EventKind,
    /// Insertion order (tie-break within a kind: first queued, first served).
    seq: u64,
    /// CPU or group index (0 for machine-wide events).
    idx: u32,
    /// Generation the event was queued for (stale CPU and timer events are dropped); the change
    /// index for [`EventKind::Config`].
    gen: u64,
}

/// How a group's threads receive work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadKind {
    /// Always runnable, never completes.
    Spin,
    /// Each request names its thread (periodic load).
    Bound,
    /// One FIFO queue served by all threads (Poisson, trace).
    Shared,
}

/// One group as the engine needs it.
#[derive(Debug, Clone)]
pub(crate) struct GroupSetup {
    /// Kernel weight (cpu.shares scale; 1024 = default).
    pub weight: u64,
    /// Bandwidth limit, or `None` for an unlimited group.
    pub bandwidth: Option<BandwidthParams>,
    /// Period grid: edges at `grid_offset_ns + k·period`.
    pub grid_offset_ns: u64,
    /// Number of threads (workers).
    pub threads: u32,
    /// How work reaches the threads.
    pub kind: LoadKind,
    /// Requests sorted by arrival (empty for `Spin`).
    pub requests: Vec<Request>,
    /// Planned cgroup writes: (time, new kernel weight, new bandwidth or `None` for no limit).
    pub changes: Vec<(u64, u64, Option<BandwidthParams>)>,
}

/// Machine and run parameters of one engine run.
#[derive(Debug, Clone)]
pub(crate) struct EngineParams {
    /// Number of CPUs.
    pub cpus: u32,
    /// Tick length (1/HZ); 0 = exact mode.
    pub tick_ns: u64,
    /// Interval at which a running thread's runtime is charged and checked against its silo:
    /// `tick_ns` for compute that never enters the kernel, 0 for a workload that triggers
    /// `update_curr()` continuously (see [`super::Accounting`]).
    pub acct_tick_ns: u64,
    /// CPU time added to every request beyond its nominal work (see [`super::Machine`]).
    pub request_overhead_ns: u64,
    /// Delay from a request's arrival to its delivery to the thread (see [`super::Machine`]).
    pub wakeup_ns: u64,
    /// Offset of the tick grid, in `[0, tick_ns)`.
    pub tick_offset_ns: u64,
    /// Time slice of a thread when others are waiting on its CPU.
    pub quantum_ns: u64,
    /// Periodic load-balance interval.
    pub balance_ns: u64,
    /// Silo runtime after the configuration write (1 ns since 6.18).
    pub initial_silo_ns: i64,
    /// (lead, silo): [`super::Startup`].
    pub startup: Option<(u64, i64)>,
    /// Measured window `[0, duration)`.
    pub duration_ns: u64,
    /// Read the counters when the last request completes (no spinning thread), not at
    /// `duration_ns` ([`super::Window::UntilDone`]).
    pub window_until_done: bool,
    /// Extra simulated time after the window to let started requests finish.
    pub drain_ns: u64,
    /// Timeline sampling interval, if a timeline is wanted.
    pub sample_ns: Option<u64>,
    /// Record per-period usage on each limited group's period grid.
    pub record_periods: bool,
}

/// What one engine run produces for one group.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupResult {
    /// `cpu.stat` counters at the end of the window.
    pub stat: BandwidthStat,
    /// CPU time used in the window.
    pub usage_ns: u64,
    /// Scheduled arrival → completion, per request (unfinished: up to the end of the drain).
    pub latencies_ns: Vec<u64>,
    /// Scheduled arrival → first CPU, per request.
    pub wakeups_ns: Vec<u64>,
    /// Timeline samples.
    pub samples: Vec<Sample>,
    /// Usage per period of the group's grid.
    pub periods: Vec<PeriodUsage>,
}

/// The engine stalled: too many events at one instant (a modelling bug, reported not looped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "simulation stalled at t={at_ns} ns (more than {MAX_EVENTS_PER_INSTANT} events at one instant)"
)]
pub struct Stalled {
    /// Where it stalled.
    pub at_ns: u64,
}

#[derive(Debug, Clone)]
struct Thread {
    group: u32,
    cpu: u32,
    on_rq: bool,
    spin: bool,
    work_left: u64,
    /// The request it is serving.
    cur: Option<u32>,
    pending: VecDeque<u32>,
    vr: u64,
}

#[derive(Debug, Clone, Default)]
struct Cpu {
    /// The thread running on it.
    running: Option<u32>,
    rq: Vec<u32>,
    last: u64,
    run_start: u64,
    gen: u64,
    min_vr: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entity {
    nr_queued: u32,
    vr: u64,
    min_vr: u64,
}

#[derive(Debug, Clone, Copy)]
struct Req {
    arrival: u64,
    /// When it is delivered to its thread: `arrival` plus the wake-up latency.
    ready: u64,
    work: u64,
    thread: u32,
    /// First CPU time.
    start: Option<u64>,
    /// Time the request's work was done (`None` while it is still running).
    end: Option<u64>,
}

#[derive(Debug, Clone)]
struct Group {
    weight: u64,
    bw: Option<Bandwidth>,
    /// Counters kept while the group is unlimited.
    stat_carry: BandwidthStat,
    /// Generation of the period/slack timers (bumped when the bandwidth state is replaced).
    timer_gen: u64,
    grid_offset_ns: u64,
    changes: Vec<(u64, u64, Option<BandwidthParams>)>,
    ent: Vec<Entity>,
    nr_runnable: u32,
    usage_ns: u64,
    kind: LoadKind,
    first_thread: u32,
    shared: VecDeque<u32>,
    idle_workers: Vec<u32>,
    reqs: Vec<Req>,
    next_req: usize,
    samples: Vec<Sample>,
    periods: Vec<PeriodUsage>,
    mark: PeriodMark,
    at_end: Option<(BandwidthStat, u64)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct PeriodMark {
    start_ns: u64,
    usage_ns: u64,
    pool_ns: i64,
    silos_ns: i64,
}

/// One simulation run.
pub(crate) struct Engine {
    p: EngineParams,
    heap: BinaryHeap<Reverse<EventKey>>,
    seq: u64,
    cpus: Vec<Cpu>,
    threads: Vec<Thread>,
    groups: Vec<Group>,
    scratch: Vec<u32>,
    balance_pending: bool,
    outstanding: usize,
}

impl Engine {
    /// Builds the engine; nothing runs until [`Engine::run`].
    pub(crate) fn new(p: EngineParams, setups: Vec<GroupSetup>) -> Engine {
        let ncpu = p.cpus.max(1) as usize;
        let mut threads = Vec::new();
        let mut groups = Vec::with_capacity(setups.len());
        let mut outstanding = 0;
        for (gi, s) in setups.into_iter().enumerate() {
            let first_thread = threads.len() as u32;
            let nthreads = s.threads.max(1);
            for i in 0..nthreads {
                let idx = first_thread + i;
                threads.push(Thread {
                    group: gi as u32,
                    cpu: idx % ncpu as u32,
                    on_rq: false,
                    spin: s.kind == LoadKind::Spin,
                    work_left: 0,
                    cur: None,
                    pending: VecDeque::new(),
                    vr: 0,
                });
            }
            let reqs: Vec<Req> = s
                .requests
                .iter()
                .map(|r| Req {
                    arrival: r.arrival.0,
                    ready: r.arrival.0.saturating_add(p.wakeup_ns),
                    work: r.work.0.max(1) + p.request_overhead_ns,
                    thread: r.thread.unwrap_or(0) % nthreads,
                    start: None,
                    end: None,
                })
                .collect();
            outstanding += reqs.len();
            let idle_workers = if s.kind == LoadKind::Shared {
                (first_thread..first_thread + nthreads).rev().collect()
            } else {
                Vec::new()
            };
            let bw = s.bandwidth.map(|bp| {
                let mut b = Bandwidth::new(bp, ncpu, s.grid_offset_ns, p.initial_silo_ns);
                if let Some((lead, silo)) = p.startup {
                    // The edge before the load is at grid_offset − period; the start-up ran in
                    // the same period unless that edge lies within `lead` of the start.
                    let since_edge = bp.period_ns - s.grid_offset_ns % bp.period_ns;
                    b.prefill_silos(silo, since_edge >= lead);
                }
                b
            });
            let mark = PeriodMark {
                start_ns: 0,
                usage_ns: 0,
                pool_ns: bw.as_ref().map_or(0, |b| b.pool_ns),
                silos_ns: bw.as_ref().map_or(0, |b| b.silo_credit_ns()),
            };
            groups.push(Group {
                weight: s.weight.max(MIN_SHARES),
                bw,
                stat_carry: BandwidthStat::default(),
                timer_gen: 0,
                grid_offset_ns: s.grid_offset_ns,
                changes: s.changes,
                ent: vec![Entity::default(); ncpu],
                nr_runnable: 0,
                usage_ns: 0,
                kind: s.kind,
                first_thread,
                shared: VecDeque::new(),
                idle_workers,
                reqs,
                next_req: 0,
                samples: Vec::new(),
                periods: Vec::new(),
                mark,
                at_end: None,
            });
        }
        let cpus = (0..ncpu).map(|_| Cpu::default()).collect();
        Engine {
            p,
            heap: BinaryHeap::new(),
            seq: 0,
            cpus,
            threads,
            groups,
            scratch: Vec::new(),
            balance_pending: false,
            outstanding,
        }
    }

    fn push(&mut self, time: u64, kind: EventKind, idx: u32, gen: u64) {
        self.seq += 1;
        self.heap.push(Reverse(EventKey {
            time,
            kind,
            seq: self.seq,
            idx,
            gen,
        }));
    }

    fn is_tick(&self, t: u64) -> bool {
        self.p.tick_ns == 0 || t % self.p.tick_ns == self.p.tick_offset_ns
    }

    /// The first instant at or after `t` at which the running thread's runtime is charged and
    /// checked: `t` itself with continuous accounting, else the first tick.
    fn first_acct_ge(&self, t: u64) -> u64 {
        if self.p.acct_tick_ns == 0 {
            t
        } else {
            self.first_tick_ge(t)
        }
    }

    /// The first tick at or after `t` (ticks at `tick_offset + k·tick`).
    fn first_tick_ge(&self, t: u64) -> u64 {
        let tick = self.p.tick_ns;
        if tick == 0 {
            return t;
        }
        let r = t % tick;
        let off = self.p.tick_offset_ns;
        if r <= off {
            t + (off - r)
        } else {
            t + (tick - r) + off
        }
    }

    /// The first events: sampling, the period grids of recorded groups, each group's first
    /// arrival and its planned writes; spinning threads are runnable from the start.
    fn seed_events(&mut self, end: u64) {
        if let Some(dt) = self.p.sample_ns {
            if dt > 0 {
                self.push(0, EventKind::Sample, 0, 0);
            }
        }
        for g in 0..self.groups.len() {
            // A start-up draw ([`super::Startup`]) left the period timer running.
            self.flush_timers(g);
            if self.p.record_periods {
                if let Some(bw) = &self.groups[g].bw {
                    let first = bw.next_grid_after(0);
                    if first <= end {
                        self.push(first, EventKind::Grid, g as u32, 0);
                    }
                }
            }
            if let Some(r) = self.groups[g].reqs.first() {
                let t = r.ready;
                self.push(t, EventKind::Arrival, g as u32, 0);
            }
            let writes: Vec<u64> = self.groups[g].changes.iter().map(|c| c.0).collect();
            for (i, at) in writes.into_iter().enumerate() {
                self.push(at, EventKind::Config, g as u32, i as u64);
            }
        }
        // Spinning threads are runnable from the start.
        for ti in 0..self.threads.len() {
            if self.threads[ti].spin {
                self.wake(ti, 0);
            }
        }
    }

    /// Runs the simulation and returns one result per group, in input order.
    pub(crate) fn run(mut self) -> Result<Vec<GroupResult>, Stalled> {
        let end = self.p.duration_ns;
        let cap = end.saturating_add(self.p.drain_ns);
        self.seed_events(end);
        let mut snapped = false;
        let mut last_t = u64::MAX;
        let mut same = 0u64;
        let mut stop_at = cap;
        let until_done = self.p.window_until_done && !self.threads.iter().any(|t| t.spin);
        let mut counted = false;
        if until_done && self.outstanding == 0 {
            self.snapshot_end(0);
            (snapped, counted) = (true, true);
        }
        while let Some(Reverse(EventKey {
            time: t,
            kind,
            idx,
            gen,
            ..
        })) = self.heap.pop()
        {
            if !snapped && (t > end || (t == end && kind > EventKind::GridOpen)) {
                self.snapshot_end(end);
                snapped = true;
            }
            if snapped && (self.outstanding == 0 || t > cap) {
                stop_at = if self.outstanding == 0 {
                    t.min(cap)
                } else {
                    cap
                };
                break;
            }
            if t == last_t {
                same += 1;
                if same > MAX_EVENTS_PER_INSTANT {
                    return Err(Stalled { at_ns: t });
                }
            } else {
                last_t = t;
                same = 0;
            }
            match kind {
                EventKind::Sample => self.on_sample(t),
                EventKind::Grid => self.on_grid(idx as usize, t),
                EventKind::GridOpen => self.on_grid_open(idx as usize, t),
                EventKind::Edge if self.groups[idx as usize].timer_gen == gen => {
                    self.on_edge(idx as usize, t)
                }
                EventKind::Slack if self.groups[idx as usize].timer_gen == gen => {
                    self.on_slack(idx as usize, t)
                }
                EventKind::Config => self.on_config(idx as usize, gen as usize, t),
                EventKind::Cpu if self.cpus[idx as usize].gen == gen => {
                    self.on_cpu(idx as usize, t)
                }
                EventKind::Arrival => self.on_arrival(idx as usize, t),
                EventKind::Balance => self.on_balance(t),
                EventKind::Edge | EventKind::Slack | EventKind::Cpu => {} // stale generation
            }
            if until_done && !counted && self.outstanding == 0 {
                // The worker exits with its last request: the runner reads the counters now
                // (usage stays the one over [0, duration), as `run --compare` compares it).
                self.count_until(&mut snapped, t);
                counted = true;
            }
        }
        if !snapped {
            self.snapshot_end(end);
        }
        if until_done && !counted {
            self.count_until(&mut snapped, stop_at);
        }
        Ok(self.results(stop_at))
    }

    fn results(self, stop_at: u64) -> Vec<GroupResult> {
        self.groups
            .into_iter()
            .map(|g| {
                let (stat, usage_ns) = g.at_end.unwrap_or_default();
                let latencies_ns = g
                    .reqs
                    .iter()
                    .map(|r| {
                        r.end
                            .unwrap_or(stop_at)
                            .min(stop_at)
                            .saturating_sub(r.arrival)
                    })
                    .collect();
                let wakeups_ns = g
                    .reqs
                    .iter()
                    .map(|r| {
                        r.start
                            .unwrap_or(stop_at)
                            .min(stop_at)
                            .saturating_sub(r.arrival)
                    })
                    .collect();
                GroupResult {
                    stat,
                    usage_ns,
                    latencies_ns,
                    wakeups_ns,
                    samples: g.samples,
                    periods: g.periods,
                }
            })
            .collect()
    }

    // ----------------------------------------------------------------------------------------
    // Accounting

    /// `update_curr()` without the check: charges the running thread's CPU time since the last
    /// charge to its request, its group's usage, its silo and its virtual runtimes.
    fn charge(&mut self, c: usize, now: u64) {
        let cpu = &mut self.cpus[c];
        let Some(t) = cpu.running.filter(|_| now > cpu.last) else {
            cpu.last = cpu.last.max(now);
            return;
        };
        let delta = now - cpu.last;
        cpu.last = now;
        let th = &mut self.threads[t as usize];
        if !th.spin {
            debug_assert!(th.work_left >= delta, "charged past completion");
            th.work_left = th.work_left.saturating_sub(delta);
        }
        th.vr += delta;
        let g = &mut self.groups[th.group as usize];
        g.usage_ns += delta;
        let e = &mut g.ent[c];
        let w = (g.weight * e.nr_queued as u64 / g.nr_runnable.max(1) as u64).max(MIN_SHARES);
        e.vr += delta * NICE_0_LOAD / w;
        if let Some(bw) = g.bw.as_mut() {
            bw.charge(c, delta);
        }
    }

    /// Queues the timer events a bandwidth call asked for.
    fn flush_timers(&mut self, g: usize) {
        let gen = self.groups[g].timer_gen;
        let Some(bw) = self.groups[g].bw.as_mut() else {
            return;
        };
        let edge = std::mem::take(&mut bw.arm_edge).then_some(bw.next_edge_ns);
        let slack = bw.arm_slack_at.take();
        if let Some(t) = edge {
            self.push(t, EventKind::Edge, g as u32, gen);
        }
        if let Some(t) = slack {
            self.push(t, EventKind::Slack, g as u32, gen);
        }
    }

    /// The group's `cpu.stat` counters, whether or not it is limited right now.
    fn stat(&self, g: usize) -> BandwidthStat {
        let grp = &self.groups[g];
        grp.bw.as_ref().map_or(grp.stat_carry, |b| b.stat)
    }

    fn silo_throttled(&self, g: usize, c: usize) -> bool {
        self.groups[g]
            .bw
            .as_ref()
            .is_some_and(|b| b.silos[c].throttled)
    }

    fn ready(&self, t: u32, c: usize) -> bool {
        !self.silo_throttled(self.threads[t as usize].group as usize, c)
    }

    fn ready_count(&self, c: usize) -> usize {
        self.cpus[c]
            .rq
            .iter()
            .filter(|&&t| self.ready(t, c))
            .count()
    }

    // ----------------------------------------------------------------------------------------
    // Scheduling

    /// Picks the next thread on CPU `c`: the ready group entity with the smallest vruntime, then
    /// its ready thread with the smallest vruntime. An idle CPU pulls a waiting thread.
    fn pick(&mut self, c: usize, now: u64) {
        for _ in 0..8 {
            let mut best: Option<(u64, u64, u32)> = None;
            for &t in &self.cpus[c].rq {
                let th = &self.threads[t as usize];
                let g = &self.groups[th.group as usize];
                if g.bw.as_ref().is_some_and(|b| b.silos[c].throttled) {
                    continue;
                }
                let key = (g.ent[c].vr, th.vr, t);
                if best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
            if let Some((gv, tv, t)) = best {
                let cpu = &mut self.cpus[c];
                cpu.running = Some(t);
                cpu.run_start = now;
                cpu.last = now;
                cpu.min_vr = cpu.min_vr.max(gv);
                let th = &self.threads[t as usize];
                let (gi, cur) = (th.group as usize, th.cur);
                let g = &mut self.groups[gi];
                g.ent[c].min_vr = g.ent[c].min_vr.max(tv);
                if let Some(r) = cur {
                    g.reqs[r as usize].start.get_or_insert(now);
                }
                return;
            }
            self.cpus[c].running = None;
            self.cpus[c].last = now;
            if !self.newidle_pull(c, now) {
                return;
            }
        }
    }

    /// Queues CPU `c`'s next event: completion of the running request, the first tick at which
    /// its silo is empty, or the tick that ends its slice when others wait.
    fn reschedule(&mut self, c: usize, now: u64) {
        // Bring the running thread's accounts up to `now` so the times below start from here.
        self.charge(c, now);
        self.cpus[c].gen += 1;
        let Some(t) = self.cpus[c].running else {
            return;
        };
        let th = &self.threads[t as usize];
        let mut next = u64::MAX;
        if !th.spin {
            next = now + th.work_left;
        }
        if let Some(bw) = &self.groups[th.group as usize].bw {
            let r = bw.silos[c].remaining_ns.max(0) as u64;
            next = next.min(self.first_acct_ge(now + r));
        }
        if self.ready_count(c) > 1 {
            let due = (self.cpus[c].run_start + self.p.quantum_ns).max(now);
            next = next.min(self.first_tick_ge(due));
        }
        if next != u64::MAX {
            let gen = self.cpus[c].gen;
            self.push(next, EventKind::Cpu, c as u32, gen);
        }
    }

    fn on_cpu(&mut self, c: usize, now: u64) {
        self.charge(c, now);
        let Some(t) = self.cpus[c].running else {
            return;
        };
        let ti = t as usize;
        let g = self.threads[ti].group as usize;
        let mut running = true;
        if !self.threads[ti].spin && self.threads[ti].work_left == 0 {
            self.finish_request(ti, now);
            if !self.next_request(ti, now) {
                self.block(ti, now);
                running = false;
            }
        }
        let tick = self.is_tick(now);
        if running && (tick || self.p.acct_tick_ns == 0) {
            // Scheduler tick (or, with continuous accounting, any update_curr()):
            // __account_cfs_rq_runtime(); on failure resched_curr() and the throttle at
            // put_prev_entity() (6.18: at the return to user space, microseconds later).
            if let Some(bw) = self.groups[g].bw.as_mut() {
                if !bw.account(c, now) && bw.throttle(c, now, true) {
                    running = false;
                }
                self.flush_timers(g);
                if !running {
                    self.cpus[c].running = None;
                    self.pick(c, now);
                }
            }
        }
        if running
            && tick
            && now >= self.cpus[c].run_start + self.p.quantum_ns
            && self.ready_count(c) > 1
        {
            self.cpus[c].running = None;
            self.pick(c, now);
        }
        self.reschedule(c, now);
    }

    fn finish_request(&mut self, ti: usize, now: u64) {
        let th = &mut self.threads[ti];
        if let Some(r) = th.cur.take() {
            self.groups[th.group as usize].reqs[r as usize].end = Some(now);
            self.outstanding -= 1;
        }
    }

    /// Takes the thread's next queued request, if any (the thread is running).
    fn next_request(&mut self, ti: usize, now: u64) -> bool {
        let th = &mut self.threads[ti];
        let g = &mut self.groups[th.group as usize];
        let next = match g.kind {
            LoadKind::Bound => th.pending.pop_front(),
            LoadKind::Shared => g.shared.pop_front(),
            LoadKind::Spin => None,
        };
        let Some(r) = next else { return false };
        let req = &mut g.reqs[r as usize];
        th.cur = Some(r);
        th.work_left = req.work;
        req.start.get_or_insert(now);
        true
    }

    /// The running thread blocks: `dequeue_entity()` (charge + account, slack return on the last
    /// task) then `put_prev_entity()` (throttle an empty-handed silo), then pick.
    fn block(&mut self, ti: usize, now: u64) {
        let c = self.threads[ti].cpu as usize;
        let g = self.threads[ti].group as usize;
        self.cpus[c].running = None;
        self.remove_from_rq(ti, c);
        let grp = &mut self.groups[g];
        grp.nr_runnable -= 1;
        grp.ent[c].nr_queued -= 1;
        let left = grp.ent[c].nr_queued;
        if let Some(bw) = grp.bw.as_mut() {
            bw.account(c, now);
            if left == 0 {
                bw.return_slack(c, now);
            }
            if bw.silos[c].remaining_ns <= 0 {
                bw.throttle(c, now, left > 0);
            }
        }
        if grp.kind == LoadKind::Shared {
            grp.idle_workers.push(ti as u32);
        }
        self.flush_timers(g);
        self.pick(c, now);
    }

    fn remove_from_rq(&mut self, ti: usize, c: usize) {
        let rq = &mut self.cpus[c].rq;
        if let Some(pos) = rq.iter().position(|&t| t as usize == ti) {
            rq.remove(pos);
        }
        self.threads[ti].on_rq = false;
    }

    /// A sleeping thread becomes runnable (`select_task_rq` + `enqueue_task`).
    fn wake(&mut self, ti: usize, now: u64) {
        let c = self.select_cpu(ti);
        self.attach(ti, c, now, true);
    }

    fn cpu_load(&self, c: usize) -> u64 {
        self.cpus[c]
            .rq
            .iter()
            .filter(|&&t| self.ready(t, c))
            .map(|&t| {
                let g = &self.groups[self.threads[t as usize].group as usize];
                g.weight * NICE_0_LOAD / g.nr_runnable.max(1) as u64
            })
            .sum()
    }

    fn select_cpu(&self, ti: usize) -> usize {
        let n = self.cpus.len();
        let prev = self.threads[ti].cpu as usize;
        for i in 0..n {
            let c = (prev + i) % n;
            if self.cpus[c].running.is_none() {
                return c;
            }
        }
        let mut best = (u64::MAX, prev);
        for i in 0..n {
            let c = (prev + i) % n;
            let load = self.cpu_load(c);
            if load < best.0 {
                best = (load, c);
            }
        }
        best.1
    }

    /// `enqueue_task_fair()` of thread `ti` on CPU `c`: `check_enqueue_throttle()` for the first
    /// task of the group there, `update_curr()` + account when the group is already running there.
    fn attach(&mut self, ti: usize, c: usize, now: u64, do_pick: bool) {
        self.charge(c, now);
        let g = self.threads[ti].group as usize;
        let running_group = self.cpus[c]
            .running
            .map(|t| self.threads[t as usize].group as usize);
        self.cpus[c].rq.push(ti as u32);
        let cpu_min = self.cpus[c].min_vr;
        let grp = &mut self.groups[g];
        grp.nr_runnable += 1;
        let e = &mut grp.ent[c];
        e.nr_queued += 1;
        let first = e.nr_queued == 1;
        if first {
            e.vr = e.vr.max(cpu_min);
        }
        let th_vr = e.min_vr;
        let mut stop_running = false;
        if let Some(bw) = grp.bw.as_mut() {
            if first {
                bw.enqueue_first(c, now);
            } else if bw.silos[c].throttled {
                bw.note_tasks_queued(c, now);
            } else if running_group == Some(g) && !bw.account(c, now) && bw.throttle(c, now, true) {
                stop_running = true;
            }
        }
        let th = &mut self.threads[ti];
        th.cpu = c as u32;
        th.on_rq = true;
        th.vr = th_vr;
        self.flush_timers(g);
        if stop_running {
            self.cpus[c].running = None;
        }
        if do_pick {
            if self.cpus[c].running.is_none() {
                self.pick(c, now);
            }
            self.maybe_arm_balance(c, now);
            self.reschedule(c, now);
        }
    }

    /// Removes a waiting (not running) thread from its CPU for a migration.
    fn detach(&mut self, ti: usize, now: u64) {
        let c = self.threads[ti].cpu as usize;
        self.remove_from_rq(ti, c);
        let g = self.threads[ti].group as usize;
        let grp = &mut self.groups[g];
        grp.nr_runnable -= 1;
        grp.ent[c].nr_queued -= 1;
        if grp.ent[c].nr_queued == 0 {
            if let Some(bw) = grp.bw.as_mut() {
                bw.return_slack(c, now);
            }
        }
        self.flush_timers(g);
    }

    /// A waiting thread on `s` that may move to `c` (neither silo throttled).
    fn movable(&self, t: u32, s: usize, c: usize) -> bool {
        let g = self.threads[t as usize].group as usize;
        self.cpus[s].running != Some(t) && !self.silo_throttled(g, s) && !self.silo_throttled(g, c)
    }

    /// `newidle_balance()`: an idle CPU pulls one waiting thread from the CPU with the most.
    fn newidle_pull(&mut self, c: usize, now: u64) -> bool {
        let n = self.cpus.len();
        let mut best: Option<(usize, usize)> = None;
        for i in 1..n {
            let s = (c + i) % n;
            let count = self.cpus[s]
                .rq
                .iter()
                .filter(|&&t| self.movable(t, s, c))
                .count();
            if count > 0 && best.is_none_or(|(bc, _)| count > bc) {
                best = Some((count, s));
            }
        }
        let Some((_, s)) = best else { return false };
        let Some(&t) = self.cpus[s]
            .rq
            .iter()
            .rev()
            .find(|&&t| self.movable(t, s, c))
        else {
            return false;
        };
        self.detach(t as usize, now);
        self.attach(t as usize, c, now, false);
        self.reschedule(s, now);
        true
    }

    fn maybe_arm_balance(&mut self, c: usize, now: u64) {
        if !self.balance_pending
            && self.cpus.len() > 1
            && self.cpus[c].rq.len() > 1
            && self.ready_count(c) > 1
        {
            self.balance_pending = true;
            let at = now + self.p.balance_ns;
            self.push(at, EventKind::Balance, 0, 0);
        }
    }

    /// Periodic load balance: move waiting threads from the most to the least loaded CPU while
    /// that narrows the gap (load = Σ shares / runnable threads of the group).
    fn on_balance(&mut self, now: u64) {
        self.balance_pending = false;
        let n = self.cpus.len();
        let mut loads: Vec<u64> = (0..n).map(|c| self.cpu_load(c)).collect();
        for _ in 0..self.threads.len() {
            let Some(dst) = (0..n).min_by_key(|&c| (loads[c], c)) else {
                break;
            };
            let src = (0..n)
                .filter(|&s| s != dst && self.cpus[s].rq.iter().any(|&t| self.movable(t, s, dst)))
                .max_by_key(|&s| (loads[s], Reverse(s)));
            let Some(src) = src else { break };
            if loads[src] <= loads[dst] {
                break;
            }
            let gap = loads[src] - loads[dst];
            let mut cand: Option<(u64, u32, u64)> = None;
            for &t in &self.cpus[src].rq {
                if !self.movable(t, src, dst) {
                    continue;
                }
                let g = &self.groups[self.threads[t as usize].group as usize];
                let h = g.weight * NICE_0_LOAD / g.nr_runnable.max(1) as u64;
                if h >= gap {
                    continue;
                }
                let score = gap.abs_diff(2 * h);
                if cand.is_none_or(|(s, _, _)| score < s) {
                    cand = Some((score, t, h));
                }
            }
            let Some((_, t, h)) = cand else { break };
            self.detach(t as usize, now);
            self.attach(t as usize, dst, now, true);
            self.reschedule(src, now);
            loads[src] -= h;
            loads[dst] += h;
        }
        if (0..n).any(|c| self.ready_count(c) > 1) {
            self.balance_pending = true;
            let at = now + self.p.balance_ns;
            self.push(at, EventKind::Balance, 0, 0);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Timers and arrivals

    fn on_edge(&mut self, g: usize, now: u64) {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let Some(bw) = self.groups[g].bw.as_mut() else {
            return;
        };
        if bw.period_edge(now, &mut out) {
            let next = bw.next_edge_ns;
            let gen = self.groups[g].timer_gen;
            self.push(next, EventKind::Edge, g as u32, gen);
        }
        for &c in &out {
            self.after_unthrottle(g, c as usize, now);
        }
        self.scratch = out;
    }

    fn on_slack(&mut self, g: usize, now: u64) {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        if let Some(bw) = self.groups[g].bw.as_mut() {
            bw.slack_timer(now, &mut out);
        }
        for &c in &out {
            self.after_unthrottle(g, c as usize, now);
        }
        self.scratch = out;
    }

    /// `unthrottle_cfs_rq()` → the group entity is enqueued again on CPU `c`.
    fn after_unthrottle(&mut self, g: usize, c: usize, now: u64) {
        self.charge(c, now);
        if self.groups[g].ent[c].nr_queued > 0 {
            let cpu_min = self.cpus[c].min_vr;
            let e = &mut self.groups[g].ent[c];
            e.vr = e.vr.max(cpu_min);
            if self.cpus[c].running.is_none() {
                self.pick(c, now);
            }
            self.maybe_arm_balance(c, now);
        }
        self.reschedule(c, now);
    }

    /// A planned cgroup write (`tg_set_cfs_bandwidth` / `cpu_weight_write_u64`, core.c).
    fn on_config(&mut self, g: usize, i: usize, now: u64) {
        let Some(&(_, weight, params)) = self.groups[g].changes.get(i) else {
            return;
        };
        let ncpu = self.cpus.len();
        let initial = self.p.initial_silo_ns;
        let mut out = Vec::new();
        // Charge what ran up to the write under the old values (the kernel's update_curr() ran at
        // the last tick; the engine charges lazily, so catch up here).
        for c in 0..ncpu {
            if self.cpus[c]
                .running
                .is_some_and(|t| self.threads[t as usize].group as usize == g)
            {
                self.charge(c, now);
            }
        }
        let grp = &mut self.groups[g];
        grp.weight = weight.max(MIN_SHARES);
        grp.bw = match (grp.bw.take(), params) {
            (Some(mut bw), Some(p)) => {
                bw.reconfigure(p, now, initial, &mut out);
                Some(bw)
            }
            (Some(mut bw), None) => {
                grp.stat_carry = bw.remove(now, &mut out);
                grp.timer_gen += 1;
                None
            }
            (None, Some(p)) => {
                grp.timer_gen += 1;
                Some(Bandwidth::written(
                    p,
                    ncpu,
                    grp.grid_offset_ns,
                    initial,
                    now,
                    grp.stat_carry,
                ))
            }
            (None, None) => None,
        };
        self.flush_timers(g);
        for &c in &out {
            self.after_unthrottle(g, c as usize, now);
        }
        // Silos were reset: CPUs running this group need a new check time.
        for c in 0..ncpu {
            if self.cpus[c]
                .running
                .is_some_and(|t| self.threads[t as usize].group as usize == g)
            {
                self.reschedule(c, now);
            }
        }
    }

    fn on_arrival(&mut self, g: usize, now: u64) {
        loop {
            let i = self.groups[g].next_req;
            if i >= self.groups[g].reqs.len() || self.groups[g].reqs[i].ready != now {
                break;
            }
            self.groups[g].next_req += 1;
            self.deliver(g, i as u32, now);
        }
        let grp = &self.groups[g];
        if let Some(r) = grp.reqs.get(grp.next_req) {
            let t = r.ready;
            self.push(t, EventKind::Arrival, g as u32, 0);
        }
    }

    fn deliver(&mut self, g: usize, r: u32, now: u64) {
        let grp = &mut self.groups[g];
        let worker = match grp.kind {
            LoadKind::Bound => {
                let ti = (grp.first_thread + grp.reqs[r as usize].thread) as usize;
                if self.threads[ti].cur.is_none() {
                    Some(ti)
                } else {
                    self.threads[ti].pending.push_back(r);
                    None
                }
            }
            LoadKind::Shared => match grp.idle_workers.pop() {
                Some(ti) => Some(ti as usize),
                None => {
                    grp.shared.push_back(r);
                    None
                }
            },
            LoadKind::Spin => None,
        };
        if let Some(ti) = worker {
            let th = &mut self.threads[ti];
            th.cur = Some(r);
            th.work_left = grp.reqs[r as usize].work;
            self.wake(ti, now);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Recording (read-only: recording never changes the simulation)

    /// Usage including the running, not yet charged slices.
    fn usage_now(&self, g: usize, now: u64) -> u64 {
        let mut u = self.groups[g].usage_ns;
        for cpu in &self.cpus {
            if cpu
                .running
                .is_some_and(|t| self.threads[t as usize].group as usize == g)
            {
                u += now.saturating_sub(cpu.last);
            }
        }
        u
    }

    fn on_sample(&mut self, now: u64) {
        for g in 0..self.groups.len() {
            let usage = self.usage_now(g, now);
            let stat = self.stat(g);
            self.groups[g].samples.push(Sample {
                t_ns: now,
                nr_periods: stat.nr_periods,
                nr_throttled: stat.nr_throttled,
                throttled_time_us: stat.throttled_time_ns / 1_000,
                usage_us: usage / 1_000,
            });
        }
        if let Some(dt) = self.p.sample_ns {
            let next = now + dt;
            if next <= self.p.duration_ns {
                self.push(next, EventKind::Sample, 0, 0);
            }
        }
    }

    fn close_period(&mut self, g: usize, now: u64) {
        let usage = self.usage_now(g, now);
        let grp = &mut self.groups[g];
        let Some(bw) = grp.bw.as_ref() else { return };
        let m = grp.mark;
        grp.periods.push(PeriodUsage {
            start_ns: m.start_ns,
            end_ns: now,
            usage_ns: usage - m.usage_ns,
            throttled: bw.timer_active && !bw.throttled.is_empty(),
            pool_start_ns: m.pool_ns,
            silos_start_ns: m.silos_ns,
        });
        grp.mark = PeriodMark {
            start_ns: now,
            usage_ns: usage,
            pool_ns: bw.pool_ns,
            silos_ns: bw.silo_credit_ns(),
        };
    }

    fn on_grid(&mut self, g: usize, now: u64) {
        self.close_period(g, now);
        self.push(now, EventKind::GridOpen, g as u32, 0);
    }

    /// After the edge: the new period starts with the refilled pool and the silos as the edge
    /// left them (debts repaid, unthrottled silos at 1 ns).
    fn on_grid_open(&mut self, g: usize, now: u64) {
        let grp = &mut self.groups[g];
        let Some(bw) = grp.bw.as_ref() else { return };
        grp.mark.pool_ns = bw.pool_ns;
        grp.mark.silos_ns = bw.silo_credit_ns();
        let next = now + bw.params.period_ns;
        if next <= self.p.duration_ns {
            self.push(next, EventKind::Grid, g as u32, 0);
        }
    }

    /// [`super::Window::UntilDone`]: the counters as of `t` (the last completion). Before the
    /// end of the duration this is the whole snapshot; after it only the counters change.
    fn count_until(&mut self, snapped: &mut bool, t: u64) {
        if !*snapped {
            self.snapshot_end(t);
            *snapped = true;
            return;
        }
        for g in 0..self.groups.len() {
            let stat = self.stat(g);
            if let Some(end) = self.groups[g].at_end.as_mut() {
                end.0 = stat;
            }
        }
    }

    fn snapshot_end(&mut self, end: u64) {
        for g in 0..self.groups.len() {
            let usage = self.usage_now(g, end);
            if self.p.record_periods && self.groups[g].mark.start_ns < end {
                self.close_period(g, end);
            }
            if let Some(dt) = self.p.sample_ns {
                let last = self.groups[g].samples.last().map(|s| s.t_ns);
                if dt > 0 && last != Some(end) {
                    let stat = self.stat(g);
                    self.groups[g].samples.push(Sample {
                        t_ns: end,
                        nr_periods: stat.nr_periods,
                        nr_throttled: stat.nr_throttled,
                        throttled_time_us: stat.throttled_time_ns / 1_000,
                        usage_us: usage / 1_000,
                    });
                }
            }
            let stat = self.stat(g);
            self.groups[g].at_end = Some((stat, usage));
        }
    }
}
