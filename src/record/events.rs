//! The event-based recorder of `kcpu record` (I/O shell): per-thread on-CPU intervals from the
//! kernel's context-switch records ([`super::perf`]), folded into the same trace rows as the
//! schedstat poller ([`super::recorder`]) without waking up every interval.
//!
//! Events are per task and per CPU with `inherit` (linux `kernel/events/core.c` refuses to
//! `mmap` an inherited per-task event that is not bound to a CPU, which is why `perf record`
//! opens one per CPU too); every thread and process the task creates later gets a copy whose
//! records go to the same per-CPU ring (inherited events write to their parent's buffer,
//! `__perf_output_begin`). So new threads and children are followed by the kernel, from their
//! first instruction, with no rescans:
//! - a command: [`Session::before_spawn`] opens the events on the calling thread, disabled and
//!   `enable_on_exec`, *before* the command is forked from that thread; the child inherits them
//!   and the kernel enables them when it calls `exec` (what `perf record -- CMD` arranges with a
//!   pipe). kcpu's own thread never execs, so its events stay off.
//! - `--pid`: [`Session::attach`] opens one event per thread of the process and of its child
//!   processes per CPU, all CPUs' events sharing one ring per CPU (`PERF_EVENT_IOC_SET_OUTPUT`).
//! - `--cgroup`: the same for the thread ids in `tasks`/`cgroup.threads`, looked up again every
//!   `--rescan` for threads moved into the cgroup (threads that leave it stay recorded).
//!
//! Every `DRAIN_NS` (or earlier, when a ring is half full) the recorder copies the rings out,
//! orders the records by time across CPUs and applies them to a [`Timeline`]; rows are written
//! once their interval has passed. Rows carry the kernel's timestamps, so a late wake-up delays
//! the writing, not the measurement.
//!
//! The kernel writes each record in the context of the switching thread: that cost is charged to
//! the recorded program, not to `kcpu record` (see the README's overhead table).

use super::format::{thread_line, write_row, Header, Row};
use super::perf::{self, Options, Ring};
use super::recorder::{
    alive, begin, discover, finish, read_schedstat, Outcome, RecordError, Settings, Target,
};
use super::switches::{parse_records, Record, Timeline};
use crate::runner::clock::{now_ns, process_cpu_ns};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// How often the rings are drained.
pub const DRAIN_NS: u64 = 50_000_000;
/// Data pages per CPU ring (128 KiB with 4 KiB pages; a switch record is 24 bytes).
const RING_PAGES: usize = 32;
/// The name written into the trace header (`# recorder=…`).
pub const NAME: &str = "perf-switch";

/// Why perf events cannot be used (the caller falls back to the poller and says why).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct Unavailable {
    /// The step that failed.
    pub what: String,
    /// The error.
    #[source]
    pub source: std::io::Error,
}

fn unavailable(what: impl Into<String>, source: std::io::Error) -> Unavailable {
    Unavailable {
        what: what.into(),
        source,
    }
}

/// Online CPUs (`/sys/devices/system/cpu/online`, e.g. `0-3,6`).
fn online_cpus() -> Result<Vec<i32>, Unavailable> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|e| unavailable(format!("read {path}"), e))?;
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        match (a.parse::<i32>(), b.parse::<i32>()) {
            (Ok(a), Ok(b)) if a <= b && b < 65_536 => cpus.extend(a..=b),
            _ => {
                let e = std::io::Error::new(std::io::ErrorKind::InvalidData, text.trim());
                return Err(unavailable(format!("parse {path}"), e));
            }
        }
    }
    Ok(cpus)
}

fn wakeup_bytes() -> u32 {
    (RING_PAGES * 4096 / 2) as u32
}

/// Attaching holds one descriptor per thread and CPU (1000 threads on 8 CPUs: 8000), past the
/// usual soft limit of 1024: lift kcpu's soft limit to its hard limit. When it is still too
/// low, `perf_event_open` fails with EMFILE and `auto` falls back to the poller, saying so.
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if l.current < l.maximum || (l.current.is_some() && l.maximum.is_none()) {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
}

