//! `kcpu check` throughput: the whole linter (load + LimitRange defaults + every rule +
//! sorting) on the generated 10 MB corpus, as one stream and split into 100 files (the
//! files are checked in parallel), next to the bare loader on the same bytes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kcpu::lint::{self, Policy};
use kcpu::manifest::LoadOptions;
use kcpu::source::{SourceFile, SourceSet};
use std::hint::black_box;

#[path = "support/corpus.rs"]
mod corpus;

/// Splits a multi-document stream into `n` sources at document boundaries.
fn split(text: &str, n: usize) -> SourceSet {
    let docs = kcpu::manifest::split_documents(text);
    let per = docs.len().div_ceil(n);
    let mut set = SourceSet::default();
    for (i, chunk) in docs.chunks(per).enumerate() {
        let start = chunk[0].0;
        let end = chunk.last().map_or(start, |(s, d)| s + d.len());
        set.add(SourceFile::new(
            format!("corpus-{i:03}.yaml"),
            &text[start..end],
        ));
    }
    set
}

fn bench(c: &mut Criterion) {
    let (text, workloads) = corpus::multi_document(10 << 20);
    let mut one = SourceSet::default();
    one.add(SourceFile::new("corpus.yaml", text.clone()));
    let many = split(&text, 100);
    let policy = Policy::default();
    let opts = LoadOptions::default();
    // Sanity: every workload is checked, in both layouts.
    assert_eq!(
        lint::check_sources(&one, &policy, &opts).stats.workloads,
        workloads
    );
    assert_eq!(
        lint::check_sources(&many, &policy, &opts).stats.workloads,
        workloads
    );

    let mut g = c.benchmark_group("check_10MB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("one_file", |b| {
        b.iter(|| {
            lint::check_sources(black_box(&one), &policy, &opts)
                .findings
                .len()
        })
    });
    g.bench_function("100_files_parallel", |b| {
        b.iter(|| {
            lint::check_sources(black_box(&many), &policy, &opts)
                .findings
                .len()
        })
    });
    g.bench_function("load_only_one_file", |b| {
        b.iter(|| {
            kcpu::manifest::load_source(kcpu::source::SourceId(0), black_box(&text), &opts)
                .objects
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
