//! Load + translate throughput: kcpu's loader and translator on a generated 10 MB multi-document corpus, next to a bare
//! serde-saphyr parse of the same bytes (issue 3's target: at least 80% of the bare parse).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcpu::manifest::model::Object;
use kcpu::manifest::{visit_source, LoadOptions, LoadStats};
use kcpu::profile::Assumptions;
use kcpu::source::SourceId;
use kcpu::translate::translate_workload;
use std::hint::black_box;

#[path = "support/corpus.rs"]
mod corpus;

fn bare_parse(text: &str) -> usize {
    // The same per-document budgets kcpu uses; IgnoredAny walks every event without building.
    let mut n = 0;
    for (_, doc) in kcpu::manifest::split_documents(text) {
        if serde_saphyr::from_str::<Option<serde::de::IgnoredAny>>(doc).is_ok() {
            n += 1;
        }
    }
    n
}

fn bare_parse_stream(text: &str) -> usize {
    let options = serde_saphyr::options! { budget: serde_saphyr::budget! { max_documents: 1_000_000, max_nodes: usize::MAX, max_events: usize::MAX, max_total_scalar_bytes: usize::MAX } };
    // A budget breach would end the parse early and make it look fast: fail loudly instead.
    match serde_saphyr::from_multiple_with_options::<serde::de::IgnoredAny>(text, options) {
        Ok(v) => v.len(),
        Err(e) => panic!("bare parse failed: {e}"),
    }
}

/// Load and translate every workload, streaming (each plan is dropped after use, as in
/// `kcpu check`); returns the number of translated pods.
fn kcpu_load_translate(text: &str, a: &Assumptions) -> usize {
    let mut issues = Vec::new();
    let mut stats = LoadStats::default();
    let mut n = 0usize;
    visit_source(
        SourceId(0),
        text,
        &LoadOptions::default(),
        &mut |o| {
            if let Object::Workload(w) = o {
                if black_box(translate_workload(&w, a)).is_ok() {
                    n += 1;
                }
            }
        },
        &mut issues,
        &mut stats,
    );
    n
}

fn bench(c: &mut Criterion) {
    let (text, workloads) = corpus::multi_document(10 << 20);
    let mut g = c.benchmark_group("ingest_10MB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("bare_serde_saphyr_per_doc", |b| {
        b.iter(|| bare_parse(black_box(&text)))
    });
    let docs = kcpu::manifest::split_documents(&text).len();
    assert_eq!(bare_parse(&text), docs);
    assert_eq!(bare_parse_stream(&text), docs);
    g.bench_function("bare_serde_saphyr_stream", |b| {
        b.iter(|| bare_parse_stream(black_box(&text)))
    });
    let a = Assumptions::default();
    g.bench_function("kcpu_load_translate", |b| {
        b.iter(|| assert_eq!(kcpu_load_translate(black_box(&text), &a), workloads))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
