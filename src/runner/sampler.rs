//! Counter sampling from outside the limited cgroups (I/O shell).
//!
//! - [`GroupFiles`] keeps `cpu.stat`, the usage file (v1 `cpuacct.usage`, v2 `cpu.stat`
//!   `usage_usec`) and `cpu.pressure` open and re-reads them with `pread` at offset 0 (the kernel
//!   regenerates seq files on each read; a read costs microseconds; `cfs.md` §7.2).
//! - [`find_edge`] finds a period edge: the period timer is not aligned with any clock a
//!   program can read, so it polls `nr_periods` every [`EDGE_POLL_NS`] until it increments.
//! - [`Sampler`] is a thread in the runner process (never in a limited cgroup) that reads every
//!   group every `--interval` on an absolute schedule (no drift) into a timeline.
//! - [`ProcStat`] reads the machine's busy time from `/proc/stat` for the background-noise
//!   estimate.

use super::clock::{now_ns, precise_timers, sleep_until, thread_cpu_ns, Clock};
use crate::cgroupfs::{
    parse_cpuacct_usage, parse_pressure, parse_stat, CgroupError, CgroupVersion, Counters, Group,
    Op,
};
use crate::trace::Sample;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// Sleep between two `nr_periods` reads while looking for a period edge.
pub const EDGE_POLL_NS: u64 = 50_000;
/// The machine-wide CPU statistics file.
pub const PROC_STAT: &str = "/proc/stat";
/// `USER_HZ`: the unit of `/proc/stat` (100 on every Linux ABI kcpu targets, x86-64 and arm64;
/// proc(5): "units of USER_HZ (1/100ths of a second on most architectures)").
pub const USER_HZ: u64 = 100;

struct Opened {
    path: PathBuf,
    file: File,
}

impl Opened {
    fn open(path: PathBuf) -> Result<Opened, CgroupError> {
        let file = File::open(&path).map_err(|source| CgroupError::Io {
            op: Op::Open,
            path: path.clone(),
            source,
        })?;
        Ok(Opened { path, file })
    }

    fn read<'a>(&self, buf: &'a mut Vec<u8>) -> Result<&'a str, CgroupError> {
        buf.resize(4096, 0);
        let mut n = 0;
        loop {
            let got = self
                .file
                .read_at(&mut buf[n..], n as u64)
                .map_err(|source| CgroupError::Io {
                    op: Op::Read,
                    path: self.path.clone(),
                    source,
                })?;
            if got == 0 {
                break;
            }
            n += got;
            if n == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
        }
        std::str::from_utf8(&buf[..n]).map_err(|_| CgroupError::Parse {
            path: self.path.clone(),
            reason: "not UTF-8".into(),
        })
    }
}

/// Open counter files of one group.
pub struct GroupFiles {
    version: CgroupVersion,
    stat: Opened,
    usage: Option<Opened>,
    pressure: Option<Opened>,
    buf: Vec<u8>,
}

