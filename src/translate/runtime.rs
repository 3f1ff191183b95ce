//! What a cgroup writer (the kubelet's cgroup library, runc, crun) puts into the CPU files
//! (pure core).
//!
//! Weight formulas, the systemd quota round-up and the `cpu.max` string are runtime
//! behaviour; which files end up written, and which keep the kernel default, follows from
//! the writer's rules below.

use super::kubelet::linear_shares_to_weight;
use crate::cpu::{CpuMax, Explained};
use crate::units::{PeriodUs, QuotaUs, Shares, Weight};

/// Upstream locations cited by explanations.
pub mod src {
    /// opencontainers/cgroups linear conversion.
    pub const LINEAR_WEIGHT: &str =
        "opencontainers/cgroups utils.go ConvertCPUSharesToCgroupV2Value (<= v0.0.2; runc <= 1.3.1) / containers/crun src/libcrun/cgroup-internal.h convert_shares_to_weight (<= 1.22)";
    /// opencontainers/cgroups quadratic conversion.
    pub const QUADRATIC_WEIGHT: &str =
        "opencontainers/cgroups utils.go ConvertCPUSharesToCgroupV2Value (>= v0.0.3; runc >= 1.3.2) / containers/crun src/libcrun/cgroup-internal.h convert_shares_to_weight (>= 1.23)";
    /// systemd quota rounding.
    pub const ADD_CPU_QUOTA: &str = "opencontainers/cgroups systemd/common.go addCPUQuota";
    /// runc v2 writer.
    pub const FS2_SET_CPU: &str = "opencontainers/cgroups fs2/cpu.go setCPU";
    /// runc v1 writer.
    pub const FS_SET_CPU: &str = "opencontainers/cgroups fs/cpu.go (CpuGroup).Set";
    /// crun writer.
    pub const CRUN_WRITE_CPU: &str =
        "containers/crun src/libcrun/cgroup-resources.c write_cpu_resources";
}

/// runc's linear shares → weight, before opencontainers/cgroups v0.0.3:
/// `0 → 0`, else `1 + (shares-2)*9999/262142` in uint64 with **no clamp** (1 share wraps
/// around to 70369281052672; shares above 262144 exceed 10000).
///
/// opencontainers/cgroups `utils.go` `ConvertCPUSharesToCgroupV2Value` ≤ v0.0.2 (runc 1.1,
/// 1.2, 1.3.0, 1.3.1). crun ≤ 1.22 evaluates the same expression but only for non-zero
/// shares and stores the result in a `uint32_t`; the two agree for every shares value the
/// kubelet produces (2…262144).
///
/// The explanation's step is `linear 1 + (shares-2)*9999/262142 = weight`.
pub fn runtime_linear_weight(shares: Shares) -> Explained<Weight> {
    let w = if shares.0 == 0 {
        Weight(0)
    } else {
        linear_shares_to_weight(shares)
    };
    Explained::step(
        w,
        format!("linear 1 + ({shares}-2)*9999/262142 = {w}"),
        src::LINEAR_WEIGHT,
    )
}

/// The quadratic-in-log2 shares → weight: `0 → 0`, `≤ 2 → 1`, `≥ 262144 → 10000`, else
/// `ceil(10^((L*L + 125*L)/612 − 7/34))` with `L = log2(shares)` in IEEE double. It passes
/// through (2, 1), (1024, 100) and (262144, 10000).
///
/// opencontainers/cgroups `utils.go` `ConvertCPUSharesToCgroupV2Value` since v0.0.3 (commit
/// `fd95216`; runc ≥ 1.3.2, 1.4.x); crun `cgroup-internal.h` `convert_shares_to_weight`
/// since 1.23. Rust's `f64::log2`/`powf` use the platform libm like glibc; every input in
/// 3…262143 is at least 4e-10 (relative) away from an integer before the ceiling, and
/// `log2(1024)` is exactly 10, so the result is libm-independent (reference §3.1).
///
/// The explanation's step shows `L` (log2 of at least 1) and the weight.
pub fn quadratic_weight(shares: Shares) -> Explained<Weight> {
    let s = shares.0;
    let l = (s.max(1) as f64).log2();
    let w = if s == 0 {
        Weight(0)
    } else if s <= 2 {
        Weight(1)
    } else if s >= Shares::MAX.0 {
        Weight::MAX
    } else {
        let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
        Weight(10f64.powf(exponent).ceil() as u64)
    };
    Explained::step(
        w,
        format!("quadratic ceil(10^((L*L+125*L)/612 - 7/34)), L = log2({shares}) = {l:.4} → {w}"),
        src::QUADRATIC_WEIGHT,
    )
}

