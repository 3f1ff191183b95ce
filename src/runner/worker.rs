//! The load generator run inside the measured cgroup by `kcpu __worker` (I/O shell).
//!
//! The process is started by the runner already inside its cgroup (it joined between fork and
//! exec). It builds the request schedule with [`crate::sim::load::arrivals`] (the same function
//! the simulator uses, so both mean the same load), calibrates its burn loop, starts its threads
//! (each pinned if asked), and reports `ready`. The runner answers with the monotonic instant at
//! which the load starts. Then:
//! - `spin`: every thread burns until `start + duration`;
//! - `periodic`: requests are bound to threads; each thread serves its own requests in order;
//! - `poisson` / older `arrival,work` traces: one shared FIFO queue; a free thread takes the
//!   oldest request (an atomic index into the arrival-sorted schedule, which is the same thing);
//! - `kcpu record` traces: one thread per recorded thread, each serving its own rows in order
//!   (the recorded CPU of each sampling interval, burned from the interval's start). A row is
//!   all the CPU the recorded thread used in its interval, so the replay burns to the thread's
//!   *cumulative* CPU target: the worker's own wake-up, sleep and burn-overshoot CPU counts
//!   toward the rows instead of adding about 30 µs to each (measured: 1 ms rows replayed 3.6 %
//!   above the recorded CPU, enough to turn a limit at 107 % of a burst into a throttled one).
//!
//! The schedule is open loop: a request's scheduled time never depends on completions, so a
//! late request queues behind the previous one. Work is measured on the thread's own CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`) in steps of a calibrated ~25 µs spin (`cfs.md` §7.1), so
//! throttling and preemption do not change the amount of work. Every request's scheduled,
//! start and end time (ns after the load start) and its CPU time are written as JSON lines.
//! Requests that could not start before `start + duration + drain` are counted as incomplete.

use super::clock::{now_ns, precise_timers, sleep_until, thread_cpu_ns};
use crate::sim::load::{arrivals, read_trace, trace_threads, LoadProfile, ReadError, Request};
use crate::units::Nanos;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Target duration of one burn step between CPU-clock reads.
pub const STEP_NS: u64 = 25_000;

/// How the worker measures the work it burns (`kcpu run --burn`).
///
/// The choice decides when the kernel charges the group: reading the thread's CPU clock is a
/// system call (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)` is not served by the vDSO) that runs
/// `update_curr()` (kernel/sched/core.c `task_sched_runtime()`), so [`Burn::Clock`] is charged
/// continuously, while [`Burn::Loop`] never enters the kernel while it burns and is charged at
/// scheduler ticks only, like most compute code. `run --compare` simulates each with the
/// matching [`crate::sim::Accounting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Burn {
    /// Reads its CPU clock every ~25 µs and stops at the exact amount (default).
    #[default]
    Clock,
    /// Spins a number of iterations calibrated before the load, reading no clock while it
    /// burns (the CPU clock is read once before and once after each request).
    Loop,
}

impl Burn {
    /// How the kernel charges a group burning this way (what `run --compare` simulates).
    pub fn accounting(self) -> crate::sim::Accounting {
        match self {
            Burn::Clock => crate::sim::Accounting::Continuous,
            Burn::Loop => crate::sim::Accounting::Tick,
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Burn::Clock => "clock",
            Burn::Loop => "loop",
        }
    }
}

/// The calibrated burn of one worker.
#[derive(Debug, Clone, Copy)]
struct Burner {
    mode: Burn,
    /// Iterations of one ~25 µs step.
    step: u64,
    /// Cost of one iteration, ns.
    ns_per_iter: f64,
}

impl Burner {
    /// Measures this CPU's cost per iteration ([`calibrate`]) for `mode`.
    fn calibrated(mode: Burn) -> Burner {
        let ns_per_iter = calibrate();
        Burner {
            mode,
            step: ((STEP_NS as f64 / ns_per_iter) as u64).max(1),
            ns_per_iter,
        }
    }

    /// Burns `cpu_ns` of CPU time; returns the CPU time used.
    fn burn(&self, cpu_ns: u64) -> u64 {
        match self.mode {
            Burn::Clock => burn(cpu_ns, self.step),
            Burn::Loop => burn_loop(cpu_ns, self.ns_per_iter),
        }
    }

