//! Architecture rules (style.md §1–2, ARCHITECTURE.md): pure modules never touch files,
//! processes, clocks or the terminal, never import the shells or clap, and every module imports
//! only what the allow-list in ARCHITECTURE.md grants it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules (files or directories under `src/`) that make up the pure core.
const PURE: &[&str] = &[
    "units.rs",
    "cpu.rs",
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
    "predict.rs",
    "render",
    "emit_job.rs",
    "collect.rs",
    "record/format.rs",
    "record/switches.rs",
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

/// The non-test part of a file: every `#[cfg(test)]` item is removed (a `mod x;` line, or a
/// block up to its matching brace); test-only files (`tests.rs`) are skipped entirely.
fn production_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    strip_test_items(&std::fs::read_to_string(path).expect("read source"))
}

fn strip_test_items(text: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i]);
        let after = &rest[i + MARK.len()..];
        let semi = after.find(';');
        let open = after.find('{');
        let end = match (semi, open) {
            (Some(s), Some(o)) if s < o => s + 1,
            (Some(s), None) => s + 1,
            (_, Some(o)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (j, c) in after[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + j + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
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

/// The top-level module a file under `src/` belongs to (`cli` for `src/cli/run.rs`, `units`
/// for `src/units.rs`); `None` for the crate roots.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!["lib", "main"].contains(&name.as_str())).then_some(name)
}

/// The top-level modules a piece of code names through `crate::` (paths and `use crate::{…}`
/// groups), comments excluded.
fn crate_imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        let mut rest = l;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let body = group.split('}').next().unwrap_or("");
                for part in body.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            rest = after;
        }
    }
    out
}

/// The allow-list: the first ```text block after `## Allowed imports` in ARCHITECTURE.md,
/// one `module: dep, dep` line per module (`module: -` for none).
fn allow_list(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let section = doc
        .split("## Allowed imports")
        .nth(1)
        .expect("ARCHITECTURE.md has an `## Allowed imports` section");
    let block = section
        .split("```text")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section holds a ```text block");
    let mut out = BTreeMap::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (m, deps) = line.split_once(':').expect("`module: deps` line");
        let deps = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != "-")
            .map(String::from)
            .collect();
        out.insert(m.trim().to_string(), deps);
    }
    out
}

/// Every `crate::` import that the allow-list does not grant, as `file: module imports dep`.
fn import_violations(
    src: &Path,
    allowed: &BTreeMap<String, BTreeSet<String>>,
) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src).expect("under src");
        let Some(module) = module_of(rel) else {
            continue;
        };
        let Some(ok) = allowed.get(&module) else {
            violations.push(format!(
                "{}: module `{module}` is not in ARCHITECTURE.md's allow-list; add a line for it",
                rel.display()
            ));
            continue;
        };
        for dep in crate_imports(&production_code(f)) {
            if dep != module && !ok.contains(&dep) {
                violations.push(format!(
                    "{}: `{module}` imports `crate::{dep}`, which ARCHITECTURE.md does not allow",
                    rel.display()
                ));
            }
        }
    }
    (violations, files.len())
}

#[test]
fn imports_follow_the_allow_list() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let allowed = allow_list(&doc);
    for m in PURE {
        let name = m.strip_suffix(".rs").unwrap_or(m);
        let deps = allowed
            .get(name)
            .unwrap_or_else(|| panic!("pure module {name} missing from the allow-list"));
        for shell in ["cli", "input", "cgroupfs", "runner"] {
            assert!(
                !deps.contains(shell),
                "pure module {name} may not import the shell {shell}"
            );
        }
    }
    let (violations, files) = import_violations(&root.join("src"), &allowed);
    assert!(files > 50, "only {files} files read");
    assert!(
        violations.is_empty(),
        "imports outside the allow-list:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_allow_list_check_catches_a_violation() {
    // A fake tree where a pure module imports a shell, and a module nobody listed.
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir(src.join("sim")).expect("mkdir");
    std::fs::write(src.join("sim/mod.rs"), "use crate::units::Nanos;\nuse crate::{runner, trace::Trace};\n#[cfg(test)]\nmod tests { use crate::cli; }\n").expect("write");
    std::fs::write(src.join("newthing.rs"), "use crate::units::Nanos;\n").expect("write");
    let allowed = allow_list("## Allowed imports\n```text\nsim: units, trace\nunits: -\n```\n");
    let (v, _) = import_violations(src, &allowed);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].contains("`newthing` is not in"), "{v:?}");
    assert!(v[1].contains("imports `crate::runner`"), "{v:?}");
}