/// Result of the systemd driver's quota conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemdQuota {
    /// `CPUQuotaPerSecUSec` sent to systemd; `None` when no quota property is set,
    /// `Some(u64::MAX)` for "infinity".
    pub per_sec_usec: Option<u64>,
    /// The quota after the call (rounded when a round-up happened).
    pub quota: QuotaUs,
    /// True when the value was rounded up.
    pub rounded: bool,
    /// `quota*1e6/period` before the round-up (equal to `per_sec_usec` when not rounded).
    pub unrounded_per_sec: u64,
}

/// systemd driver: `CPUQuotaPerSecUSec = quota*1e6/period` (period 100000 if 0), rounded
/// **up** to a multiple of 10000 (systemd keeps the quota as an integer percent of a CPU);
/// when rounded, the caller's quota becomes `perSec*period/1e6`. Quota ≤ 0 with a quota or
/// period given → infinity, no rounding.
///
/// opencontainers/cgroups `systemd/common.go` `addCPUQuota` (the write-back of the rounded
/// quota to the caller is commit `83f2519`, v0.0.2; older versions and crun round only the
/// unit property).
pub fn systemd_add_cpu_quota(quota: QuotaUs, period: PeriodUs) -> SystemdQuota {
    if quota.0 == 0 && period.0 == 0 {
        return SystemdQuota {
            per_sec_usec: None,
            quota,
            rounded: false,
            unrounded_per_sec: 0,
        };
    }
    if quota.0 <= 0 {
        return SystemdQuota {
            per_sec_usec: Some(u64::MAX),
            quota,
            rounded: false,
            unrounded_per_sec: u64::MAX,
        };
    }
    let period = if period.0 == 0 { 100_000 } else { period.0 };
    let unrounded_per_sec = (quota.0.wrapping_mul(1_000_000) as u64) / period;
    if unrounded_per_sec.is_multiple_of(10_000) {
        return SystemdQuota {
            per_sec_usec: Some(unrounded_per_sec),
            quota,
            rounded: false,
            unrounded_per_sec,
        };
    }
    let per_sec = (unrounded_per_sec / 10_000 + 1) * 10_000;
    let q = (per_sec as i64).wrapping_mul(period as i64) / 1_000_000;
    SystemdQuota {
        per_sec_usec: Some(per_sec),
        quota: QuotaUs(q),
        rounded: true,
        unrounded_per_sec,
    }
}

/// runc (opencontainers/cgroups `fs2/cpu.go` `setCPU`): writes `cpu.max` when quota or
/// period is non-zero: `"max"` unless quota > 0, then `" "` + period (100000 when 0).
/// `None`: nothing written.
pub fn runc_cpu_max(quota: QuotaUs, period: PeriodUs) -> Option<CpuMax> {
    if quota.0 == 0 && period.0 == 0 {
        return None;
    }
    let quota = if quota.0 > 0 {
        quota
    } else {
        QuotaUs::UNLIMITED
    };
    let period = if period.0 == 0 {
        PeriodUs::DEFAULT
    } else {
        period
    };
    Some(CpuMax { quota, period })
}

