//! The quantity parser: any text either parses or returns an error; a parsed value prints a
//! canonical form that parses back to the same value, and every `did you mean` candidate
//! in a hint parses.
#![no_main]
use kcpu::quantity::{format_millicores, parse, parse_cpu, parse_manifest, suffix_of};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = suffix_of(text);
    match parse(text) {
        Ok(q) => {
            let canonical = q.canonical_decimal();
            let again = parse(&canonical).expect("canonical form parses");
            assert_eq!(again.milli_value(), q.milli_value(), "{text:?} -> {canonical:?}");
            let _ = q.value();
        }
        Err(e) => {
            let _ = e.kind.upstream_error();
            if let Some(hint) = &e.hint {
                for candidate in hint.split('"').skip(1).step_by(2) {
                    if hint.contains("did you mean") && !candidate.is_empty() {
                        let _ = parse_manifest(candidate);
                    }
                }
            }
        }
    }
    if let Ok(m) = parse_cpu(text) {
        let printed = format_millicores(m);
        let back = parse_cpu(&printed).expect("printed millicores parse");
        assert_eq!(back, m, "{text:?} -> {printed:?}");
    }
});
