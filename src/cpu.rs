//! The CPU vocabulary every layer speaks (pure core): one type per idea.
//!
//! - [`CpuShare`]: a group's relative weight, v1 `cpu.shares` or v2 `cpu.weight`;
//! - [`CpuMax`]: quota and period, v1 `cpu.cfs_quota_us` + `cpu.cfs_period_us` or v2 `cpu.max`,
//!   with the kernel's text form ([`Display`](fmt::Display) / [`FromStr`]);
//! - the burst (`cpu.cfs_burst_us` / `cpu.max.burst`) is a [`Usec`] checked by
//!   [`CpuMax::check_burst`];
//! - [`CgroupVersion`] (defined with the other target settings in [`crate::profile`]);
//! - the kernel ranges, written once, as associated constants of the unit newtypes:
//!   [`Shares::MIN`]/[`Shares::MAX`], [`Weight::MIN`]/[`Weight::MAX`], [`QuotaUs::MIN`] (the
//!   1 ms floor), [`PeriodUs::MIN`]/[`PeriodUs::MAX`];
//! - [`Explained<T>`]: a value together with the derivation that produced it, so that the
//!   number and the text printed for it come from one computation.
//!
//! `translate` produces these values, `sim` consumes them, `cgroupfs` writes them, `lint`
//! reasons about them and `cli` moves them between the others.

use crate::units::{PeriodUs, QuotaUs, Shares, Usec, Weight};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

pub use crate::profile::CgroupVersion;

/// The CPU controller's cgroup file names, written once. `cgroupfs` re-exports them next to the
/// code that writes them; the pure core (`translate`, `collect`) names files through them.
pub mod files {
    /// v1 relative weight (2..=262144, default 1024).
    pub const CPU_SHARES: &str = "cpu.shares";
    /// v1 quota per period in µs; `-1` = unlimited.
    pub const CPU_CFS_QUOTA_US: &str = "cpu.cfs_quota_us";
    /// v1 period in µs.
    pub const CPU_CFS_PERIOD_US: &str = "cpu.cfs_period_us";
    /// v1 burst in µs (5.14+).
    pub const CPU_CFS_BURST_US: &str = "cpu.cfs_burst_us";
    /// v2 relative weight (1..=10000, default 100).
    pub const CPU_WEIGHT: &str = "cpu.weight";
    /// v2 `"$MAX $PERIOD"`, `max` = unlimited.
    pub const CPU_MAX: &str = "cpu.max";
    /// v2 burst in µs (5.14+).
    pub const CPU_MAX_BURST: &str = "cpu.max.burst";
    /// Both versions (5.15+): `1` makes the group SCHED_IDLE among its siblings.
    pub const CPU_IDLE: &str = "cpu.idle";
    /// Bandwidth counters (both versions; v1 in ns, v2 in µs).
    pub const CPU_STAT: &str = "cpu.stat";
    /// v2 pressure stall information for the cgroup.
    pub const CPU_PRESSURE: &str = "cpu.pressure";
}

// --------------------------------------------------------------------------------------------
// Kernel ranges

impl Shares {
    /// Smallest `cpu.shares` (kernel/sched/sched.h `MIN_SHARES` = 2; kubelet `MinShares`).
    pub const MIN: Shares = Shares(2);
    /// Largest `cpu.shares`, 2^18 (kernel/sched/sched.h `MAX_SHARES`; kubelet `MaxShares`).
    pub const MAX: Shares = Shares(262_144);
    /// `cpu.shares` of a new cgroup (kernel/sched/core.c: `ROOT_TASK_GROUP_LOAD` scaled, 1024).
    pub const DEFAULT: Shares = Shares(1024);

    /// The value clamped into `[MIN, MAX]`, as `cpu_shares_write_u64` stores it.
    pub fn clamped(self) -> Shares {
        Shares(self.0.clamp(Shares::MIN.0, Shares::MAX.0))
    }
}