/// One event of the calling thread per CPU, each with its ring.
fn own_rings(cpus: &[i32], o: &Options) -> Result<Vec<Ring>, Unavailable> {
    cpus.iter()
        .map(|&cpu| {
            let fd = perf::open(0, cpu, o)
                .map_err(|e| unavailable(format!("perf_event_open(cpu {cpu})"), e))?;
            Ring::map(fd, RING_PAGES).map_err(|e| unavailable("mmap", e))
        })
        .collect()
}

/// Open events and their rings, ready to record.
pub struct Session {
    t0_ns: u64,
    cpus: Vec<i32>,
    /// One ring per CPU, in `cpus` order.
    rings: Vec<Ring>,
    /// Events whose records go to a ring of `rings` (kept open: closing one removes it).
    redirected: Vec<OwnedFd>,
    /// Threads found alive when attaching.
    found: Vec<Found>,
}

/// A thread found alive when attaching: its ids, and its schedstat file and value then (until
/// the first drain settles whether it ran).
struct Found {
    pid: u32,
    tid: u32,
    stat: Option<(File, u64)>,
}

impl Session {
    /// Opens the events on the calling thread, to be inherited by the command this thread
    /// forks next and enabled when it calls `exec`. Call right before spawning it.
    pub fn before_spawn() -> Result<Session, Unavailable> {
        let cpus = online_cpus()?;
        let o = Options {
            inherit: true,
            disabled: true,
            enable_on_exec: true,
            wakeup_bytes: wakeup_bytes(),
        };
        Ok(Session {
            t0_ns: now_ns(),
            rings: own_rings(&cpus, &o)?,
            cpus,
            redirected: Vec::new(),
            found: Vec::new(),
        })
    }

    /// Opens events on every thread of `target` now (and, through `inherit`, on the threads
    /// and processes they create later).
    pub fn attach(target: &Target) -> Result<Session, Unavailable> {
        let cpus = online_cpus()?;
        raise_fd_limit();
        // The rings belong to disabled events of kcpu's own thread, which lives as long as the
        // recording: a ring owned by a target thread would report a hang-up to `poll` as soon
        // as that thread exited (`is_event_hup`), and `poll` would stop sleeping.
        let owner = Options {
            inherit: false,
            disabled: true,
            enable_on_exec: false,
            wakeup_bytes: wakeup_bytes(),
        };
        let mut s = Session {
            t0_ns: now_ns(),
            rings: own_rings(&cpus, &owner)?,
            cpus,
            redirected: Vec::new(),
            found: Vec::new(),
        };
        // Threads created while attaching by a thread not yet attached are found by the next
        // look; those created by an attached one inherit (a second event on them is harmless:
        // the timeline ignores a switch it has already seen).
        for _ in 0..3 {
            if s.attach_new(target)? == 0 {
                break;
            }
        }
        Ok(s)
    }

    /// Attaches threads of `target` not attached yet; the number attached.
    fn attach_new(&mut self, target: &Target) -> Result<usize, Unavailable> {
        let known: Vec<u32> = self.found.iter().map(|f| f.tid).collect();
        let list = discover(target, true, &[])
            .map_err(|e| unavailable("list the target's threads", std::io::Error::other(e)))?;
        let mut n = 0;
        for (pid, tid) in list {
            if known.contains(&tid) {
                continue;
            }
            if self.attach_thread(pid, tid)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Opens thread `tid`'s events on every CPU; `false` when it exited meanwhile.
    fn attach_thread(&mut self, pid: u32, tid: u32) -> Result<bool, Unavailable> {
        let o = Options {
            inherit: true,
            disabled: false,
            enable_on_exec: false,
            wakeup_bytes: wakeup_bytes(),
        };
        let stat = File::open(format!("/proc/{pid}/task/{tid}/schedstat"))
            .ok()
            .and_then(|f| read_schedstat(&f).map(|v| (f, v)));
        for (i, &cpu) in self.cpus.iter().enumerate() {
            let fd = match perf::open(tid as i32, cpu, &o) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(false),
                Err(e) => return Err(unavailable(format!("perf_event_open(tid {tid})"), e)),
            };
            perf::set_output(std::os::fd::AsFd::as_fd(&fd), self.rings[i].fd())
                .map_err(|e| unavailable("PERF_EVENT_IOC_SET_OUTPUT", e))?;
            self.redirected.push(fd);
        }
        self.found.push(Found { pid, tid, stat });
        Ok(true)
    }
}

/// The recording loop's state.
struct Loop<'a> {
    s: Session,
    tl: Timeline,
    bytes: Vec<u8>,
    records: Vec<Record>,
    rows: Vec<Row>,
    w: &'a mut dyn Write,
    o: Outcome,
}

