//! The measurement schema shared by `simulate` and `run` (pure core).
//!
//! Both commands report exactly these structures so that `run --compare` can put the
//! measured and the simulated figures side by side, field by field. This module also parses
//! the kernel's `cpu.stat` text (v1 reports `throttled_time` in ns, v2 `throttled_usec` in µs).

use crate::units::{Nanos, Usec};
use serde::{Deserialize, Serialize};

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Number of samples the percentiles were computed from.
    pub count: u64,
}

/// Bandwidth and latency figures of one run (or the aggregate of many).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Enforcement periods that elapsed while the group was runnable (`nr_periods`).
    pub nr_periods: u64,
    /// Periods in which the group was throttled (`nr_throttled`).
    pub nr_throttled: u64,
    /// `nr_throttled / nr_periods` (0 when no period elapsed).
    pub throttled_ratio: f64,
    /// Total time threads spent throttled, in µs (`throttled_usec`; v1 ns converted).
    pub throttled_time_us: u64,
    /// Periods in which burst was used (`nr_bursts`).
    pub nr_bursts: u64,
    /// Total burst time used, in µs (`burst_usec`).
    pub burst_time_us: u64,
    /// Average CPUs used over the run (CPU time / wall time).
    pub usage_cores: f64,
    /// Scheduled arrival → completion of each request.
    pub latency: Percentiles,
    /// Scheduled arrival → first CPU of each request.
    pub wakeup: Percentiles,
}

/// One run: its phase inside the quota period and its totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunResult {
    /// 0-based run number.
    pub run: u32,
    /// Offset of the load start after a period edge, in µs.
    pub phase_us: u64,
    /// The run's figures.
    pub totals: Totals,
}

/// Several runs of the same configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Runs with at least one throttled period.
    pub runs_throttled: u32,
    /// Number of runs.
    pub runs: u32,
    /// Aggregate over all runs: counters summed, usage averaged, percentiles over all requests.
    pub totals: Totals,
    /// Each run.
    pub per_run: Vec<RunResult>,
}

/// One point of a timeline (sampled by the runner, or emitted by the simulator).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Time since the start of the run.
    pub t_ns: u64,
    /// Cumulative periods.
    pub nr_periods: u64,
    /// Cumulative throttled periods.
    pub nr_throttled: u64,
    /// Cumulative throttled time, µs.
    pub throttled_time_us: u64,
    /// Cumulative CPU usage, µs.
    pub usage_us: u64,
}

/// Parsed `cpu.stat` (either cgroup version), normalised to µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CpuStat {
    /// `nr_periods`.
    pub nr_periods: u64,
    /// `nr_throttled`.
    pub nr_throttled: u64,
    /// v2 `throttled_usec`, or v1 `throttled_time` (ns) / 1000.
    pub throttled_time_us: u64,
    /// `nr_bursts` (0 when the kernel has no burst support).
    pub nr_bursts: u64,
    /// v2 `burst_usec`, or v1 `burst_time` (ns) / 1000.
    pub burst_time_us: u64,
    /// v2 `usage_usec`; `None` on v1 (usage lives in cpuacct there).
    pub usage_us: Option<u64>,
}

/// Name of the v1 throttled-time key (nanoseconds).
pub const V1_THROTTLED_TIME_NS: &str = "throttled_time";
/// Name of the v2 throttled-time key (microseconds).
pub const V2_THROTTLED_USEC: &str = "throttled_usec";

impl CpuStat {
    /// Parses `cpu.stat` text from either cgroup version. Unknown keys are ignored; a malformed
    /// line is an error naming it.
    pub fn parse(text: &str) -> Result<CpuStat, String> {
        let mut s = CpuStat::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut it = line.split_whitespace();
            let (Some(key), Some(val), None) = (it.next(), it.next(), it.next()) else {
                return Err(format!("malformed cpu.stat line: {line:?}"));
            };
            let v: u64 = val
                .parse()
                .map_err(|_| format!("malformed cpu.stat value: {line:?}"))?;
            match key {
                "nr_periods" => s.nr_periods = v,
                "nr_throttled" => s.nr_throttled = v,
                V1_THROTTLED_TIME_NS => s.throttled_time_us = Nanos(v).as_usec().0,
                V2_THROTTLED_USEC => s.throttled_time_us = v,
                "nr_bursts" => s.nr_bursts = v,
                "burst_time" => s.burst_time_us = Nanos(v).as_usec().0,
                "burst_usec" => s.burst_time_us = Usec(v).0,
                "usage_usec" => s.usage_us = Some(v),
                _ => {}
            }
        }
        Ok(s)
    }

    /// Counter differences `self - earlier` (saturating, for counters that only grow).
    pub fn delta(&self, earlier: &CpuStat) -> CpuStat {
        CpuStat {
            nr_periods: self.nr_periods.saturating_sub(earlier.nr_periods),
            nr_throttled: self.nr_throttled.saturating_sub(earlier.nr_throttled),
            throttled_time_us: self
                .throttled_time_us
                .saturating_sub(earlier.throttled_time_us),
            nr_bursts: self.nr_bursts.saturating_sub(earlier.nr_bursts),
            burst_time_us: self.burst_time_us.saturating_sub(earlier.burst_time_us),
            usage_us: match (self.usage_us, earlier.usage_us) {
                (Some(a), Some(b)) => Some(a.saturating_sub(b)),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_in_ns() {
        let s = CpuStat::parse("nr_periods 11\nnr_throttled 10\nthrottled_time 469435973\nnr_bursts 1\nburst_time 20000000\n").unwrap();
        assert_eq!(s.nr_periods, 11);
        assert_eq!(s.nr_throttled, 10);
        assert_eq!(s.throttled_time_us, 469_435);
        assert_eq!(s.burst_time_us, 20_000);
        assert_eq!(s.usage_us, None);
    }

    #[test]
    fn parses_v2_in_us() {
        let s = CpuStat::parse("usage_usec 2000\nuser_usec 1\nsystem_usec 1\nnr_periods 3\nnr_throttled 2\nthrottled_usec 150\nnr_bursts 0\nburst_usec 0\n").unwrap();
        assert_eq!(s.throttled_time_us, 150);
        assert_eq!(s.usage_us, Some(2000));
        assert!(CpuStat::parse("nr_periods x").is_err());
        assert!(CpuStat::parse("nr_periods 1 2").is_err());
    }
}