impl Weight {
    /// Smallest `cpu.weight` (include/linux/cgroup.h `CGROUP_WEIGHT_MIN`).
    pub const MIN: Weight = Weight(1);
    /// Largest `cpu.weight` (include/linux/cgroup.h `CGROUP_WEIGHT_MAX`).
    pub const MAX: Weight = Weight(10_000);
    /// `cpu.weight` of a new cgroup (include/linux/cgroup.h `CGROUP_WEIGHT_DFL`).
    pub const DEFAULT: Weight = Weight(100);
}

impl QuotaUs {
    /// Smallest quota the kernel accepts, 1 ms (kernel/sched/core.c `min_cfs_quota_period`;
    /// the kubelet's `MinQuotaPeriod` raises smaller quotas to it). cfs.md fact 3.
    pub const MIN: QuotaUs = QuotaUs(1_000);
}

impl PeriodUs {
    /// Shortest period, 1 ms (kernel/sched/core.c `min_cfs_quota_period`). cfs.md fact 2.
    pub const MIN: PeriodUs = PeriodUs(1_000);
    /// Longest period, 1 s (kernel/sched/core.c `max_cfs_quota_period`). cfs.md fact 2.
    pub const MAX: PeriodUs = PeriodUs(1_000_000);
}

// --------------------------------------------------------------------------------------------
// Weight

/// A group's relative CPU weight in the unit of the hierarchy it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuShare {
    /// v1 `cpu.shares`.
    Shares(Shares),
    /// v2 `cpu.weight`.
    Weight(Weight),
}

impl Default for CpuShare {
    /// A new v1 cgroup's weight, `cpu.shares` 1024.
    fn default() -> Self {
        CpuShare::Shares(Shares::DEFAULT)
    }
}

impl CpuShare {
    /// The weight of a new cgroup of `version` (what nothing wrote): `cpu.shares`
    /// [`Shares::DEFAULT`] on v1, `cpu.weight` [`Weight::DEFAULT`] on v2.
    pub fn kernel_default(version: CgroupVersion) -> CpuShare {
        match version {
            CgroupVersion::V1 => CpuShare::Shares(Shares::DEFAULT),
            CgroupVersion::V2 => CpuShare::Weight(Weight::DEFAULT),
        }
    }

    /// The kernel's group weight (`tg->shares`, scaled down). v2: core.c `cpu_weight_write_u64`
    /// → `sched_weight_from_cgroup`: `DIV_ROUND_CLOSEST_ULL(weight * 1024, CGROUP_WEIGHT_DFL)`;
    /// v1: `cpu_shares_write_u64` stores the shares, clamped to `[MIN_SHARES, MAX_SHARES]`.
    pub fn kernel_weight(self) -> u64 {
        match self {
            CpuShare::Shares(s) => s.clamped().0,
            CpuShare::Weight(w) => (w.0 * 1024 + 50) / 100,
        }
    }

    /// The cgroup file this value goes to.
    pub fn file(self) -> &'static str {
        match self {
            CpuShare::Shares(_) => files::CPU_SHARES,
            CpuShare::Weight(_) => files::CPU_WEIGHT,
        }
    }

    /// The bare number written to the file.
    pub fn raw(self) -> u64 {
        match self {
            CpuShare::Shares(s) => s.0,
            CpuShare::Weight(w) => w.0,
        }
    }

    /// `Err(reason)` when the kernel would refuse (v2) or silently clamp (v1) the value.
    pub fn check_range(self) -> Result<(), String> {
        let (v, lo, hi) = match self {
            CpuShare::Shares(s) => (s.0, Shares::MIN.0, Shares::MAX.0),
            CpuShare::Weight(w) => (w.0, Weight::MIN.0, Weight::MAX.0),
        };
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(format!("{v} is outside {lo} ..= {hi}"))
        }
    }
}

// --------------------------------------------------------------------------------------------
// Bandwidth

/// Quota per period: v1 `cpu.cfs_quota_us` + `cpu.cfs_period_us`, v2 `cpu.max`.
///
/// The text form is the v2 file's: `"<quota> <period>"`, or `"max <period>"` when the quota is
/// unlimited (any negative quota).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMax {
    /// Quota per period; [`QuotaUs::UNLIMITED`] for no limit.
    pub quota: QuotaUs,
    /// The enforcement period.
    pub period: PeriodUs,
}

