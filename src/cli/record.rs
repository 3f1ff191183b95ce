//! `kcpu record` (I/O shell): start a command (or attach to a PID or a cgroup), sample its
//! threads' CPU with [`crate::record::recorder`], stream a trace ([`crate::record::format`]).
//!
//! The command's stdin, stdout and stderr are its own (inherited); kcpu prints its summary to
//! stderr and exits with the command's status (128 + N when signal N killed it). SIGINT and
//! SIGTERM sent to kcpu are forwarded to the command, which kcpu keeps recording until it exits;
//! when attached (`--pid`, `--cgroup`) they end the recording.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use super::exit;
use crate::record::events::{self, record_events, Session, Unavailable};
use crate::record::format::Header;
use crate::record::recorder::{record, Outcome, RecordError, Settings, Target};
use crate::units::{format_duration, parse_duration, Nanos};
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Arguments of `kcpu record`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The trace is the load `trace:FILE` of simulate and recommend \
(e.g. `--load trace:api.trace.csv`).

Examples:
  kcpu record --out api.trace.csv -- ./api-server --port 8080
  kcpu record --pid 4242 --duration 60s --out api.trace.csv
  kcpu record --cgroup /sys/fs/cgroup/kcpu/job --duration 30s -o job.trace.csv"
)]
pub struct Args {
    /// Trace file to write: text, `# key=value` header lines (interval, CPUs, HZ, kernel), then
    /// `start_ns,thread,cpu_ns` rows (the README's "record and recommend" section has the details)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Attach to this running process (and its threads and children) instead of starting one
    #[arg(long, value_name = "PID", conflicts_with_all = ["cgroup", "command"])]
    pub pid: Option<u32>,
    /// Record every thread of this cgroup directory (v1 `tasks`, v2 `cgroup.threads`)
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub cgroup: Option<PathBuf>,
    /// Row interval of the trace (and the schedstat recorder's sampling interval)
    #[arg(long, value_name = "DURATION", default_value = "1ms", value_parser = parse_interval)]
    pub interval: Nanos,
    /// How often to look for new child processes and threads (schedstat: a new thread of a
    /// known process is also found at the first sample in which it uses CPU; perf: only
    /// --cgroup looks again, for threads moved into the cgroup)
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_interval)]
    pub rescan: Nanos,
    /// How to measure: `perf` = the kernel's context-switch records (perf_event_open, no
    /// per-interval wake-up), `schedstat` = poll /proc/<pid>/task/<tid>/schedstat every
    /// --interval, `auto` = perf when perf events can be opened, else schedstat
    #[arg(long, value_enum, default_value = "auto")]
    pub recorder: RecorderChoice,
    /// Stop recording after this long (the command keeps running)
    #[arg(long, value_name = "DURATION", value_parser = parse_positive)]
    pub duration: Option<Nanos>,
    /// Print the summary as JSON (on stderr, since stdout is the command's)
    #[arg(long)]
    pub json: bool,
    /// The command to start and record (after `--`)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// `--recorder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecorderChoice {
    /// perf events when available, else schedstat
    Auto,
    /// context-switch records (perf_event_open); an error when unavailable
    Perf,
    /// polling /proc/<pid>/task/<tid>/schedstat every --interval
    Schedstat,
}

/// A duration greater than zero (clap value parser).
pub(crate) fn parse_positive(s: &str) -> Result<Nanos, String> {
    let d = parse_duration(s).map_err(|e| e.to_string())?;
    if d.0 == 0 {
        return Err("must be greater than 0".into());
    }
    Ok(d)
}

fn parse_interval(s: &str) -> Result<Nanos, String> {
    let d = parse_positive(s)?;
    if d.0 < 100_000 || d.0 > 1_000_000_000 {
        return Err("must be between 100us and 1s".into());
    }
    Ok(d)
}