impl GroupFiles {
    /// Opens the files of `g` (pressure only when the kernel has it).
    pub fn open(g: &Group) -> Result<GroupFiles, CgroupError> {
        let stat = Opened::open(g.stat_path())?;
        let usage = match g.version {
            CgroupVersion::V1 => Some(Opened::open(g.usage_path())?),
            CgroupVersion::V2 => None,
        };
        let pressure = g.pressure_path().and_then(|p| Opened::open(p).ok());
        Ok(GroupFiles {
            version: g.version,
            stat,
            usage,
            pressure,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Opens the same files again (a second reader for the sampler thread).
    pub fn reopen(&self) -> Result<GroupFiles, CgroupError> {
        Ok(GroupFiles {
            version: self.version,
            stat: Opened::open(self.stat.path.clone())?,
            usage: self
                .usage
                .as_ref()
                .map(|u| Opened::open(u.path.clone()))
                .transpose()?,
            pressure: self
                .pressure
                .as_ref()
                .and_then(|p| Opened::open(p.path.clone()).ok()),
            buf: Vec::with_capacity(4096),
        })
    }

    /// Reads `nr_periods` only (edge polling).
    pub fn nr_periods(&mut self) -> Result<u64, CgroupError> {
        let text = self.stat.read(&mut self.buf)?;
        Ok(parse_stat(&self.stat.path, text)?.nr_periods)
    }

    /// Reads every counter.
    pub fn read(&mut self) -> Result<Counters, CgroupError> {
        let text = self.stat.read(&mut self.buf)?;
        let stat = parse_stat(&self.stat.path, text)?;
        let usage_us = match (&self.version, &self.usage) {
            (CgroupVersion::V1, Some(u)) => {
                let t = u.read(&mut self.buf)?;
                parse_cpuacct_usage(&u.path, t)?.as_usec().0
            }
            _ => stat.usage_us.unwrap_or(0),
        };
        let (mut some, mut full) = (None, None);
        if let Some(p) = &self.pressure {
            // PSI can be disabled per group (cgroup.pressure = 0): then reads fail; skip quietly.
            if let Ok(t) = p.read(&mut self.buf) {
                if let Ok((s, f)) = parse_pressure(&p.path, t) {
                    some = Some(s);
                    full = f;
                }
            }
        }
        Ok(Counters {
            stat,
            usage_us,
            pressure_some_us: some,
            pressure_full_us: full,
        })
    }
}

/// A detected period edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Best estimate of the edge on `CLOCK_MONOTONIC`, ns (midpoint of the bracket).
    pub at_ns: u64,
    /// Half-width of the bracket the edge lies in, ns.
    pub uncertainty_ns: u64,
    /// CPU time the polling cost, ns.
    pub cpu_ns: u64,
}

/// Polls `nr_periods` every `poll_ns` until it increments; the edge lies between the start of
/// the last read that saw the old value and the end of the first read that saw the new one.
/// `None` when no edge came before `deadline_ns` (the period timer is idle).
pub fn find_edge(
    files: &mut GroupFiles,
    deadline_ns: u64,
    poll_ns: u64,
) -> Result<Option<Edge>, CgroupError> {
    precise_timers();
    let c0 = thread_cpu_ns();
    let mut before = now_ns();
    let n0 = files.nr_periods()?;
    loop {
        sleep_until(now_ns() + poll_ns);
        let t_read = now_ns();
        let n = files.nr_periods()?;
        let after = now_ns();
        if n != n0 {
            return Ok(Some(Edge {
                at_ns: before + (after - before) / 2,
                uncertainty_ns: (after - before) / 2,
                cpu_ns: thread_cpu_ns().saturating_sub(c0),
            }));
        }
        before = t_read;
        if after >= deadline_ns {
            return Ok(None);
        }
    }
}

/// Poll step of the coarse search.
pub const COARSE_POLL_NS: u64 = 2_000_000;
/// A bracket narrower than this needs no refinement.
pub const GOOD_EDGE_NS: u64 = 250_000;

/// Finds the period grid cheaply: a coarse search (every [`COARSE_POLL_NS`], at most 3 periods)
/// brackets the first edge to about ±1 ms; then a fine search (every [`EDGE_POLL_NS`]) runs only
/// in a window around the next edge, one period later. After activity the timer fires at least
/// twice before it goes idle (`cfs.md` correction 5), and polling starts right after the
/// workers' last activity, so the next edge normally comes; if it does not, or the fine bracket
/// is wider (the polling thread was delayed), the tighter of the two is kept. Edges lie on one
/// grid, so either one defines it.
pub fn find_grid(files: &mut GroupFiles, period_ns: u64) -> Result<Option<Edge>, CgroupError> {
    let Some(coarse) = find_edge(
        files,
        now_ns() + 3 * period_ns + 100_000_000,
        COARSE_POLL_NS,
    )?
    else {
        return Ok(None);
    };
    if coarse.uncertainty_ns <= GOOD_EDGE_NS {
        return Ok(Some(coarse));
    }
    let margin = coarse.uncertainty_ns + 1_000_000;
    sleep_until((coarse.at_ns + period_ns).saturating_sub(margin));
    let fine = find_edge(files, coarse.at_ns + period_ns + margin, EDGE_POLL_NS)?;
    let cpu_ns = coarse.cpu_ns + fine.map_or(0, |f| f.cpu_ns);
    let mut best = match fine {
        Some(f) if f.uncertainty_ns < coarse.uncertainty_ns => f,
        _ => coarse,
    };
    best.cpu_ns = cpu_ns;
    Ok(Some(best))
}

/// Timelines and cost of one sampler run.
#[derive(Debug, Clone, Default)]
pub struct SamplerOutput {
    /// One timeline per group, `t_ns` relative to the sampler's start instant.
    pub timelines: Vec<Vec<Sample>>,
    /// Pressure totals (`some`, `full`) at each sample, per group (v2).
    pub pressure: Vec<Vec<(Option<u64>, Option<u64>)>>,
    /// CPU time of the sampler thread, ns.
    pub cpu_ns: u64,
    /// Reads that failed (the group vanished, e.g. at teardown).
    pub errors: u64,
}

/// The sampling thread.
pub struct Sampler {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: std::thread::JoinHandle<SamplerOutput>,
}

fn to_sample(t_ns: u64, c: &Counters) -> Sample {
    Sample {
        t_ns,
        nr_periods: c.stat.nr_periods,
        nr_throttled: c.stat.nr_throttled,
        throttled_time_us: c.stat.throttled_time_us,
        usage_us: c.usage_us,
    }
}

/// How long before the load's start the opening sample is read. It stands for t = 0 (its `t_ns`
/// is 0): the load's threads have woken for the start message and wait for `t0`, so the group
/// is idle then. A sample read *at* `t0` came late whenever the load starts on every CPU at
/// once: the sampler had to wait for a tick to preempt a worker (1.8 ms on cgroup v1, kernel
/// 6.18, HZ 250, `perf record -e sched:sched_switch` of an `above-quota` run:
/// `tests/data/fidelity/traces/above-quota-first-sample.tsv`), so usage over
/// `[0, duration)` missed the first 1.8 ms of two busy CPUs (0.102 instead of 0.105 cores).
pub const OPENING_LEAD_NS: u64 = 500_000;

/// When regular sample `k` of a window opening at `t0_ns` is due: the opening sample
/// [`OPENING_LEAD_NS`] before `t0_ns`, then every `interval_ns` after it.
fn sample_due_ns(t0_ns: u64, k: u64, interval_ns: u64) -> u64 {
    if k == 0 {
        t0_ns.saturating_sub(OPENING_LEAD_NS)
    } else {
        t0_ns + k * interval_ns
    }
}

impl Sampler {
    /// Starts sampling `groups` at `t0_ns` and then every `interval_ns` of `clock` (the first
    /// sample [`OPENING_LEAD_NS`] before `t0_ns`, recorded as t = 0).
    pub fn start(
        groups: Vec<GroupFiles>,
        t0_ns: u64,
        interval_ns: u64,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Sampler {
        Sampler::start_with_mark(groups, t0_ns, interval_ns, clock, None)
    }

    /// Like [`Sampler::start`], plus one sample at `t0 + mark_ns` (the end of the duration, so
    /// usage over `[0, duration)` is read there instead of interpolated between two samples:
    /// a throttled group uses its quota at the start of each period, so a straight line between
    /// two period samples misses up to a whole quota).
    pub fn start_with_mark(
        mut groups: Vec<GroupFiles>,
        t0_ns: u64,
        interval_ns: u64,
        clock: std::sync::Arc<dyn Clock>,
        mark_ns: Option<u64>,
    ) -> Sampler {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop2 = stop.clone();
        let interval_ns = interval_ns.max(1_000_000);
        let handle = std::thread::spawn(move || {
            let c0 = thread_cpu_ns();
            let mut out = SamplerOutput {
                timelines: vec![Vec::new(); groups.len()],
                pressure: vec![Vec::new(); groups.len()],
                ..Default::default()
            };
            let mut k = 0u64;
            let mut mark = mark_ns.map(|m| t0_ns + m);
            loop {
                let regular = sample_due_ns(t0_ns, k, interval_ns);
                let (due, is_mark) = match mark {
                    Some(m) if m < regular => (m, true),
                    Some(m) if m == regular => {
                        mark = None;
                        (regular, false)
                    }
                    _ => (regular, false),
                };
                {
                    let (m, cv) = &*stop2;
                    let mut stopped = m.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        if *stopped {
                            out.cpu_ns = thread_cpu_ns().saturating_sub(c0);
                            return out;
                        }
                        let now = clock.now_ns();
                        if now >= due {
                            break;
                        }
                        let wait = std::time::Duration::from_nanos(due - now);
                        stopped = cv
                            .wait_timeout(stopped, wait)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
                let t = clock.now_ns().saturating_sub(t0_ns);
                for (i, g) in groups.iter_mut().enumerate() {
                    match g.read() {
                        Ok(c) => {
                            out.timelines[i].push(to_sample(t, &c));
                            out.pressure[i].push((c.pressure_some_us, c.pressure_full_us));
                        }
                        Err(_) => out.errors += 1,
                    }
                }
                if is_mark {
                    mark = None;
                } else {
                    k += 1;
                }
            }
        });
        Sampler { stop, handle }
    }

    /// Stops the thread and returns what it sampled.
    pub fn stop(self) -> SamplerOutput {
        {
            let (m, cv) = &*self.stop;
            *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cv.notify_all();
        }
        self.handle.join().unwrap_or_default()
    }
}

/// Machine-wide busy time from the `cpu` line of `/proc/stat`, in USER_HZ ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcStat {
    /// user + nice + system + irq + softirq + steal (guest time is inside user/nice).
    pub busy_ticks: u64,
    /// Steal ticks (time a hypervisor gave to someone else).
    pub steal_ticks: u64,
    /// `nice` ticks: user time of processes with a positive nice value (e.g. builds under
    /// `nice -n 19`), a subset of `busy_ticks`.
    pub nice_ticks: u64,
}

impl ProcStat {
    /// Parses the aggregate `cpu` line (proc(5) field order: user nice system idle iowait irq
    /// softirq steal guest guest_nice).
    pub fn parse(text: &str) -> Option<ProcStat> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        let f = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(ProcStat {
            busy_ticks: f(0) + f(1) + f(2) + f(5) + f(6) + f(7),
            steal_ticks: f(7),
            nice_ticks: f(1),
        })
    }

    /// Reads `/proc/stat` (`None` when unavailable).
    pub fn read() -> Option<ProcStat> {
        ProcStat::parse(&std::fs::read_to_string(Path::new(PROC_STAT)).ok()?)
    }
}

/// CPU cores used by everything else on the machine during a window: machine busy time minus
/// our groups' usage and the runner's own CPU, divided by the wall time. Clamped at 0 (the
/// tick-based `/proc/stat` and the ns-based cgroup counters disagree by a few ms).
pub fn background_cores(
    busy_delta_ticks: u64,
    own_usage_us: u64,
    runner_cpu_ns: u64,
    wall_ns: u64,
) -> f64 {
    if wall_ns == 0 {
        return 0.0;
    }
    let busy_ns = busy_delta_ticks as f64 * (1e9 / USER_HZ as f64);
    let other = busy_ns - own_usage_us as f64 * 1e3 - runner_cpu_ns as f64;
    (other / wall_ns as f64).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_sample_is_due_before_the_load_starts() {
        // Read at t0 itself it would wait behind the load's threads (they start on every CPU
        // at t0) and miss the start of the load's usage.
        assert_eq!(
            sample_due_ns(10_000_000, 0, 1_000_000),
            10_000_000 - OPENING_LEAD_NS
        );
        assert_eq!(sample_due_ns(10_000_000, 1, 1_000_000), 11_000_000);
        assert_eq!(sample_due_ns(10_000_000, 3, 1_000_000), 13_000_000);
        assert_eq!(sample_due_ns(100, 0, 1_000_000), 0);
    }

    #[test]
    fn proc_stat_and_background() {
        let s = ProcStat::parse("cpu  100 5 50 1000 7 3 2 10 0 0\ncpu0 1 1 1 1\n").unwrap();
        assert_eq!(s.busy_ticks, 100 + 5 + 50 + 3 + 2 + 10);
        assert_eq!(s.steal_ticks, 10);
        assert_eq!(s.nice_ticks, 5);
        assert!(ProcStat::parse("intr 1").is_none());
        assert!(ProcStat::read().is_some());
        // 2 s of busy ticks over 1 s, of which 1 s was ours and 0.1 s the runner: 0.9 cores.
        let b = background_cores(200, 1_000_000, 100_000_000, 1_000_000_000);
        assert!((b - 0.9).abs() < 1e-9, "{b}");
        assert_eq!(background_cores(0, 5, 5, 1), 0.0);
        assert_eq!(background_cores(1, 0, 0, 0), 0.0);
    }

    #[test]
    fn pread_rereads_a_changing_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cpu.stat");
        std::fs::write(
            &p,
            "nr_periods 1\nnr_throttled 0\nthrottled_usec 0\nusage_usec 5\n",
        )
        .unwrap();
        let g = Group {
            version: CgroupVersion::V2,
            cpu_dir: d.path().to_path_buf(),
            acct_dir: None,
        };
        let mut f = GroupFiles::open(&g).unwrap();
        assert_eq!(f.nr_periods().unwrap(), 1);
        std::fs::write(
            &p,
            "nr_periods 2\nnr_throttled 1\nthrottled_usec 10\nusage_usec 50\n",
        )
        .unwrap();
        let c = f.read().unwrap();
        assert_eq!(
            (c.stat.nr_periods, c.usage_us, c.pressure_some_us),
            (2, 50, None)
        );
        // A long file is read whole.
        let long: String =
            (0..400).map(|i| format!("k{i} {i}\n")).collect::<String>() + "nr_periods 9\n";
        std::fs::write(&p, long).unwrap();
        assert_eq!(f.nr_periods().unwrap(), 9);
    }

    /// A fake `cpu.stat` whose `nr_periods` a thread bumps every `period` from `t0`; returns
    /// the instants just before and just after each write.
    #[allow(clippy::type_complexity)]
    fn ticking(
        period_ms: u64,
        ticks: u64,
    ) -> (
        tempfile::TempDir,
        GroupFiles,
        u64,
        std::thread::JoinHandle<Vec<(u64, u64)>>,
    ) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cpu.stat");
        std::fs::write(&p, "nr_periods 0\n").unwrap();
        let g = Group {
            version: CgroupVersion::V2,
            cpu_dir: d.path().to_path_buf(),
            acct_dir: None,
        };
        let f = GroupFiles::open(&g).unwrap();
        let t0 = now_ns() + 15_000_000;
        let h = std::thread::spawn(move || {
            precise_timers();
            (1..=ticks)
                .map(|k| {
                    sleep_until(t0 + k * period_ms * 1_000_000);
                    let before = now_ns();
                    std::fs::write(&p, format!("nr_periods {k}\n")).unwrap();
                    (before, now_ns())
                })
                .collect()
        });
        (d, f, t0, h)
    }

