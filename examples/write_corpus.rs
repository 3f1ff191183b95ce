//! Writes the generated benchmark corpus (benches/support/corpus.rs) to a directory, split
//! into files at document boundaries, for side-by-side runs against other linters:
//! `cargo run --release --example write_corpus -- DIR [MEGABYTES] [FILES]`.
#![allow(clippy::print_stdout)]

#[path = "../benches/support/corpus.rs"]
mod corpus;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "corpus".to_string());
    let mb: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let files: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let (text, workloads) = corpus::multi_document(mb << 20);
    let docs = kcpu::manifest::split_documents(&text);
    let per = docs.len().div_ceil(files.max(1));
    std::fs::create_dir_all(&dir)?;
    for (i, chunk) in docs.chunks(per).enumerate() {
        let start = chunk[0].0;
        let end = chunk.last().map_or(start, |(s, d)| s + d.len());
        std::fs::write(format!("{dir}/corpus-{i:03}.yaml"), &text[start..end])?;
    }
    println!(
        "{dir}: {} bytes, {} documents, {workloads} workloads, {} files",
        text.len(),
        docs.len(),
        docs.len().div_ceil(per)
    );
    Ok(())
}