impl Loop<'_> {
    /// Drains every ring, applies the records in time order, settles threads found alive,
    /// charges running threads up to now and writes the rows whose interval has passed.
    fn drain(&mut self, last: bool) -> Result<u64, RecordError> {
        self.records.clear();
        for ring in &mut self.s.rings {
            self.bytes.clear();
            ring.drain(&mut self.bytes);
            parse_records(&self.bytes, &mut self.records)
                .map_err(|e| RecordError::Perf(e.to_string()))?;
        }
        let now = now_ns();
        self.records.sort_by_key(|r| r.time_ns);
        for r in &self.records {
            self.tl.apply(r);
        }
        for tid in self.tl.unknown() {
            let ran = match self.s.found.iter().find(|f| f.tid == tid) {
                Some(Found {
                    stat: Some((f, v0)),
                    ..
                }) => read_schedstat(f).is_some_and(|v| v > *v0),
                _ => false,
            };
            self.tl.resolve(tid, ran);
        }
        self.s.found.iter_mut().for_each(|f| f.stat = None);
        self.tl.advance(now);
        for t in self.tl.take_new_threads() {
            let comm = t.comm.unwrap_or_else(|| {
                std::fs::read_to_string(format!("/proc/{}/task/{}/comm", t.pid, t.tid))
                    .unwrap_or_default()
            });
            self.w
                .write_all(thread_line(t.index, t.tid, &comm).as_bytes())?;
        }
        self.rows.clear();
        self.tl.take_rows(now, last, &mut self.rows);
        for r in &self.rows {
            write_row(self.w, r)?;
        }
        self.o.rows += self.rows.len() as u64;
        self.o.samples += 1;
        self.o.max_live_threads = self.o.max_live_threads.max(self.tl.live() as u32);
        Ok(now)
    }
}

/// Records with the events of `session` until `settings.duration_ns` elapses, `done()` says
/// the command exited, the target is gone, or `stop` is set; writes the same trace format as
/// the poller, with `# recorder=perf-switch` in the header.
pub fn record_events(
    session: Session,
    target: &Target,
    settings: Settings,
    header: Header,
    out: &mut dyn Write,
    stop: &AtomicBool,
    done: &mut dyn FnMut() -> bool,
) -> Result<Outcome, RecordError> {
    let (interval, mut w) = begin(&settings, header, NAME, out)?;
    let cpu0 = process_cpu_ns();
    let t0 = session.t0_ns;
    let mut tl = Timeline::new(t0, interval);
    for f in &session.found {
        tl.add_found(f.pid, f.tid, t0);
    }
    let mut l = Loop {
        s: session,
        tl,
        bytes: Vec::new(),
        records: Vec::new(),
        rows: Vec::new(),
        w: &mut w,
        o: Outcome {
            recorder: NAME,
            ..Outcome::default()
        },
    };
    let mut next_rescan = t0 + settings.rescan_ns;
    loop {
        let wait_ms = DRAIN_NS.div_ceil(1_000_000) as u32;
        perf::wait(&l.s.rings, wait_ms);
        let now = l.drain(false)?;
        if matches!(target, Target::Cgroup(_)) && now >= next_rescan {
            next_rescan = now + settings.rescan_ns;
            rescan(&mut l, target, now)?;
        }
        let finished = done()
            || stop.load(Ordering::Relaxed)
            || settings.duration_ns.is_some_and(|d| now - t0 >= d)
            || (l.tl.live() == 0 && !alive(target));
        if finished {
            break;
        }
    }
    let now = l.drain(true)?;
    l.o.duration_ns = now - t0;
    l.o.cpu_ns = l.tl.cpu_ns;
    l.o.threads = l.tl.threads_seen();
    l.o.lost_records = l.tl.lost_records;
    l.o.switch_records = l.tl.switches;
    let o = l.o;
    finish(o, cpu0, &mut w)
}

