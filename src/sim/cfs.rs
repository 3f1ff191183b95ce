//! CFS bandwidth control of one cgroup: the global pool, the per-CPU runtime silos, the
//! period and slack timers and the `cpu.stat` counters (pure core).
//!
//! A transcription of the bandwidth section of torvalds/linux `kernel/sched/fair.c`, read through
//! the code index in its 6.6-era form (EEVDF, async unthrottle, `runtime_snap` burst statistics,
//! `throttled_clock` only with queued tasks) and checked against the 5.13 text: functions
//! `__refill_cfs_bandwidth_runtime`, `__assign_cfs_rq_runtime`, `__account_cfs_rq_runtime`,
//! `throttle_cfs_rq`, `unthrottle_cfs_rq`, `distribute_cfs_runtime`, `do_sched_cfs_period_timer`,
//! `sched_cfs_period_timer`, `start_cfs_bandwidth`, `runtime_refresh_within`,
//! `start_cfs_slack_bandwidth`, `__return_cfs_rq_runtime`, `do_sched_cfs_slack_timer`,
//! `check_enqueue_throttle`, `check_cfs_rq_runtime`. The 6.18 task-based throttle series changes
//! *when* a throttled task stops, not these numbers (`shared/reference/cfs.md`, "Corrections for
//! kernel 6.18"); its 1 ns silo start after a configuration write is [`Bandwidth::new`]'s
//! `initial_silo_ns`. Every method names the kernel function it mirrors. Times are integer
//! nanoseconds; runtime amounts are signed (`runtime_remaining` goes negative when a CPU overruns
//! its silo by up to one tick, and the debt is repaid from the next grant).
//!
//! The scheduler side (who runs where, ticks, enqueue/dequeue) lives in [`super::node`]; it calls
//! into [`Bandwidth`] at the same points the kernel calls into the bandwidth code:
//! `update_curr()` → [`Bandwidth::charge`] + [`Bandwidth::account`], `put_prev_entity()` →
//! [`Bandwidth::throttle`], `enqueue_entity()` → [`Bandwidth::enqueue_first`], `dequeue_entity()` →
//! [`Bandwidth::return_slack`], the hrtimers → [`Bandwidth::period_edge`] and
//! [`Bandwidth::slack_timer`].

use std::collections::VecDeque;

/// `min_cfs_rq_runtime` (fair.c): a per-CPU silo never gives back its last 1 ms.
pub const MIN_CFS_RQ_RUNTIME_NS: i64 = 1_000_000;
/// `min_bandwidth_expiration` (fair.c): no slack redistribution within 2 ms of a period edge.
pub const MIN_BANDWIDTH_EXPIRATION_NS: u64 = 2_000_000;
/// `cfs_bandwidth_slack_period` (fair.c): the slack timer fires 5 ms after it is armed.
pub const CFS_BANDWIDTH_SLACK_PERIOD_NS: u64 = 5_000_000;
/// Default `sched_cfs_bandwidth_slice_us` (fair.c `sysctl_sched_cfs_bandwidth_slice = 5000UL`).
pub const DEFAULT_SLICE_NS: u64 = 5_000_000;

/// Static bandwidth parameters of a limited group, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandwidthParams {
    /// `cfs_b->quota`.
    pub quota_ns: i64,
    /// `cfs_b->period`.
    pub period_ns: u64,
    /// `cfs_b->burst` (0 ≤ burst ≤ quota).
    pub burst_ns: i64,
    /// `sched_cfs_bandwidth_slice()`.
    pub slice_ns: i64,
}

/// One per-CPU runtime silo (`struct cfs_rq` bandwidth fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Silo {
    /// `cfs_rq->runtime_remaining` (signed: negative is a debt).
    pub remaining_ns: i64,
    /// `cfs_rq->throttled`.
    pub throttled: bool,
    /// `cfs_rq->throttled_clock`, set only while tasks are queued (6.x semantics).
    pub throttled_since: Option<u64>,
}

