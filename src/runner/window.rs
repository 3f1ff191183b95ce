//! The measuring window (I/O shell behind two seams), one for load runs and command runs.
//!
//! In order: for a load run, sleep until 2 ms before the start instant (the period timer is
//! idle by then: the start is ≥ 2 periods after the detected edge); read every group's
//! counters (the baseline); open the window (the run group's usage, `/proc/stat`, the runner's
//! CPU); start the sampler at the start instant; launch the work (workers get `start T`, a
//! command is spawned or its container started: a command run's start is "now"); wait until
//! every process has exited; read the final counters; stop the sampler; close the window into
//! a [`RunInfo`] (wall time start → last exit, background load, the runner's own cost).
//!
//! The seams are [`Clock`] (instants, the runner's CPU, the machine's busy ticks) and
//! [`Workload`] (launching and waiting), so the accounting is unit-tested against the fake
//! kernel without root.

use super::clock::Clock;
use super::init::Event;
use super::sampler::{background_cores, GroupFiles, ProcStat, Sampler, USER_HZ};
use super::{RunError, RunInfo};
use crate::cgroupfs::Counters;
use crate::trace::Sample;
use std::sync::Arc;
use std::time::Duration;

/// Time before the start instant at which the baseline is read.
pub const BASELINE_LEAD_NS: u64 = 2_000_000;
/// Extra time a load run may take beyond its duration and drain before it is killed.
pub const LOAD_GRACE: Duration = Duration::from_secs(30);

/// What runs inside the window: the workers of a load run or one command.
pub(crate) trait Workload {
    /// A termination signal that arrived, if any.
    fn signal(&self) -> Option<i32>;
    /// Starts the work at `start_ns`.
    fn launch(&mut self, start_ns: u64) -> Result<(), RunError>;
    /// Waits until every process of the run has exited, a signal arrives or `limit` passes
    /// (`None`: no limit).
    fn wait(&mut self, limit: Option<Duration>) -> Event;
}

/// When the work starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// At this instant on the grid, with a time budget (duration + drain, ns) after it.
    At {
        /// The start instant, ns.
        start_ns: u64,
        /// How long the work should take after the start, ns.
        budget_ns: u64,
    },
    /// Right after the baseline, without a time limit (a command).
    Now,
}

/// The files and settings of one window.
pub(crate) struct Window<'a> {
    /// The clocks.
    pub clock: Arc<dyn Clock>,
    /// Counter files of the measured groups (slots order).
    pub files: &'a mut [GroupFiles],
    /// Counter files of the run's own group (everything kcpu started in this run).
    pub own: &'a mut GroupFiles,
    /// Sampling interval, ns.
    pub interval_ns: u64,
    /// One extra sample this long after the start (the end of the duration).
    pub mark_ns: Option<u64>,
    /// Noise threshold, cores.
    pub noisy_cores: f64,
    /// Run number.
    pub run: u32,
}

/// How a window ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// Every process exited.
    Done(Measured),
    /// A termination signal arrived (the sampler is stopped; the work was launched or not).
    Signal(i32),
    /// The work outlived its limit (the sampler is stopped).
    Timeout,
}

/// The counters and conditions of a completed window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measured {
    /// Conditions (phase fields unset: the schedule knows them).
    pub info: RunInfo,
    /// Counters of each group at the baseline.
    pub before: Vec<Counters>,
    /// Counters of each group after the last exit.
    pub after: Vec<Counters>,
    /// The start instant, ns.
    pub start_ns: u64,
    /// Start → last exit, ns.
    pub wall_ns: u64,
    /// Sampled timelines, one per group.
    pub timelines: Vec<Vec<Sample>>,
}

/// The window's opening readings.
struct Opening {
    t0: u64,
    own0: Counters,
    stat0: Option<ProcStat>,
    cpu0: u64,
}

fn read_all(files: &mut [GroupFiles]) -> Result<Vec<Counters>, RunError> {
    files
        .iter_mut()
        .map(|f| f.read().map_err(RunError::from))
        .collect()
}