/// The machine facts of the header (everything but the interval and the target).
fn machine_header(target: String) -> Header {
    let running = crate::runner::kernel::detect();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    // The hierarchy `kcpu run` would use: the one detection, from /proc/self/mountinfo.
    let cgroup = crate::cgroupfs::detect::Layout::detect()
        .and_then(|l| l.cpu_hierarchy(&crate::cgroupfs::RealFs))
        .ok()
        .map(|h| h.version.to_string());
    let started_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Header {
        interval_ns: 0,
        cpus,
        hz: running.hz,
        kernel: running.release,
        cpu_model,
        cgroup,
        target,
        started_unix_ms,
        extra: Default::default(),
    }
}

/// CPU time of an exited (not yet reaped) child and its waited-for descendants, from
/// `/proc/<pid>/stat` fields 14–17 (`utime stime cutime cstime`, in clock ticks of `USER_HZ`,
/// which is 100 on every Linux ABI: `include/asm-generic/param.h`).
fn zombie_cpu_ns(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields start after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): fields 14..=17 are rest[11..=14].
    let ticks: u64 = f
        .get(11..15)?
        .iter()
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Some(ticks * 10_000_000)
}

fn status_code(st: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => 128u8.saturating_add(s as u8),
        _ => exit::INPUT_ERROR,
    }
}

fn print_summary(o: &Outcome, a: &Args, coverage: Option<(u64, u64)>) {
    let secs = o.duration_ns as f64 / 1e9;
    let cores = if o.duration_ns > 0 {
        o.cpu_ns as f64 / o.duration_ns as f64
    } else {
        0.0
    };
    let how = if o.recorder == events::NAME {
        format!(
            "{} drains, {} switch records ({} lost), rows every {}",
            o.samples,
            o.switch_records,
            o.lost_records,
            format_duration(a.interval)
        )
    } else {
        format!(
            "{} samples every {} ({} late)",
            o.samples,
            format_duration(a.interval),
            o.late_samples
        )
    };
    eprintln!(
        "kcpu record: {secs:.1} s, {} thread(s) (at most {} at once), {how}, CPU {} = {cores:.3} cores on average",
        o.threads,
        o.max_live_threads,
        format_duration(Nanos(o.cpu_ns / 1_000 * 1_000)),
    );
    eprintln!(
        "recorder overhead ({}): {:.2} % of one core ({} CPU over {secs:.1} s; goal < 2 % at 1ms with 50 threads)",
        o.recorder,
        o.overhead_pct,
        format_duration(Nanos(o.sampler_cpu_ns / 1_000 * 1_000)),
    );
    if let Some((traced, total)) = coverage {
        if total > 0 {
            eprintln!(
                "coverage: the trace holds {:.1} % of the CPU the command and its reaped children used ({} of {}, 10 ms resolution)",
                traced as f64 * 100.0 / total as f64,
                format_duration(Nanos(traced / 1_000_000 * 1_000_000)),
                format_duration(Nanos(total)),
            );
        }
    }
    eprintln!("wrote {}", a.out.display());
}

/// How a recording measures: an open perf session, or the poller (and why not perf).
enum Mechanism {
    Perf(Session),
    Poll(Option<String>),
}

/// `perf_event_paranoid`, for messages.
fn paranoid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|v| format!(" (perf_event_paranoid={})", v.trim()))
        .unwrap_or_default()
}

/// Picks the mechanism per `--recorder`; `open` opens the perf session.
fn choose(
    choice: RecorderChoice,
    open: impl FnOnce() -> Result<Session, Unavailable>,
) -> anyhow::Result<Mechanism> {
    Ok(match choice {
        RecorderChoice::Schedstat => Mechanism::Poll(None),
        RecorderChoice::Perf => match open() {
            Ok(s) => Mechanism::Perf(s),
            Err(e) => bail!(
                "perf events unavailable: {e}{}; hint: run as root, give CAP_PERFMON, lower perf_event_paranoid, or use --recorder schedstat",
                paranoid()
            ),
        },
        RecorderChoice::Auto => match open() {
            Ok(s) => Mechanism::Perf(s),
            Err(e) => Mechanism::Poll(Some(format!("{e}{}", paranoid()))),
        },
    })
}

