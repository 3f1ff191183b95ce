//! Hardening (issue 13): each defect found by trying kcpu as a new user would, as a test that
//! failed before its fix, plus the regression inputs the fuzzers found.

use assert_cmd::Command;
use std::path::Path;
use std::process::Stdio;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test: `KCPU_BIN` when set (to rerun these tests against another build,
/// e.g. the one before a fix), else the one cargo built.
fn bin() -> std::path::PathBuf {
    std::env::var_os("KCPU_BIN")
        .map(Into::into)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("kcpu"))
}

fn kcpu() -> Command {
    let mut c = Command::new(bin());
    c.current_dir(root());
    c.env_remove("NO_COLOR");
    c
}

/// Exit code, stdout and stderr of `kcpu ARGS` with `stdin` as standard input.
fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = kcpu()
        .args(args)
        .write_stdin(stdin.as_bytes().to_vec())
        .output()
        .expect("run kcpu");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `files` into a fresh directory.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).expect("write");
    }
    d
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    resources: {requests: {cpu: 250m}, limits: {cpu: 500m}}\n";

// Defect 1: empty input is an input error in every command.
#[test]
fn empty_input_exits_2_in_every_command() {
    for input in ["", "\n# only a comment\n", "---\n---\n"] {
        for args in [
            &["check", "--no-policy", "-"][..],
            &["check", "--no-policy", "-f", "sarif", "-"],
            &["check", "--no-policy", "-f", "json", "-"],
            &["translate", "-"],
            &["simulate", "-", "--container", "app"],
        ] {
            let (code, out, err) = run(args, input);
            assert_eq!(code, 2, "{args:?} on {input:?}:\n{out}\n{err}");
            assert!(
                format!("{out}{err}").contains("no YAML or JSON documents"),
                "{args:?}: {out}{err}"
            );
        }
    }
    // report and collect too (collect reads probe lines, not manifests).
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out_dir = out_dir.path().to_str().expect("utf-8");
    let (code, _, err) = run(&["report", "-", "--out", out_dir], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no YAML or JSON documents"), "{err}");
    for input in ["", "\n"] {
        let (code, _, err) = run(&["collect", "-"], input);
        assert_eq!(code, 2, "collect on {input:?}: {err}");
        assert!(err.contains("no probe line"), "{err}");
    }
    // SARIF says the run did not succeed.
    let (_, out, _) = run(&["check", "--no-policy", "-f", "sarif", "-"], "");
    assert!(out.contains("\"executionSuccessful\": false"), "{out}");
    // stdin closed (not just empty).
    let out = std::process::Command::new(bin())
        .args(["check", "--no-policy", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // An empty file among good ones is fine: the stream as a whole has documents.
    let d = dir_with(&[("empty.yaml", ""), ("pod.yaml", POD)]);
    let (code, _, _) = run(
        &["check", "--no-policy", d.path().to_str().expect("utf-8")],
        "",
    );
    assert_eq!(code, 0);
}

// Defect 3: --fix never writes a manifest the API server rejects.
#[test]
fn fix_never_creates_a_limit_below_the_request() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    resources:\n      requests: {cpu: \"1\"}\n      limits: {cpu: 200M}\n";
    let d = dir_with(&[("pod.yaml", text)]);
    let path = d.path().join("pod.yaml");
    let (code, out, err) = run(
        &[
            "check",
            "--no-policy",
            "--fix",
            path.to_str().expect("utf-8"),
        ],
        "",
    );
    let after = std::fs::read_to_string(&path).expect("read");
    assert!(
        !after.contains("200m"),
        "the fix wrote a limit below the request:\n{after}"
    );
    assert!(
        !out.contains("[KCPU009") && !err.contains("[KCPU009"),
        "{out}{err}"
    );
    // The alternatives are offered instead.
    assert!(out.contains("KCPU004"), "{out}");
    assert!(
        out.contains("lower the request") && out.contains("remove the limit"),
        "{out}"
    );
    assert_eq!(code, 1, "{out}{err}");
    // Without the request the same fix is still applied.
    let ok = text.replace("      requests: {cpu: \"1\"}\n", "");
    let d = dir_with(&[("pod.yaml", &ok)]);
    let path = d.path().join("pod.yaml");
    run(
        &[
            "check",
            "--no-policy",
            "--fix",
            path.to_str().expect("utf-8"),
        ],
        "",
    );
    assert!(std::fs::read_to_string(&path)
        .expect("read")
        .contains("cpu: 200m"));
}

// Defect 5: unquoted YAML numbers go through float64 on the API path.
#[test]
fn unquoted_numbers_are_converted_like_the_api_server() {
    let doc = |v: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: app\n    resources: {{limits: {{cpu: {v}}}}}\n")
    };
    let millis = |v: &str| -> (String, String) {
        let (code, out, err) = run(&["translate", "-o", "json", "-"], &doc(v));
        assert_eq!(code, 0, "{v}: {err}");
        let j: serde_json::Value = serde_json::from_str(&out).expect("json");
        let c = &j["pods"][0]["containers"][0];
        (c["limit_millicores"].to_string(), err)
    };
    // Quoted: the string is parsed exactly (1001m, rounded up).
    assert_eq!(millis("\"1.00000000000000001\"").0, "1001");
    // Unquoted: float64 1.0, i.e. 1000m, with a warning that precision is lost.
    let (m, err) = millis("1.00000000000000001");
    assert_eq!(m, "1000");
    assert!(err.contains("float64") && err.contains("quote"), "{err}");
    // Exact unquoted numbers convert silently.
    let (m, err) = millis("1.5");
    assert_eq!(m, "1500");
    assert!(!err.contains("float64"), "{err}");
    // JSON input is decoded without the YAML step: the number text is kept.
    let json = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":1.00000000000000001}}}]}}"#;
    let (code, out, _) = run(&["translate", "-o", "json", "-"], json);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(j["pods"][0]["containers"][0]["limit_millicores"], 1001);
}

// Defect 6: untrusted names never reach a terminal or CI log unescaped.
#[test]
fn control_characters_in_names_are_escaped_in_human_output() {
    let evil = "apiVersion: v1\nkind: Pod\nmetadata: {name: \"p\\n::error file=evil.yaml,line=1::x\\u001b[31m\"}\nspec:\n  containers:\n  - name: \"c\\r\\u001b]0;t\\u0007\"\n    resources: {requests: {cpu: 100M}}\n";
    let bad = |s: &str| {
        s.lines().any(|l| l.starts_with("::error file=evil"))
            || s.contains('\u{1b}')
            || s.contains('\r')
            || s.contains('\u{7}')
    };
    for args in [
        &["check", "--no-policy", "--color", "never", "-"][..],
        &["check", "--no-policy", "-f", "markdown", "-"],
        &["check", "--no-policy", "-f", "github", "-"],
        &["translate", "-"],
        &["translate", "--explain", "-"],
    ] {
        let (_, out, err) = run(args, evil);
        assert!(!bad(&out), "{args:?} stdout:\n{out:?}");
        assert!(!bad(&err), "{args:?} stderr:\n{err:?}");
        assert!(
            out.contains("\\n::error") || out.contains("%0A::error"),
            "{args:?}: {out}"
        );
    }
    let d = dir_with(&[("evil.yaml", evil)]);
    let out_dir = d.path().join("r");
    let (code, _, err) = run(
        &[
            "report",
            d.path().join("evil.yaml").to_str().expect("utf-8"),
            "--out",
            out_dir.to_str().expect("utf-8"),
            "--format",
            "html,md",
            "--max-simulations",
            "0",
        ],
        "",
    );
    assert!(code == 0 || code == 1, "{err}");
    for f in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(out_dir.join(f)).expect("report");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{f}");
    }
}

// Defect 8: repeated diagnostics are summarised; a stream without a Kubernetes object is an
// input error.
#[test]
fn repeated_diagnostics_are_summarised() {
    let docs: String = (0..5000).map(|i| format!("---\nfoo: {i}\n")).collect();
    for args in [&["translate", "-"][..], &["check", "--no-policy", "-"]] {
        let (code, out, err) = run(args, &docs);
        assert_eq!(code, 2, "{args:?}: {err}");
        let all = format!("{out}{err}");
        assert!(
            all.lines().count() < 200,
            "{args:?}: {} lines",
            all.lines().count()
        );
        assert!(
            all.contains("more") || all.contains("not listed"),
            "{args:?}: {all}"
        );
        assert!(all.contains("no Kubernetes object"), "{args:?}: {all}");
    }
    // Mixed with a workload: warnings summarised, exit 0.
    let mixed = format!("{POD}{docs}");
    let (code, out, err) = run(&["check", "--no-policy", "-"], &mixed);
    assert_eq!(code, 0, "{out}{err}");
    assert!(format!("{out}{err}").lines().count() < 200);
}

// Defect 9: report files honour the umask.
#[test]
fn report_files_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir_with(&[("pod.yaml", POD)]);
    let out_dir = d.path().join("r");
    let (code, _, err) = run(
        &[
            "report",
            d.path().join("pod.yaml").to_str().expect("utf-8"),
            "--out",
            out_dir.to_str().expect("utf-8"),
            "--format",
            "json",
            "--max-simulations",
            "0",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    // The test process's umask (022 in CI, whatever it is here) applies to 0666.
    let umask = current_umask();
    let mode = std::fs::metadata(out_dir.join("report.json"))
        .expect("report.json")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o666 & !umask, "mode {mode:o}, umask {umask:o}");
}

/// The umask, read without changing it (`/proc/self/status`).
fn current_umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .expect("Umask line")
}

