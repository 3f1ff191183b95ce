//! Criterion benchmark for `kcpu::quantity` parsing (bench harness, not part of the crate).
//!
//! Run: `cargo bench --bench quantity`. The `mix` group parses a set of typical manifest CPU
//! values per iteration; divide its time by the element count (criterion prints elements/s).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcpu::quantity::{format_millicores, parse, parse_cpu, parse_manifest};
use kcpu::units::MilliCpu;
use std::hint::black_box;

/// Typical CPU values seen in manifests, plus a few memory-style and exotic spellings.
const MIX: &[&str] = &[
    "100m", "250m", "500m", "1", "2", "0.5", "1.5", "4", "1500m", "200m", "10m", "8", "0.1",
    "750m", "16", "2000m", "1e3", "1Ki", "0.25", "3",
];

fn bench_quantity(c: &mut Criterion) {
    let mut group = c.benchmark_group("quantity");
    group.throughput(Throughput::Elements(MIX.len() as u64));
    group.bench_function("parse_mix", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for s in MIX {
                if let Ok(q) = parse(black_box(s)) {
                    sum = sum.wrapping_add(q.milli_value());
                }
            }
            sum
        })
    });
    group.bench_function("parse_cpu_mix", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for s in MIX {
                if let Ok(m) = parse_cpu(black_box(s)) {
                    sum = sum.wrapping_add(m.0);
                }
            }
            sum
        })
    });
    group.finish();

    c.bench_function("parse_500m", |b| b.iter(|| parse(black_box("500m"))));
    c.bench_function("parse_sub_nano_long", |b| {
        b.iter(|| parse(black_box("0.000000000123456789012345678901234567890")))
    });
    c.bench_function("parse_manifest_error_with_hint", |b| {
        b.iter(|| parse_manifest(black_box("1,5 cpu")))
    });
    c.bench_function("format_millicores", |b| {
        b.iter(|| format_millicores(black_box(MilliCpu(1500))))
    });
}

criterion_group!(benches, bench_quantity);
criterion_main!(benches);
