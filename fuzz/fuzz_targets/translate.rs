//! Loader + translate + check end to end, as `kcpu translate` and `kcpu check` run them on
//! one input file: never a panic, whatever the bytes.
#![no_main]
use kcpu::lint::{check_text, policy::Policy};
use kcpu::manifest::{load_source, LoadOptions};
use kcpu::profile::Assumptions;
use kcpu::source::SourceId;
use kcpu::translate::translate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = load_source(SourceId(0), text, &LoadOptions::default());
    let workloads: Vec<_> = loaded.workloads().cloned().collect();
    let _ = translate(&workloads, &Assumptions::default());
    let _ = check_text("fuzz.yaml", text, &Policy::default());
});
