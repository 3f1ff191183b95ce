//! Load profiles: one grammar and one arrival generator shared by `simulate` and `run`
//! (pure core).
//!
//! Grammar (comma-separated `key=value` after the kind):
//! - `spin:threads=N` — N threads that never block.
//! - `periodic:threads=N,work=D,every=D` — open loop: every `every`, each of the N threads
//!   receives one request of `work` CPU time. Arrivals follow the schedule, never the
//!   completions, so a late request queues behind the previous one on its thread.
//! - `poisson:rate=R/s,work=D,threads=N` — Poisson arrivals at R per second into a shared
//!   queue served by N worker threads.
//! - `trace:FILE` — a `kcpu record` trace (per-thread CPU per sampling interval; format in
//!   [`crate::record::format`]) or the older CSV of `arrival,work` durations (the caller reads
//!   the file and passes its text to [`parse_trace_csv`]).
//!
//! Because the simulator and the runner both take their request schedule from [`arrivals`],
//! the two always mean the same load.

use crate::units::{parse_duration, Nanos};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// A parsed load profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoadProfile {
    /// Threads that are always runnable.
    Spin {
        /// Number of threads.
        threads: u32,
    },
    /// Fixed-rate requests per thread.
    Periodic {
        /// Number of threads.
        threads: u32,
        /// CPU time of each request.
        work: Nanos,
        /// Interval between arrivals on each thread.
        every: Nanos,
    },
    /// Poisson arrivals into a shared queue.
    Poisson {
        /// Mean arrivals per second.
        rate_per_s: f64,
        /// CPU time of each request.
        work: Nanos,
        /// Worker threads.
        threads: u32,
    },
    /// Arrivals from a CSV file.
    Trace {
        /// Path as given on the command line.
        path: String,
    },
}

/// Error from [`parse_load`] or [`parse_trace_csv`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid load profile {input:?}: {reason}")]
pub struct LoadError {
    /// The text that failed.
    pub input: String,
    /// What is wrong, with a hint.
    pub reason: String,
}

/// Upper bound on threads, to keep typos such as `threads=4000` from forking a machine to death.
pub const MAX_THREADS: u32 = 1024;

impl LoadProfile {
    /// Number of threads (or workers) the profile runs; 1 for a trace.
    pub fn threads(&self) -> u32 {
        match self {
            LoadProfile::Spin { threads }
            | LoadProfile::Periodic { threads, .. }
            | LoadProfile::Poisson { threads, .. } => *threads,
            LoadProfile::Trace { .. } => 1,
        }
    }

    /// Mean CPU demand in cores (None for a trace, whose demand depends on its file).
    pub fn demand_cores(&self) -> Option<f64> {
        match self {
            LoadProfile::Spin { threads } => Some(*threads as f64),
            LoadProfile::Periodic {
                threads,
                work,
                every,
            } => Some(*threads as f64 * work.0 as f64 / every.0 as f64),
            LoadProfile::Poisson {
                rate_per_s, work, ..
            } => Some(rate_per_s * work.0 as f64 / 1e9),
            LoadProfile::Trace { .. } => None,
        }
    }
}

impl std::fmt::Display for LoadProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::units::format_duration as d;
        match self {
            LoadProfile::Spin { threads } => write!(f, "spin:threads={threads}"),
            LoadProfile::Periodic {
                threads,
                work,
                every,
            } => {
                write!(
                    f,
                    "periodic:threads={threads},work={},every={}",
                    d(*work),
                    d(*every)
                )
            }
            LoadProfile::Poisson {
                rate_per_s,
                work,
                threads,
            } => {
                write!(
                    f,
                    "poisson:rate={rate_per_s}/s,work={},threads={threads}",
                    d(*work)
                )
            }
            LoadProfile::Trace { path } => write!(f, "trace:{path}"),
        }
    }
}