impl Window<'_> {
    /// Runs `work` inside the window.
    pub fn measure(&mut self, start: Start, work: &mut dyn Workload) -> Result<Ended, RunError> {
        if let Start::At { start_ns, .. } = start {
            if let Some(sig) =
                self.sleep_until_or_signal(work, start_ns.saturating_sub(BASELINE_LEAD_NS))
            {
                return Ok(Ended::Signal(sig));
            }
        }
        let before = read_all(self.files)?;
        let opening = self.open()?;
        let (start_ns, limit) = match start {
            Start::At {
                start_ns,
                budget_ns,
            } => (start_ns, Some(budget_ns)),
            Start::Now => (self.clock.now_ns(), None),
        };
        let mut sfiles = Vec::new();
        for f in self.files.iter() {
            sfiles.push(f.reopen()?);
        }
        let sampler = Sampler::start_with_mark(
            sfiles,
            start_ns,
            self.interval_ns,
            self.clock.clone(),
            self.mark_ns,
        );
        if let Err(e) = work.launch(start_ns) {
            drop(sampler.stop());
            return Err(e);
        }
        let limit = limit.map(|budget| {
            Duration::from_nanos(start_ns.saturating_sub(self.clock.now_ns()) + budget) + LOAD_GRACE
        });
        match work.wait(limit) {
            Event::AllExited => {}
            Event::Signal(sig) => {
                drop(sampler.stop());
                return Ok(Ended::Signal(sig));
            }
            Event::Timeout => {
                drop(sampler.stop());
                return Ok(Ended::Timeout);
            }
        }
        let end = self.clock.now_ns();
        let after = read_all(self.files)?;
        let sampled = sampler.stop();
        let info = self.close(&opening, start_ns, end, sampled.cpu_ns);
        Ok(Ended::Done(Measured {
            info,
            before,
            after,
            start_ns,
            wall_ns: end.saturating_sub(start_ns),
            timelines: sampled.timelines,
        }))
    }

    /// Sleeps until `deadline_ns` in short steps; returns a termination signal if one arrives.
    fn sleep_until_or_signal(&self, work: &dyn Workload, deadline_ns: u64) -> Option<i32> {
        loop {
            if let Some(s) = work.signal() {
                return Some(s);
            }
            let now = self.clock.now_ns();
            if now >= deadline_ns {
                return None;
            }
            self.clock.sleep_until(deadline_ns.min(now + 20_000_000));
        }
    }

    fn open(&mut self) -> Result<Opening, RunError> {
        Ok(Opening {
            t0: self.clock.now_ns(),
            own0: self.own.read()?,
            stat0: self.clock.proc_stat(),
            cpu0: self.clock.process_cpu_ns(),
        })
    }

    fn close(&mut self, w: &Opening, start: u64, end: u64, sampler_cpu_ns: u64) -> RunInfo {
        let own1 = self.own.read().unwrap_or(w.own0);
        let stat1 = self.clock.proc_stat();
        let cpu1 = self.clock.process_cpu_ns();
        let wall = end.saturating_sub(start).max(1);
        let window = self.clock.now_ns().saturating_sub(w.t0).max(1);
        let (busy, steal, nice) = match (w.stat0, stat1) {
            (Some(a), Some(b)) => (
                b.busy_ticks.saturating_sub(a.busy_ticks),
                b.steal_ticks.saturating_sub(a.steal_ticks),
                b.nice_ticks.saturating_sub(a.nice_ticks),
            ),
            _ => (0, 0, 0),
        };
        let ticks_to_cores = |t: u64| t as f64 * (1e9 / USER_HZ as f64) / window as f64;
        let runner_ns = cpu1.saturating_sub(w.cpu0);
        let bg = background_cores(
            busy,
            own1.usage_us.saturating_sub(w.own0.usage_us),
            runner_ns,
            window,
        );
        RunInfo {
            run: self.run,
            phase_us: None,
            edge_uncertainty_us: None,
            edge_ns: None,
            wall_ms: wall as f64 / 1e6,
            background_cores: bg,
            steal_cores: ticks_to_cores(steal),
            nice_cores: ticks_to_cores(nice),
            noisy: bg > self.noisy_cores,
            runner_cpu_cores: runner_ns as f64 / window as f64,
            sampler_cpu_cores: sampler_cpu_ns as f64 / window as f64,
            edge_poll_cpu_ms: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::fake::FakeKernel;
    use crate::cgroupfs::{CgroupVersion, Group};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// A scripted clock: time moves only when something sleeps or the test advances it.
    #[derive(Default)]
    struct FakeClock {
        now: AtomicU64,
        cpu: AtomicU64,
        stat: Mutex<Option<ProcStat>>,
    }

    impl FakeClock {
        fn advance(&self, ns: u64, cpu_ns: u64, busy_ticks: u64) {
            self.now.fetch_add(ns, Ordering::SeqCst);
            self.cpu.fetch_add(cpu_ns, Ordering::SeqCst);
            let mut s = self.stat.lock().unwrap();
            if let Some(s) = s.as_mut() {
                s.busy_ticks += busy_ticks;
                s.nice_ticks += busy_ticks / 4;
            }
        }
    }

    impl Clock for FakeClock {
        fn now_ns(&self) -> u64 {
            self.now.load(Ordering::SeqCst)
        }
        fn process_cpu_ns(&self) -> u64 {
            self.cpu.load(Ordering::SeqCst)
        }
        fn sleep_until(&self, deadline_ns: u64) {
            self.now.fetch_max(deadline_ns, Ordering::SeqCst);
        }
        fn proc_stat(&self) -> Option<ProcStat> {
            *self.stat.lock().unwrap()
        }
    }

    fn write_counters(dir: &Path, periods: u64, throttled: u64, thr_ns: u64, usage_ns: u64) {
        std::fs::write(
            dir.join("cpu.stat"),
            format!("nr_periods {periods}\nnr_throttled {throttled}\nthrottled_time {thr_ns}\n"),
        )
        .unwrap();
        std::fs::write(dir.join("cpuacct.usage"), format!("{usage_ns}\n")).unwrap();
    }

    /// The work: while "running" (inside `wait`) 2 s pass, the group is throttled in 15 of
    /// 20 periods and uses 0.5 s, the run group 0.6 s, the runner 10 ms, the machine 2.1 s.
    struct FakeWork {
        clock: Arc<FakeClock>,
        group: PathBuf,
        own: PathBuf,
        launched: Vec<u64>,
        signal_before_start: Option<i32>,
        outcome: Event,
        busy_ticks: u64,
        limits: Vec<Option<Duration>>,
    }

    impl Workload for FakeWork {
        fn signal(&self) -> Option<i32> {
            self.signal_before_start
        }
        fn launch(&mut self, start_ns: u64) -> Result<(), RunError> {
            assert!(self.clock.now_ns() <= start_ns, "launched after the start");
            self.launched.push(start_ns);
            Ok(())
        }
        fn wait(&mut self, limit: Option<Duration>) -> Event {
            self.limits.push(limit);
            self.clock
                .advance(2_000_000_000, 10_000_000, self.busy_ticks);
            write_counters(&self.group, 25, 17, 900_000_000, 1_700_000_000);
            write_counters(&self.own, 25, 17, 900_000_000, 1_850_000_000);
            self.outcome
        }
    }

    struct Setup {
        _k: FakeKernel,
        clock: Arc<FakeClock>,
        files: Vec<GroupFiles>,
        own: GroupFiles,
        work: FakeWork,
    }

    fn setup(outcome: Event) -> Setup {
        let k = FakeKernel::new(CgroupVersion::V1);
        let (g, o) = (k.group("g"), k.group("own"));
        // Before the run: 5 periods, 2 throttled, 1.2 s used (the run group 1.25 s).
        write_counters(&g, 5, 2, 100_000_000, 1_200_000_000);
        write_counters(&o, 5, 2, 100_000_000, 1_250_000_000);
        let clock = Arc::new(FakeClock::default());
        clock.now.store(1_000_000_000_000, Ordering::SeqCst);
        *clock.stat.lock().unwrap() = Some(ProcStat {
            busy_ticks: 10_000,
            steal_ticks: 0,
            nice_ticks: 0,
        });
        let group = |d: &PathBuf| Group {
            version: CgroupVersion::V1,
            cpu_dir: d.clone(),
            acct_dir: None,
        };
        Setup {
            files: vec![GroupFiles::open(&group(&g)).unwrap()],
            own: GroupFiles::open(&group(&o)).unwrap(),
            work: FakeWork {
                clock: clock.clone(),
                group: g,
                own: o,
                launched: Vec::new(),
                signal_before_start: None,
                outcome,
                busy_ticks: 210,
                limits: Vec::new(),
            },
            clock,
            _k: k,
        }
    }

    fn window<'a>(s: &'a mut Setup) -> (Window<'a>, &'a mut FakeWork) {
        (
            Window {
                clock: s.clock.clone(),
                files: &mut s.files,
                own: &mut s.own,
                interval_ns: 100_000_000,
                mark_ns: None,
                noisy_cores: 0.2,
                run: 3,
            },
            &mut s.work,
        )
    }

    #[test]
    fn a_load_window_counts_from_the_baseline_to_the_last_exit() {
        let mut s = setup(Event::AllExited);
        let t = s.clock.now_ns();
        let start_ns = t + 50_000_000;
        let (mut w, work) = window(&mut s);
        let Ended::Done(m) = w
            .measure(
                Start::At {
                    start_ns,
                    budget_ns: 1_500_000_000,
                },
                work,
            )
            .unwrap()
        else {
            panic!("not done")
        };
        assert_eq!(work.launched, vec![start_ns]);
        // The limit: what is left until the start (2 ms) + the budget + the grace.
        assert_eq!(work.limits, vec![Some(Duration::from_millis(31_502))]);
        // The baseline is read 2 ms before the start, after the sleep.
        assert_eq!(m.start_ns, start_ns);
        assert_eq!(
            (m.before[0].stat.nr_periods, m.before[0].usage_us),
            (5, 1_200_000)
        );
        assert_eq!(
            (m.after[0].stat.nr_periods, m.after[0].usage_us),
            (25, 1_700_000)
        );
        // Wall time runs from the start instant (not the baseline) to the last exit.
        assert_eq!(m.wall_ns, 2_000_000_000 - BASELINE_LEAD_NS);
        assert!(
            (m.info.wall_ms - 1_998.0).abs() < 1e-9,
            "{}",
            m.info.wall_ms
        );
        // Background: 2.1 s busy − 0.6 s of the run group − 10 ms of the runner over the
        // 2 s window.
        let window_ns = 2_000_000_000.0;
        let want_bg = (2.1e9 - 0.6e9 - 10e6) / window_ns;
        assert!(
            (m.info.background_cores - want_bg).abs() < 1e-9,
            "{} vs {want_bg}",
            m.info.background_cores
        );
        assert!(m.info.noisy);
        assert!((m.info.runner_cpu_cores - 0.005).abs() < 1e-12);
        assert!((m.info.nice_cores - 52.0 * 1e7 / window_ns).abs() < 1e-9);
        assert_eq!(m.info.run, 3);
        assert_eq!(m.timelines.len(), 1);
        let totals = crate::runner::measure::run_totals(&m.before[0], &m.after[0], m.wall_ns, &[]);
        assert_eq!((totals.nr_periods, totals.nr_throttled), (20, 15));
        assert_eq!(totals.throttled_time_us, 800_000);
        assert!((totals.usage_cores - 0.5e9 / m.wall_ns as f64).abs() < 1e-12);
    }

    #[test]
    fn a_command_window_starts_right_after_the_baseline() {
        let mut s = setup(Event::AllExited);
        let t = s.clock.now_ns();
        let (mut w, work) = window(&mut s);
        let Ended::Done(m) = w.measure(Start::Now, work).unwrap() else {
            panic!("not done")
        };
        assert_eq!(work.launched, vec![t]);
        assert_eq!(work.limits, vec![None]);
        assert_eq!((m.start_ns, m.wall_ns), (t, 2_000_000_000));
        assert_eq!(m.before[0].stat.nr_periods, 5);
        // Each sample is relative to the start; the first is due at once.
        if let Some(first) = m.timelines[0].first() {
            assert!(first.t_ns <= 2_000_000_000);
        }
        assert!((m.info.background_cores - 0.745).abs() < 1e-9);
        // Nothing else moved: a machine busy only with the run is not noisy (clamped at 0).
        let mut s = setup(Event::AllExited);
        s.work.busy_ticks = 50;
        let (mut w, work) = window(&mut s);
        let Ended::Done(m) = w.measure(Start::Now, work).unwrap() else {
            panic!("not done")
        };
        assert_eq!((m.info.background_cores, m.info.noisy), (0.0, false));
    }

    #[test]
    fn a_signal_before_the_start_launches_nothing() {
        let mut s = setup(Event::AllExited);
        s.work.signal_before_start = Some(15);
        let start_ns = s.clock.now_ns() + 50_000_000;
        let (mut w, work) = window(&mut s);
        let e = w
            .measure(
                Start::At {
                    start_ns,
                    budget_ns: 0,
                },
                work,
            )
            .unwrap();
        assert!(matches!(e, Ended::Signal(15)), "{e:?}");
        assert!(work.launched.is_empty());
    }

    #[test]
    fn signals_and_timeouts_while_running_end_the_window() {
        for (ev, want) in [(Event::Signal(2), "Signal(2)"), (Event::Timeout, "Timeout")] {
            let mut s = setup(ev);
            let (mut w, work) = window(&mut s);
            let e = w.measure(Start::Now, work).unwrap();
            assert_eq!(format!("{e:?}"), want);
            assert_eq!(work.launched.len(), 1);
        }
    }
}