/// crun (`src/libcrun/cgroup-resources.c` `write_cpu_resources`): OCI quota/period read as
/// int64, unset (0) → −1; writes `cpu.max` only if quota > 0 or period > 0; period −1 →
/// 100000; quota < 0 → `"max <period>"`. Unlike runc, quota −1 without a period writes
/// nothing. `None`: nothing written.
pub fn crun_cpu_max(quota: QuotaUs, period: PeriodUs) -> Option<CpuMax> {
    let q = if quota.0 != 0 { quota.0 } else { -1 };
    let p = if period.0 != 0 { period.0 as i64 } else { -1 };
    if !(q > 0 || p > 0) {
        return None;
    }
    let period = if p < 0 {
        PeriodUs::DEFAULT
    } else {
        PeriodUs(p as u64)
    };
    let quota = if q < 0 {
        QuotaUs::UNLIMITED
    } else {
        QuotaUs(q)
    };
    Some(CpuMax { quota, period })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::kubelet::tests::rows;
    use crate::translate::kubelet::{kubelet_cpu_weight, milli_cpu_to_quota};
    use crate::units::MilliCpu;

    #[test]
    fn vectors_shares_to_weight_linear_runtime_column() {
        let tsv = include_str!("../../tests/data/vectors/shares_to_weight_linear.tsv");
        let mut failures = Vec::new();
        let all = rows(tsv);
        for (line, r) in &all {
            let got = runtime_linear_weight(Shares(r[0] as u64)).value.0 as i128;
            if got != r[1] {
                failures.push(format!(
                    "line {line}: {} shares -> {got}, want {}",
                    r[0], r[1]
                ));
            }
        }
        assert!(all.len() >= 60);
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn vectors_shares_to_weight_quadratic() {
        let tsv = include_str!("../../tests/data/vectors/shares_to_weight_quadratic.tsv");
        let mut failures = Vec::new();
        let all = rows(tsv);
        for (line, r) in &all {
            let got = quadratic_weight(Shares(r[0] as u64)).value.0 as i128;
            if got != r[1] {
                failures.push(format!(
                    "line {line}: {} shares -> {got}, want {}",
                    r[0], r[1]
                ));
            }
        }
        assert!(all.len() >= 60);
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// The printed derivation comes from the same computation as the value: its last
    /// number is the weight, for every formula and edge of the range.
    #[test]
    fn weight_explanations_state_their_value() {
        for s in [0, 1, 2, 3, 358, 1024, 262_143, 262_144, 500_000] {
            let shares = Shares(s);
            let kubelet = kubelet_cpu_weight(Some(shares).filter(|s| s.0 != 0));
            for (e, ends) in [
                (runtime_linear_weight(shares), ""),
                (quadratic_weight(shares), ""),
                (kubelet, " (linear"),
            ] {
                assert_eq!(e.steps.len(), 1, "{s}");
                let text = &e.steps[0].text;
                let shown = if ends.is_empty() {
                    text.rsplit(' ').next()
                } else {
                    text.split(ends).next().and_then(|t| t.rsplit(' ').next())
                };
                assert_eq!(shown, Some(e.value.to_string().as_str()), "{s}: {text}");
            }
        }
        let q = quadratic_weight(Shares(512));
        assert_eq!(
            q.steps[0].text,
            "quadratic ceil(10^((L*L+125*L)/612 - 7/34)), L = log2(512) = 9.0000 → 59"
        );
    }

    /// opencontainers/cgroups `utils_test.go` TestConvertCPUSharesToCgroupV2Value (new and
    /// old formula) and crun `tests/tests_libcrun_cgroup.c`.
    #[test]
    fn upstream_convert_shares_tests() {
        for (s, w) in [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (1024, 100),
            (262_143, 10_000),
            (262_144, 10_000),
            (262_145, 10_000),
        ] {
            assert_eq!(quadratic_weight(Shares(s)).value, Weight(w), "{s}");
        }
        for (s, w) in [(0, 0), (2, 1), (262_144, 10_000)] {
            assert_eq!(runtime_linear_weight(Shares(s)).value, Weight(w), "{s}");
        }
        assert_eq!(quadratic_weight(Shares(500_000)).value, Weight(10_000));
        assert_eq!(quadratic_weight(Shares(512)).value, Weight(59));
        // runc's awk oracle says 22 here; the real function says 23 (reference §3.1).
        assert_eq!(quadratic_weight(Shares(144)).value, Weight(23));
        assert_eq!(runtime_linear_weight(Shares(500_000)).value, Weight(19_072));
    }

    /// Reference §7.1: milli → shares → linear/quadratic weight.
    #[test]
    fn derived_table_7_1() {
        use crate::translate::kubelet::milli_cpu_to_shares;
        let table: [(i64, u64, u64, u64); 40] = [
            (0, 2, 1, 1),
            (1, 2, 1, 1),
            (2, 2, 1, 1),
            (3, 3, 1, 2),
            (4, 4, 1, 2),
            (5, 5, 1, 2),
            (9, 9, 1, 3),
            (10, 10, 1, 4),
            (11, 11, 1, 4),
            (15, 15, 1, 5),
            (20, 20, 1, 6),
            (25, 25, 1, 6),
            (50, 51, 2, 11),
            (99, 101, 4, 17),
            (100, 102, 4, 17),
            (101, 103, 4, 18),
            (125, 128, 5, 21),
            (200, 204, 8, 29),
            (250, 256, 10, 35),
            (300, 307, 12, 40),
            (333, 340, 13, 43),
            (500, 512, 20, 59),
            (750, 768, 30, 80),
            (999, 1022, 39, 100),
            (1000, 1024, 39, 100),
            (1001, 1025, 40, 101),
            (1500, 1536, 59, 138),
            (2000, 2048, 79, 174),
            (2500, 2560, 98, 208),
            (4000, 4096, 157, 303),
            (8000, 8192, 313, 532),
            (16000, 16384, 625, 942),
            (32000, 32768, 1250, 1681),
            (64000, 65536, 2500, 3023),
            (96000, 98304, 3750, 4276),
            (128000, 131072, 5000, 5478),
            (255999, 262142, 9999, 10000),
            (256000, 262144, 10000, 10000),
            (256001, 262144, 10000, 10000),
            (1000000, 262144, 10000, 10000),
        ];
        for (m, s, lin, quad) in table {
            let shares = milli_cpu_to_shares(MilliCpu(m));
            assert_eq!(shares, Shares(s), "{m}");
            assert_eq!(kubelet_cpu_weight(Some(shares)).value, Weight(lin), "{m}");
            assert_eq!(runtime_linear_weight(shares).value, Weight(lin), "{m}");
            assert_eq!(quadratic_weight(shares).value, Weight(quad), "{m}");
        }
    }

    /// Reference §7.2: shares → old linear (runtime, unclamped) and quadratic weight.
    #[test]
    fn derived_table_7_2() {
        let table: [(u64, u64, u64); 26] = [
            (0, 0, 0),
            (1, 70369281052672, 1),
            (2, 1, 1),
            (3, 1, 2),
            (4, 1, 2),
            (5, 1, 2),
            (10, 1, 4),
            (16, 1, 5),
            (50, 2, 10),
            (100, 4, 17),
            (102, 4, 17),
            (256, 10, 35),
            (512, 20, 59),
            (1000, 39, 99),
            (1023, 39, 100),
            (1024, 39, 100),
            (1025, 40, 101),
            (2048, 79, 174),
            (4096, 157, 303),
            (8192, 313, 532),
            (10000, 382, 627),
            (100000, 3815, 4340),
            (262143, 9999, 10000),
            (262144, 10000, 10000),
            (262145, 10000, 10000),
            (500000, 19072, 10000),
        ];
        for (s, lin, quad) in table {
            assert_eq!(runtime_linear_weight(Shares(s)).value, Weight(lin), "{s}");
            assert_eq!(quadratic_weight(Shares(s)).value, Weight(quad), "{s}");
        }
    }

    /// opencontainers/cgroups `systemd/systemd_test.go` TestAddCPUQuota.
    #[test]
    fn upstream_test_add_cpu_quota() {
        let r = systemd_add_cpu_quota(QuotaUs(500_000), PeriodUs(1_000_000));
        assert_eq!((r.per_sec_usec, r.quota), (Some(500_000), QuotaUs(500_000)));
        let r = systemd_add_cpu_quota(QuotaUs(123_456), PeriodUs(0));
        assert_eq!(
            (r.per_sec_usec, r.quota),
            (Some(1_240_000), QuotaUs(124_000))
        );
        let r = systemd_add_cpu_quota(QuotaUs(500_000), PeriodUs(900_000));
        assert_eq!((r.per_sec_usec, r.quota), (Some(560_000), QuotaUs(504_000)));
        assert!(r.rounded);
        let r = systemd_add_cpu_quota(QuotaUs(-1), PeriodUs(100_000));
        assert_eq!((r.per_sec_usec, r.quota), (Some(u64::MAX), QuotaUs(-1)));
        assert_eq!(
            systemd_add_cpu_quota(QuotaUs(0), PeriodUs(0)).per_sec_usec,
            None
        );
    }

    /// Reference §7.3 and §7.4: limit → quota → systemd rounding.
    #[test]
    fn derived_tables_7_3_and_7_4() {
        let t73: [(i64, i64, u64, i64); 29] = [
            (1, 1000, 10000, 1000),
            (5, 1000, 10000, 1000),
            (9, 1000, 10000, 1000),
            (10, 1000, 10000, 1000),
            (11, 1100, 20000, 2000),
            (15, 1500, 20000, 2000),
            (19, 1900, 20000, 2000),
            (20, 2000, 20000, 2000),
            (25, 2500, 30000, 3000),
            (33, 3300, 40000, 4000),
            (50, 5000, 50000, 5000),
            (99, 9900, 100000, 10000),
            (100, 10000, 100000, 10000),
            (101, 10100, 110000, 11000),
            (105, 10500, 110000, 11000),
            (125, 12500, 130000, 13000),
            (150, 15000, 150000, 15000),
            (155, 15500, 160000, 16000),
            (199, 19900, 200000, 20000),
            (250, 25000, 250000, 25000),
            (333, 33300, 340000, 34000),
            (500, 50000, 500000, 50000),
            (999, 99900, 1000000, 100000),
            (1000, 100000, 1000000, 100000),
            (1001, 100100, 1010000, 101000),
            (1005, 100500, 1010000, 101000),
            (1500, 150000, 1500000, 150000),
            (2000, 200000, 2000000, 200000),
            (2345, 234500, 2350000, 235000),
        ];
        for (m, q, ps, after) in t73 {
            let quota = milli_cpu_to_quota(MilliCpu(m), PeriodUs(100_000));
            assert_eq!(quota, QuotaUs(q), "{m}");
            let r = systemd_add_cpu_quota(quota, PeriodUs(100_000));
            assert_eq!((r.per_sec_usec, r.quota), (Some(ps), QuotaUs(after)), "{m}");
        }
        let t74 = [
            (100, 50_000, 5000, 100_000, 5000),
            (15, 50_000, 1000, 20_000, 1000),
            (333, 10_000, 3330, 340_000, 3400),
            (200, 5000, 1000, 200_000, 1000),
            (1, 5000, 1000, 200_000, 1000),
            (5, 1000, 1000, 1_000_000, 1000),
            (250, 1_000_000, 250_000, 250_000, 250_000),
            (123, 900_000, 110_700, 130_000, 117_000),
        ];
        for (m, p, q, ps, after) in t74 {
            let quota = milli_cpu_to_quota(MilliCpu(m), PeriodUs(p));
            assert_eq!(quota, QuotaUs(q), "{m}@{p}");
            let r = systemd_add_cpu_quota(quota, PeriodUs(p));
            assert_eq!(
                (r.per_sec_usec, r.quota),
                (Some(ps), QuotaUs(after)),
                "{m}@{p}"
            );
        }
    }

    #[test]
    fn cpu_max_strings() {
        assert_eq!(
            runc_cpu_max(QuotaUs(50_000), PeriodUs(100_000))
                .map(|m| m.to_string())
                .as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            runc_cpu_max(QuotaUs(0), PeriodUs(100_000))
                .map(|m| m.to_string())
                .as_deref(),
            Some("max 100000")
        );
        assert_eq!(
            runc_cpu_max(QuotaUs(-1), PeriodUs(5000))
                .map(|m| m.to_string())
                .as_deref(),
            Some("max 5000")
        );
        assert_eq!(
            runc_cpu_max(QuotaUs(-1), PeriodUs(0))
                .map(|m| m.to_string())
                .as_deref(),
            Some("max 100000")
        );
        assert_eq!(
            runc_cpu_max(QuotaUs(20_000), PeriodUs(0))
                .map(|m| m.to_string())
                .as_deref(),
            Some("20000 100000")
        );
        assert_eq!(runc_cpu_max(QuotaUs(0), PeriodUs(0)), None);

        assert_eq!(
            crun_cpu_max(QuotaUs(50_000), PeriodUs(100_000))
                .map(|m| m.to_string())
                .as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            crun_cpu_max(QuotaUs(0), PeriodUs(100_000))
                .map(|m| m.to_string())
                .as_deref(),
            Some("max 100000")
        );
        assert_eq!(
            crun_cpu_max(QuotaUs(-1), PeriodUs(5000))
                .map(|m| m.to_string())
                .as_deref(),
            Some("max 5000")
        );
        assert_eq!(
            crun_cpu_max(QuotaUs(-1), PeriodUs(0)),
            None,
            "crun differs from runc here"
        );
        assert_eq!(
            crun_cpu_max(QuotaUs(20_000), PeriodUs(0))
                .map(|m| m.to_string())
                .as_deref(),
            Some("20000 100000")
        );
        assert_eq!(crun_cpu_max(QuotaUs(0), PeriodUs(0)), None);
    }
}
