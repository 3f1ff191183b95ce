//! Deterministic ingest cost: run under `valgrind --tool=callgrind` with `none`, `bare` or `kcpu`
//! to compare instruction counts of a bare serde-saphyr parse and the kcpu loader on a 2 MB corpus
//! (wall-clock benches are too noisy on a shared 2-core machine). `stream MB` measures peak
//! memory of streaming load + translate under `/usr/bin/time -v` (compare with `none MB`).
#![allow(missing_docs, clippy::print_stdout)]
#[path = "../benches/support/corpus.rs"]
mod corpus;
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mb: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let (text, _) = corpus::multi_document(mb << 20);
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
        "stream" => {
            // Streaming load + translate: nothing is kept, so peak memory is the input text
            // plus one document's worth of state.
            let a = kcpu::profile::Assumptions::default();
            let mut issues = Vec::new();
            let mut stats = kcpu::manifest::LoadStats::default();
            let mut n = 0usize;
            kcpu::manifest::visit_source(
                kcpu::source::SourceId(0),
                &text,
                &Default::default(),
                &mut |o| {
                    if let kcpu::manifest::model::Object::Workload(w) = o {
                        n += usize::from(kcpu::translate::translate_workload(&w, &a).is_ok());
                    }
                },
                &mut issues,
                &mut stats,
            );
            println!("{n}");
        }
        _ => println!("gen only"),
    }
}
