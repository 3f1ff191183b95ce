//! Clocks used by the runner and the worker (I/O shell).
//!
//! Wall time is `CLOCK_MONOTONIC` (vDSO, shared by every process of the machine, so the runner
//! can hand a start instant to a worker). CPU time of a thread is `CLOCK_THREAD_CPUTIME_ID`:
//! the same `sum_exec_runtime` the CFS quota is charged from (`cfs.md` §7.1).
//!
//! [`Clock`] is the seam of the measuring window ([`super::window`]): the instants, the runner's
//! own CPU time and the machine's busy ticks it reads. [`SystemClock`] reads the real ones;
//! unit tests drive the window with a scripted clock against the fake kernel.

use super::sampler::ProcStat;
use rustix::time::{clock_gettime, ClockId, Timespec};
use std::num::NonZeroU64;

fn ns(t: Timespec) -> u64 {
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

fn ts(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    }
}

/// `CLOCK_MONOTONIC` in ns.
pub fn now_ns() -> u64 {
    ns(clock_gettime(ClockId::Monotonic))
}

/// CPU time of the calling thread in ns.
pub fn thread_cpu_ns() -> u64 {
    ns(clock_gettime(ClockId::ThreadCPUTime))
}

/// CPU time of the whole calling process (all threads) in ns.
pub fn process_cpu_ns() -> u64 {
    ns(clock_gettime(ClockId::ProcessCPUTime))
}

/// Sleeps until the monotonic instant `deadline_ns` (returns at once if it has passed).
pub fn sleep_until(deadline_ns: u64) {
    let t = ts(deadline_ns);
    while let Err(e) = rustix::thread::clock_nanosleep_absolute(ClockId::Monotonic, &t) {
        if e != rustix::io::Errno::INTR {
            break;
        }
    }
}

/// Makes timed sleeps of the calling thread precise (1 ns timer slack instead of the default
/// 50 µs), for edge polling and request wake-ups. Best effort.
pub fn precise_timers() {
    let _ = rustix::thread::set_current_timer_slack(NonZeroU64::new(1));
}

/// What the measuring window reads besides the cgroup files.
pub trait Clock: Send + Sync {
    /// `CLOCK_MONOTONIC` in ns.
    fn now_ns(&self) -> u64;
    /// CPU time of this whole process in ns.
    fn process_cpu_ns(&self) -> u64;
    /// Sleeps until the monotonic instant `deadline_ns`.
    fn sleep_until(&self, deadline_ns: u64);
    /// The machine's busy ticks (`/proc/stat`), `None` when unavailable.
    fn proc_stat(&self) -> Option<ProcStat>;
}

/// The real clocks and `/proc/stat`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> u64 {
        now_ns()
    }
    fn process_cpu_ns(&self) -> u64 {
        process_cpu_ns()
    }
    fn sleep_until(&self, deadline_ns: u64) {
        sleep_until(deadline_ns)
    }
    fn proc_stat(&self) -> Option<ProcStat> {
        ProcStat::read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_move_and_sleep_waits() {
        let a = now_ns();
        sleep_until(a + 2_000_000);
        let b = now_ns();
        assert!(b >= a + 2_000_000);
        let c0 = thread_cpu_ns();
        let mut x = 0u64;
        while thread_cpu_ns() < c0 + 1_000_000 {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_ns() >= thread_cpu_ns());
        assert_eq!(ns(ts(1_234_567_890_123)), 1_234_567_890_123);
    }
}