/// The group's `cpu.stat` counters, in kernel units (ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BandwidthStat {
    /// `nr_periods`: period-timer expiries while the timer was active.
    pub nr_periods: u64,
    /// `nr_throttled`: expiries that found a throttled silo.
    pub nr_throttled: u64,
    /// `throttled_time`: Σ over silos of completed throttled intervals.
    pub throttled_time_ns: u64,
    /// `nr_bursts`: periods whose net assignment exceeded the quota.
    pub nr_bursts: u64,
    /// `burst_time`: Σ (net assignment − quota) over those periods.
    pub burst_time_ns: u64,
}

/// Bandwidth state of one group (`struct cfs_bandwidth` plus its per-CPU silos).
#[derive(Debug, Clone)]
pub struct Bandwidth {
    /// The configuration.
    pub params: BandwidthParams,
    /// `cfs_b->runtime`: the global pool.
    pub pool_ns: i64,
    /// `cfs_b->runtime_snap`: the pool right after the last refill (burst accounting).
    snap_ns: i64,
    /// `cfs_b->idle`: no runtime was assigned since the last edge.
    idle: bool,
    /// `cfs_b->period_active`.
    pub timer_active: bool,
    /// Expiry of the period timer (valid while `timer_active`).
    pub next_edge_ns: u64,
    /// The period grid: edges sit at `grid_offset + k·period`.
    grid_offset_ns: u64,
    /// `cfs_b->slack_started`.
    pub slack_pending: bool,
    /// `cfs_b->throttled_cfs_rq`: FIFO list of throttled CPUs.
    pub throttled: VecDeque<u32>,
    /// Per-CPU silos.
    pub silos: Vec<Silo>,
    /// Cumulative `cpu.stat` counters of the group.
    pub stat: BandwidthStat,
    /// Set when the period timer was (re)started and its expiry must be queued by the caller.
    pub arm_edge: bool,
    /// Set when the slack timer was armed; the caller queues it at this time.
    pub arm_slack_at: Option<u64>,
}

impl Bandwidth {
    /// A freshly configured group, as `tg_set_cfs_bandwidth` (core.c) leaves it: the pool refilled
    /// to `quota + burst`, every silo at `initial_silo_ns` (1 ns since 6.18, 0 before), the timer
    /// idle. Period edges sit at `grid_offset_ns + k·period` (the random offset of
    /// `init_cfs_bandwidth`, fair.c; correction 6 of cfs.md).
    pub fn new(
        params: BandwidthParams,
        cpus: usize,
        grid_offset_ns: u64,
        initial_silo_ns: i64,
    ) -> Bandwidth {
        let full = params.quota_ns + params.burst_ns;
        Bandwidth {
            params,
            pool_ns: full,
            snap_ns: full,
            idle: false,
            timer_active: false,
            next_edge_ns: 0,
            grid_offset_ns: grid_offset_ns % params.period_ns.max(1),
            slack_pending: false,
            throttled: VecDeque::new(),
            silos: vec![
                Silo {
                    remaining_ns: initial_silo_ns,
                    throttled: false,
                    throttled_since: None
                };
                cpus
            ],
            stat: BandwidthStat::default(),
            arm_edge: false,
            arm_slack_at: None,
        }
    }

