//! Percentiles, throttle ratios and the sim-vs-run comparison (pure core).

use crate::trace::Percentiles;

/// Nearest-rank percentiles of `samples_ns` (nanoseconds), reported in milliseconds.
/// Empty input gives all zeros.
pub fn percentiles_ns(samples_ns: &[u64]) -> Percentiles {
    if samples_ns.is_empty() {
        return Percentiles::default();
    }
    let mut v = samples_ns.to_vec();
    v.sort_unstable();
    let rank = |p: f64| -> f64 {
        // Nearest-rank: the smallest value with at least p% of samples at or below it.
        let n = v.len();
        let k = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
        v[k.min(n) - 1] as f64 / 1e6
    };
    Percentiles {
        p50_ms: rank(50.0),
        p90_ms: rank(90.0),
        p99_ms: rank(99.0),
        max_ms: v[v.len() - 1] as f64 / 1e6,
        count: v.len() as u64,
    }
}

/// `throttled / periods`, 0 when no period elapsed.
pub fn throttled_ratio(nr_throttled: u64, nr_periods: u64) -> f64 {
    if nr_periods == 0 {
        0.0
    } else {
        nr_throttled as f64 / nr_periods as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        let p = percentiles_ns(&v);
        assert_eq!(p.p50_ms, 50.0);
        assert_eq!(p.p90_ms, 90.0);
        assert_eq!(p.p99_ms, 99.0);
        assert_eq!(p.max_ms, 100.0);
        assert_eq!(p.count, 100);
        assert_eq!(percentiles_ns(&[]).count, 0);
        assert_eq!(percentiles_ns(&[3_000_000]).p50_ms, 3.0);
    }

    #[test]
    fn ratio() {
        assert_eq!(throttled_ratio(0, 0), 0.0);
        assert_eq!(throttled_ratio(1, 4), 0.25);
    }
}
