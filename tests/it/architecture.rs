//! Architecture rules (style.md §1–2): pure modules never touch files, processes, clocks or the
//! terminal, and never import the shells or clap.

use std::path::{Path, PathBuf};

/// Modules (files or directories under `src/`) that make up the pure core.
const PURE: &[&str] = &[
    "units.rs",
    "source.rs",
    "quantity.rs",
    "manifest",
    "profile.rs",
    "translate",
    "lint",
    "finding.rs",
    "sim",
    "trace.rs",
    "stats.rs",
    "capacity.rs",
    "render",
    "record/format.rs",
    "recommend.rs",
];

/// Names a pure module must not use.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::process",
    "Instant",
    "SystemTime",
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "dbg!(",
    "std::env",
    "crate::cli",
    "crate::input",
    "crate::cgroupfs",
    "crate::runner",
    "clap::",
];

fn rust_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p)
            .expect("read src dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            rust_files(&e, out);
        }
    } else if p.extension().is_some_and(|e| e == "rs") {
        out.push(p.to_path_buf());
    }
}

/// The non-test part of a file: everything before the first `#[cfg(test)]`; test-only files
/// (`tests.rs`) are skipped entirely.
fn production_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("read source");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[test]
fn pure_modules_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for m in PURE {
        let mut files = Vec::new();
        rust_files(&src.join(m), &mut files);
        for f in files {
            checked += 1;
            let code = production_code(&f);
            for (n, line) in code.lines().enumerate() {
                let l = line.trim_start();
                if l.starts_with("//") {
                    continue;
                }
                for bad in FORBIDDEN {
                    if l.contains(bad) {
                        violations.push(format!("{}:{}: uses `{bad}`", f.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(checked >= PURE.len(), "only {checked} files checked");
    assert!(
        violations.is_empty(),
        "pure modules must not do I/O:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_catches_a_violation() {
    // Guard against a check that cannot fail: a file with a forbidden name is reported.
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("x.rs");
    std::fs::write(&f, "fn f() { let _ = std::fs::read(\"a\"); }\n#[cfg(test)]\nmod t { fn g() { println!(); } }\n").expect("write");
    let code = production_code(&f);
    assert!(code.contains("std::fs"));
    assert!(!code.contains("println!"), "test modules are exempt");
}