    /// [`super::Startup`]: every silo holds `silo_ns` (as far as the pool lasts, CPU by CPU),
    /// taken from the pool when `from_pool` (the start-up ran in the current period), else the
    /// pool was refilled since.
    ///
    /// The start-up's draw went through `__assign_cfs_rq_runtime`, which calls
    /// `start_cfs_bandwidth()` and clears `cfs_b->idle` (fair.c), so the period timer runs when
    /// the load starts and the first edge after it refills the pool. (Without this, a load
    /// starting 1 ms before an edge ran its first cycle on the start-up's pool: `ref-edge` in
    /// `tests/data/fidelity/` ended 4.7 ms early in the model, 130.0 ms in the kernel.) When an
    /// edge fell between the start-up and the load (`!from_pool`), that edge refilled the pool and
    /// marked the timer idle, so the first edge after the start stops it unless runtime is
    /// assigned before.
    pub fn prefill_silos(&mut self, silo_ns: i64, from_pool: bool) {
        self.start_timer(0);
        self.idle = !from_pool;
        for s in &mut self.silos {
            let want = (silo_ns - s.remaining_ns).max(0);
            let got = if from_pool {
                let g = want.min(self.pool_ns.max(0));
                self.pool_ns -= g;
                g
            } else {
                want
            };
            s.remaining_ns += got;
        }
    }

    /// A group whose limit is written while it was unlimited (`tg_set_cfs_bandwidth`, core.c, on
    /// a group created with `runtime = 0` by `init_cfs_bandwidth`): the refill gives
    /// `min(0 + quota, quota + burst) = quota`, the period timer starts at the write, silos hold
    /// `initial_silo_ns`. Counters continue from `stat`.
    pub fn written(
        params: BandwidthParams,
        cpus: usize,
        grid_offset_ns: u64,
        initial_silo_ns: i64,
        now: u64,
        stat: BandwidthStat,
    ) -> Bandwidth {
        let mut b = Bandwidth::new(params, cpus, grid_offset_ns, initial_silo_ns);
        b.pool_ns = params.quota_ns;
        b.snap_ns = params.quota_ns;
        b.stat = stat;
        b.start_timer(now);
        b
    }

    /// A new quota/period/burst written to a limited group (`tg_set_cfs_bandwidth`, core.c 6.x;
    /// cfs.md §1.1 and correction 5): the values change, the pool is refilled under the new cap
    /// (`__refill_cfs_bandwidth_runtime`), a running period timer keeps its pending expiry (the new
    /// period applies from the next edge) while an idle one is started on its old grid, every silo
    /// is reset to `initial_silo_ns` and every throttled silo is unthrottled (pushed to `out`).
    pub fn reconfigure(
        &mut self,
        params: BandwidthParams,
        now: u64,
        initial_silo_ns: i64,
        out: &mut Vec<u32>,
    ) {
        let old_p = self.params.period_ns;
        let anchor = if self.timer_active {
            self.next_edge_ns
        } else if now < self.grid_offset_ns {
            self.grid_offset_ns
        } else {
            self.next_grid_after(now) - old_p
        };
        self.params = params;
        self.grid_offset_ns = anchor % params.period_ns.max(1);
        self.refill();
        self.start_timer(now);
        while let Some(cpu) = self.throttled.pop_front() {
            self.unthrottle(cpu as usize, now);
            out.push(cpu);
        }
        for silo in &mut self.silos {
            silo.remaining_ns = initial_silo_ns;
        }
    }

    /// The limit is removed (quota `max`): every throttled silo is unthrottled (pushed to `out`)
    /// and the counters are handed back; the caller drops the bandwidth state.
    pub fn remove(&mut self, now: u64, out: &mut Vec<u32>) -> BandwidthStat {
        while let Some(cpu) = self.throttled.pop_front() {
            self.unthrottle(cpu as usize, now);
            out.push(cpu);
        }
        self.timer_active = false;
        self.stat
    }

    /// The first grid point strictly after `now` (`hrtimer_forward_now` keeps the original grid
    /// and always moves the expiry into the future).
    pub fn next_grid_after(&self, now: u64) -> u64 {
        let p = self.params.period_ns;
        let off = self.grid_offset_ns;
        if now < off {
            off
        } else {
            off + ((now - off) / p + 1) * p
        }
    }

    /// `start_cfs_bandwidth` (fair.c): starts the period timer if it is idle.
    fn start_timer(&mut self, now: u64) {
        if self.timer_active {
            return;
        }
        self.timer_active = true;
        self.next_edge_ns = self.next_grid_after(now);
        self.arm_edge = true;
    }

