//! The `kcpu record` sampler (I/O shell): follows a command, a PID or a cgroup and streams a
//! per-thread CPU trace ([`super::format`]).
//!
//! Every `interval` (1 ms by default) the sampler reads field 1 of
//! `/proc/<pid>/task/<tid>/schedstat` of every tracked thread — `sum_exec_runtime` in ns, the
//! clock CFS bandwidth charges (kernel `fs/proc/base.c` `proc_pid_schedstat` prints
//! `task->se.sum_exec_runtime`, then `run_delay`, then `pcount`) — through a file descriptor
//! kept open per thread (one `pread` per thread and sample; opening and closing the file each
//! time costs several times more). Threads with CPU since the previous sample get a row.
//!
//! The sampler looks for new threads and processes at the start, every `rescan` (100 ms by
//! default; child processes on every [`CHILDREN_EVERY`]th), and at once when a process's CPU
//! clock moved by more than its tracked threads account for (a thread it does not know ran, or
//! one exited): a new thread of a known process is found in the sample in which it first uses
//! CPU, without listing `/proc/<pid>/task` 50 times a second. A rescan lists:
//! - command or `--pid`: the root process's tasks (`/proc/<pid>/task`) and, recursively, the
//!   children each task lists in `/proc/<pid>/task/<tid>/children` (kernel
//!   `fs/proc/array.c` `children_seq_show`; needs `CONFIG_PROC_CHILDREN`, else only the root
//!   process's threads are followed and the trace header says so);
//! - `--cgroup DIR`: the thread ids in `DIR/tasks` (v1) or `DIR/cgroup.threads` (v2).
//!
//! A thread found by a rescan contributes all CPU it used since it started to its first row
//! (threads present when an attach starts contribute only what they use afterwards). A thread
//! that starts and exits between two rescans is not seen; for a command, the sampler compares
//! the trace's total with the CPU the kernel reports for the reaped command (`getrusage`
//! `RUSAGE_CHILDREN`) and prints the coverage.
//!
//! Cost: before reading a process's threads the sampler reads the process's CPU clock (one
//! system call, [`crate::runner::spawn::process_cpu_clock_ns`]); when it has not moved, none
//! of its threads ran and none is read. A thread idle for [`IDLE_AFTER`] samples is read on
//! every [`IDLE_READ_EVERY`]th sample only, unless the process clock moved by more than the
//! threads read account for (then every thread is read at once), so no CPU time is lost and
//! only a blip below [`RESIDUAL_NS`] of an idle thread can be attributed up to 16 samples late.
//! `examples/sampler_cost.rs` measures the per-read costs.
//!
//! Memory: one entry per live thread, and rows go straight into a buffered writer.
//! The sampler's own CPU time (`CLOCK_PROCESS_CPUTIME_ID` of `kcpu record`, which only
//! samples) over the wall time is its overhead, printed and written into the trace's end line.

use super::format::{end_line, header_text, thread_line, write_row, Header, Row};
use crate::runner::clock::{now_ns, precise_timers, process_cpu_ns, sleep_until};
use crate::runner::spawn::process_cpu_clock_ns;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// What to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A process (already started by the caller) and its descendants.
    Process(u32),
    /// Every thread in a cgroup directory.
    Cgroup(PathBuf),
}

/// Sampling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Sampling interval in ns.
    pub interval_ns: u64,
    /// Interval between searches for new threads, in ns.
    pub rescan_ns: u64,
    /// Stop after this long (ns); `None` = until the target is gone or `stop` is set.
    pub duration_ns: Option<u64>,
    /// Attach mode: CPU used before the recording started is not attributed.
    pub attach: bool,
}