/// Runs kcpu with stdout connected to a pipe whose read end is already closed (`| head`
/// that has exited), so every write fails with EPIPE.
fn run_with_closed_stdout(args: &[&str], stdin: &str) -> i32 {
    let (r, w) = rustix::pipe::pipe().expect("pipe");
    drop(r);
    let mut child = std::process::Command::new(bin())
        .current_dir(root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(w))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    if let Some(mut i) = child.stdin.take() {
        use std::io::Write;
        let _ = i.write_all(stdin.as_bytes());
    }
    child.wait().expect("wait").code().unwrap_or(-1)
}

// Defect 10: a closed stdout does not turn failures into success.
#[test]
fn closed_stdout_keeps_the_exit_code() {
    let limit_below = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    resources: {requests: {cpu: \"2\"}, limits: {cpu: \"1\"}}\n";
    assert_eq!(
        run_with_closed_stdout(&["check", "--no-policy", "-"], limit_below),
        1
    );
    assert_eq!(
        run_with_closed_stdout(&["check", "--no-policy", "-"], "kind: [\n"),
        2
    );
    assert_eq!(run_with_closed_stdout(&["translate", "-"], "kind: [\n"), 2);
    let bad_and_good = format!("{POD}---\nkind: [\n");
    assert_eq!(
        run_with_closed_stdout(&["translate", "-o", "json", "-"], &bad_and_good),
        2
    );
    // Success stays success (quietly).
    assert_eq!(run_with_closed_stdout(&["translate", "-"], POD), 0);
    assert_eq!(
        run_with_closed_stdout(&["check", "--no-policy", "-"], POD),
        0
    );
}

// Defect 11: non-CPU values never fail a CPU command; partial objects are skipped with a note.
#[test]
fn non_cpu_placeholders_and_partial_objects_do_not_fail() {
    let gpu = "apiVersion: v1\nkind: Pod\nmetadata: {name: gpu}\nspec:\n  containers:\n  - name: app\n    resources:\n      requests:\n        cpu: 500m\n        nvidia.com/gpu: ${COUNT}\n      limits:\n        cpu: \"1\"\n        ephemeral-storage: \"{{ .Values.disk }}\"\n        nvidia.com/gpu: ${COUNT}\n";
    let (code, out, err) = run(&["translate", "-o", "json", "-"], gpu);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"limit_millicores\": 1000"), "{out}");
    assert!(
        err.contains("warning") && err.contains("nvidia.com/gpu"),
        "{err}"
    );
    let (code, out, _) = run(&["check", "--no-policy", "-"], gpu);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nvidia.com/gpu"), "{out}");
    // A CPU placeholder is still an input error, and so is a memory one (memory decides
    // the QoS class, hence the cgroup tier and the CPU files).
    let (code, _, _) = run(
        &["translate", "-"],
        &gpu.replace("ephemeral-storage", "memory"),
    );
    assert_eq!(code, 2);
    let (code, _, _) = run(
        &["translate", "-"],
        &gpu.replace("cpu: 500m", "cpu: ${CPU}"),
    );
    assert_eq!(code, 2);
    // A strategic-merge patch without a pod template and a JSON 6902 patch.
    let patch =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n";
    let json_patch = "- op: replace\n  path: /spec/template/spec/containers/0/resources/limits/cpu\n  value: 500m\n";
    for (text, what) in [(patch, "partial"), (json_patch, "patch")] {
        let stream = format!("{POD}---\n{text}");
        for args in [&["translate", "-"][..], &["check", "--no-policy", "-"]] {
            let (code, out, err) = run(args, &stream);
            assert_eq!(code, 0, "{args:?} {what}:\n{out}{err}");
            assert!(format!("{out}{err}").contains(what), "{args:?}: {out}{err}");
        }
    }
}