    /// `__assign_cfs_rq_runtime` (fair.c): tops silo `cpu` up to `target` from the pool
    /// (`amount = min(pool, target − remaining)`), starting the period timer. Returns whether the
    /// silo now holds positive runtime.
    pub fn assign(&mut self, cpu: usize, target_ns: i64, now: u64) -> bool {
        // start_cfs_bandwidth() is called before the pool is looked at.
        self.start_timer(now);
        let want = target_ns - self.silos[cpu].remaining_ns;
        let mut amount = 0;
        if self.pool_ns > 0 && want > 0 {
            amount = self.pool_ns.min(want);
            self.pool_ns -= amount;
            self.idle = false;
        }
        let silo = &mut self.silos[cpu];
        silo.remaining_ns += amount;
        silo.remaining_ns > 0
    }

    /// Charges `delta_ns` of execution to silo `cpu` (`cfs_rq->runtime_remaining -= delta_exec`,
    /// the first line of `__account_cfs_rq_runtime`). Does not check; see [`Bandwidth::account`].
    #[inline]
    pub fn charge(&mut self, cpu: usize, delta_ns: u64) {
        self.silos[cpu].remaining_ns -= delta_ns as i64;
    }

    /// The check half of `__account_cfs_rq_runtime` (fair.c): if the silo is empty and not yet
    /// throttled, pull a slice (`assign_cfs_rq_runtime`). Returns `false` when the silo is still
    /// empty, i.e. the kernel would `resched_curr()` and throttle at `put_prev_entity()`.
    pub fn account(&mut self, cpu: usize, now: u64) -> bool {
        let silo = &self.silos[cpu];
        if silo.remaining_ns > 0 {
            return true;
        }
        if silo.throttled {
            return false;
        }
        let slice = self.params.slice_ns;
        self.assign(cpu, slice, now)
    }

    /// `throttle_cfs_rq` (fair.c): one last `assign(1 ns)` (a refill may have raced in); otherwise
    /// appends the silo to the tail of the throttled list. The throttled clock only starts when
    /// tasks are queued (`has_tasks`; 6.x, correction 3 of cfs.md). Returns whether it throttled.
    pub fn throttle(&mut self, cpu: usize, now: u64, has_tasks: bool) -> bool {
        if self.silos[cpu].throttled {
            return true;
        }
        if self.assign(cpu, 1, now) {
            return false;
        }
        self.throttled.push_back(cpu as u32);
        let silo = &mut self.silos[cpu];
        silo.throttled = true;
        silo.throttled_since = has_tasks.then_some(now);
        true
    }

    /// A task was enqueued into a silo that is throttled but had no tasks: the throttled clock
    /// starts now (the `throttled_clock` branch of `enqueue_entity`, fair.c 6.x).
    pub fn note_tasks_queued(&mut self, cpu: usize, now: u64) {
        let silo = &mut self.silos[cpu];
        if silo.throttled && silo.throttled_since.is_none() {
            silo.throttled_since = Some(now);
        }
    }

    /// `check_enqueue_throttle` (fair.c): the first task enqueued on an idle silo charges 0 and
    /// pulls a slice if the silo is empty; if that fails the silo is throttled at once. Returns
    /// whether the silo is (now) throttled.
    pub fn enqueue_first(&mut self, cpu: usize, now: u64) -> bool {
        if self.silos[cpu].throttled {
            self.note_tasks_queued(cpu, now);
            return true;
        }
        if self.account(cpu, now) {
            return false;
        }
        self.throttle(cpu, now, true)
    }

    /// `unthrottle_cfs_rq` (fair.c): leaves the throttled state and adds the throttled interval to
    /// `throttled_time`. The caller removes the CPU from the list.
    fn unthrottle(&mut self, cpu: usize, now: u64) {
        let silo = &mut self.silos[cpu];
        silo.throttled = false;
        if let Some(since) = silo.throttled_since.take() {
            self.stat.throttled_time_ns += now.saturating_sub(since);
        }
    }