    /// Burns until the thread's CPU clock reads `target_ns`; returns the CPU time used.
    fn burn_until(&self, target_ns: u64) -> u64 {
        match self.mode {
            Burn::Clock => burn_until(target_ns, self.step),
            Burn::Loop => burn_loop(target_ns.saturating_sub(thread_cpu_ns()), self.ns_per_iter),
        }
    }
}

/// Burns about `cpu_ns` by spinning the calibrated number of iterations without reading a
/// clock; returns the CPU time used (read once before and once after).
pub fn burn_loop(cpu_ns: u64, ns_per_iter: f64) -> u64 {
    let c0 = thread_cpu_ns();
    std::hint::black_box(spin((cpu_ns as f64 / ns_per_iter.max(0.01)) as u64));
    thread_cpu_ns().saturating_sub(c0)
}

/// What the worker is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSpec {
    /// The load.
    pub load: LoadProfile,
    /// How long arrivals are generated (and how long `spin` spins).
    pub duration: Nanos,
    /// Seed for Poisson arrivals.
    pub seed: u64,
    /// CPUs to pin threads to, round robin (`thread i → cpus[i % len]`); empty = no pinning.
    pub cpus: Vec<usize>,
    /// Extra time after `duration` in which queued requests may still start.
    pub drain: Nanos,
    /// How work is burnt.
    pub burn: Burn,
}

/// One served request, times in ns after the load start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Worker thread that served it.
    pub thread: u32,
    /// Scheduled arrival.
    pub scheduled_ns: u64,
    /// When the thread started on it.
    pub start_ns: u64,
    /// When it finished.
    pub end_ns: u64,
    /// CPU time it took on the thread's CPU clock.
    pub cpu_ns: u64,
}

/// The worker's final line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkerDone {
    /// Requests served.
    pub requests: u64,
    /// Requests not started before the drain deadline.
    pub incomplete: u64,
    /// CPU time of all worker threads, ns.
    pub cpu_ns: u64,
    /// Threads run.
    pub threads: u32,
}

/// The line protocol between runner and worker (JSON lines on the worker's stdout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerLine {
    /// Threads are up and waiting; the runner may now send `start <ns>`.
    Ready {
        /// Calibrated cost of one spin iteration.
        ns_per_iter: f64,
    },
    /// A served request.
    Request(RequestRecord),
    /// End of output.
    Done(WorkerDone),
}

