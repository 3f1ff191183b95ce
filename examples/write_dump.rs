//! Writes the generated 10,000-workload `kind: List` cluster dump (the report benchmark input)
//! to the path given, so `kcpu translate` and `kcpu report` can be timed on it side by side.
#![allow(missing_docs)]
#[path = "../benches/support/corpus.rs"]
mod corpus;
fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "dump.yaml".into());
    let n = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    std::fs::write(path, corpus::cluster_dump(n))
}