    /// `__refill_cfs_bandwidth_runtime` (fair.c, 5.14+ with burst statistics from 5.16):
    /// `pool += quota`; if the net runtime assigned since the last refill exceeded the quota
    /// (`runtime_snap − pool > 0`) count a burst; cap the pool at `quota + burst`.
    fn refill(&mut self) {
        let quota = self.params.quota_ns;
        self.pool_ns += quota;
        let over = self.snap_ns - self.pool_ns;
        if over > 0 {
            self.stat.burst_time_ns += over as u64;
            self.stat.nr_bursts += 1;
        }
        self.pool_ns = self.pool_ns.min(quota + self.params.burst_ns);
        self.snap_ns = self.pool_ns;
    }

    /// `distribute_cfs_runtime` (fair.c): walks the throttled list in FIFO order, giving each
    /// silo exactly `−remaining + 1 ns` while the pool lasts; silos that end up positive are
    /// unthrottled and pushed to `out`. Silos that could not be paid stay listed, in order.
    fn distribute(&mut self, now: u64, out: &mut Vec<u32>) {
        let n = self.throttled.len();
        for _ in 0..n {
            let Some(cpu) = self.throttled.pop_front() else {
                break;
            };
            if self.pool_ns <= 0 {
                self.throttled.push_back(cpu);
                continue;
            }
            let c = cpu as usize;
            let need = -self.silos[c].remaining_ns + 1;
            let give = need.min(self.pool_ns).max(0);
            self.pool_ns -= give;
            self.silos[c].remaining_ns += give;
            if self.silos[c].remaining_ns > 0 {
                self.unthrottle(c, now);
                out.push(cpu);
            } else {
                self.throttled.push_back(cpu);
            }
        }
    }

    /// `sched_cfs_period_timer` → `do_sched_cfs_period_timer` (fair.c, 5.14+): count the period,
    /// refill (even when idle: "Refill extra burst quota even if cfs_b->idle"), stop the timer after
    /// a period without assignments, otherwise count a throttled period and distribute.
    /// Unthrottled CPUs are pushed to `out`. Returns whether the timer keeps running (its next
    /// expiry is then `next_edge_ns`).
    pub fn period_edge(&mut self, now: u64, out: &mut Vec<u32>) -> bool {
        let throttled = !self.throttled.is_empty();
        self.stat.nr_periods += 1;
        self.refill();
        if self.idle && !throttled {
            self.timer_active = false;
            return false;
        }
        self.next_edge_ns = now + self.params.period_ns;
        if !throttled {
            // Mark as potentially idle for the upcoming period.
            self.idle = true;
            return true;
        }
        self.stat.nr_throttled += 1;
        // The kernel loops `while (throttled && cfs_b->runtime > 0)` because it drops the lock;
        // here one FIFO pass either pays every listed silo or empties the pool.
        if self.pool_ns > 0 {
            self.distribute(now, out);
        }
        self.idle = false;
        true
    }

    /// `runtime_refresh_within` (fair.c): is the next period edge less than `min_ns` away? Since
    /// 6.x the compare is signed (`remaining < (s64)min_expire`), so a stopped timer, whose expiry
    /// lies in the past, also counts as "within" (no slack redistribution without a period timer).
    fn refresh_within(&self, now: u64, min_ns: u64) -> bool {
        !self.timer_active || self.next_edge_ns.saturating_sub(now) < min_ns
    }