/// `n` small Pods, one document each (about 190 bytes apiece).
fn pods(n: usize) -> String {
    (0..n)
        .map(|i| format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n  - name: app\n    resources: {{requests: {{cpu: 250m}}, limits: {{cpu: 500m}}}}\n"))
        .collect()
}

// Defect 7: inputs larger than one piece (4 MiB) are read in pieces; positions, byte offsets
// and the diagnostics cap still count over the whole file, from a file and from stdin.
#[test]
fn large_inputs_keep_exact_positions() {
    let mut text = pods(30_000); // ~5.7 MB: two pieces
    let line = text.lines().count() + 9; // the limit line of the Pod below
    text.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {name: last}\nspec:\n  containers:\n  - name: app\n    resources:\n      limits: {cpu: 1024m}\n");
    let byte = text.rfind("1024m").unwrap();
    assert!(text.len() > 4 << 20);
    let d = dir_with(&[("big.yaml", &text)]);
    let path = d.path().join("big.yaml").display().to_string();
    for (args, stdin) in [
        (
            vec!["check", "--no-policy", "-f", "json", path.as_str()],
            "",
        ),
        (
            vec!["check", "--no-policy", "-f", "json", "-"],
            text.as_str(),
        ),
    ] {
        let (code, out, err) = run(&args, stdin);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let f = &v["findings"][0];
        assert_eq!(f["rule"], "KCPU008", "{out}");
        assert_eq!(f["line"], line, "{out}");
        assert_eq!(f["fix"]["edits"][0]["start_byte"], byte, "{out}");
        assert_eq!(v["summary"]["files"], 1);
        assert_eq!(v["summary"]["workloads"], 30_001);
    }
    // The text output's diff is numbered in the whole file.
    let (_, out, _) = run(&["check", "--no-policy", &path], "");
    assert!(out.contains(&format!("@@ -{}", line - 3)), "{out}");
    // translate: the last pod's position.
    let (code, out, err) = run(&["translate", "-o", "json", &path], "");
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pods"][30_000]["source"]["line"], line - 7);
}

// Defect 7: outputs that grow with the input are summarised or streamed, and what must stay
// in memory has a budget whose error names the flag that raises it.
#[test]
fn large_outputs_are_bounded() {
    let many = pods(10_050);
    // The table is printed in blocks of 1,000 workloads (each with its header).
    let (code, out, err) = run(&["translate", "-"], &pods(2_500));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("WORKLOAD/CONTAINER").count(), 3, "{out}");
    assert_eq!(out.matches("Pod default/p").count(), 2_500);
    // JUnit lists 10,000 workloads and counts the rest.
    let (code, out, err) = run(&["check", "--no-policy", "-f", "junit", "-"], &many);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("50 more workloads checked (not listed)"),
        "{}",
        &out[out.len() - 600..]
    );
    // simulate and run keep at most 10,000 workloads from manifests.
    let (code, _, err) = run(&["simulate", "-", "--cpus", "8", "--runs", "1"], &many);
    assert_eq!(code, 2);
    assert!(
        err.contains("more than the 10000 `simulate` and `run` keep in memory"),
        "{err}"
    );
    // recommend names the first 10 workloads that have the container, then a count.
    let d = dir_with(&[("many.yaml", &pods(30))]);
    let path = d.path().join("many.yaml").display().to_string();
    let (code, _, err) = run(
        &[
            "recommend",
            &path,
            "--container",
            "app",
            "--max-throttled",
            "10%",
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is in 30 workloads") && err.contains("p9, and 20 more"),
        "{err}"
    );
    // report: --max-workloads.
    let (code, _, err) = run(
        &[
            "report",
            "fixtures/",
            "--max-workloads",
            "2",
            "--out",
            "/nonexistent/x",
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("raise --max-workloads"), "{err}");
    // simulate: a day of Poisson arrivals per run is over the request budget, named.
    let day = [
        "simulate",
        "--quota",
        "50ms",
        "--load",
        "poisson:rate=1000/s,work=1ms,threads=2",
        "--duration",
        "86400s",
    ];
    let (code, _, err) = run(&day, "");
    assert_eq!(code, 2);
    assert!(err.contains("--max-requests"), "{err}");
    // 100 runs: the first 10 and the 10 most throttled rows, then a count.
    let (code, out, err) = run(
        &[
            "simulate",
            "--quota",
            "20ms",
            "--load",
            "poisson:rate=50/s,work=5ms,threads=2",
            "--duration",
            "1s",
            "--runs",
            "100",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("… and 80 more runs not shown"), "{out}");
    let (_, json, _) = run(
        &[
            "simulate",
            "--quota",
            "20ms",
            "--load",
            "poisson:rate=50/s,work=5ms,threads=2",
            "--duration",
            "1s",
            "--runs",
            "100",
            "--output",
            "json",
        ],
        "",
    );
    assert_eq!(
        json.matches("\"phase_us\"").count(),
        100,
        "every run in JSON"
    );
}

// Defect 8 at its size: one million documents that are not Kubernetes objects (three pieces
// of input) print a few diagnostics and a count, and exit 2.
#[test]
fn a_million_non_kubernetes_documents() {
    let docs = "---\nfoo: 1\n".repeat(1_000_000);
    let d = dir_with(&[("million.yaml", &docs)]);
    let path = d.path().join("million.yaml").display().to_string();
    let recommend = ["recommend", path.as_str(), "--container", "app"];
    for (args, stdin) in [
        (&["translate", "-"][..], docs.as_str()),
        (&["check", "--no-policy", "-"], &docs),
        (&["simulate", "-"], &docs),
        (&recommend, ""),
    ] {
        let (code, out, err) = run(args, stdin);
        assert_eq!(code, 2, "{args:?}: {err}");
        let all = format!("{out}{err}");
        assert!(
            all.lines().count() < 200,
            "{args:?}: {} lines",
            all.lines().count()
        );
        assert!(all.contains("no Kubernetes object"), "{args:?}: {all}");
        // The first 20 `missing-kind` warnings, then the count of the rest (recommend stops
        // at the input error).
        if args[0] != "recommend" {
            assert_eq!(all.matches("missing-kind").count(), 21, "{args:?}: {all}");
            assert!(all.contains("999980"), "{args:?}: {all}");
        }
    }
}

// Defect 7, findings: beyond `--max-findings` findings are counted per rule, every format
// says how many were left out and names the flag, and the exit code still counts them.
#[test]
fn findings_beyond_the_cap_are_counted_and_said_in_every_format() {
    let warn = |i: usize| {
        format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n  - name: app\n    resources: {{requests: {{cpu: 1024m}}, limits: {{cpu: 1024m}}}}\n")
    };
    // Four warnings first, then the one error: with a cap of 3 the error is not listed.
    let mut text: String = (0..2).map(warn).collect();
    text.push_str("---\napiVersion: v1\nkind: Pod\nmetadata: {name: last}\nspec:\n  containers:\n  - name: app\n    resources: {limits: {cpu: 100M}}\n");
    let d = dir_with(&[("m.yaml", &text)]);
    let input = d.path().join("m.yaml");
    let input = input.to_str().expect("utf-8 path");
    let (code, out, _) = run(&["check", "--no-policy", input], "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("KCPU004") && !out.contains("not listed"),
        "{out}"
    );
    let said: [(&str, &str); 7] = [
        (
            "text",
            "2 findings not listed, only the first 3 are (raise the cap with --max-findings",
        ),
        ("json", "\"not_listed\": {\n      \"findings\": 2,"),
        ("sarif", "2 findings not listed"),
        (
            "junit",
            "1 more KCPU004 findings not listed (--max-findings 3)",
        ),
        (
            "github",
            "::warning title=kcpu%3A findings not listed::2 findings not listed",
        ),
        ("markdown", "2 findings not listed"),
        (
            "codeclimate",
            "\"check_name\": \"kcpu/findings-not-listed\"",
        ),
    ];
    for (format, want) in said {
        let args = [
            "check",
            "--no-policy",
            "--max-findings",
            "3",
            "-f",
            format,
            input,
        ];
        let (code, out, err) = run(&args, "");
        assert_eq!(
            code, 1,
            "{format}: the error left out still fails\n{out}{err}"
        );
        assert!(out.contains(want), "{format}: {want:?} in\n{out}");
        assert!(out.contains("KCPU004"), "{format}: the rule counted\n{out}");
        let listed = out.matches("KCPU008").count();
        assert!(listed >= 3, "{format}: the first three are listed\n{out}");
        if format != "text" {
            assert!(
                err.contains("note: 2 findings not listed"),
                "{format}: {err}"
            );
        }
        // Totals count every finding.
        if format == "text" {
            assert!(out.contains("Found 1 error, 4 warnings"), "{out}");
        }
        let (code, _, _) = run(&[&args[..], &["--fail-on", "never"]].concat(), "");
        assert_eq!(code, 0, "{format}: --fail-on never");
    }
    // Side outputs say it too.
    let sarif = d.path().join("k.sarif");
    let md = d.path().join("k.md");
    let (code, _, _) = run(
        &[
            "check",
            "--no-policy",
            "--max-findings",
            "3",
            "--report",
            &format!("sarif={}", sarif.display()),
            "--report",
            &format!("markdown={}", md.display()),
            input,
        ],
        "",
    );
    assert_eq!(code, 1);
    for f in [&sarif, &md] {
        let text = std::fs::read_to_string(f).expect("report written");
        assert!(
            text.contains("2 findings not listed"),
            "{}: {text}",
            f.display()
        );
    }
}

/// `check --fix` applies every fix, also past the default `--max-findings` (10,000): it holds the
/// files whole anyway, so it keeps every finding unless a cap is given. With a cap, only the
/// listed findings' fixes are applied, and the rest stay reported.
#[test]
fn fix_applies_every_fix_beyond_the_default_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.yaml");
    let pod = |i: usize| {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{containers: [{{name: c, image: x, resources: {{requests: {{cpu: 5m}}, limits: {{cpu: \"50m \"}}}}}}]}}\n"
        )
    };
    let text: String = (0..10_050).map(pod).collect();
    std::fs::write(&path, &text).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = run(&["check", "--no-policy", "--fix", p], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Fixed 10050 values in 1 file."), "{out}");
    assert_eq!(
        std::fs::read_to_string(&path)
            .unwrap()
            .matches("\"50m \"")
            .count(),
        0
    );
    // An explicit cap lists (and fixes) only the first N; the others are still reported.
    let small: String = (0..5).map(pod).collect();
    std::fs::write(&path, &small).unwrap();
    let (_, out, err) = run(
        &["check", "--no-policy", "--fix", "--max-findings", "2", p],
        "",
    );
    assert!(out.contains("Fixed 2 values in 1 file."), "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(&path)
            .unwrap()
            .matches("\"50m \"")
            .count(),
        3
    );
}