impl Default for CpuMax {
    /// A new cgroup: `max 100000`.
    fn default() -> Self {
        CpuMax::unlimited(PeriodUs::DEFAULT)
    }
}

impl CpuMax {
    /// No quota at this period.
    pub fn unlimited(period: PeriodUs) -> CpuMax {
        CpuMax {
            quota: QuotaUs::UNLIMITED,
            period,
        }
    }

    /// The pair as cgroup v1 stores it: `cpu.cfs_quota_us` (−1, or any negative value, for no
    /// limit) and `cpu.cfs_period_us`.
    pub fn from_v1(quota_us: i64, period_us: u64) -> CpuMax {
        CpuMax {
            quota: if quota_us < 0 {
                QuotaUs::UNLIMITED
            } else {
                QuotaUs(quota_us)
            },
            period: PeriodUs(period_us),
        }
    }

    /// Whether a quota limits the group.
    pub fn is_limited(self) -> bool {
        !self.quota.is_unlimited()
    }

    /// `Err((field, reason))` when the kernel's `tg_set_cfs_bandwidth` would refuse the pair:
    /// period outside 1 ms ..= 1 s, or a quota below 1 ms.
    pub fn check_range(self) -> Result<(), (&'static str, String)> {
        if !(PeriodUs::MIN..=PeriodUs::MAX).contains(&self.period) {
            return Err((
                "period",
                format!("{} µs is outside 1 ms ..= 1 s", self.period.0),
            ));
        }
        if self.is_limited() && self.quota < QuotaUs::MIN {
            return Err((
                "quota",
                format!("{} µs is below the kernel minimum of 1 ms", self.quota.0),
            ));
        }
        Ok(())
    }

    /// `Err(reason)` unless `0 ≤ burst ≤ quota` (kernel/sched/core.c `tg_set_cfs_bandwidth`;
    /// a burst needs a quota).
    pub fn check_burst(self, burst: Usec) -> Result<(), String> {
        if burst.0 == 0 {
            return Ok(());
        }
        if !self.is_limited() {
            return Err("burst needs a quota".into());
        }
        if burst.0 > self.quota.0 as u64 {
            return Err(format!(
                "burst {} µs exceeds the quota {} µs (kernel: 0 ≤ burst ≤ quota)",
                burst.0, self.quota.0
            ));
        }
        Ok(())
    }
}

impl fmt::Display for CpuMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_limited() {
            write!(f, "{} {}", self.quota, self.period)
        } else {
            write!(f, "max {}", self.period)
        }
    }
}

/// Why a `cpu.max` text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed cpu.max {text:?}: {reason}")]
pub struct CpuMaxError {
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for CpuMax {
    type Err = CpuMaxError;

    /// Parses `"<quota|max> <period>"` (surrounding whitespace allowed, as the kernel prints a
    /// trailing newline).
    fn from_str(s: &str) -> Result<CpuMax, CpuMaxError> {
        let err = |reason| CpuMaxError {
            text: s.to_string(),
            reason,
        };
        let mut it = s.split_whitespace();
        let (Some(q), Some(p), None) = (it.next(), it.next(), it.next()) else {
            return Err(err("expected \"<quota|max> <period>\""));
        };
        let period = PeriodUs(p.parse().map_err(|_| err("bad period"))?);
        let quota = if q == "max" {
            QuotaUs::UNLIMITED
        } else {
            QuotaUs(q.parse().map_err(|_| err("bad quota"))?)
        };
        Ok(CpuMax { quota, period })
    }
}

impl Serialize for CpuMax {
    /// As the `cpu.max` text, the stable JSON contract of `translate`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

// --------------------------------------------------------------------------------------------
// Derivations

/// One step of a derivation: what was computed, and the upstream rule that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The step with its numbers, e.g. `MilliCPUToShares(500) = 500*1024/1000 = 512`.
    pub text: String,
    /// The upstream source of the rule (project, path, function).
    pub source: &'static str,
}

impl Step {
    /// A step.
    pub fn new(text: impl Into<String>, source: &'static str) -> Step {
        Step {
            text: text.into(),
            source,
        }
    }
}

/// A value with the steps that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained<T> {
    /// The value.
    pub value: T,
    /// How it was derived, in order.
    pub steps: Vec<Step>,
    /// True when nothing wrote this cgroup file: the value is the kernel's default.
    pub kernel_default: bool,
}