    /// Whether the edge estimate overlaps one of the write windows.
    fn matches(e: &Edge, writes: &[(u64, u64)]) -> bool {
        writes.iter().any(|&(b, a)| {
            e.at_ns + e.uncertainty_ns + 500_000 >= b && e.at_ns <= a + e.uncertainty_ns + 500_000
        })
    }

    #[test]
    fn finds_an_edge_within_its_bracket() {
        let (_d, mut f, t0, h) = ticking(30, 1);
        let e = find_edge(&mut f, t0 + 200_000_000, EDGE_POLL_NS)
            .unwrap()
            .unwrap();
        let writes = h.join().unwrap();
        assert!(matches(&e, &writes), "{e:?} vs {writes:?}");
        // No more edges: None after the deadline.
        assert!(find_edge(&mut f, now_ns() + 20_000_000, 1_000_000)
            .unwrap()
            .is_none());
    }

    #[test]
    fn grid_search_refines_the_coarse_edge() {
        let (_d, mut f, _t0, h) = ticking(40, 4);
        let e = find_grid(&mut f, 40_000_000).unwrap().unwrap();
        let writes = h.join().unwrap();
        assert!(matches(&e, &writes), "{e:?} {writes:?}");
        assert!(e.uncertainty_ns < COARSE_POLL_NS, "refined: {e:?}");
    }

    #[test]
    fn sampler_samples_on_schedule_and_stops() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cpu.stat"), "nr_periods 3\nusage_usec 7\n").unwrap();
        let g = Group {
            version: CgroupVersion::V2,
            cpu_dir: d.path().to_path_buf(),
            acct_dir: None,
        };
        let s = Sampler::start(
            vec![GroupFiles::open(&g).unwrap()],
            now_ns(),
            5_000_000,
            std::sync::Arc::new(crate::runner::clock::SystemClock),
        );
        std::thread::sleep(std::time::Duration::from_millis(28));
        let out = s.stop();
        let n = out.timelines[0].len();
        assert!((4..=8).contains(&n), "{n}");
        assert_eq!(out.timelines[0][0].nr_periods, 3);
        assert!(out.timelines[0].windows(2).all(|w| w[1].t_ns > w[0].t_ns));
    }
}
