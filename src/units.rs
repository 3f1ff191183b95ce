//! Unit newtypes shared by every layer (pure core).
//!
//! cgroup v1 reports throttled time in nanoseconds and v2 in microseconds; keeping units in
//! types makes that mix-up a compile error. A raw integer that crosses a module boundary
//! carries its unit in its name (`_us`, `_ns`, `_millicores`).

use serde::{Deserialize, Serialize};

macro_rules! newtype {
    ($(#[$m:meta])* $name:ident($inner:ty)) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

newtype!(
    /// CPU amount in millicores, as `resource.Quantity.MilliValue()` returns it (1000 = one CPU).
    MilliCpu(i64)
);
newtype!(
    /// cgroup v1 `cpu.shares` value (kernel range 2..=262144).
    Shares(u64)
);
newtype!(
    /// cgroup v2 `cpu.weight` value (kernel range 1..=10000; 0 means "not set").
    Weight(u64)
);
newtype!(
    /// CFS quota in microseconds; `-1` means unlimited (v1 `cpu.cfs_quota_us`, v2 `max`).
    QuotaUs(i64)
);
newtype!(
    /// CFS period in microseconds (v1 `cpu.cfs_period_us`, second field of v2 `cpu.max`).
    PeriodUs(u64)
);
newtype!(
    /// A duration in microseconds (v2 `cpu.stat` `throttled_usec`, `usage_usec`).
    Usec(u64)
);
newtype!(
    /// A duration or instant in nanoseconds (v1 `cpu.stat` `throttled_time`, simulator clock).
    Nanos(u64)
);

impl MilliCpu {
    /// Whole CPUs as a float, for display and capacity maths only (never for cgroup values).
    pub fn cores(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl QuotaUs {
    /// The value the kernel and runtimes use for "no quota".
    pub const UNLIMITED: QuotaUs = QuotaUs(-1);
    /// True when this quota does not limit the group.
    pub fn is_unlimited(self) -> bool {
        self.0 < 0
    }
}

impl PeriodUs {
    /// The default CFS period (kubelet `QuotaPeriod`, kernel default): 100 ms.
    pub const DEFAULT: PeriodUs = PeriodUs(100_000);
}

impl Nanos {
    /// Converts microseconds to nanoseconds.
    pub fn from_us(us: u64) -> Nanos {
        Nanos(us.saturating_mul(1_000))
    }
    /// Converts milliseconds to nanoseconds.
    pub fn from_ms(ms: u64) -> Nanos {
        Nanos(ms.saturating_mul(1_000_000))
    }
    /// Whole microseconds (truncating).
    pub fn as_usec(self) -> Usec {
        Usec(self.0 / 1_000)
    }
    /// Milliseconds as a float, for display.
    pub fn as_ms_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl Usec {
    /// Converts to nanoseconds.
    pub fn as_nanos(self) -> Nanos {
        Nanos(self.0.saturating_mul(1_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Nanos::from_ms(5).as_usec(), Usec(5_000));
        assert_eq!(Usec(7).as_nanos(), Nanos(7_000));
        assert!(QuotaUs::UNLIMITED.is_unlimited());
        assert!(!QuotaUs(1000).is_unlimited());
        assert_eq!(MilliCpu(1500).cores(), 1.5);
    }
}

/// Error from [`parse_duration`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (examples: 100ms, 1.5ms, 500us, 2s)")]
pub struct DurationError {
    /// The text that failed.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses a duration such as `100ms`, `1.5ms`, `500us`, `500µs`, `250ns`, `2s`, `1m` into
/// nanoseconds. Fractions finer than 1 ns are rounded to the nearest nanosecond.
pub fn parse_duration(text: &str) -> Result<Nanos, DurationError> {
    let err = |reason| DurationError {
        input: text.to_string(),
        reason,
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if t.starts_with('-') {
        return Err(err("a duration cannot be negative"));
    }
    if num.is_empty() || num == "." {
        return Err(err("missing number"));
    }
    let scale: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "" => return Err(err("missing unit (ns, us, ms, s or m)")),
        "h" | "hr" | "hour" | "hours" | "d" => {
            return Err(err(
                "hours and days are not accepted: the units are ns, us, ms, s and m",
            ))
        }
        _ => return Err(err("unknown unit: the units are ns, us, ms, s and m")),
    };
    // Exact decimal arithmetic (a float would turn `1022222222.222222ms` into a neighbour).
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if frac.contains('.') {
        return Err(err("bad number"));
    }
    let whole: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| err("too large"))?
    };
    // Digits beyond the 21st are below 10^-21 of the unit, far below a nanosecond.
    let frac = &frac[..frac.len().min(21)];
    let part = if frac.is_empty() {
        0
    } else {
        let den = 10u128.pow(frac.len() as u32);
        let f: u128 = frac.parse().map_err(|_| err("bad number"))?;
        (f * scale + den / 2) / den
    };
    let ns = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(part))
        .filter(|&n| n <= u128::from(u64::MAX / 2))
        .ok_or_else(|| err("too large"))?;
    Ok(Nanos(ns as u64))
}

/// Formats nanoseconds compactly (`100ms`, `1.5ms`, `250us`, `2s`) and exactly: the largest
/// unit in which the value needs at most three decimals, so [`parse_duration`] gives the
/// same value back (the load fuzzer found `1022222222222222ns` printed as a rounded `ms`).
pub fn format_duration(ns: Nanos) -> String {
    let n = ns.0;
    let (div, unit) = if n >= 1_000_000_000 && n.is_multiple_of(1_000_000) {
        (1_000_000_000, "s")
    } else if n >= 1_000_000 && n.is_multiple_of(1_000) {
        (1_000_000, "ms")
    } else if n >= 1_000 {
        (1_000, "us")
    } else {
        (1, "ns")
    };
    let (whole, frac) = (n / div, n % div);
    if frac == 0 {
        return format!("{whole}{unit}");
    }
    let digits = format!("{:0width$}", frac, width = (div.ilog10()) as usize);
    format!("{whole}.{}{unit}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms").unwrap(), Nanos(100_000_000));
        assert_eq!(parse_duration("1.5ms").unwrap(), Nanos(1_500_000));
        assert_eq!(parse_duration("500us").unwrap(), Nanos(500_000));
        assert_eq!(parse_duration("2s").unwrap(), Nanos(2_000_000_000));
        assert_eq!(parse_duration("7ns").unwrap(), Nanos(7));
        assert!(parse_duration("100").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("1.2.3ms").is_err());
        assert_eq!(format_duration(Nanos(100_000_000)), "100ms");
        assert_eq!(format_duration(Nanos(1_500_000)), "1.5ms");
        assert_eq!(format_duration(Nanos(2_000_000_000)), "2s");
        // Exact both ways (fuzz regression: load target, `work=1022222222222222ns`).
        assert_eq!(
            format_duration(Nanos(1_022_222_222_222_222)),
            "1022222222222.222us"
        );
        for n in [
            1,
            999,
            1_000,
            1_500_001,
            1_022_222_222_222_222,
            u64::MAX / 2,
        ] {
            assert_eq!(
                parse_duration(&format_duration(Nanos(n))).unwrap(),
                Nanos(n),
                "{n}"
            );
        }
        assert_eq!(
            parse_duration("1.0000000000000000000000009s").unwrap(),
            Nanos(1_000_000_000)
        );
        assert_eq!(parse_duration(".5ms").unwrap(), Nanos(500_000));
        assert!(parse_duration("99999999999999999999999999999999999999999s").is_err());
    }
}