/// Errors of the worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Reading the trace file failed.
    #[error("cannot read trace {path}")]
    Trace {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The trace file is malformed.
    #[error(transparent)]
    Load(#[from] crate::sim::load::LoadError),
    /// Talking to the runner failed.
    #[error("runner pipe")]
    Pipe(#[from] std::io::Error),
    /// The runner sent something other than `start <ns>`.
    #[error("expected `start <ns>` from the runner, got {0:?}")]
    Protocol(String),
    /// Pinning a thread failed.
    #[error("cannot pin a thread to CPU {cpu}")]
    Pin {
        /// The CPU.
        cpu: usize,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Spins `iters` iterations of a cheap dependency chain the optimiser cannot remove.
#[inline(never)]
pub fn spin(iters: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..iters {
        x = std::hint::black_box(
            x.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
    x
}

/// Calibration trials per [`calibrate`].
pub const CALIBRATION_TRIALS: usize = 5;

/// The cost of one [`spin`] iteration on the thread CPU clock: the median of
/// [`CALIBRATION_TRIALS`] trials of at least 2 ms. On this project's shared 2-CPU VM single
/// trials varied by 18 % from the fastest to the slowest of 40, medians of five by 8 %
/// (`tests/data/fidelity/traces/loop-calibration.txt`, `cargo run --release --example
/// loop-calibration`); `--burn loop` had turned one slow trial into requests doing 17 % less
/// work than asked (the fidelity grid's `ref-sweep-loop`, 0.664 cores against 0.800).
pub fn calibrate() -> f64 {
    let mut trials: Vec<f64> = (0..CALIBRATION_TRIALS).map(|_| calibrate_trial()).collect();
    trials.sort_by(f64::total_cmp);
    trials[CALIBRATION_TRIALS / 2]
}

/// One calibration trial: spins until at least 2 ms of thread CPU time, returns ns per iteration.
pub fn calibrate_trial() -> f64 {
    let mut iters = 1_000u64;
    loop {
        let c0 = thread_cpu_ns();
        std::hint::black_box(spin(iters));
        let dt = thread_cpu_ns().saturating_sub(c0);
        if dt >= 2_000_000 || iters >= 1 << 30 {
            return (dt as f64 / iters as f64).max(0.01);
        }
        iters *= 4;
    }
}

/// Burns `cpu_ns` of this thread's CPU time; returns the CPU time actually used.
pub fn burn(cpu_ns: u64, step_iters: u64) -> u64 {
    let c0 = thread_cpu_ns();
    loop {
        std::hint::black_box(spin(step_iters));
        let used = thread_cpu_ns().saturating_sub(c0);
        if used >= cpu_ns {
            return used;
        }
    }
}

struct StartGate {
    start: Mutex<Option<Option<u64>>>,
    cv: Condvar,
}

impl StartGate {
    fn wait(&self) -> Option<u64> {
        let mut g = self.start.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = *g {
                return s;
            }
            g = self.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
    fn open(&self, s: Option<u64>) {
        *self.start.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
        self.cv.notify_all();
    }
}

enum Job {
    Spin,
    /// Requests bound to this thread; `true`: their work is cumulative CPU time of the thread
    /// (a recorded trace), see [`serve`].
    Bound(Vec<Request>, bool),
    Shared(Arc<Vec<Request>>, Arc<AtomicUsize>),
}

struct ThreadOut {
    records: Vec<RequestRecord>,
    incomplete: u64,
    cpu_ns: u64,
}

fn pin(cpu: usize) -> Result<(), WorkerError> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).map_err(|e| WorkerError::Pin {
        cpu,
        source: e.into(),
    })
}

/// Burns until this thread's CPU clock reads at least `target_ns`; returns the CPU time used.
pub fn burn_until(target_ns: u64, step_iters: u64) -> u64 {
    let c0 = thread_cpu_ns();
    let mut now = c0;
    while now < target_ns {
        std::hint::black_box(spin(step_iters));
        now = thread_cpu_ns();
    }
    now - c0
}

/// Serves `r`: burns its work, or with `cpu_target` (a recorded trace) burns until the
/// thread's CPU clock reaches that absolute target, so that the thread's CPU time outside the
/// burns (waking up, sleeping, the overshoot of the previous burn) counts toward the recorded
/// CPU instead of adding to it: a recorded row is all the CPU the thread used in its interval.
fn serve(
    r: &Request,
    thread: u32,
    start: u64,
    burner: &Burner,
    out: &mut ThreadOut,
    cpu_target: Option<u64>,
) {
    sleep_until(start + r.arrival.0);
    let b = now_ns();
    let cpu = match cpu_target {
        Some(t) => burner.burn_until(t),
        None => burner.burn(r.work.0),
    };
    let e = now_ns();
    out.cpu_ns += cpu;
    out.records.push(RequestRecord {
        thread,
        scheduled_ns: r.arrival.0,
        start_ns: b.saturating_sub(start),
        end_ns: e.saturating_sub(start),
        cpu_ns: cpu,
    });
}

fn thread_main(
    job: Job,
    i: u32,
    gate: Arc<StartGate>,
    spec_dur: u64,
    drain: u64,
    burner: Burner,
) -> ThreadOut {
    precise_timers();
    let mut out = ThreadOut {
        records: Vec::new(),
        incomplete: 0,
        cpu_ns: 0,
    };
    let Some(start) = gate.wait() else { return out };
    let c0 = thread_cpu_ns();
    let deadline = start + spec_dur + drain;
    match job {
        Job::Spin => {
            sleep_until(start);
            let end = start + spec_dur;
            while now_ns() < end {
                std::hint::black_box(spin(burner.step));
            }
            out.cpu_ns = thread_cpu_ns().saturating_sub(c0);
        }
        Job::Bound(reqs, cumulative) => {
            out.records.reserve(reqs.len());
            let mut target = c0;
            for r in &reqs {
                target += r.work.0;
                if now_ns() >= deadline {
                    out.incomplete += 1;
                    continue;
                }
                serve(r, i, start, &burner, &mut out, cumulative.then_some(target));
            }
        }
        Job::Shared(reqs, next) => loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(r) = reqs.get(k) else { break };
            if now_ns() >= deadline {
                out.incomplete += 1;
                continue;
            }
            serve(r, i, start, &burner, &mut out, None);
        },
    }
    out
}

/// The requests of the run: a trace's rows before the duration (streamed: only those are kept),
/// else the profile's arrivals.
fn schedule(spec: &WorkerSpec) -> Result<Vec<Request>, WorkerError> {
    Ok(match &spec.load {
        LoadProfile::Trace { path } => {
            // Streamed: only the rows the run replays are kept.
            let until = Some(spec.duration.0);
            let io = |source| WorkerError::Trace {
                path: path.clone(),
                source,
            };
            let f = std::fs::File::open(path).map_err(io)?;
            match read_trace(std::io::BufReader::with_capacity(1 << 16, f), until) {
                Ok(t) => t,
                Err(ReadError::Io(source)) => return Err(io(source)),
                Err(ReadError::Parse(e)) => return Err(e.into()),
            }
        }
        other => arrivals(other, spec.duration, spec.seed),
    })
}

/// The runner's `start <ns>` line; `None` when the runner went away before the start (the
/// worker then leaves quietly).
fn read_start(input: impl BufRead) -> Result<Option<u64>, WorkerError> {
    let mut line = String::new();
    if input.take(256).read_line(&mut line)? == 0 {
        return Ok(None);
    }
    line.trim()
        .strip_prefix("start ")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| WorkerError::Protocol(line.trim().to_string()))
}

/// Runs the worker protocol on `input`/`output` (stdin/stdout in `kcpu __worker`).
pub fn run_worker(
    spec: &WorkerSpec,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<WorkerDone, WorkerError> {
    let schedule = schedule(spec)?;
    // A recorded trace replays each recorded thread on its own thread.
    let per_thread_trace = matches!(spec.load, LoadProfile::Trace { .. })
        && !schedule.is_empty()
        && schedule.iter().all(|r| r.thread.is_some());
    let threads = if per_thread_trace {
        trace_threads(&schedule)
    } else {
        spec.load.threads().max(1)
    };
    let burner = Burner::calibrated(spec.burn);
    let ns_per_iter = burner.ns_per_iter;
    let gate = Arc::new(StartGate {
        start: Mutex::new(None),
        cv: Condvar::new(),
    });
    let shared = Arc::new(schedule.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..threads {
        let bound = matches!(spec.load, LoadProfile::Periodic { .. }) || per_thread_trace;
        let job = match &spec.load {
            LoadProfile::Spin { .. } => Job::Spin,
            _ if bound => Job::Bound(
                schedule
                    .iter()
                    .filter(|r| r.thread == Some(i))
                    .copied()
                    .collect(),
                per_thread_trace,
            ),
            _ => Job::Shared(shared.clone(), next.clone()),
        };
        let tgate = gate.clone();
        let cpu = (!spec.cpus.is_empty()).then(|| spec.cpus[i as usize % spec.cpus.len()]);
        let (dur, drain) = (spec.duration.0, spec.drain.0);
        let (ptx, prx) = std::sync::mpsc::channel();
        handles.push(std::thread::spawn(move || {
            let pinned = cpu.map(pin).transpose();
            let failed = pinned.is_err();
            let _ = ptx.send(pinned);
            if failed {
                return ThreadOut {
                    records: Vec::new(),
                    incomplete: 0,
                    cpu_ns: 0,
                };
            }
            thread_main(job, i, tgate, dur, drain, burner)
        }));
        match prx.recv() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                gate.open(None);
                return Err(e);
            }
            Err(_) => {}
        }
    }
    writeln!(
        output,
        "{}",
        serde_json::to_string(&WorkerLine::Ready { ns_per_iter }).unwrap_or_default()
    )?;
    output.flush()?;
    let start = match read_start(input) {
        Ok(s) => s,
        Err(e) => {
            gate.open(None);
            return Err(e);
        }
    };
    gate.open(start);
    let mut done = WorkerDone {
        threads,
        ..Default::default()
    };
    let mut all = Vec::with_capacity(schedule.len());
    for h in handles {
        let out = h.join().unwrap_or(ThreadOut {
            records: Vec::new(),
            incomplete: 0,
            cpu_ns: 0,
        });
        done.incomplete += out.incomplete;
        done.cpu_ns += out.cpu_ns;
        all.extend(out.records);
    }
    all.sort_by_key(|r| (r.scheduled_ns, r.thread));
    done.requests = all.len() as u64;
    write_results(&mut output, all, &done)?;
    Ok(done)
}

/// Every request record (in schedule order), then the `done` line.
fn write_results(
    output: &mut impl Write,
    all: Vec<RequestRecord>,
    done: &WorkerDone,
) -> Result<(), WorkerError> {
    let mut w = std::io::BufWriter::new(output);
    for r in all {
        writeln!(
            w,
            "{}",
            serde_json::to_string(&WorkerLine::Request(r)).unwrap_or_default()
        )?;
    }
    writeln!(
        w,
        "{}",
        serde_json::to_string(&WorkerLine::Done(*done)).unwrap_or_default()
    )?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::load::parse_load;

    /// The start is handed over with the spec here, before the worker calibrates (the runner
    /// sends it only after `ready`), so it lies beyond the calibration: five trials of at least
    /// 2 ms of CPU each, longer in wall time while the other tests run.
    const START_LEAD_MS: u64 = 100;

    fn run(load: &str, dur_ms: u64, start_in_ms: u64) -> (Vec<WorkerLine>, WorkerDone, u64) {
        let spec = WorkerSpec {
            load: parse_load(load).unwrap(),
            duration: Nanos::from_ms(dur_ms),
            seed: 1,
            cpus: vec![],
            drain: Nanos::from_ms(dur_ms),
            burn: Burn::Clock,
        };
        let start = now_ns() + start_in_ms * 1_000_000;
        let input = format!("start {start}\n");
        let mut out = Vec::new();
        let done = run_worker(&spec, input.as_bytes(), &mut out).unwrap();
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, done, start)
    }

    #[test]
    fn burn_uses_the_requested_cpu_time() {
        let step = ((STEP_NS as f64 / calibrate()) as u64).max(1);
        let used = burn(3_000_000, step);
        assert!((3_000_000..3_000_000 + 2_000_000).contains(&used), "{used}");
    }

    #[test]
    fn periodic_records_every_request_open_loop() {
        let (lines, done, _) = run("periodic:threads=2,work=2ms,every=20ms", 100, START_LEAD_MS);
        assert!(matches!(lines[0], WorkerLine::Ready { .. }));
        assert!(matches!(lines.last(), Some(WorkerLine::Done(_))));
        assert_eq!(done.requests, 10);
        assert_eq!(done.incomplete, 0);
        let reqs: Vec<RequestRecord> = lines
            .iter()
            .filter_map(|l| {
                if let WorkerLine::Request(r) = l {
                    Some(*r)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(reqs.len(), 10);
        for r in &reqs {
            assert!(
                r.start_ns >= r.scheduled_ns && r.end_ns >= r.start_ns + 2_000_000,
                "{r:?}"
            );
            assert!(r.cpu_ns >= 2_000_000);
        }
        assert_eq!(reqs.iter().filter(|r| r.thread == 1).count(), 5);
    }

    #[test]
    fn shared_queue_serves_poisson_and_eof_means_no_work() {
        let (_, done, _) = run("poisson:rate=200/s,work=1ms,threads=2", 100, START_LEAD_MS);
        assert!(done.requests > 5 && done.incomplete == 0, "{done:?}");
        let spec = WorkerSpec {
            load: parse_load("spin:threads=1").unwrap(),
            duration: Nanos::from_ms(10),
            seed: 1,
            cpus: vec![0],
            drain: Nanos(0),
            burn: Burn::Clock,
        };
        let mut out = Vec::new();
        let d = run_worker(&spec, &b""[..], &mut out).unwrap();
        assert_eq!(d.requests, 0);
        assert!(run_worker(&spec, &b"go\n"[..], Vec::new()).is_err());
    }

    #[test]
    fn spin_burns_for_the_duration() {
        let (_, done, start) = run("spin:threads=1", 30, START_LEAD_MS);
        // It spins until start + duration (CPU time depends on how busy the machine is).
        assert!(now_ns() >= start + 30_000_000);
        assert!(done.cpu_ns > 1_000_000, "{done:?}");
    }
}
