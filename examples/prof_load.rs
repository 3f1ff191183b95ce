#![allow(missing_docs)]
#[path = "../benches/support/corpus.rs"]
mod corpus;
fn main() {
    let (text, _) = corpus::multi_document(10 << 20);
    for _ in 0..3 {
        let l = kcpu::manifest::load_source(kcpu::source::SourceId(0), &text, &Default::default());
        std::hint::black_box(l);
    }
}
