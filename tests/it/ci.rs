//! CI distribution: the GitHub Action's steps (action.yml run as GitHub would, minus the SARIF
//! upload), the install script against a local "release", the GitLab template's job script,
//! GitLab Code Quality output against GitLab's documented fields, the pre-commit hooks through
//! the real `pre-commit try-repo`, and the static release binary in an empty root under runc.
//!
//! Tests that need a tool (pre-commit, curl, runc, root, the musl binary from
//! `scripts/release.sh`) print `skipped: <reason>` and return when it is missing.

#![allow(clippy::print_stdout)] // `skipped: <reason>` lines

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kcpu_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kcpu"))
}

fn yaml(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A project with one workload that fails the default policy (`requests: cpu: "1,5"` …) and
/// one clean one, each in its own directory.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::copy(
        root().join("tests/data/lint/KCPU003_1.yaml"),
        dir.path().join("deploy/app.yaml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("clean")).unwrap();
    std::fs::write(
        dir.path().join("clean/ok.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok, namespace: a}\nspec:\n  containers:\n  - name: c\n    resources:\n      requests: {cpu: 250m}\n      limits: {cpu: 500m}\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(dir.path().join("broken/bad.yaml"), "kind: [\n").unwrap();
    dir
}

/// A local "release" like the one scripts/release.sh publishes: kcpu-<target> and its .sha256.
fn fake_release(dir: &Path) -> PathBuf {
    let rel = dir.join("release");
    std::fs::create_dir_all(&rel).unwrap();
    let target = match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    };
    let name = format!("kcpu-{target}");
    let bytes = std::fs::read(kcpu_bin()).unwrap();
    std::fs::write(rel.join(&name), &bytes).unwrap();
    let sum: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        rel.join(format!("{name}.sha256")),
        format!("{sum}  {name}\n"),
    )
    .unwrap();
    rel
}

/// Evaluates the `${{ … }}` expressions action.yml uses: `a || b` (first non-empty) over
/// `inputs.X` (given, else the input's default) and the context values in `ctx`.
fn expand(
    value: &str,
    action: &serde_json::Value,
    given: &BTreeMap<&str, String>,
    ctx: &BTreeMap<&str, String>,
) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("closed expression") + i;
        let expr = rest[i + 3..end].trim();
        let v = expr
            .split("||")
            .map(|term| {
                let term = term.trim();
                if let Some(name) = term.strip_prefix("inputs.") {
                    assert!(
                        action["inputs"].get(name).is_some(),
                        "undeclared input {name}"
                    );
                    given.get(name).cloned().unwrap_or_else(|| {
                        action["inputs"][name]["default"]
                            .as_str()
                            .unwrap_or("")
                            .to_string()
                    })
                } else {
                    ctx.get(term)
                        .cloned()
                        .unwrap_or_else(|| panic!("the test does not know {term:?}"))
                }
            })
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        out.push_str(&v);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

struct StepRun {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
}

/// Runs the composite step `id` of action.yml with bash, as the runner would.
fn run_action_step(
    id: &str,
    cwd: &Path,
    given: &BTreeMap<&str, String>,
    ctx: &BTreeMap<&str, String>,
    extra_env: &[(&str, String)],
) -> StepRun {
    let action = yaml("action.yml");
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"));
    assert_eq!(step["shell"], "bash");
    let output_file = cwd.join(format!(".github-output-{id}"));
    std::fs::write(&output_file, "").unwrap();
    // What GitHub runs for `shell: bash`: `bash --noprofile --norc -eo pipefail {0}`.
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(step["run"].as_str().unwrap())
        .current_dir(cwd)
        .env("GITHUB_ACTION_PATH", root())
        .env("GITHUB_OUTPUT", &output_file);
    for (k, v) in step["env"].as_object().unwrap() {
        cmd.env(k, expand(v.as_str().unwrap(), &action, given, ctx));
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let outputs = std::fs::read_to_string(&output_file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    StepRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs,
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn action_yml_declares_the_documented_interface() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "paths",
        "policy",
        "format",
        "fail-on",
        "sarif-file",
        "upload-sarif",
    ] {
        assert!(
            action["inputs"][input]["description"].is_string(),
            "{input}"
        );
    }
    for output in ["exit-code", "sarif-file"] {
        assert!(action["outputs"][output]["value"].is_string(), "{output}");
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("a SARIF upload step");
    // The upload runs also when the check step failed (exit 1 with findings).
    assert!(upload["if"].as_str().unwrap().contains("always()"));
    // Every script the action runs is in the repository and executable.
    for script in ["ci/install.sh", "ci/github-action.sh"] {
        let meta = std::fs::metadata(root().join(script)).unwrap();
        assert!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0);
    }
}

#[test]
fn action_check_step_annotations_sarif_summary_and_exit_codes() {
    let dir = project();
    let summary = dir.path().join("summary.md");
    let ctx: BTreeMap<&str, String> = [(
        "steps.install.outputs.kcpu",
        kcpu_bin().display().to_string(),
    )]
    .into();
    let validator = sarif_validator();
    for (paths, fail_on, expect) in [
        ("deploy/", "", 1),
        ("clean/", "", 0),
        ("deploy/\nclean/", "never", 0),
        ("clean/ broken/", "", 2),
    ] {
        std::fs::write(&summary, "previous step\n").unwrap();
        let mut given = BTreeMap::new();
        given.insert("paths", paths.to_string());
        given.insert("fail-on", fail_on.to_string());
        let r = run_action_step(
            "check",
            dir.path(),
            &given,
            &ctx,
            &[("GITHUB_STEP_SUMMARY", summary.display().to_string())],
        );
        assert_eq!(r.code, expect, "{paths:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.outputs["exit-code"], expect.to_string());
        // SARIF for code scanning, valid against the 2.1.0 schema.
        let sarif_path = dir.path().join(&r.outputs["sarif-file"]);
        let sarif: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let results = sarif["runs"][0]["results"].as_array().unwrap().len();
        // The job summary is appended, not overwritten.
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(md.starts_with("previous step\n"), "{md}");
        assert!(md.len() > "previous step\n".len() + 20, "{md}");
        match expect {
            1 => {
                assert!(
                    r.stdout.contains("::error file=deploy/app.yaml,line="),
                    "{}",
                    r.stdout
                );
                assert!(results > 0);
            }
            2 => assert!(
                r.stdout.contains("::error file=broken/bad.yaml"),
                "{}",
                r.stdout
            ),
            _ => {}
        }
    }
}

#[test]
fn action_install_step_verifies_the_download() {
    if !have("curl", "--version") {
        println!("skipped: curl is not installed (the install script downloads with curl or wget)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rel = fake_release(dir.path());
    let ctx: BTreeMap<&str, String> = [
        // A local action (`uses: ./`) has no repository or ref: the URL comes from the env.
        ("github.action_repository", String::new()),
        ("github.action_ref", String::new()),
        ("github.action_path", root().display().to_string()),
        (
            "runner.temp",
            dir.path().join("runner").display().to_string(),
        ),
    ]
    .into();
    let url = format!("file://{}", rel.display());
    let r = run_action_step(
        "install",
        dir.path(),
        &BTreeMap::new(),
        &ctx,
        &[("KCPU_RELEASE_URL", url.clone())],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let installed = PathBuf::from(&r.outputs["kcpu"]);
    assert_eq!(installed, dir.path().join("runner/kcpu/bin/kcpu"));
    let v = Command::new(&installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("kcpu "));

    // A tampered checksum: nothing is installed and the step fails.
    std::fs::remove_file(&installed).unwrap();
    let sum_file = std::fs::read_dir(&rel)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sha256"))
        .unwrap();
    std::fs::write(
        &sum_file,
        format!("{}  kcpu-x86_64-unknown-linux-musl\n", "0".repeat(64)),
    )
    .unwrap();
    let r = run_action_step(
        "install",
        dir.path(),
        &BTreeMap::new(),
        &ctx,
        &[("KCPU_RELEASE_URL", url)],
    );
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("SHA-256 mismatch"), "{}", r.stderr);
    assert!(!installed.exists());
}

/// Runs the GitLab template's `.kcpu-check` script with sh in `cwd`.
fn run_gitlab_job(cwd: &Path, vars: &[(&str, String)], path: &str) -> (i32, String) {
    let t = yaml("ci/gitlab/kcpu.gitlab-ci.yml");
    let script: Vec<&str> = t[".kcpu-check"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script.join("\n"))
        .current_dir(cwd)
        .env("PATH", path);
    for (k, v) in t["variables"].as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn gitlab_template_writes_code_quality_and_junit_reports() {
    let t = yaml("ci/gitlab/kcpu.gitlab-ci.yml");
    assert_eq!(t["kcpu-check"]["extends"], ".kcpu-check");
    let reports = &t[".kcpu-check"]["artifacts"]["reports"];
    let cq_name = reports["codequality"].as_str().unwrap();
    let junit_name = reports["junit"].as_str().unwrap();
    assert_eq!(t[".kcpu-check"]["artifacts"]["when"], "always");

    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/gitlab-code-quality.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bin_dir = kcpu_bin().parent().unwrap().display().to_string();
    let dir = project();
    // kcpu on PATH (a runner image with kcpu), and kcpu downloaded from a release.
    let rel = fake_release(dir.path());
    let downloads = have("curl", "--version") || have("wget", "--version");
    if !downloads {
        println!("skipped (download case only): neither curl nor wget is installed");
    }
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, String);
    let cases: Vec<Case> = [
        Some(("on PATH", vec![], format!("{bin_dir}:/usr/bin:/bin"))),
        downloads.then(|| {
            (
                "downloaded",
                vec![("KCPU_RELEASE_URL", format!("file://{}", rel.display()))],
                "/usr/bin:/bin".to_string(),
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (case, mut vars, path) in cases {
        for f in [cq_name, junit_name] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
        vars.push(("KCPU_PATHS", "deploy clean".to_string()));
        let (code, log) = run_gitlab_job(dir.path(), &vars, &path);
        assert_eq!(code, 1, "{case}: {log}");
        let cq: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(cq_name)).unwrap())
                .unwrap();
        let errors: Vec<String> = validator.iter_errors(&cq).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{case}: {errors:?}");
        let issues = cq.as_array().unwrap();
        assert!(!issues.is_empty());
        // GitLab shows only the first issue of a fingerprint: they must be unique.
        let prints: std::collections::BTreeSet<&str> = issues
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(prints.len(), issues.len());
        for i in issues {
            let p = i["location"]["path"].as_str().unwrap();
            assert!(
                dir.path().join(p).is_file(),
                "{p} is relative to the project"
            );
        }
        assert!(issues.iter().any(|i| i["severity"] == "major"));
        let junit = std::fs::read_to_string(dir.path().join(junit_name)).unwrap();
        let mut reader = quick_xml::Reader::from_str(&junit);
        let mut failures = 0;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                    if e.name().as_ref() == b"failure" =>
                {
                    failures += 1
                }
                _ => {}
            }
        }
        assert!(failures > 0, "{case}: {junit}");
    }
    // The schema transcription does reject what GitLab rejects.
    let bad = serde_json::json!([{"description": "d", "check_name": "c", "fingerprint": "f",
        "severity": "warning", "location": {"path": "a.yaml"}}]);
    assert!(validator.iter_errors(&bad).count() >= 2);
    // Without kcpu and without a release URL the job says what to set.
    let (code, log) = run_gitlab_job(dir.path(), &[], "/usr/bin:/bin");
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("KCPU_RELEASE_URL"), "{log}");
}

#[test]
fn codeclimate_fingerprints_ignore_line_moves() {
    let dir = project();
    let run = |file: &Path| -> serde_json::Value {
        let out = Command::new(kcpu_bin())
            .args(["check", "--no-policy", "--format", "codeclimate"])
            .arg(file)
            .current_dir(dir.path())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let file = dir.path().join("deploy/app.yaml");
    let before = run(&file);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# moved down\n\n{text}")).unwrap();
    let after = run(&file);
    let prints = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(prints(&before), prints(&after));
    assert_ne!(
        before[0]["location"]["positions"]["begin"]["line"],
        after[0]["location"]["positions"]["begin"]["line"]
    );
}

#[test]
fn report_flag_writes_the_same_bytes_as_format() {
    let dir = project();
    for format in ["sarif", "junit", "markdown", "codeclimate", "json"] {
        let file = dir.path().join(format!("out.{format}"));
        let with_report = Command::new(kcpu_bin())
            .args([
                "check",
                "deploy",
                "--no-policy",
                "--format",
                "github",
                "--report",
            ])
            .arg(format!("{format}={}", file.display()))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(with_report.status.code(), Some(1));
        let direct = Command::new(kcpu_bin())
            .args(["check", "deploy", "--no-policy", "--format", format])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), direct.stdout, "{format}");
    }
    let bad = Command::new(kcpu_bin())
        .args(["check", "deploy", "--report", "pdf=x"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown format"));
}

/// `--skip-non-kubernetes` (the hooks' flag): files that parse but hold no Kubernetes object
/// are left out with a note instead of exiting 2; unparsable YAML stays an input error.
#[test]
fn skip_non_kubernetes_leaves_out_other_yaml_only() {
    let dir = project();
    let wf = dir.path().join("ci.yml");
    std::fs::write(&wf, "name: ci\non: [push]\n").unwrap();
    let run = |extra: &[&str], files: &[&Path]| {
        let out = Command::new(kcpu_bin())
            .args(["check", "--no-policy", "--color", "never"])
            .args(extra)
            .args(files)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    };
    let (code, text) = run(&[], &[&wf]);
    assert_eq!(
        code, 2,
        "without the flag: no Kubernetes object is an error\n{text}"
    );
    let (code, text) = run(&["--skip-non-kubernetes"], &[&wf]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Skipped 1 file without a Kubernetes object"),
        "{text}"
    );
    let ok = dir.path().join("clean/ok.yaml");
    let (code, text) = run(&["--skip-non-kubernetes"], &[&wf, &ok]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("missing-kind"), "{text}");
    assert!(text.contains("Checked 1 workload"), "{text}");
    let bad = dir.path().join("broken/bad.yaml");
    let (code, text) = run(&["--skip-non-kubernetes"], &[&wf, &bad]);
    assert_eq!(code, 2, "{text}");
}

#[test]
fn pre_commit_hooks_check_and_fix_through_pre_commit() {
    if !have("pre-commit", "--version") {
        println!("skipped: pre-commit is not installed (pip install pre-commit)");
        return;
    }
    // try-repo reads the hooks from this checkout (uncommitted edits of tracked files too).
    let tracked = Command::new("git")
        .args(["ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"])
        .current_dir(root())
        .output();
    if !tracked.is_ok_and(|o| o.status.success()) {
        println!("skipped: .pre-commit-hooks.yaml is not tracked by git here (try-repo needs it)");
        return;
    }
    let hooks = yaml(".pre-commit-hooks.yaml");
    let ids: Vec<&str> = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    for id in [
        "kcpu-check",
        "kcpu-fix",
        "kcpu-check-system",
        "kcpu-fix-system",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let dir = project();
    let repo = dir.path();
    // YAML that is not a Kubernetes manifest: the hooks see every staged YAML file.
    std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    std::fs::write(
        repo.join(".github/workflows/ci.yml"),
        "name: ci\non: [push]\njobs:\n  t: {runs-on: ubuntu-latest, steps: [{run: make}]}\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.email=t@example.org",
        "-c",
        "user.name=t",
        "add",
        "-A",
    ]);
    let path = format!(
        "{}:{}",
        kcpu_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let try_repo = |hook: &str, file: &str| {
        let out = Command::new("pre-commit")
            .args(["try-repo"])
            .arg(root())
            .args([hook, "--files", file])
            .current_dir(repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", repo.join(".pre-commit-cache"))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, log) = try_repo("kcpu-check-system", "clean/ok.yaml");
    assert_eq!(code, 0, "{log}");
    // A workflow file holds no Kubernetes object: skipped, not an input error; broken YAML
    // still fails.
    let (code, log) = try_repo("kcpu-check-system", ".github/workflows/ci.yml");
    assert_eq!(code, 0, "{log}");
    let (code, log) = try_repo("kcpu-check-system", "broken/bad.yaml");
    assert_eq!(code, 1, "{log}");
    let (code, log) = try_repo("kcpu-check-system", "deploy/app.yaml");
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("KCPU003") && log.contains("Failed"), "{log}");
    let before = std::fs::read_to_string(repo.join("deploy/app.yaml")).unwrap();
    let (code, log) = try_repo("kcpu-fix-system", "deploy/app.yaml");
    assert_eq!(code, 1, "{log}");
    let after = std::fs::read_to_string(repo.join("deploy/app.yaml")).unwrap();
    assert!(
        before.contains("\"1,5\"") && !after.contains("\"1,5\""),
        "{after}"
    );
    assert!(log.contains("files were modified by this hook"), "{log}");
    // The fix is idempotent: a second run changes nothing more.
    let _ = try_repo("kcpu-fix-system", "deploy/app.yaml");
    assert_eq!(
        std::fs::read_to_string(repo.join("deploy/app.yaml")).unwrap(),
        after
    );
}

/// The static binary scripts/release.sh wrote (`KCPU_STATIC_BIN` overrides the path).
pub fn static_binary() -> Result<PathBuf, String> {
    let p = std::env::var_os("KCPU_STATIC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("dist/kcpu-x86_64-unknown-linux-musl"));
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} does not exist (scripts/release.sh builds it)",
            p.display()
        ))
    }
}

/// Why runc containers cannot run here, if they cannot.
pub fn runc_unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("runc bundles need root".into());
    }
    if !have("runc", "--version") {
        return Some("runc is not installed (apt-get install runc)".into());
    }
    None
}

/// Removes, when dropped, the empty parent `/sys/fs/cgroup/<hierarchy>/<name>` that runc created
/// in every hierarchy for a [`runc_bundle`] container (runc removes the container's own cgroups
/// when its process exits, not the parents of its `cgroupsPath`). Only `kcpu-test-*` names.
pub struct RuncParents(String);

impl Drop for RuncParents {
    fn drop(&mut self) {
        if !self.0.starts_with("kcpu-test-") {
            return;
        }
        let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        for h in rd.flatten() {
            let d = h.path().join(&self.0);
            if d.is_dir() {
                // rmdir(2) of a cgroup fails while it has children or tasks: only empty ones go.
                let _ = std::fs::remove_dir(&d);
            }
        }
    }
}

/// An OCI bundle whose root file system holds only `files` (path in the rootfs, source), with
/// `args` as the process, the root read-only, no terminal and the container's cgroups under
/// `/kcpu-test-runc-<id>/<id>` (kcpu's tests create cgroups only under `kcpu*` parents). Returns
/// the `runc run` command and the guard that removes the parents; runc removes the container and
/// its cgroups when the process exits.
pub fn runc_bundle(
    dir: &Path,
    id: &str,
    files: &[(&str, &Path)],
    args: &[&str],
) -> (Command, RuncParents) {
    let bundle = dir.join("bundle");
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    for (inside, source) in files {
        let dest = rootfs.join(inside.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(source, &dest).unwrap();
    }
    let spec = Command::new("runc")
        .args(["spec"])
        .current_dir(&bundle)
        .output()
        .unwrap();
    assert!(
        spec.status.success(),
        "{}",
        String::from_utf8_lossy(&spec.stderr)
    );
    let path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(args);
    config["root"]["readonly"] = true.into();
    let parent = format!("kcpu-test-runc-{id}");
    config["linux"]["cgroupsPath"] = format!("/{parent}/{id}").into();
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let mut cmd = Command::new("runc");
    cmd.arg("--root")
        .arg(dir.join("runc-state"))
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(id);
    (cmd, RuncParents(parent))
}

#[test]
fn static_binary_runs_in_an_empty_root() {
    let bin = match static_binary() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    // No program interpreter (dynamic loader) and no shared libraries.
    if have("file", "--version") {
        let out = Command::new("file").arg("-L").arg(&bin).output().unwrap();
        let desc = String::from_utf8_lossy(&out.stdout);
        assert!(
            desc.contains("statically linked") || desc.contains("static-pie linked"),
            "{desc}"
        );
        assert!(
            desc.contains("stripped") && !desc.contains("not stripped"),
            "{desc}"
        );
    }
    let sum_file = bin.with_file_name(format!(
        "{}.sha256",
        bin.file_name().unwrap().to_string_lossy()
    ));
    let recorded = std::fs::read_to_string(&sum_file).unwrap();
    let actual: String = Sha256::digest(std::fs::read(&bin).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(recorded.starts_with(&actual), "{recorded} vs {actual}");
    if let Some(why) = runc_unavailable() {
        println!("skipped (runc part): {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let manifest = root().join("tests/data/lint/KCPU003_1.yaml");
    let id = format!("dist-static-{}", std::process::id());
    let (mut cmd, _parents) = runc_bundle(
        dir.path(),
        &id,
        &[("/kcpu", &bin), ("/m/app.yaml", &manifest)],
        &[
            "/kcpu",
            "check",
            "--no-policy",
            "--format",
            "json",
            "/m/app.yaml",
        ],
    );
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["summary"]["errors"].as_u64().unwrap() > 0);
    // The same findings as the development build outside the container.
    let host = Command::new(kcpu_bin())
        .args(["check", "--no-policy", "--format", "json"])
        .arg(&manifest)
        .output()
        .unwrap();
    let host: serde_json::Value = serde_json::from_slice(&host.stdout).unwrap();
    assert_eq!(doc["summary"], host["summary"]);
}

/// The aarch64 release binary (`scripts/release.sh` links it with rust-lld when no cross gcc is
/// installed) is static and, run under `qemu-aarch64-static` (Debian's qemu-user-static: user-mode
/// emulation, no VM), gives byte-identical `translate` and `check` output to the host's build on
/// the bundled fixtures, and the same `simulate` figures: the same code, not only a binary that
/// starts.
#[test]
fn aarch64_binary_matches_the_host_build() {
    let bin = std::env::var_os("KCPU_AARCH64_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("dist/kcpu-aarch64-unknown-linux-musl"));
    if !bin.is_file() {
        println!(
            "skipped: {} does not exist (scripts/release.sh builds it)",
            bin.display()
        );
        return;
    }
    if have("file", "--version") {
        let out = Command::new("file").arg("-L").arg(&bin).output().unwrap();
        let desc = String::from_utf8_lossy(&out.stdout);
        assert!(desc.contains("ARM aarch64"), "{desc}");
        assert!(
            desc.contains("statically linked") || desc.contains("static-pie linked"),
            "{desc}"
        );
    }
    if !have("qemu-aarch64-static", "--version") {
        println!("skipped (running it): qemu-aarch64-static is not installed (apt-get install qemu-user-static)");
        return;
    }
    let fixtures = root().join("fixtures");
    for args in [
        &["translate", "--output", "json"][..],
        &["check", "--format", "json"][..],
    ] {
        let emulated = Command::new("qemu-aarch64-static")
            .arg(&bin)
            .args(args)
            .arg(&fixtures)
            .current_dir(root())
            .output()
            .unwrap();
        let host = Command::new(kcpu_bin())
            .args(args)
            .arg(&fixtures)
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(
            emulated.status.code(),
            host.status.code(),
            "{args:?}: {}",
            String::from_utf8_lossy(&emulated.stderr)
        );
        assert!(!host.stdout.is_empty(), "{args:?}");
        assert!(
            emulated.stdout == host.stdout,
            "{args:?}: the aarch64 build's output differs from the host's"
        );
    }
    let sim = [
        "simulate",
        "--quota",
        "50ms",
        "--duration",
        "20s",
        "--runs",
        "3",
        "--load",
        "poisson:rate=20/s,work=5ms",
        "--output",
        "json",
    ];
    let emulated = Command::new("qemu-aarch64-static")
        .arg(&bin)
        .args(sim)
        .output()
        .unwrap();
    let host = Command::new(kcpu_bin()).args(sim).output().unwrap();
    assert!(host.status.success() && emulated.status.success());
    assert!(
        emulated.stdout == host.stdout,
        "simulate: the aarch64 build's figures differ from the host's"
    );
}