/// Parses a load profile string.
pub fn parse_load(text: &str) -> Result<LoadProfile, LoadError> {
    let err = |reason: String| LoadError {
        input: text.to_string(),
        reason,
    };
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    if kind == "trace" {
        if rest.is_empty() {
            return Err(err("trace needs a file: trace:FILE.csv".into()));
        }
        return Ok(LoadProfile::Trace {
            path: rest.to_string(),
        });
    }
    let mut threads: Option<u32> = None;
    let mut work: Option<Nanos> = None;
    let mut every: Option<Nanos> = None;
    let mut rate: Option<f64> = None;
    for part in rest.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| err(format!("expected key=value, got {part:?}")))?;
        match k {
            "threads" => {
                let n: u32 = v
                    .parse()
                    .map_err(|_| err(format!("threads must be a whole number, got {v:?}")))?;
                if n == 0 || n > MAX_THREADS {
                    return Err(err(format!("threads must be between 1 and {MAX_THREADS}")));
                }
                threads = Some(n);
            }
            "work" => work = Some(parse_duration(v).map_err(|e| err(e.to_string()))?),
            "every" => every = Some(parse_duration(v).map_err(|e| err(e.to_string()))?),
            "rate" => {
                let num = v.strip_suffix("/s").ok_or_else(|| {
                    err(format!("rate needs a /s unit, e.g. rate=40/s (got {v:?})"))
                })?;
                let r: f64 = num.parse().map_err(|_| err(format!("bad rate {v:?}")))?;
                if !(r.is_finite() && r > 0.0 && r <= 1e6) {
                    return Err(err("rate must be > 0 and at most 1000000/s".into()));
                }
                rate = Some(r);
            }
            _ => return Err(err(format!("unknown key {k:?}"))),
        }
    }
    let need = |o: Option<Nanos>, name: &str| -> Result<Nanos, LoadError> {
        match o {
            Some(d) if d.0 > 0 => Ok(d),
            Some(_) => Err(err(format!("{name} must be greater than zero"))),
            None => Err(err(format!("{kind} needs {name}=DURATION"))),
        }
    };
    match kind {
        "spin" => {
            if work.is_some() || every.is_some() || rate.is_some() {
                return Err(err("spin takes only threads=N".into()));
            }
            Ok(LoadProfile::Spin {
                threads: threads.unwrap_or(1),
            })
        }
        "periodic" => {
            if rate.is_some() {
                return Err(err(
                    "periodic takes threads, work and every (rate is for poisson)".into(),
                ));
            }
            Ok(LoadProfile::Periodic {
                threads: threads.unwrap_or(1),
                work: need(work, "work")?,
                every: need(every, "every")?,
            })
        }
        "poisson" => {
            if every.is_some() {
                return Err(err(
                    "poisson takes rate, work and threads (every is for periodic)".into(),
                ));
            }
            let rate_per_s = rate.ok_or_else(|| err("poisson needs rate=R/s".into()))?;
            Ok(LoadProfile::Poisson {
                rate_per_s,
                work: need(work, "work")?,
                threads: threads.unwrap_or(1),
            })
        }
        _ => Err(err(format!(
            "unknown kind {kind:?}; expected spin, periodic, poisson or trace"
        ))),
    }
}

/// One unit of work in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Scheduled arrival, relative to the load start.
    pub arrival: Nanos,
    /// CPU time the request needs.
    pub work: Nanos,
    /// The thread it is bound to (`periodic`), or `None` for the shared queue.
    pub thread: Option<u32>,
}

/// Parses a trace file's text ([`crate::record::format`]): a `kcpu record` trace gives requests
/// bound to their recorded threads; the older `arrival,work` format (`0ms,15ms` per line, with
/// optional header and `#` comments) gives requests for one shared queue. Sorted by arrival.
pub fn parse_trace_csv(text: &str) -> Result<Vec<Request>, LoadError> {
    crate::record::format::parse(text).map(|t| t.requests)
}

pub use crate::record::format::ReadError;

/// The requests of a trace read line by line from `r` that arrive before `until_ns`
/// ([`crate::record::format::read`]).
pub fn read_trace(
    r: impl std::io::BufRead,
    until_ns: Option<u64>,
) -> Result<Vec<Request>, crate::record::format::ReadError> {
    crate::record::format::read(r, until_ns).map(|t| t.requests)
}

/// Number of threads a trace's requests are bound to (1 for a shared-queue trace).
pub fn trace_threads(requests: &[Request]) -> u32 {
    requests
        .iter()
        .filter_map(|r| r.thread)
        .max()
        .map_or(1, |t| t + 1)
}

/// Span of a list of requests: from 0 to the latest end, each request lasting at least
/// `min_step` (a recorded row's interval; 0 for the bare work). 0 for no request.
pub fn requests_span_ns(requests: &[Request], min_step: u64) -> u64 {
    requests
        .iter()
        .map(|r| r.arrival.0.saturating_add(min_step.max(r.work.0)))
        .max()
        .unwrap_or(0)
}

