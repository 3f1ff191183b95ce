//! The trace formats: the `trace:FILE.csv` load (arrival,work rows) and the kernel's
//! `cpu.stat` text that `run` samples.
#![no_main]
use kcpu::sim::load::parse_trace_csv;
use kcpu::trace::CpuStat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = parse_trace_csv(text) {
        assert!(rows.windows(2).all(|w| w[0].arrival <= w[1].arrival));
    }
    if let Ok(a) = CpuStat::parse(text) {
        let _ = a.delta(&CpuStat::default());
    }
});
