//! `kcpu probe` (I/O shell): inside a pod (or any cgroup), read the process's own cgroup
//! through `/proc/self/cgroup` and the cgroup namespace, record node facts, run the built-in
//! load in this process, and print one JSON line per run ([`crate::probe::ProbeRecord`]).
//! Needs no privileges: it only reads `/proc` and `/sys/fs/cgroup`.
//!
//! `--idle` is what the pod's other containers run under `kcpu run --emit-job`: sleep for
//! `--duration` (or until SIGTERM/SIGINT: as PID 1 of a container the process gets no default
//! signal handling, so it installs handlers) and exit 0.
#![allow(clippy::print_stdout)]

use super::exit;
use crate::probe::{self, Measured, NodeFacts, OwnCgroup, ProbeRecord};
use crate::runner::clock::now_ns;
use crate::runner::measure::latencies;
use crate::runner::worker::{run_worker, WorkerLine, WorkerSpec};
use crate::sim::load::parse_load;
use crate::stats::percentiles_ns;
use crate::trace::CpuStat;
use crate::units::{parse_duration, Nanos};
use anyhow::Context;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Arguments of `kcpu probe`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kcpu probe --load spin:threads=1 --duration 2s --runs 3
  kcpu probe --load periodic:threads=2,work=80ms,every=200ms --runs 20 --seed 7")]
pub struct Args {
    /// Load profile (`--load` grammar of `kcpu run`).
    #[arg(long, required_unless_present = "idle")]
    pub load: Option<String>,
    /// Load duration per run (with --idle: how long to idle; default until SIGTERM).
    #[arg(long, value_parser = parse_dur)]
    pub duration: Option<Nanos>,
    /// Runs (one JSON line each).
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// Seed for Poisson arrivals (run i of completion index k uses seed + k + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The `kcpu.dev/run` id to record.
    #[arg(long)]
    pub run_id: Option<String>,
    /// `Kind/namespace/name` of the measured workload, to record.
    #[arg(long)]
    pub workload: Option<String>,
    /// The measured container's name, to record.
    #[arg(long)]
    pub container: Option<String>,
    /// Do nothing for --duration (or until SIGTERM) and exit 0.
    #[arg(long)]
    pub idle: bool,
}

fn parse_dur(v: &str) -> Result<Nanos, String> {
    parse_duration(v).map_err(|e| e.to_string())
}

fn idle(duration: Option<Nanos>) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing a handler")?;
    }
    let end = duration.map(|d| now_ns() + d.0);
    while !stop.load(Ordering::Relaxed) && end.is_none_or(|e| now_ns() < e) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(exit::code(exit::OK))
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn node_facts(own: &OwnCgroup, mountinfo: &str) -> NodeFacts {
    let uname = rustix::system::uname();
    let kernel = uname.release().to_string_lossy().into_owned();
    let cpus = read_opt(Path::new("/sys/devices/system/cpu/online"))
        .map(|s| count_cpu_list(&s))
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
        });
    let cpus_allowed = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(cpus);
    let cpu_model = read_opt(Path::new("/proc/cpuinfo")).and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let hz = read_opt(&Path::new("/boot").join(format!("config-{kernel}")))
        .and_then(|t| crate::runner::kernel::parse_config_hz(&t));
    NodeFacts {
        name: env("KCPU_NODE_NAME"),
        kernel,
        cpus,
        cpus_allowed,
        cpu_model,
        hz,
        cgroup_version: own.version.clone(),
        runtime: probe::runtime_from_path(&own.path)
            .or_else(|| probe::runtime_from_mountinfo(mountinfo)),
    }
}

/// Number of CPUs in a kernel CPU list (`0-3,8`).
pub fn count_cpu_list(s: &str) -> u32 {
    s.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => u32::from(p.parse::<u32>().is_ok()),
        })
        .sum()
}

#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    stat: CpuStat,
    acct_ns: Option<u64>,
    at_ns: u64,
}

fn snapshot(own: &OwnCgroup) -> anyhow::Result<Snapshot> {
    let path = own.cpu_dir.join(crate::cgroupfs::CPU_STAT);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let stat = CpuStat::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let acct_ns = own
        .acct_dir
        .as_ref()
        .and_then(|d| read_opt(&d.join("cpuacct.usage")))
        .and_then(|s| s.parse().ok());
    Ok(Snapshot {
        stat,
        acct_ns,
        at_ns: now_ns(),
    })
}