    /// `return_cfs_rq_runtime` → `__return_cfs_rq_runtime` (fair.c): when the last task leaves silo
    /// `cpu`, everything above `min_cfs_rq_runtime` (1 ms) goes back to the pool; if the pool then
    /// holds more than a slice and someone is throttled, arm the slack timer
    /// (`start_cfs_slack_bandwidth`: not within 7 ms of an edge, never pushed forward).
    pub fn return_slack(&mut self, cpu: usize, now: u64) {
        let slack = self.silos[cpu].remaining_ns - MIN_CFS_RQ_RUNTIME_NS;
        if slack <= 0 {
            return;
        }
        self.pool_ns += slack;
        self.silos[cpu].remaining_ns -= slack;
        if self.pool_ns > self.params.slice_ns && !self.throttled.is_empty() {
            if self.refresh_within(
                now,
                CFS_BANDWIDTH_SLACK_PERIOD_NS + MIN_BANDWIDTH_EXPIRATION_NS,
            ) {
                return;
            }
            if self.slack_pending {
                return;
            }
            self.slack_pending = true;
            self.arm_slack_at = Some(now + CFS_BANDWIDTH_SLACK_PERIOD_NS);
        }
    }

    /// `sched_cfs_slack_timer` → `do_sched_cfs_slack_timer` (fair.c): unless an edge is less than
    /// 2 ms away, distribute the pool if it holds more than a slice.
    pub fn slack_timer(&mut self, now: u64, out: &mut Vec<u32>) {
        self.slack_pending = false;
        if self.refresh_within(now, MIN_BANDWIDTH_EXPIRATION_NS) {
            return;
        }
        if self.pool_ns > self.params.slice_ns {
            self.distribute(now, out);
        }
    }