/// What the recording measured.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Outcome {
    /// Wall time recorded.
    pub duration_ns: u64,
    /// Samples taken.
    pub samples: u64,
    /// Samples taken more than one interval late (the sampler was not scheduled in time).
    pub late_samples: u64,
    /// Distinct threads seen.
    pub threads: u32,
    /// Most threads tracked at once.
    pub max_live_threads: u32,
    /// CPU time in the trace.
    pub cpu_ns: u64,
    /// CPU time `kcpu record` used.
    pub sampler_cpu_ns: u64,
    /// `sampler_cpu_ns / duration_ns`, in percent of one core.
    pub overhead_pct: f64,
    /// Data rows written.
    pub rows: u64,
    /// Thread reads skipped because the thread's process used no CPU since the last sample.
    pub gated_reads: u64,
    /// The mechanism: [`NAME`] (this poller) or [`super::events::NAME`].
    pub recorder: &'static str,
    /// Context-switch records applied (event recorder).
    pub switch_records: u64,
    /// Records the kernel dropped because a ring was full (event recorder; the CPU of the
    /// threads concerned may be misattributed).
    pub lost_records: u64,
}

/// The name written into the trace header (`# recorder=…`) by the poller.
pub const NAME: &str = "schedstat";

/// Child processes are searched on every this many periodic rescans (each costs one read per
/// thread).
pub const CHILDREN_EVERY: u64 = 1;

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The target does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Target {
        /// What was read.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the trace failed.
    #[error("writing the trace: {0}")]
    Write(#[from] std::io::Error),
    /// The perf event stream could not be read.
    #[error("perf events: {0}")]
    Perf(String),
}

struct Tracked {
    file: File,
    last_ns: u64,
    index: u32,
    seen: bool,
    /// Consecutive samples without CPU.
    idle: u32,
}

/// Samples without CPU after which a thread is read less often.
const IDLE_AFTER: u32 = 3;
/// An idle thread is still read on every this many samples.
const IDLE_READ_EVERY: u64 = 16;
/// Process CPU not accounted for by the threads read that makes the sampler read the idle
/// ones too (the clock and the thread reads are not simultaneous, so a little always differs).
const RESIDUAL_NS: u64 = 50_000;

/// Reads one thread and writes its row; `Some(delta)`, or `None` when the thread is gone.
fn sample_thread(
    th: &mut Tracked,
    start_ns: u64,
    w: &mut dyn Write,
    o: &mut Outcome,
) -> Result<Option<u64>, RecordError> {
    let Some(v) = read_schedstat(&th.file) else {
        return Ok(None);
    };
    let d = v.saturating_sub(th.last_ns);
    th.last_ns = v;
    if d == 0 {
        th.idle = th.idle.saturating_add(1);
        return Ok(Some(0));
    }
    th.idle = 0;
    write_row(
        w,
        &Row {
            start_ns,
            thread: th.index,
            cpu_ns: d,
        },
    )?;
    o.rows += 1;
    o.cpu_ns += d;
    Ok(Some(d))
}

/// `sum_exec_runtime` from schedstat text (`"123 456 7\n"`).
pub fn parse_schedstat(text: &[u8]) -> Option<u64> {
    let end = text
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    std::str::from_utf8(&text[..end]).ok()?.parse().ok()
}

/// `sum_exec_runtime` of the thread whose `schedstat` file is open as `f`.
pub fn read_schedstat(f: &File) -> Option<u64> {
    let mut buf = [0u8; 96];
    let n = rustix::io::pread(f, &mut buf, 0).ok()?;
    parse_schedstat(&buf[..n])
}

fn comm(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap_or_default()
}

/// Numeric entries of a directory (pids or tids).
fn numeric_entries(dir: &Path) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

fn ids_in(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.split_ascii_whitespace().filter_map(|w| w.parse().ok())
}

/// The (pid, tid) pairs of the target now.
pub(super) fn discover(
    target: &Target,
    children: bool,
    known: &[u32],
) -> Result<Vec<(u32, u32)>, RecordError> {
    match target {
        Target::Process(root) => {
            let mut out = Vec::new();
            let mut queue = vec![*root];
            if !children {
                queue.extend_from_slice(known);
            }
            let mut seen = std::collections::BTreeSet::new();
            while let Some(pid) = queue.pop() {
                if !seen.insert(pid) || seen.len() > 100_000 {
                    continue;
                }
                let task_dir = PathBuf::from(format!("/proc/{pid}/task"));
                for tid in numeric_entries(&task_dir) {
                    out.push((pid, tid));
                    if !children {
                        continue;
                    }
                    if let Ok(c) = std::fs::read_to_string(task_dir.join(format!("{tid}/children")))
                    {
                        queue.extend(ids_in(&c));
                    }
                }
            }
            Ok(out)
        }
        Target::Cgroup(dir) => {
            let mut text = None;
            let mut last_err = None;
            for f in ["tasks", "cgroup.threads"] {
                match std::fs::read_to_string(dir.join(f)) {
                    Ok(t) => {
                        text = Some(t);
                        break;
                    }
                    Err(e) => last_err = Some((dir.join(f), e)),
                }
            }
            match (text, last_err) {
                (Some(t), _) => Ok(ids_in(&t).map(|tid| (tid, tid)).collect()),
                (None, Some((path, source))) => Err(RecordError::Target { path, source }),
                (None, None) => Ok(Vec::new()),
            }
        }
    }
}

/// Whether a target is still there.
pub(super) fn alive(target: &Target) -> bool {
    match target {
        Target::Process(p) => Path::new(&format!("/proc/{p}")).exists(),
        Target::Cgroup(d) => d.exists(),
    }
}

/// The sampler's state between samples.
struct Sampler<'a> {
    target: &'a Target,
    settings: Settings,
    interval: u64,
    threads: BTreeMap<(u32, u32), Tracked>,
    proc_clock: BTreeMap<u32, u64>,
    next_index: u32,
    o: Outcome,
    rescans: u64,
    first_scan: bool,
    /// Sample number.
    k: u64,
    /// Reused per sample (no allocation per sample once warm).
    pids: Vec<u32>,
    gone: Vec<(u32, u32)>,
    skipped: Vec<(u32, u32)>,
    /// A sample found CPU no tracked thread accounts for: rescan at the next sample.
    untracked_cpu: bool,
}