impl<T> Explained<T> {
    /// A derived value.
    pub fn new(value: T, steps: Vec<Step>) -> Explained<T> {
        Explained {
            value,
            steps,
            kernel_default: false,
        }
    }

    /// A value derived in one step.
    pub fn step(value: T, text: impl Into<String>, source: &'static str) -> Explained<T> {
        Explained::new(value, vec![Step::new(text, source)])
    }
}

impl<T: Serialize> Serialize for Explained<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_default_weight_follows_the_version() {
        assert_eq!(
            CpuShare::kernel_default(CgroupVersion::V1),
            CpuShare::Shares(Shares(1024))
        );
        assert_eq!(
            CpuShare::kernel_default(CgroupVersion::V2),
            CpuShare::Weight(Weight(100))
        );
        for v in CgroupVersion::ALL {
            assert_eq!(CpuShare::kernel_default(*v).kernel_weight(), 1024);
        }
    }

    #[test]
    fn cpu_max_text_round_trips() {
        for (text, q, p) in [
            ("150000 100000", 150_000, 100_000),
            ("max 100000", -1, 100_000),
            ("1000 5000", 1_000, 5_000),
        ] {
            let m: CpuMax = text.parse().unwrap();
            assert_eq!(
                m,
                CpuMax {
                    quota: QuotaUs(q),
                    period: PeriodUs(p)
                }
            );
            assert_eq!(m.to_string(), text);
        }
        assert_eq!("max 100000\n".parse::<CpuMax>().unwrap(), CpuMax::default());
        assert_eq!(CpuMax::from_v1(-1, 100_000), CpuMax::default());
        assert_eq!(
            CpuMax::from_v1(-7, 50_000),
            CpuMax::unlimited(PeriodUs(50_000))
        );
        assert_eq!(CpuMax::from_v1(25_000, 50_000).to_string(), "25000 50000");
        for bad in ["max", "x 1", "1 2 3", "", "1 -5"] {
            assert!(bad.parse::<CpuMax>().is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&CpuMax::default()).unwrap(),
            "\"max 100000\""
        );
    }

    #[test]
    fn ranges() {
        assert!(CpuShare::Shares(Shares(2)).check_range().is_ok());
        assert!(CpuShare::Shares(Shares(1)).check_range().is_err());
        assert!(CpuShare::Shares(Shares(262_145)).check_range().is_err());
        assert!(CpuShare::Weight(Weight(10_000)).check_range().is_ok());
        assert!(CpuShare::Weight(Weight(0)).check_range().is_err());
        assert_eq!(CpuShare::Shares(Shares(1)).kernel_weight(), 2);
        assert_eq!(CpuShare::Weight(Weight(100)).kernel_weight(), 1024);
        let m = CpuMax {
            quota: QuotaUs(999),
            period: PeriodUs::DEFAULT,
        };
        assert_eq!(m.check_range().unwrap_err().0, "quota");
        let m = CpuMax {
            quota: QuotaUs(5_000),
            period: PeriodUs(999),
        };
        assert_eq!(m.check_range().unwrap_err().0, "period");
        let m = CpuMax {
            quota: QuotaUs(5_000),
            period: PeriodUs::DEFAULT,
        };
        assert!(m.check_range().is_ok());
        assert!(m.check_burst(Usec(5_000)).is_ok());
        assert!(m.check_burst(Usec(5_001)).is_err());
        assert!(CpuMax::default().check_burst(Usec(1)).is_err());
        assert!(CpuMax::default().check_burst(Usec(0)).is_ok());
    }
}
