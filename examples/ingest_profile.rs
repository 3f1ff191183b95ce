//! Deterministic ingest cost: run under `valgrind --tool=callgrind` with `none`, `bare` or `kcpu`
//! to compare instruction counts of a bare serde-saphyr parse and the kcpu loader on a 2 MB corpus
//! (wall-clock benches are too noisy on a shared 2-core machine).
#![allow(missing_docs, clippy::print_stdout)]
#[path = "../benches/support/corpus.rs"]
mod corpus;
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let (text, _) = corpus::multi_document(2 << 20);
    let docs = kcpu::manifest::split_documents(&text);
    match mode.as_str() {
        "bare" => {
            let mut n = 0;
            for (_, d) in &docs {
                if serde_saphyr::from_str::<Option<serde::de::IgnoredAny>>(d).is_ok() {
                    n += 1;
                }
            }
            println!("{n}");
        }
        "kcpu" => {
            let a = kcpu::profile::Assumptions::default();
            let l =
                kcpu::manifest::load_source(kcpu::source::SourceId(0), &text, &Default::default());
            let plans = l
                .workloads()
                .filter(|w| kcpu::translate::translate_workload(w, &a).is_ok())
                .count();
            println!("{plans}");
        }
        _ => println!("gen only"),
    }
}