impl Sampler<'_> {
    /// Finds new threads (and, with `children`, new child processes) and drops the gone ones.
    fn rescan(&mut self, children: bool, w: &mut dyn Write) -> Result<(), RecordError> {
        for th in self.threads.values_mut() {
            th.seen = false;
        }
        self.rescans += 1;
        let known: Vec<u32> = self.proc_clock.keys().copied().collect();
        for (pid, tid) in discover(self.target, children, &known)? {
            if let Some(th) = self.threads.get_mut(&(pid, tid)) {
                th.seen = true;
                continue;
            }
            let path = format!("/proc/{pid}/task/{tid}/schedstat");
            let Ok(file) = File::open(&path) else {
                continue; // exited meanwhile
            };
            let base = if self.first_scan && self.settings.attach {
                read_schedstat(&file).unwrap_or(0)
            } else {
                0
            };
            let index = self.next_index;
            self.next_index += 1;
            w.write_all(thread_line(index, tid, &comm(pid, tid)).as_bytes())?;
            let t = Tracked {
                file,
                last_ns: base,
                index,
                seen: true,
                idle: 0,
            };
            self.threads.insert((pid, tid), t);
        }
        self.first_scan = false;
        // Threads the rescan did not list are gone (their last interval is lost).
        // With `children` off, processes found earlier are kept (their threads were listed).
        self.threads.retain(|_, th| th.seen);
        let threads = &self.threads;
        self.proc_clock
            .retain(|pid, _| threads.range((*pid, 0)..=(*pid, u32::MAX)).next().is_some());
        self.o.max_live_threads = self.o.max_live_threads.max(self.threads.len() as u32);
        Ok(())
    }

    /// Reads the threads of `pid` whose process clock moved; rows stamped `start_ns`.
    fn sample_process(
        &mut self,
        pid: u32,
        start_ns: u64,
        w: &mut dyn Write,
    ) -> Result<(), RecordError> {
        // The process's CPU clock says how much all its threads ran since the last sample
        // (`None`: not a process leader, e.g. cgroup thread ids, or gone: read everything).
        let clock = process_cpu_clock_ns(pid);
        let moved = clock.map(|v| (v, self.proc_clock.insert(pid, v)));
        let range = (pid, 0)..=(pid, u32::MAX);
        let budget = match moved {
            Some((v, Some(last))) if v == last => {
                self.o.gated_reads += self.threads.range(range).count() as u64;
                return Ok(());
            }
            Some((v, Some(last))) => Some(v.saturating_sub(last)),
            _ => None,
        };
        let mut read_sum = 0u64;
        self.skipped.clear();
        for (&key, th) in self.threads.range_mut(range) {
            // A thread idle for a while is read every IDLE_READ_EVERY samples only, unless
            // the process clock shows CPU the threads read so far do not account for.
            if budget.is_some() && th.idle >= IDLE_AFTER && !self.k.is_multiple_of(IDLE_READ_EVERY)
            {
                self.skipped.push(key);
                continue;
            }
            match sample_thread(th, start_ns, w, &mut self.o)? {
                Some(d) => read_sum += d,
                None => self.gone.push(key),
            }
        }
        if budget.is_none_or(|b| b <= read_sum + RESIDUAL_NS) {
            self.o.gated_reads += self.skipped.len() as u64;
            return Ok(());
        }
        for i in 0..self.skipped.len() {
            let key = self.skipped[i];
            if let Some(th) = self.threads.get_mut(&key) {
                match sample_thread(th, start_ns, w, &mut self.o)? {
                    Some(d) => read_sum += d,
                    None => self.gone.push(key),
                }
            }
        }
        // Still unaccounted CPU: a thread the sampler does not know yet ran (or one exited).
        if budget.is_some_and(|b| b > read_sum + RESIDUAL_NS) {
            self.untracked_cpu = true;
        }
        Ok(())
    }

    /// One sample of every tracked process.
    fn sample(&mut self, start_ns: u64, w: &mut dyn Write) -> Result<(), RecordError> {
        self.pids.clear();
        self.pids.extend(self.threads.keys().map(|(p, _)| *p));
        self.pids.dedup();
        self.gone.clear();
        for i in 0..self.pids.len() {
            let pid = self.pids[i];
            self.sample_process(pid, start_ns, w)?;
        }
        for i in 0..self.gone.len() {
            self.threads.remove(&self.gone[i]);
        }
        self.o.samples += 1;
        Ok(())
    }
}

