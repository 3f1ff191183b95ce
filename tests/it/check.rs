//! `kcpu check`: rule fixtures (a failing and a passing one per rule), snapshots of every output
//! format, SARIF schema validation, exit codes, policy errors, ignores and `--fix`.

use assert_cmd::Command;
use kcpu::finding::Severity;
use kcpu::lint::{self, Policy};
use kcpu::render::findings::{self as render, Format, RenderOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kcpu() -> Command {
    let mut c = Command::cargo_bin("kcpu").expect("kcpu binary");
    c.current_dir(root());
    c.env_remove("NO_COLOR");
    c
}

/// Runs `kcpu check` with `args` and returns (exit code, stdout, stderr).
fn check(args: &[&str]) -> (i32, String, String) {
    let out = kcpu().arg("check").args(args).output().expect("run kcpu");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A rule fixture: `tests/data/lint/<RULE>_<n>.yaml` with `# policy:` and `# expect:` headers.
struct Fixture {
    name: String,
    rule: String,
    text: String,
    policy: Policy,
    expect: BTreeSet<String>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = root().join("tests/data/lint");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let rule = name.split('_').next().unwrap().to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let policy_yaml: String = text
                .lines()
                .filter_map(|l| l.strip_prefix("# policy: "))
                .map(|l| format!("{l}\n"))
                .collect();
            let policy = Policy::from_yaml(&policy_yaml)
                .unwrap_or_else(|e| panic!("{name}: bad policy header: {e}"));
            let expect_line = text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{name}: no `# expect:` header"));
            let expect = if expect_line.trim() == "none" {
                BTreeSet::new()
            } else {
                expect_line
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect()
            };
            Fixture {
                name,
                rule,
                text,
                policy,
                expect,
            }
        })
        .collect()
}