    /// Sum of positive silo runtime (runtime assigned but not yet consumed).
    pub fn silo_credit_ns(&self) -> i64 {
        self.silos.iter().map(|s| s.remaining_ns.max(0)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// Quota, period and burst in ms, the default 5 ms slice.
    fn params(quota_ms: i64, period_ms: u64, burst_ms: i64) -> BandwidthParams {
        BandwidthParams {
            quota_ns: quota_ms * MS,
            period_ns: period_ms * MS as u64,
            burst_ns: burst_ms * MS,
            slice_ns: 5 * MS,
        }
    }

    fn bw(quota_ms: i64, period_ms: u64, burst_ms: i64, cpus: usize) -> Bandwidth {
        Bandwidth::new(params(quota_ms, period_ms, burst_ms), cpus, 0, 0)
    }

    #[test]
    fn pull_is_slice_minus_remaining() {
        // Fact 6: a CPU in debt repays the debt and still gets a full slice.
        let mut b = bw(10, 100, 0, 1);
        b.charge(0, 3 * MS as u64);
        assert!(b.account(0, 0));
        assert_eq!(b.silos[0].remaining_ns, 5 * MS);
        assert_eq!(b.pool_ns, 2 * MS);
        assert!(b.timer_active && b.arm_edge);
        assert_eq!(b.next_edge_ns, 100 * MS as u64);
    }

    #[test]
    fn refill_caps_at_quota_plus_burst_and_counts_bursts() {
        // Fact 7 and the burst counters.
        let mut b = bw(100, 100, 50, 1);
        assert_eq!(b.pool_ns, 150 * MS);
        // Assign 130 ms net in the first period.
        b.pool_ns -= 130 * MS;
        b.refill();
        assert_eq!(b.stat.nr_bursts, 1);
        assert_eq!(b.stat.burst_time_ns, 30 * MS as u64);
        assert_eq!(b.pool_ns, 120 * MS);
        b.refill();
        assert_eq!(b.pool_ns, 150 * MS, "capped at quota + burst");
        assert_eq!(b.stat.nr_bursts, 1);
    }

    #[test]
    fn distribute_is_fifo_with_one_ns_grants() {
        // Fact 8.
        let mut b = bw(10, 100, 0, 3);
        b.pool_ns = 0;
        for (c, debt) in [(2usize, 2 * MS), (0, MS), (1, 9 * MS)] {
            b.silos[c].remaining_ns = -debt;
            assert!(b.throttle(c, 0, true));
        }
        b.pool_ns = 10 * MS;
        let mut out = Vec::new();
        b.distribute(50, &mut out);
        assert_eq!(out, vec![2, 0]);
        assert_eq!(b.silos[2].remaining_ns, 1);
        assert_eq!(b.silos[0].remaining_ns, 1);
        // CPU 1 got the rest (7 ms − 2 ns) and is still in debt, still listed.
        assert_eq!(b.silos[1].remaining_ns, -9 * MS + 7 * MS - 2);
        assert_eq!(b.throttled, VecDeque::from([1]));
        assert_eq!(b.pool_ns, 0);
        assert_eq!(b.stat.throttled_time_ns, 100);
    }

    #[test]
    fn slack_return_keeps_one_ms_and_arms_timer_only_far_from_edge() {
        // Facts 9 and 10.
        let mut b = bw(20, 100, 0, 2);
        b.assign(0, 5 * MS, 0); // timer starts, edge at 100 ms
        b.silos[1].remaining_ns = -MS;
        b.pool_ns = 0;
        assert!(b.throttle(1, 0, true));
        b.silos[0].remaining_ns = 8 * MS;
        b.return_slack(0, 10 * MS as u64);
        assert_eq!(b.silos[0].remaining_ns, MS);
        assert_eq!(b.pool_ns, 7 * MS);
        assert_eq!(b.arm_slack_at, Some(15 * MS as u64));
        // Close to the edge (< 7 ms) nothing is armed.
        let mut c = bw(20, 100, 0, 2);
        c.assign(0, 5 * MS, 0);
        c.silos[1].remaining_ns = -MS;
        c.pool_ns = 0;
        c.throttle(1, 0, true);
        c.silos[0].remaining_ns = 8 * MS;
        c.return_slack(0, 94 * MS as u64);
        assert_eq!(c.arm_slack_at, None);
    }

    #[test]
    fn start_up_draw_starts_the_timer_and_the_first_edge_refills() {
        let p = params(100, 100, 0);
        // The load starts 1 ms before an edge; the start-up drew 1 ms per CPU in this period.
        let mut b = Bandwidth::new(p, 2, MS as u64, 1);
        b.prefill_silos(MIN_CFS_RQ_RUNTIME_NS, true);
        assert!(b.timer_active && b.arm_edge);
        assert_eq!(b.next_edge_ns, MS as u64);
        assert_eq!(b.pool_ns, 98 * MS + 2);
        let mut out = Vec::new();
        assert!(
            b.period_edge(MS as u64, &mut out),
            "runtime was assigned: timer keeps going"
        );
        assert_eq!(b.pool_ns, 100 * MS);
        // An edge between the start-up and the load refilled the pool and marked the timer
        // idle: the first edge after the start refills and then stops it.
        let mut b = Bandwidth::new(p, 2, MS as u64, 1);
        b.prefill_silos(MIN_CFS_RQ_RUNTIME_NS, false);
        assert!(b.timer_active);
        assert!(
            !b.period_edge(MS as u64, &mut out),
            "idle period: timer stops"
        );
    }

    #[test]
    fn timer_goes_idle_after_a_quiet_period_and_keeps_its_grid() {
        let p = params(10, 100, 0);
        let mut b = Bandwidth::new(p, 1, 30 * MS as u64, 0);
        b.account(0, 40 * MS as u64);
        assert_eq!(b.next_edge_ns, 130 * MS as u64);
        let mut out = Vec::new();
        assert!(
            b.period_edge(130 * MS as u64, &mut out),
            "active period keeps the timer"
        );
        assert!(
            !b.period_edge(230 * MS as u64, &mut out),
            "quiet period stops it"
        );
        assert_eq!(b.stat.nr_periods, 2);
        assert_eq!(b.next_grid_after(555 * MS as u64), 630 * MS as u64);
        assert_eq!(b.next_grid_after(630 * MS as u64), 730 * MS as u64);
    }
}