/// The request schedule of `profile` over `[0, duration)`; empty for `spin` (its threads are
/// always busy) and for `trace` (use [`parse_trace_csv`]). Poisson arrivals are drawn from a
/// ChaCha8 generator seeded with `seed`, so a seed always gives the same schedule.
pub fn arrivals(profile: &LoadProfile, duration: Nanos, seed: u64) -> Vec<Request> {
    match profile {
        LoadProfile::Spin { .. } | LoadProfile::Trace { .. } => Vec::new(),
        LoadProfile::Periodic {
            threads,
            work,
            every,
        } => {
            let mut out = Vec::new();
            let mut t = 0u64;
            while t < duration.0 {
                for th in 0..*threads {
                    out.push(Request {
                        arrival: Nanos(t),
                        work: *work,
                        thread: Some(th),
                    });
                }
                t = t.saturating_add(every.0.max(1));
            }
            out
        }
        LoadProfile::Poisson {
            rate_per_s, work, ..
        } => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mean_ns = 1e9 / rate_per_s;
            let mut out = Vec::new();
            let mut t = 0f64;
            loop {
                let u: f64 = rng.random::<f64>();
                t += -mean_ns * (1.0 - u).ln();
                if t >= duration.0 as f64 {
                    break;
                }
                out.push(Request {
                    arrival: Nanos(t as u64),
                    work: *work,
                    thread: None,
                });
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            parse_load("spin:threads=4").unwrap(),
            LoadProfile::Spin { threads: 4 }
        );
        assert_eq!(
            parse_load("periodic:threads=2,work=80ms,every=200ms").unwrap(),
            LoadProfile::Periodic {
                threads: 2,
                work: Nanos::from_ms(80),
                every: Nanos::from_ms(200)
            }
        );
        assert_eq!(
            parse_load("poisson:rate=40/s,work=15ms,threads=8").unwrap(),
            LoadProfile::Poisson {
                rate_per_s: 40.0,
                work: Nanos::from_ms(15),
                threads: 8
            }
        );
        assert_eq!(
            parse_load("trace:a.csv").unwrap(),
            LoadProfile::Trace {
                path: "a.csv".into()
            }
        );
    }

    #[test]
    fn rejects_bad_profiles() {
        for bad in [
            "spin:threads=0",
            "spin:threads=x",
            "periodic:threads=2,work=80ms",
            "periodic:work=0ms,every=1ms",
            "poisson:rate=40,work=1ms",
            "poisson:work=1ms",
            "burst:threads=1",
            "spin:threads=1,work=1ms",
            "periodic:threads=1,work=1ms,every=2ms,colour=red",
            "trace:",
            "spin:threads=99999",
        ] {
            assert!(parse_load(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "spin:threads=4",
            "periodic:threads=2,work=80ms,every=200ms",
            "poisson:rate=40/s,work=15ms,threads=8",
        ] {
            let p = parse_load(s).unwrap();
            assert_eq!(parse_load(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn periodic_schedule_is_open_loop() {
        let p = parse_load("periodic:threads=2,work=80ms,every=200ms").unwrap();
        let a = arrivals(&p, Nanos::from_ms(1000), 1);
        assert_eq!(a.len(), 10);
        assert_eq!(a[2].arrival, Nanos::from_ms(200));
        assert_eq!(a[3].thread, Some(1));
        assert_eq!(p.demand_cores(), Some(0.8));
    }

    #[test]
    fn poisson_is_seeded_and_near_rate() {
        let p = parse_load("poisson:rate=100/s,work=1ms,threads=2").unwrap();
        let a = arrivals(&p, Nanos::from_ms(100_000), 7);
        assert_eq!(a, arrivals(&p, Nanos::from_ms(100_000), 7));
        assert!((9_000..11_000).contains(&a.len()), "{}", a.len());
        assert!(a.windows(2).all(|w| w[0].arrival <= w[1].arrival));
    }

    #[test]
    fn trace_csv() {
        let r = parse_trace_csv("arrival,work\n# c\n10ms,2ms\n0ms,1ms\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].arrival, Nanos(0));
        assert!(parse_trace_csv("1ms").is_err());
    }
}