/// Writes the closing line and computes the overhead.
pub(super) fn finish(mut o: Outcome, cpu0: u64, w: &mut dyn Write) -> Result<Outcome, RecordError> {
    o.sampler_cpu_ns = process_cpu_ns().saturating_sub(cpu0);
    o.overhead_pct = if o.duration_ns > 0 {
        o.sampler_cpu_ns as f64 * 100.0 / o.duration_ns as f64
    } else {
        0.0
    };
    w.write_all(
        end_line(&[
            ("duration_ns", o.duration_ns.to_string()),
            ("samples", o.samples.to_string()),
            ("late_samples", o.late_samples.to_string()),
            ("threads", o.threads.to_string()),
            ("cpu_ns", o.cpu_ns.to_string()),
            ("sampler_cpu_ns", o.sampler_cpu_ns.to_string()),
            ("overhead_pct", format!("{:.3}", o.overhead_pct)),
            ("recorder", o.recorder.to_string()),
            ("lost_records", o.lost_records.to_string()),
        ])
        .as_bytes(),
    )?;
    w.flush()?;
    Ok(o)
}

/// The row interval (at least 10 µs) and the trace writer, with the header written
/// (interval and `recorder` filled in).
pub(super) fn begin<'a>(
    settings: &Settings,
    mut header: Header,
    recorder: &str,
    out: &'a mut dyn Write,
) -> Result<(u64, std::io::BufWriter<&'a mut dyn Write>), RecordError> {
    let interval = settings.interval_ns.max(10_000);
    header.interval_ns = interval;
    header.extra.insert("recorder".into(), recorder.into());
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    w.write_all(header_text(&header).as_bytes())?;
    Ok((interval, w))
}