/// Says on stderr which mechanism records, and records with it.
fn record_with(
    m: Mechanism,
    a: &Args,
    target: &Target,
    mut r: Recording<'_>,
    done: &mut dyn FnMut() -> bool,
) -> Result<Outcome, RecordError> {
    match m {
        Mechanism::Perf(s) => {
            eprintln!(
                "kcpu record: recorder {} (the kernel's context-switch records, drained every {}; rows every {})",
                events::NAME,
                format_duration(Nanos(events::DRAIN_NS)),
                format_duration(a.interval)
            );
            record_events(s, target, r.settings, r.header, r.file, r.stop, done)
        }
        Mechanism::Poll(why) => {
            let because = why
                .as_deref()
                .map_or(String::new(), |w| format!("; perf events unavailable: {w}"));
            eprintln!(
                "kcpu record: recorder {} (polling every {}{because})",
                crate::record::recorder::NAME,
                format_duration(a.interval)
            );
            if let Some(w) = why {
                r.header.extra.insert("perf_unavailable".into(), w);
            }
            record(target, r.settings, r.header, r.file, r.stop, done)
        }
    }
}

/// Runs `kcpu record`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (attach, text) = target(&a)?;
    let mut file = std::fs::File::create(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let signals = Signals::register()?;
    let settings = Settings {
        interval_ns: a.interval.0,
        rescan_ns: a.rescan.0,
        duration_ns: a.duration.map(|d| d.0),
        attach: attach.is_some(),
    };
    let header = machine_header(text);
    let recording = Recording {
        settings,
        header,
        file: &mut file,
        stop: &stop,
        signals: &signals,
    };
    match attach {
        Some(target) => record_attached(&a, &target, recording),
        None => record_command(&a, recording),
    }
}

/// What to record, and how the header names it: `Some(target)` when attaching; `None` when
/// starting the command.
fn target(a: &Args) -> anyhow::Result<(Option<Target>, String)> {
    Ok(match (&a.pid, &a.cgroup, a.command.is_empty()) {
        (Some(p), _, _) => {
            if !std::path::Path::new(&format!("/proc/{p}")).exists() {
                bail!("no process with PID {p}");
            }
            (Some(Target::Process(*p)), format!("pid {p}"))
        }
        (None, Some(d), _) => {
            if !d.is_dir() {
                bail!("{} is not a cgroup directory", d.display());
            }
            (
                Some(Target::Cgroup(d.clone())),
                format!("cgroup {}", d.display()),
            )
        }
        (None, None, true) => {
            bail!("nothing to record: give a command after `--`, --pid PID or --cgroup DIR")
        }
        (None, None, false) => {
            let text = a
                .command
                .iter()
                .map(|s| s.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ");
            (None, format!("command {text}"))
        }
    })
}

/// SIGTERM and SIGINT, as flags the sampling loop polls.
struct Signals {
    term: Arc<AtomicBool>,
    int: Arc<AtomicBool>,
}

impl Signals {
    fn register() -> anyhow::Result<Signals> {
        let term = Arc::new(AtomicBool::new(false));
        let int = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())?;
        signal_hook::flag::register(signal_hook::consts::SIGINT, int.clone())?;
        Ok(Signals { term, int })
    }
}

/// One recording's settings, header, output file, stop flag and signals.
struct Recording<'a> {
    settings: Settings,
    header: Header,
    file: &'a mut std::fs::File,
    stop: &'a Arc<AtomicBool>,
    signals: &'a Signals,
}

