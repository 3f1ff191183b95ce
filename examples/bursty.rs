//! A program with a known bursty CPU pattern, for `kcpu record` demos, the sampler-overhead
//! measurement and the record → recommend → run proof test.
//!
//! `bursty THREADS WORK_MS EVERY_MS SECONDS [IDLE_THREADS]`: THREADS threads each burn WORK_MS
//! of their own CPU time every EVERY_MS (open loop: a late burst does not move the next
//! one), for SECONDS; IDLE_THREADS more threads only sleep (to measure the sampler's cost per
//! thread). Prints one summary line on stdout and exits 0.
#![allow(clippy::print_stdout)]

use kcpu::runner::clock::{now_ns, sleep_until, thread_cpu_ns};

fn arg(args: &[String], i: usize, default: u64) -> u64 {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = arg(&args, 1, 2);
    let work_ns = arg(&args, 2, 20) * 1_000_000;
    let every_ns = arg(&args, 3, 200).max(1) * 1_000_000;
    let secs = arg(&args, 4, 2);
    let idle = arg(&args, 5, 0);
    let start = now_ns() + 5_000_000;
    let end = start + secs * 1_000_000_000;
    let mut hs = Vec::new();
    for _ in 0..threads {
        hs.push(std::thread::spawn(move || {
            let mut t = start;
            let mut used = 0u64;
            while t < end {
                sleep_until(t);
                let c0 = thread_cpu_ns();
                let mut x = 1u64;
                while thread_cpu_ns() < c0 + work_ns {
                    for _ in 0..1_000 {
                        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                    }
                }
                used += thread_cpu_ns() - c0;
                t += every_ns;
            }
            used
        }));
    }
    for _ in 0..idle {
        hs.push(std::thread::spawn(move || {
            sleep_until(end);
            0
        }));
    }
    let cpu: u64 = hs.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    println!("bursty: {threads} thread(s), {} ms CPU", cpu / 1_000_000);
}
