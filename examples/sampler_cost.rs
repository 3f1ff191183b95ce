//! Cost of the `kcpu record` sampler's reads, measured on the calling thread's CPU clock (so
//! that other load on the machine changes it little): one `pread` of a thread's
//! `/proc/<pid>/task/<tid>/schedstat` and one read of a process CPU clock.
//!
//! Companion of `kcpu record -- kcpu __burst --threads 5 --work 1ms --every 20ms --idle 45`.
//! `cargo run --release --example sampler_cost [THREADS] [ROUNDS]` (defaults 50, 2000): starts
//! THREADS sleeping threads, then ROUNDS times reads every thread's schedstat, and prints the
//! CPU time per read and what a 1 ms sampler reading THREADS threads costs in % of one core.
#![allow(clippy::print_stdout)]

use kcpu::record::recorder::read_schedstat;
use kcpu::runner::clock::thread_cpu_ns;
use kcpu::runner::spawn::process_cpu_clock_ns;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let threads = args.first().copied().unwrap_or(50) as usize;
    let rounds = args.get(1).copied().unwrap_or(2_000);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hs = Vec::new();
    for _ in 0..threads {
        let s = stop.clone();
        hs.push(std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let pid = std::process::id();
    let files: Vec<std::fs::File> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::File::open(e.path().join("schedstat")).ok())
                .collect()
        })
        .unwrap_or_default();
    let c0 = thread_cpu_ns();
    let mut sum = 0u64;
    for _ in 0..rounds {
        for f in &files {
            sum = sum.wrapping_add(read_schedstat(f).unwrap_or(0));
        }
    }
    let per_read = (thread_cpu_ns() - c0) as f64 / (rounds as f64 * files.len() as f64);
    let c1 = thread_cpu_ns();
    for _ in 0..rounds {
        sum = sum.wrapping_add(process_cpu_clock_ns(pid).unwrap_or(0));
    }
    let per_clock = (thread_cpu_ns() - c1) as f64 / rounds as f64;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in hs {
        let _ = h.join();
    }
    let n = files.len() as f64;
    println!(
        "{} schedstat files: {:.2} us CPU per pread, {:.2} us per process-clock read; a 1 ms sampler reading all of them every sample: {:.2} % of one core; gated by the process clock when idle: {:.3} %",
        files.len(),
        per_read / 1e3,
        per_clock / 1e3,
        (per_read * n + per_clock) / 1e6 * 100.0 / 1.0,
        per_clock / 1e6 * 100.0,
    );
    std::hint::black_box(sum);
}