/// Records a running process or cgroup until a signal (or `--duration`).
fn record_attached(a: &Args, target: &Target, r: Recording<'_>) -> anyhow::Result<ExitCode> {
    let (term, int) = (&r.signals.term, &r.signals.int);
    let attached = r.stop.clone();
    let mut done = || {
        if term.load(Ordering::Relaxed) || int.load(Ordering::Relaxed) {
            attached.store(true, Ordering::Relaxed);
        }
        false
    };
    let m = choose(a.recorder, || Session::attach(target))?;
    let o = record_with(m, a, target, r, &mut done)
        .with_context(|| format!("recording into {}", a.out.display()))?;
    report(&o, a, None)?;
    Ok(exit::code(exit::OK))
}

/// Starts the command and records it until it exits; signals are forwarded to it.
fn record_command(a: &Args, r: Recording<'_>) -> anyhow::Result<ExitCode> {
    let (term, int) = (&r.signals.term, &r.signals.int);
    let program = &a.command[0];
    let mut cmd = std::process::Command::new(program);
    cmd.args(&a.command[1..]);
    // Opened on this thread before the fork, so that the command inherits the events.
    let m = choose(a.recorder, Session::before_spawn)?;
    let mut proc = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", program.to_string_lossy()))?;
    let pid = proc.id();
    let rpid = rustix::process::Pid::from_raw(pid as i32);
    let mut exited_cpu = None;
    let mut done = || {
        for (flag, sig) in [
            (term, rustix::process::Signal::TERM),
            (int, rustix::process::Signal::INT),
        ] {
            if flag.swap(false, Ordering::Relaxed) {
                if let Some(p) = rpid {
                    let _ = rustix::process::kill_process(p, sig);
                }
            }
        }
        let Some(p) = rpid else { return true };
        let exited = matches!(
            rustix::process::waitid(
                rustix::process::WaitId::Pid(p),
                rustix::process::WaitIdOptions::EXITED
                    | rustix::process::WaitIdOptions::NOWAIT
                    | rustix::process::WaitIdOptions::NOHANG,
            ),
            Ok(Some(_))
        );
        if exited {
            exited_cpu = zombie_cpu_ns(pid);
        }
        exited
    };
    let recorded = record_with(m, a, &Target::Process(pid), r, &mut done);
    let status = proc.wait().context("waiting for the command")?;
    let o = recorded.with_context(|| format!("recording into {}", a.out.display()))?;
    report(&o, a, exited_cpu.map(|total| (o.cpu_ns, total)))?;
    Ok(ExitCode::from(status_code(status)))
}

fn report(o: &Outcome, a: &Args, coverage: Option<(u64, u64)>) -> anyhow::Result<()> {
    if a.json {
        let v = serde_json::json!({
            "out": a.out.display().to_string(),
            "interval_ns": a.interval.0,
            "outcome": o,
            "command_cpu_ns": coverage.map(|c| c.1),
        });
        eprintln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_summary(o, a, coverage);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_pass_through() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status_code(std::process::ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(status_code(std::process::ExitStatus::from_raw(9)), 137);
    }

    fn refused() -> Result<Session, Unavailable> {
        Err(Unavailable {
            what: "perf_event_open(cpu 0)".into(),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        })
    }

    #[test]
    fn without_perf_events_auto_falls_back_to_the_poller_and_says_why() {
        let Ok(Mechanism::Poll(Some(why))) = choose(RecorderChoice::Auto, refused) else {
            panic!("auto must fall back to schedstat");
        };
        assert!(why.contains("perf_event_open(cpu 0)"), "{why}");
        let e = choose(RecorderChoice::Perf, refused)
            .err()
            .expect("perf is required");
        let msg = e.to_string();
        assert!(msg.contains("perf events unavailable") && msg.contains("--recorder schedstat"));
        let mut opened = false;
        let m = choose(RecorderChoice::Schedstat, || {
            opened = true;
            refused()
        });
        assert!(matches!(m, Ok(Mechanism::Poll(None))) && !opened);
    }
}