/// Attaches threads that joined a cgroup target since the last look.
fn rescan(l: &mut Loop<'_>, target: &Target, now: u64) -> Result<(), RecordError> {
    let before = l.s.found.len();
    let known: BTreeMap<u32, ()> = l.s.found.iter().map(|f| (f.tid, ())).collect();
    for (pid, tid) in discover(target, false, &[])? {
        if known.contains_key(&tid) || l.tl.knows(tid) {
            continue;
        }
        l.s.attach_thread(pid, tid)
            .map_err(|e| RecordError::Perf(e.to_string()))?;
    }
    for f in &l.s.found[before..] {
        l.tl.add_found(f.pid, f.tid, now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::clock::thread_cpu_ns;

    #[test]
    fn online_cpu_lists_parse() {
        // The real file (every Linux has it); the parser is exercised on its ranges.
        let cpus = online_cpus().expect("online CPUs");
        assert!(
            !cpus.is_empty() && cpus.windows(2).all(|w| w[0] < w[1]),
            "{cpus:?}"
        );
    }

    /// Attaches to this test process, then starts a thread that burns 30 ms: the thread is
    /// followed (inherited events) and its CPU in the trace matches its own CPU clock.
    #[test]
    #[allow(clippy::print_stderr)]
    fn attached_recording_follows_a_new_thread_and_measures_its_cpu() {
        let me = std::process::id();
        let session = match Session::attach(&Target::Process(me)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipped: perf events unavailable: {e}");
                return;
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let c0 = thread_cpu_ns();
            let mut x = 0u64;
            while thread_cpu_ns() < c0 + 30_000_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            let _ = tx.send((
                rustix::thread::gettid().as_raw_nonzero().get() as u32,
                thread_cpu_ns(),
            ));
        });
        let settings = Settings {
            interval_ns: 1_000_000,
            rescan_ns: 100_000_000,
            duration_ns: Some(250_000_000),
            attach: true,
        };
        let mut out = Vec::new();
        let stop = AtomicBool::new(false);
        let header = Header {
            cpus: 1,
            target: "test".into(),
            ..Header::default()
        };
        let o = record_events(
            session,
            &Target::Process(me),
            settings,
            header,
            &mut out,
            &stop,
            &mut || false,
        )
        .expect("records");
        let _ = h.join();
        let (tid, cpu) = rx.recv().expect("the thread ran");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("# recorder=perf-switch"), "{text}");
        let index = text
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix("# thread ")?;
                let (i, t) = rest.split_once(" tid=")?;
                (t.split_whitespace().next()? == tid.to_string()).then(|| i.parse::<u32>().ok())?
            })
            .expect("the new thread has a thread line");
        let t = super::super::format::parse(&text).expect("a valid trace");
        let traced: u64 = t
            .requests
            .iter()
            .filter(|r| r.thread == Some(index))
            .map(|r| r.work.0)
            .sum();
        // Its CPU clock counts from its start; the trace from its first switch-in (the same).
        assert!(
            traced.abs_diff(cpu) <= 1_000_000,
            "traced {traced} ns, thread clock {cpu} ns ({o:?})"
        );
        assert_eq!(o.lost_records, 0);
        assert_eq!(t.cpu_ns(), o.cpu_ns);
    }
}