fn text_report(
    name: &str,
    text: &str,
    policy: &Policy,
) -> (kcpu::source::SourceSet, lint::CheckReport, String) {
    let (sources, report) = lint::check_text(&format!("tests/data/lint/{name}.yaml"), text, policy);
    let mut out = Vec::new();
    render::render(
        Format::Text,
        &report,
        &sources,
        &RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    (sources, report, String::from_utf8(out).unwrap())
}

#[test]
fn every_rule_has_a_failing_and_a_passing_fixture() {
    let fx = fixtures();
    let mut failing: BTreeMap<String, usize> = BTreeMap::new();
    let mut passing: BTreeMap<String, usize> = BTreeMap::new();
    for f in &fx {
        if f.expect.is_empty() {
            *passing.entry(f.rule.clone()).or_default() += 1;
        } else {
            *failing.entry(f.rule.clone()).or_default() += 1;
        }
    }
    let mut missing = Vec::new();
    for r in lint::rules::RULES {
        let id = r.meta.id.to_string();
        if !failing.contains_key(&id) {
            missing.push(format!("{id}: no failing fixture"));
        }
        if !passing.contains_key(&id) {
            missing.push(format!("{id}: no passing fixture"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn fixtures_report_exactly_the_expected_positions() {
    for f in fixtures() {
        let (sources, report, text) = text_report(&f.name, &f.text, &f.policy);
        let got: BTreeSet<String> = report
            .findings
            .iter()
            .filter(|x| x.rule == f.rule)
            .map(|x| {
                let p = render::region(&sources, x.span);
                format!("{}@{}:{}", x.rule, p.line, p.column)
            })
            .collect();
        // Several findings may share a position; compare counts too.
        let n = report.findings.iter().filter(|x| x.rule == f.rule).count();
        let expected_n = {
            let line = f
                .text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .unwrap();
            if line.trim() == "none" {
                0
            } else {
                line.split(',').count()
            }
        };
        assert_eq!(got, f.expect, "{}:\n{text}", f.name);
        assert_eq!(n, expected_n, "{}: finding count\n{text}", f.name);
        insta::assert_snapshot!(format!("fixture_{}", f.name), text);
    }
}

#[test]
fn every_format_snapshot() {
    for (format, name) in [
        ("text", "text"),
        ("json", "json"),
        ("sarif", "sarif"),
        ("junit", "junit"),
        ("github", "github"),
        ("markdown", "markdown"),
        ("codeclimate", "codeclimate"),
    ] {
        let (code, out, err) = check(&[
            "tests/data/check/showcase.yaml",
            "--policy",
            "tests/data/check/policy.yaml",
            "--format",
            format,
        ]);
        assert_eq!(code, 1, "{name}: {err}");
        insta::assert_snapshot!(format!("format_{name}"), out);
    }
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    // The showcase (results, fixes, suppressions) and a run with input errors.
    for args in [
        vec![
            "tests/data/check/showcase.yaml",
            "--policy",
            "tests/data/check/policy.yaml",
        ],
        vec!["tests/data/lint/KCPU000_1.yaml", "no-such-file.yaml"],
        vec!["fixtures/"],
    ] {
        let mut a = args.clone();
        a.extend(["--format", "sarif"]);
        let (_, out, err) = check(&a);
        let doc: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{args:?}: {errors:#?}");
        // The validator does reject broken SARIF (so this test can fail).
        let mut broken = doc.clone();
        broken["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] =
            serde_json::json!("fatal");
        broken["version"] = serde_json::json!("2.0");
        assert!(
            validator.iter_errors(&broken).count() >= 2,
            "the schema check is inert"
        );
        // What code-scanning consumers rely on beyond the schema: rule metadata with help,
        // and every result located with a start line/column ≥ 1 and a non-empty snippet.
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), lint::rules::RULES.len());
        for r in rules {
            assert!(r["help"]["text"]
                .as_str()
                .unwrap()
                .contains("## Why it matters for CFS"));
            assert!(r["defaultConfiguration"]["level"].is_string());
        }
        for res in run["results"].as_array().unwrap() {
            let region = &res["locations"][0]["physicalLocation"]["region"];
            assert!(region["startLine"].as_i64().unwrap() >= 1);
            assert!(region["startColumn"].as_i64().unwrap() >= 1);
            assert!(!region["snippet"]["text"].as_str().unwrap().is_empty());
            let idx = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[idx]["id"], res["ruleId"]);
        }
    }
}

#[test]
fn exit_codes() {
    // 0: nothing at or above the threshold.
    assert_eq!(check(&["tests/data/lint/KCPU000_2.yaml"]).0, 0);
    // 1: an error finding.
    assert_eq!(check(&["tests/data/lint/KCPU009_1.yaml"]).0, 1);
    // Warnings only: 0 by default, 1 with --fail-on warning, 0 with --fail-on never.
    assert_eq!(check(&["tests/data/lint/KCPU005_1.yaml"]).0, 0);
    assert_eq!(
        check(&["tests/data/lint/KCPU005_1.yaml", "--fail-on", "warning"]).0,
        1
    );
    assert_eq!(
        check(&["tests/data/lint/KCPU009_1.yaml", "--fail-on", "never"]).0,
        0
    );
    // 2: YAML errors, with the findings of the documents that parsed still reported.
    let (code, out, _) = check(&[
        "tests/data/lint/KCPU000_1.yaml",
        "tests/data/lint/KCPU009_1.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(out.contains("KCPU000") && out.contains("KCPU009"), "{out}");
    // 2: a missing file, reported next to the findings of the file that exists.
    let (code, out, _) = check(&["no-such-file.yaml", "tests/data/lint/KCPU009_1.yaml"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("no-such-file.yaml: no such file") && out.contains("KCPU009"),
        "{out}"
    );
    // 2: usage errors.
    assert_eq!(check(&[]).0, 2);
    assert_eq!(check(&["--format", "xml", "fixtures/"]).0, 2);
    assert_eq!(check(&["--explain", "KCPU999"]).0, 2);
    // --fail-on never still exits 2 on input errors.
    assert_eq!(
        check(&["tests/data/lint/KCPU000_1.yaml", "--fail-on", "never"]).0,
        2
    );
}

#[test]
fn policy_file_errors_have_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "limits: sometimes\n",
            ":1:9: invalid policy: unknown limit policy \"sometimes\"",
        ),
        (
            "limits: optional\nmax-cpus: 4\n",
            ":2:1: invalid policy: unknown field `max-cpus`",
        ),
        (
            "rules:\n  KCPU999: off\n",
            ":2:3: invalid policy: unknown rule \"KCPU999\"",
        ),
        (
            "rules:\n  KCPU000: off\n",
            ":2:3: invalid policy: rule KCPU000 (input-error) cannot be configured",
        ),
        (
            "nodes:\n  - {cpu: 4, allocatable: 5}\n",
            ":2:27: invalid policy: node allocatable is larger",
        ),
        (
            "cfs-period: 100\n",
            ":1:13: invalid policy: invalid duration",
        ),
        ("limits: [a\n", ":1:"),
    ];
    for (text, expected) in cases {
        let p = dir.path().join("policy.yaml");
        std::fs::write(&p, text).unwrap();
        let (code, out, err) = check(&[
            "tests/data/lint/KCPU000_2.yaml",
            "--policy",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{text}");
        assert!(out.is_empty(), "{out}");
        let needle = format!("{}{expected}", p.display());
        assert!(
            err.contains(&needle),
            "{text:?}: expected {needle:?} in {err:?}"
        );
    }
    let (code, _, err) = check(&["fixtures/", "--policy", "no-such-policy.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("policy file no-such-policy.yaml: no such file"),
        "{err}"
    );
}

#[test]
fn policy_is_discovered_upwards_from_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("team/app");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(dir.path().join("team/.kcpu.yaml"), "limits: required\n").unwrap();
    std::fs::copy(
        root().join("tests/data/lint/KCPU002_1.yaml"),
        sub.join("web.yaml"),
    )
    .unwrap();
    let out = kcpu()
        .current_dir(dir.path())
        .args(["check", "team/app", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["policy"], "team/.kcpu.yaml");
    assert_eq!(doc["findings"][0]["rule"], "KCPU002");
    // --no-policy ignores it.
    let out = kcpu()
        .current_dir(dir.path())
        .args(["check", "team/app", "--format", "json", "--no-policy"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["policy"], serde_json::Value::Null);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn ignores_suppress_and_are_counted() {
    let (code, out, _) = check(&["tests/data/lint/KCPU018_2.yaml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 suppressed by kcpu.dev/ignore (KCPU001: 1, KCPU006: 1)"),
        "{out}"
    );
    let (_, out, _) = check(&["tests/data/lint/KCPU018_2.yaml", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["summary"]["suppressed"], 2);
    let reasons: Vec<&str> = doc["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suppressed_because"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "the vendor chart sets no requests, we override them at deploy time",
            "generated"
        ]
    );
    // The policy can switch rules off and re-grade them.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(&p, "rules: {KCPU009: warning, invalid-quantity: off}\n").unwrap();
    let (code, out, _) = check(&[
        "tests/data/lint/KCPU009_1.yaml",
        "tests/data/lint/KCPU003_1.yaml",
        "--policy",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    for f in doc["findings"].as_array().unwrap() {
        assert_ne!(f["rule"], "KCPU003");
        if f["rule"] == "KCPU009" {
            assert_eq!(f["severity"], "warning");
        }
    }
}

/// Checks that `new` equals `old` with exactly `edits` (sorted, non-overlapping byte ranges
/// of `old`) replaced, comparing every other byte independently of kcpu's own edit code.
fn assert_only_edits_changed(old: &[u8], new: &[u8], edits: &[(usize, usize, String)]) {
    let mut oi = 0;
    let mut ni = 0;
    for (start, end, replacement) in edits {
        let keep = &old[oi..*start];
        assert_eq!(
            &new[ni..ni + keep.len()],
            keep,
            "bytes before offset {start} changed"
        );
        ni += keep.len();
        assert_eq!(
            &new[ni..ni + replacement.len()],
            replacement.as_bytes(),
            "replacement at {start}"
        );
        ni += replacement.len();
        oi = *end;
    }
    assert_eq!(&new[ni..], &old[oi..], "bytes after the last edit changed");
}

#[test]
fn fix_on_a_copy_changes_only_the_fixed_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut originals = Vec::new();
    for name in ["KCPU003_1.yaml", "KCPU004_1.yaml", "KCPU005_1.yaml"] {
        let p = dir.path().join(name);
        std::fs::copy(root().join("tests/data/lint").join(name), &p).unwrap();
        originals.push((
            p,
            std::fs::read(root().join("tests/data/lint").join(name)).unwrap(),
        ));
    }
    // The equal-to-request policy fix needs its policy.
    let eq = dir.path().join("eq");
    std::fs::create_dir(&eq).unwrap();
    std::fs::write(eq.join(".kcpu.yaml"), "limits: equal-to-request\n").unwrap();
    let eq_file = eq.join("KCPU002_4.yaml");
    std::fs::copy(root().join("tests/data/lint/KCPU002_4.yaml"), &eq_file).unwrap();
    let eq_original = std::fs::read(&eq_file).unwrap();

    for (path, original, policy_args) in originals
        .iter()
        .map(|(p, o)| (p.clone(), o.clone(), vec!["--no-policy"]))
        .chain([(eq_file.clone(), eq_original.clone(), vec![])])
    {
        let file = path.to_str().unwrap();
        // The edits kcpu proposes, from the JSON report (byte offsets in the original).
        let mut args = vec![file, "--format", "json"];
        args.extend(policy_args.iter().copied());
        let (_, out, _) = check(&args);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let mut edits: Vec<(usize, usize, String)> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["fix"]["applicability"] == "mechanical")
            .flat_map(|f| f["fix"]["edits"].as_array().unwrap().clone())
            .map(|e| {
                (
                    e["start_byte"].as_u64().unwrap() as usize,
                    e["end_byte"].as_u64().unwrap() as usize,
                    e["replacement"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        edits.sort();
        assert!(!edits.is_empty(), "{file}: no mechanical fix proposed");
        let mut fix_args = vec![file, "--fix"];
        fix_args.extend(policy_args.iter().copied());
        let (_, out, err) = check(&fix_args);
        assert!(
            out.contains("--- a/") && out.contains("+++ b/"),
            "{file}: no diff: {out}{err}"
        );
        let fixed = std::fs::read(&path).unwrap();
        assert_only_edits_changed(&original, &fixed, &edits);
        // No temporary file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".kcpu-fix-"))
            .collect();
        assert!(leftovers.is_empty());
        // A second run has nothing left to fix.
        let (_, out, _) = check(&[file, "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        if policy_args.is_empty() {
            // (the equal-to-request file is checked with its policy above)
        } else {
            assert_eq!(doc["summary"]["fixable"], 0, "{file}");
        }
    }
    let fixed = std::fs::read_to_string(&eq_file).unwrap();
    // The limit takes the request's value and keeps its own quoting and the comment.
    assert!(
        fixed.contains("limits: {cpu: \"500m\", memory: 1Gi}    # --fix sets this to 500m"),
        "{fixed}"
    );
    let fixed = std::fs::read_to_string(dir.path().join("KCPU003_1.yaml")).unwrap();
    assert!(
        fixed.contains("requests: {cpu: \"1.5\", memory: 512Mi}"),
        "{fixed}"
    );
    assert!(
        fixed.contains("limits: {cpu: \"500m\", memory: 1Gi}"),
        "{fixed}"
    );
    // Suggestions (l0m, 2 cores) are not applied.
    assert!(
        fixed.contains("cpu: l0m") && fixed.contains("cpu: 2 cores"),
        "{fixed}"
    );
}

#[test]
fn stdin_is_checked_but_not_fixed() {
    let text = std::fs::read_to_string(root().join("tests/data/lint/KCPU004_1.yaml")).unwrap();
    let out = kcpu()
        .args(["check", "-", "--fix"])
        .write_stdin(text)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("standard input cannot be fixed in place"),
        "{stderr}"
    );
    assert!(
        stdout.contains("-          requests: {cpu: 100M, memory: 64Mi}"),
        "{stdout}"
    );
    assert!(stdout.contains("<stdin>:11:27"), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn explain_and_list_rules() {
    let out = kcpu()
        .args(["check", "--explain", "KCPU004"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for s in lint::DOC_SECTIONS {
        assert!(text.contains(&format!("## {s}")), "{s}: {text}");
    }
    assert!(text.starts_with("# KCPU004 suspicious-cpu-unit"));
    // By name too.
    let out = kcpu()
        .args(["check", "--explain", "limit-below-request"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# KCPU009"));
    let out = kcpu().args(["check", "--list-rules"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for r in lint::rules::RULES {
        assert!(text.contains(r.meta.id) && text.contains(r.meta.name));
    }
}

#[test]
fn colour_only_when_asked() {
    let (_, plain, _) = check(&["tests/data/lint/KCPU009_1.yaml"]);
    assert!(!plain.contains('\x1b'), "no colour off a terminal");
    let (_, coloured, _) = check(&["tests/data/lint/KCPU009_1.yaml", "--color", "always"]);
    assert!(coloured.contains("\x1b["), "{coloured}");
    let (_, never, _) = check(&["tests/data/lint/KCPU009_1.yaml", "--color", "never"]);
    assert_eq!(never, plain);
}

#[test]
fn locations_inside_lists_and_later_documents() {
    let (_, out, _) = check(&[
        "tests/data/check/showcase.yaml",
        "--policy",
        "tests/data/check/policy.yaml",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pos: Vec<(String, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    // The `shell` container of the Pod inside the kind: List (second document).
    assert!(pos.contains(&("KCPU001".into(), 31, 7)), "{pos:?}");
    // The Job's 1024m request, item 2 of the List.
    assert!(pos.contains(&("KCPU008".into(), 42, 29)), "{pos:?}");
}

#[test]
fn the_bundled_sample_app() {
    let (code, out, err) = check(&["fixtures/"]);
    assert!(err.is_empty(), "{err}");
    assert!(out.contains("with policy fixtures/.kcpu.yaml"), "{out}");
    insta::assert_snapshot!("bundled_fixtures", out);
    // Only warnings and infos since KCPU001 defaults to warning (README, "Default severities").
    assert_eq!(code, 0);
}

#[test]
fn renders_are_deterministic_in_process() {
    let text = std::fs::read_to_string(root().join("tests/data/check/showcase.yaml")).unwrap();
    let policy = Policy::default();
    let (s1, r1) = lint::check_text("a.yaml", &text, &policy);
    let (s2, r2) = lint::check_text("a.yaml", &text, &policy);
    for f in [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Github,
        Format::Markdown,
    ] {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let o = RenderOptions {
            fail_on: Severity::Warning,
            ..RenderOptions::default()
        };
        render::render(f, &r1, &s1, &o, &mut a).unwrap();
        render::render(f, &r2, &s2, &o, &mut b).unwrap();
        assert_eq!(a, b);
    }
}

/// Issue 13 defect 4: `check` and `translate` used two arithmetics for the quota. A limit so
/// large that the kubelet's int64 `milli*period` overflows wraps (to the 1 ms floor here);
/// KCPU007 used to say the quota "never throttles" while `translate` printed the wrapped
/// `cpu.max`. Both now come from `translate::kubelet::milli_cpu_to_quota`.
#[test]
fn check_and_translate_agree_on_overflowing_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, limit) in ["9223372036854775807", "1e25"].iter().enumerate() {
        let path = dir.path().join(format!("huge{i}.yaml"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: huge}}\nspec:\n  containers:\n  - name: app\n    resources:\n      requests: {{cpu: 100m}}\n      limits: {{cpu: \"{limit}\"}}\n"
            ),
        )
        .expect("write manifest");
        let p = path.to_str().expect("utf-8 path");
        let out = kcpu()
            .args(["translate", "-o", "json", p])
            .output()
            .expect("run kcpu");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{limit}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let max = json["pods"][0]["containers"][0]["cpu.max"]
            .as_str()
            .expect("cpu.max")
            .to_string();
        assert_eq!(max, "1000 100000", "{limit}: the kubelet's wrapped quota");
        let (code, stdout, stderr) = check(&["--no-policy", p]);
        assert_eq!(code, 1, "{limit}: {stdout}{stderr}");
        assert!(stdout.contains("KCPU007"), "{limit}: {stdout}");
        assert!(
            stdout.contains(&format!("cpu.max reads \"{max}\"")),
            "{limit}: KCPU007 must state translate's cpu.max {max:?}:\n{stdout}"
        );
        assert!(!stdout.contains("never throttles"), "{limit}: {stdout}");
    }
}

/// KCPU016 replays a `kcpu.dev/load.<container>: trace:FILE` annotation: the path is relative to
/// the manifest's directory (the same finding from the repository root, from the manifest's own
/// directory and with an absolute manifest path), the trace's whole span is simulated, and a
/// trace that cannot be read is reported for its container instead of a prediction.
#[test]
fn trace_loads_are_replayed_relative_to_the_manifest() {
    let dir = root().join("tests/data/check-trace");
    let abs = dir.join("app.yaml");
    let runs = [
        (
            root().to_path_buf(),
            "tests/data/check-trace/app.yaml".to_string(),
        ),
        (dir.clone(), "app.yaml".to_string()),
        (std::env::temp_dir(), abs.display().to_string()),
    ];
    let mut firsts = Vec::new();
    for (cwd, path) in runs {
        let out = kcpu()
            .current_dir(&cwd)
            .args(["check", "--no-policy", "--format", "json", &path])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let findings: Vec<&serde_json::Value> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "KCPU016")
            .collect();
        assert_eq!(findings.len(), 2, "{path}: {doc}");
        let text = |f: &serde_json::Value| f.to_string();
        let api = findings
            .iter()
            .find(|f| text(f).contains("container \\\"api\\\" is predicted"))
            .unwrap_or_else(|| panic!("{path}: no prediction for api: {doc}"));
        // 40 bursts of 4 × 30 ms every 300 ms: the whole 11.73 s trace, about half of all
        // periods throttled although the mean (0.4 CPU) is under the limit.
        assert!(
            text(api).contains("simulated 4 × 11.730 s"),
            "{}",
            text(api)
        );
        assert!(
            text(api).contains("throttled in 50% of CFS periods"),
            "{}",
            text(api)
        );
        let side = findings
            .iter()
            .find(|f| text(f).contains("container \\\"side\\\""))
            .unwrap();
        assert!(text(side).contains("cannot read trace"), "{}", text(side));
        assert!(text(side).contains("missing.csv"), "{}", text(side));
        firsts.push((api["message"].clone(), api["notes"].clone()));
    }
    assert!(firsts.windows(2).all(|w| w[0] == w[1]), "{firsts:?}");
}
