//! `kcpu translate` end to end: outputs on the bundled fixtures (snapshots), stdin, lists, and
//! bad input (exit codes and diagnostics).

use assert_cmd::Command;

fn kcpu() -> Command {
    let mut c = Command::cargo_bin("kcpu").expect("kcpu binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80");
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<&str>) -> Out {
    let mut c = kcpu();
    c.args(args);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let o = c.output().expect("run kcpu");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn table_on_fixtures() {
    let o = run(&["translate", "fixtures/"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    insta::assert_snapshot!("translate_table_fixtures", o.stdout);
    insta::assert_snapshot!("translate_table_fixtures_stderr", o.stderr);
}

#[test]
fn json_on_fixtures_is_the_contract() {
    let o = run(&["translate", "fixtures/", "--output", "json"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("valid JSON");
    let pods = v["pods"].as_array().expect("pods");
    assert_eq!(pods.len(), 10);
    for p in pods {
        for key in [
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.weight",
            "cpu.max",
        ] {
            assert!(p["pod"].get(key).is_some(), "pod {} lacks {key}", p["name"]);
            for c in p["containers"].as_array().expect("containers") {
                assert!(c.get(key).is_some(), "container {} lacks {key}", c["name"]);
            }
        }
        assert!(p["source"]["line"].as_u64().is_some());
    }
    let web = pods.iter().find(|p| p["name"] == "web").expect("web");
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["namespace"], "shop");
    assert_eq!(web["qos"], "Burstable");
    assert_eq!(web["source"]["file"], "fixtures/web.yaml");
    assert_eq!(web["source"]["line"], 2);
    let app = &web["containers"][0];
    assert_eq!(app["request_millicores"], 500);
    assert_eq!(app["limit_millicores"], 1000);
    assert_eq!(app["cpu.shares"], 512);
    assert_eq!(app["cpu.cfs_quota_us"], 100000);
    assert_eq!(app["cpu.weight"], 59);
    assert_eq!(app["cpu.max"], "100000 100000");
    // The pod cgroup uses the kubelet's linear formula: 550m → 563 shares → weight 22.
    assert_eq!(web["pod"]["cpu.shares"], 563);
    assert_eq!(web["pod"]["cpu.weight"], 22);
    let debug = pods
        .iter()
        .find(|p| p["name"] == "debug-shell")
        .expect("debug-shell");
    assert_eq!(debug["qos"], "BestEffort");
    assert_eq!(
        debug["containers"][0]["request_millicores"],
        serde_json::Value::Null
    );
    assert_eq!(debug["containers"][0]["cpu.cfs_quota_us"], -1);
    assert_eq!(debug["containers"][0]["cpu.max"], "max 100000");
    insta::assert_snapshot!("translate_json_fixtures", o.stdout);
}

#[test]
fn yaml_and_explain() {
    let o = run(
        &[
            "translate",
            "fixtures/web.yaml",
            "--output",
            "yaml",
            "--cgroup",
            "v1",
            "--driver",
            "cgroupfs",
            "--runtime",
            "runc-1.2",
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    insta::assert_snapshot!("translate_yaml_web_v1", o.stdout);
    let o = run(&["translate", "fixtures/worker.yaml", "--explain"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("pkg/kubelet/cm/helpers_linux.go"),
        "explain cites upstream"
    );
    insta::assert_snapshot!("translate_explain_worker", o.stdout);
}

#[test]
fn stdin_and_kind_list() {
    let dump = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/cluster-dump.yaml"
    ))
    .expect("fixture");
    let o = run(&["translate", "-", "-o", "json"], Some(&dump));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let names: Vec<_> = v["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, ["coredns-5d78c9869d-x2k8q", "node-agent"]);
    assert_eq!(v["pods"][0]["source"]["file"], "<stdin>");
    assert_eq!(v["pods"][0]["source"]["line"], 8);
    assert_eq!(v["pods"][1]["source"]["line"], 24);
}

const BAD: &str = "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    resources:\n      requests: {cpu: \"1,5\"}\n      limit: {cpu: 2}\n---\nkind: Pod\nspec: [\n---\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c, resources: {limits: {cpu: 250m}}}]}\n";

#[test]
fn bad_input_reports_positions_and_keeps_going() {
    let o = run(&["translate", "-", "-o", "json"], Some(BAD));
    assert_eq!(o.code, 2);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json even with errors");
    assert_eq!(
        v["pods"].as_array().map(|p| p.len()),
        Some(1),
        "the good document is still translated"
    );
    assert_eq!(v["errors"].as_array().map(|e| e.len()), Some(2));
    assert_eq!(v["warnings"].as_array().map(|e| e.len()), Some(1));
    insta::assert_snapshot!("translate_bad_stderr", o.stderr);
}

#[test]
fn unreadable_empty_binary_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin.yaml");
    std::fs::write(&bin, b"kind: Pod\0\x01").expect("write");
    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(&latin1, b"kind: Pod\nmetadata: {name: caf\xe9}\n").expect("write");
    let bin = bin.display().to_string();
    let latin1 = latin1.display().to_string();
    for (args, stdin, needle) in [
        (
            vec!["translate", "does/not/exist.yaml"],
            None,
            "no such file or directory",
        ),
        (
            vec!["translate", "-"],
            Some(""),
            "holds no YAML or JSON documents",
        ),
        (vec!["translate", bin.as_str()], None, "binary file"),
        (
            vec!["translate", latin1.as_str()],
            None,
            "invalid UTF-8 at line 2, column 21",
        ),
        (
            vec!["translate", "fixtures/", "--runtime", "runc-9"],
            None,
            "unknown runtime",
        ),
        (
            vec!["translate", "fixtures/", "--cfs-period", "5s"],
            None,
            "period",
        ),
        (
            vec!["translate", "fixtures/", "--kubernetes", "one"],
            None,
            "kubernetes",
        ),
        (vec!["translate"], None, "required"),
    ] {
        let o = run(&args, stdin);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(
            o.stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}: {}",
            o.stderr
        );
        assert!(!o.stderr.contains("panicked"), "{args:?} panicked");
    }
}

#[test]
fn assumptions_change_the_numbers() {
    let o = run(
        &[
            "translate",
            "fixtures/pods.yaml",
            "-o",
            "json",
            "--runtime",
            "runc-1.2",
            "--no-cfs-quota",
            "--cfs-period",
            "50ms",
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["assumptions"]["runtime"], "runc-1.2");
    let cache = v["pods"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "cache"))
        .expect("cache");
    // runc 1.2 uses the linear formula: 750m → 768 shares → weight 30.
    assert_eq!(cache["containers"][0]["cpu.weight"], 30);
    // --no-cfs-quota: nothing is written at container level, kernel default stays.
    assert_eq!(cache["containers"][0]["cpu.cfs_quota_us"], -1);
}

fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn table_fits_the_terminal_width_also_when_piped() {
    // assert_cmd pipes stdout, so this is the piped case; COLUMNS=80 comes from `kcpu()`.
    let o = run(&["translate", "fixtures/"], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(widest_line(&o.stdout) <= 80, "{}", o.stdout);
    // The v2 columns need about 64, the v1 columns about 80.
    for cols in ["72", "100"] {
        let mut c = kcpu();
        c.env("COLUMNS", cols).args(["translate", "fixtures/"]);
        let out = String::from_utf8_lossy(&c.output().expect("run").stdout).into_owned();
        let max: usize = cols.parse().expect("number");
        assert!(widest_line(&out) <= max, "COLUMNS={cols}:\n{out}");
    }
    let mut c = kcpu();
    c.env("COLUMNS", "80")
        .args(["translate", "fixtures/", "--cgroup", "v1"]);
    let out = String::from_utf8_lossy(&c.output().expect("run").stdout).into_owned();
    assert!(widest_line(&out) <= 80, "v1 columns:\n{out}");
}

#[test]
fn identical_names_from_different_files_are_told_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n        resources: {requests: {cpu: 250m}}\n";
    for f in ["a.yaml", "b.yaml"] {
        std::fs::write(dir.path().join(f), doc).expect("write");
    }
    let o = run(
        &["translate", dir.path().to_str().expect("utf-8 path")],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let headings: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.starts_with("Deployment shop/web"))
        .collect();
    assert_eq!(headings.len(), 2, "{}", o.stdout);
    assert!(
        headings[0].contains("a.yaml:1") && headings[1].contains("b.yaml:1"),
        "{headings:?}"
    );
}
/// `--output oci`: the containers in `--output json` order, each with `linux.resources.cpu`
/// as containerd builds it (only non-zero CRI fields) and `linux.cgroupsPath`.
#[test]
fn oci_output_matches_json_order_and_drops_zero_fields() {
    let o = run(
        &[
            "translate",
            "fixtures/",
            "--output",
            "oci",
            "--cgroup",
            "v1",
            "--driver",
            "cgroupfs",
        ],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let oci: serde_json::Value = serde_json::from_str(&o.stdout).expect("oci json");
    let j = run(
        &[
            "translate",
            "fixtures/",
            "--output",
            "json",
            "--cgroup",
            "v1",
            "--driver",
            "cgroupfs",
        ],
        None,
    );
    let json: serde_json::Value = serde_json::from_str(&j.stdout).expect("json");
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["pods"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["containers"].as_array().cloned().unwrap_or_default())
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert!(names(&oci).len() > 5);
    assert_eq!(names(&oci), names(&json));
    let mut checked = 0;
    for (p, jp) in oci["pods"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(json["pods"].as_array().into_iter().flatten())
    {
        for (c, jc) in p["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(jc_list(jp))
        {
            let cpu = &c["linux"]["resources"]["cpu"];
            // shares are always sent (MilliCPUToShares never returns 0) and land verbatim in v1.
            assert_eq!(cpu["shares"], jc["cpu.shares"], "{c}");
            // a quota is in the spec exactly when the v1 quota file is not the kernel default.
            match cpu.get("quota") {
                Some(q) => assert_eq!(q, &jc["cpu.cfs_quota_us"], "{c}"),
                None => assert_eq!(jc["cpu.cfs_quota_us"], -1, "{c}"),
            }
            let path = c["linux"]["cgroupsPath"].as_str().unwrap_or_default();
            assert!(
                path.starts_with("/kubepods") && path.ends_with("/<container-id>"),
                "{path}"
            );
            checked += 1;
        }
    }
    assert!(checked > 5);
    insta::assert_snapshot!(
        "translate_oci_web",
        run(&["translate", "fixtures/web.yaml", "--output", "oci"], None).stdout
    );
}

fn jc_list(p: &serde_json::Value) -> Vec<serde_json::Value> {
    p["containers"].as_array().cloned().unwrap_or_default()
}
