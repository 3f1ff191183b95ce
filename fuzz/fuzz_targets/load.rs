//! The load grammar (`--load`, `kcpu.dev/load`): parse; a parsed profile prints text that
//! parses back to the same profile; its schedule over a short window is computed.
#![no_main]
use kcpu::sim::load::{arrivals, parse_load};
use kcpu::units::Nanos;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profile) = parse_load(text) {
        let printed = profile.to_string();
        let again = parse_load(&printed).expect("printed profile parses");
        assert_eq!(again, profile, "{text:?} -> {printed:?}");
        let _ = profile.threads();
        let _ = profile.demand_cores();
        // 1 ms window: enough to exercise the generator without allocating a huge schedule.
        let _ = arrivals(&profile, Nanos(1_000_000), 1);
    }
});