/// Records `target` into `out` until `settings.duration_ns` elapses, `done()` returns true
/// (the caller's command exited), the target disappears, or `stop` is set. `header` gets the
/// interval; the rest of it is the caller's (machine facts, target text).
///
/// Rescans: at the start, whenever a sample finds CPU in a process clock that its tracked
/// threads do not account for (a new thread ran), and every `settings.rescan_ns` (new child
/// processes, whose CPU is not in the parent's clock, on every [`CHILDREN_EVERY`]th).
pub fn record(
    target: &Target,
    settings: Settings,
    header: Header,
    out: &mut dyn Write,
    stop: &AtomicBool,
    done: &mut dyn FnMut() -> bool,
) -> Result<Outcome, RecordError> {
    precise_timers();
    let (interval, mut w) = begin(&settings, header, NAME, out)?;
    let cpu0 = process_cpu_ns();
    let t0 = now_ns();
    let mut s = Sampler {
        target,
        settings,
        interval,
        threads: BTreeMap::new(),
        proc_clock: BTreeMap::new(),
        next_index: 0,
        o: Outcome {
            recorder: NAME,
            ..Outcome::default()
        },
        rescans: 0,
        first_scan: true,
        k: 0,
        pids: Vec::new(),
        gone: Vec::new(),
        skipped: Vec::new(),
        untracked_cpu: false,
    };
    let mut next_rescan = 0u64;
    loop {
        let t = now_ns() - t0;
        // Rows are stamped with the start of the interval that just ended.
        let start_ns = t.saturating_sub(s.interval) / s.interval * s.interval;
        if t >= next_rescan || s.untracked_cpu {
            let periodic = t >= next_rescan;
            if periodic {
                next_rescan = t + s.settings.rescan_ns.max(s.interval);
            }
            let children = periodic && s.rescans.is_multiple_of(CHILDREN_EVERY);
            s.untracked_cpu = false;
            s.rescan(children || s.first_scan, &mut w)?;
        }
        s.sample(start_ns, &mut w)?;
        let finished = done()
            || stop.load(Ordering::Relaxed)
            || s.settings.duration_ns.is_some_and(|d| t >= d)
            || (s.threads.is_empty() && !alive(target));
        if finished {
            s.o.duration_ns = t;
            break;
        }
        s.k += 1;
        let mut deadline = t0 + s.k * s.interval;
        let after = now_ns();
        if after > deadline + s.interval {
            s.o.late_samples += 1;
            // Skip the missed ticks rather than sampling in a burst.
            s.k = (after - t0) / s.interval + 1;
            deadline = t0 + s.k * s.interval;
        }
        sleep_until(deadline);
    }
    s.o.threads = s.next_index;
    finish(s.o, cpu0, &mut w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_first_field() {
        assert_eq!(parse_schedstat(b"123456 789 3\n"), Some(123_456));
        assert_eq!(parse_schedstat(b"x"), None);
        assert_eq!(parse_schedstat(b""), None);
    }

    #[test]
    fn records_own_threads() {
        // Record this test process itself: one thread burns ~20 ms of CPU.
        let stop = AtomicBool::new(false);
        let me = std::process::id();
        let h = std::thread::spawn(|| {
            let c0 = process_cpu_ns();
            let mut x = 0u64;
            while process_cpu_ns() < c0 + 20_000_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        });
        let mut out = Vec::new();
        let settings = Settings {
            interval_ns: 1_000_000,
            rescan_ns: 5_000_000,
            duration_ns: Some(150_000_000),
            attach: true,
        };
        let o = record(
            &Target::Process(me),
            settings,
            Header {
                cpus: 1,
                target: "test".into(),
                ..Header::default()
            },
            &mut out,
            &stop,
            &mut || false,
        )
        .unwrap();
        let _ = h.join();
        let text = String::from_utf8(out).unwrap();
        let t = super::super::format::parse(&text).unwrap();
        assert!(o.samples > 50, "{o:?}");
        assert!(o.threads >= 2, "{o:?}");
        assert_eq!(t.cpu_ns(), o.cpu_ns);
        assert!(o.cpu_ns >= 5_000_000, "{o:?}");
    }
}
