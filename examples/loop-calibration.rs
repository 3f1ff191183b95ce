//! How steady `--burn loop`'s calibration is on this machine: 40 single trials
//! (`kcpu::runner::worker::calibrate_trial`) and 40 medians of five (`calibrate`, what the
//! worker uses), interleaved so both see the same conditions. Output kept in
//! `tests/data/fidelity/traces/loop-calibration.txt`.
//!
//!     cargo run --release --example loop-calibration

#![allow(clippy::print_stdout)]

use kcpu::runner::worker::{calibrate, calibrate_trial};

fn summary(name: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let q = |p: f64| v[((n - 1) as f64 * p).round() as usize];
    println!(
        "{name:<16} n {n}  min {:.4}  p10 {:.4}  median {:.4}  p90 {:.4}  max {:.4}  ns/iter  (p90/p10 {:.3}, max/min {:.3})",
        q(0.0),
        q(0.1),
        q(0.5),
        q(0.9),
        q(1.0),
        q(0.9) / q(0.1),
        q(1.0) / q(0.0)
    );
}

fn main() {
    let (mut single, mut median) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        single.push(calibrate_trial());
        std::thread::sleep(std::time::Duration::from_millis(20));
        median.push(calibrate());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    summary("one trial", single);
    summary("median of five", median);
}