/// The worker's input: `start <ns>` produced when first read, after taking the "before"
/// snapshot (so the calibration before it is not measured).
struct StartLine {
    own: OwnCgroup,
    before: Rc<RefCell<Option<anyhow::Result<Snapshot>>>>,
    line: Option<Vec<u8>>,
    pos: usize,
}

impl Read for StartLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.line.is_none() {
            let start = now_ns() + 20_000_000;
            *self.before.borrow_mut() = Some(snapshot(&self.own));
            self.line = Some(format!("start {start}\n").into_bytes());
        }
        let line = self.line.as_deref().unwrap_or_default();
        let n = (line.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.idle {
        return idle(args.duration);
    }
    let load_text = args.load.clone().unwrap_or_default();
    let load = parse_load(&load_text)?;
    let duration = args.duration.unwrap_or(Nanos(5_000_000_000));
    let proc_cgroup =
        std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    let mountinfo =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    let own = probe::own_cgroup(&proc_cgroup, &mountinfo)
        .context("no cgroup with a cpu controller is visible (/proc/self/cgroup, mountinfo)")?;
    let node = node_facts(&own, &mountinfo);
    let index: Option<u32> = env("JOB_COMPLETION_INDEX").and_then(|v| v.parse().ok());
    for run in 0..args.runs {
        let mut files = BTreeMap::new();
        for name in probe::cpu_files(&own.version) {
            if let Some(v) = read_opt(&own.cpu_dir.join(name)) {
                files.insert(name.to_string(), v);
            }
        }
        let seed = args.seed + u64::from(index.unwrap_or(0)) + u64::from(run);
        let spec = WorkerSpec {
            load: load.clone(),
            duration,
            seed,
            cpus: Vec::new(),
            drain: Nanos(duration.0 / 2),
            burn: crate::runner::worker::Burn::Clock,
        };
        let before = Rc::new(RefCell::new(None));
        let input = std::io::BufReader::new(StartLine {
            own: own.clone(),
            before: Rc::clone(&before),
            line: None,
            pos: 0,
        });
        let mut output = Vec::new();
        let done = run_worker(&spec, input, &mut output).context("running the load")?;
        let after = snapshot(&own)?;
        let before = before
            .borrow_mut()
            .take()
            .context("the load never started")??;
        let records: Vec<_> = output
            .as_slice()
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| match serde_json::from_str::<WorkerLine>(&l) {
                Ok(WorkerLine::Request(r)) => Some(r),
                _ => None,
            })
            .collect();
        let (lat, queue) = latencies(&records);
        let (lp, qp) = (percentiles_ns(&lat), percentiles_ns(&queue));
        let d = after.stat.delta(&before.stat);
        let usage_usec = d.usage_us.or(match (after.acct_ns, before.acct_ns) {
            (Some(a), Some(b)) => Some(a.saturating_sub(b) / 1000),
            _ => None,
        });
        if let Some(s) = read_opt(&own.cpu_dir.join(crate::cgroupfs::CPU_STAT)) {
            files.insert(crate::cgroupfs::CPU_STAT.into(), s);
        }
        let record = ProbeRecord {
            kcpu_probe: probe::FORMAT_VERSION,
            kcpu_version: env!("CARGO_PKG_VERSION").into(),
            run_id: args.run_id.clone(),
            index,
            workload: args.workload.clone(),
            container: args.container.clone(),
            pod: env("KCPU_POD_NAME"),
            node: node.clone(),
            cgroup: own.clone(),
            files,
            load: load_text.clone(),
            duration_s: duration.0 as f64 / 1e9,
            seed,
            measured: Measured {
                nr_periods: d.nr_periods,
                nr_throttled: d.nr_throttled,
                throttled_usec: d.throttled_time_us,
                usage_usec,
                wall_usec: after.at_ns.saturating_sub(before.at_ns) / 1000,
                requests: done.requests,
                incomplete: done.incomplete,
                latency_ms: [lp.p50_ms, lp.p90_ms, lp.p99_ms, lp.max_ms],
                queue_ms: [qp.p50_ms, qp.p90_ms, qp.p99_ms, qp.max_ms],
            },
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(&record)?)?;
        out.flush()?;
    }
    Ok(exit::code(exit::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(count_cpu_list("0-3,8\n"), 5);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(count_cpu_list("x"), 0);
        assert_eq!(count_cpu_list("3-1"), 0);
    }
}
