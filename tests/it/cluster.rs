//! Kubernetes as the engine: `kcpu run --emit-job` (validated against the vendored batch/v1
//! Job schema and snapshot-tested), `kcpu probe` inside a cgroup `kcpu run` creates and inside
//! a runc container, and `kcpu collect` on recorded probe lines and a Prometheus export.

#![allow(clippy::print_stdout)] // `skipped: <reason>` lines

use super::ci::{runc_bundle, runc_unavailable, static_binary};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kcpu() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kcpu"));
    c.current_dir(root());
    c
}

/// A validator for the vendored schema `tests/data/k8s/<kind>.schema.json`.
fn schema_validator(kind: &str) -> jsonschema::Validator {
    let path = root().join(format!("tests/data/k8s/{kind}.schema.json"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn job_validator() -> jsonschema::Validator {
    schema_validator("job-batch-v1")
}

/// What the API server checks beyond the schema for the names and labels kcpu makes
/// (k8s.io/apimachinery `pkg/util/validation/validation.go`: `IsDNS1123Label`,
/// `IsValidLabelValue`, `IsConfigMapKey`).
fn api_names_valid(o: &serde_json::Value) -> Result<(), String> {
    let dns_label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    let label_value = |s: &str| {
        s.len() <= 63
            && (s.is_empty()
                || (s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                    && s.as_bytes()[0].is_ascii_alphanumeric()
                    && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()))
    };
    let name = o["metadata"]["name"].as_str().unwrap_or("");
    if !dns_label(name) {
        return Err(format!("name {name:?}"));
    }
    let mut labels = vec![&o["metadata"]["labels"]];
    labels.push(&o["spec"]["template"]["metadata"]["labels"]);
    for l in labels.into_iter().filter_map(|l| l.as_object()) {
        for (k, v) in l {
            if !label_value(v.as_str().unwrap_or("?")) {
                return Err(format!("label {k}={v}"));
            }
        }
    }
    for key in o["data"].as_object().into_iter().flat_map(|d| d.keys()) {
        if key.is_empty()
            || key.len() > 253
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!("ConfigMap key {key:?}"));
        }
    }
    let spec = &o["spec"]["template"]["spec"];
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            let n = c["name"].as_str().unwrap_or("");
            if !dns_label(n) {
                return Err(format!("container name {n:?}"));
            }
        }
    }
    Ok(())
}

fn emit(args: &[&str]) -> (i32, String, String) {
    let out = kcpu().arg("run").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn docs(yaml: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

#[test]
fn emitted_jobs_are_valid_batch_v1_jobs_and_stable() {
    let validator = job_validator();
    let config_maps = schema_validator("configmap-v1");
    assert!(config_maps
        .iter_errors(&serde_json::json!({"kind": "ConfigMap", "data": {"a": 1}}))
        .next()
        .is_some());
    assert!(api_names_valid(&serde_json::json!({"metadata": {"name": "Bad_Name"}})).is_err());
    // The schema is strict: it does reject unknown and mistyped fields (so this can fail).
    let bad = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
        "spec": {"completions": "3", "template": {"spec": {"containers": [{"name": "a", "imag": "x"}]}}}});
    assert!(validator.iter_errors(&bad).count() >= 2);

    for (name, args) in [
        (
            "emit_job_sidecars_overhead_pod_level",
            vec![
                "tests/data/cluster/app.yaml",
                "--container",
                "api",
                "--runs",
                "4",
                "--duration",
                "3s",
            ],
        ),
        (
            "emit_job_node_selector_trace",
            vec![
                "tests/data/cluster/app.yaml",
                "--container",
                "metrics",
                "--load",
                "trace:tests/data/cluster/small.trace.csv",
                "--node-selector",
                "kubernetes.io/arch=amd64",
                "--parallelism",
                "1",
                "--runs",
                "2",
            ],
        ),
        (
            "emit_job_fixture_web",
            vec!["fixtures/web.yaml", "--container", "app", "--runs", "2"],
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--emit-job", "--image", "registry.example/kcpu:0.1.0"]);
        let (code, out, err) = emit(&a);
        assert_eq!(code, 0, "{name}: {err}");
        let objects = docs(&out);
        let jobs: Vec<&serde_json::Value> = objects.iter().filter(|o| o["kind"] == "Job").collect();
        assert_eq!(jobs.len(), 1, "{name}");
        // A `trace:` load ships in a ConfigMap; every object is valid for its own schema.
        let with_trace = args.iter().any(|a| a.starts_with("trace:"));
        assert_eq!(objects.len(), 1 + usize::from(with_trace), "{name}");
        for o in &objects {
            let v = match o["kind"].as_str() {
                Some("Job") => &validator,
                Some("ConfigMap") => &config_maps,
                other => panic!("{name}: unexpected kind {other:?}"),
            };
            let errors: Vec<String> = v
                .iter_errors(o)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:#?}");
            api_names_valid(o).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // Every object is labelled with the run id, for cleanup.
        let run = jobs[0]["metadata"]["labels"]["kcpu.dev/run"]
            .as_str()
            .unwrap()
            .to_string();
        for o in &objects {
            assert_eq!(
                o["metadata"]["labels"]["kcpu.dev/run"],
                run.as_str(),
                "{name}"
            );
        }
        assert_eq!(
            jobs[0]["spec"]["template"]["metadata"]["labels"]["kcpu.dev/run"],
            run.as_str()
        );
        insta::assert_snapshot!(name, out);
    }
}

#[test]
fn emitted_pod_carries_exactly_the_pods_resources() {
    let (code, out, err) = emit(&[
        "tests/data/cluster/app.yaml",
        "--container",
        "api",
        "--emit-job",
        "--image",
        "img",
    ]);
    assert_eq!(code, 0, "{err}");
    let job = docs(&out).pop().unwrap();
    let spec = &job["spec"]["template"]["spec"];
    let orig: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("tests/data/cluster/app.yaml")).unwrap(),
    )
    .unwrap();
    let ospec = &orig["spec"]["template"]["spec"];
    for list in ["initContainers", "containers"] {
        let a = spec[list].as_array().unwrap();
        let b = ospec[list].as_array().unwrap();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x["name"], y["name"]);
            assert_eq!(x["resources"], y["resources"], "{list} {}", x["name"]);
            assert_eq!(x["restartPolicy"], y["restartPolicy"]);
            assert_eq!(x["securityContext"]["allowPrivilegeEscalation"], false);
            assert_eq!(x["image"], "img");
            for gone in ["ports", "env", "livenessProbe", "volumeMounts", "command"] {
                if x["name"] != "api" || gone != "env" {
                    assert!(x.get(gone).is_none(), "{gone} copied into {}", x["name"]);
                }
            }
        }
    }
    assert_eq!(spec["resources"], ospec["resources"]);
    assert_eq!(spec["runtimeClassName"], ospec["runtimeClassName"]);
    assert_eq!(spec["nodeSelector"], ospec["nodeSelector"]);
    assert_eq!(spec["tolerations"], ospec["tolerations"]);
    assert!(spec.get("overhead").is_none() && spec.get("volumes").is_none());
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert!(job["spec"]["template"]["metadata"]["labels"]
        .get("app")
        .is_none());
    // The declared load of the container is the default --load.
    let args = spec["containers"][0]["args"].as_array().unwrap();
    assert!(args
        .iter()
        .any(|a| a == "periodic:threads=2,work=30ms,every=100ms"));
    // Bad input: unknown container, no image.
    let (code, _, err) = emit(&[
        "tests/data/cluster/app.yaml",
        "--container",
        "nope",
        "--emit-job",
        "--image",
        "i",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("available"), "{err}");
    let (code, _, _) = emit(&[
        "tests/data/cluster/app.yaml",
        "--container",
        "api",
        "--emit-job",
    ]);
    assert_eq!(code, 2);
}

/// `--emit-job` on a manifest read from stdin: the workload's object comes from the sources
/// already loaded (stdin cannot be read a second time), so the Job equals the file's.
#[test]
fn emit_job_reads_a_manifest_from_stdin() {
    let args = ["--container", "api", "--emit-job", "--image", "img"];
    let from_file = emit(&[&["tests/data/cluster/app.yaml"], &args[..]].concat());
    let manifest = std::fs::read(root().join("tests/data/cluster/app.yaml")).unwrap();
    let mut child = kcpu()
        .arg("run")
        .arg("-")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&manifest).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(from_file.0, 0, "{}", from_file.2);
    assert_eq!(String::from_utf8_lossy(&out.stdout), from_file.1);
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn cpu_controller() -> bool {
    Path::new("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").exists()
        || std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "cpu"))
}

fn probe_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"kcpu_probe\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn probe_inside_a_cgroup_kcpu_run_creates() {
    if !is_root() || !cpu_controller() {
        println!("skipped: needs root and a cgroup cpu controller");
        return;
    }
    let exe = env!("CARGO_BIN_EXE_kcpu");
    let out = kcpu()
        .args([
            "run", "--quota", "5ms", "--period", "100ms", "--shares", "512", "--output", "json",
            "--",
        ])
        .args([
            exe,
            "probe",
            "--load",
            "spin:threads=1",
            "--duration",
            "1s",
            "--runs",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = probe_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{}", String::from_utf8_lossy(&out.stdout));
    for l in &lines {
        let files = &l["files"];
        match l["node"]["cgroup_version"].as_str().unwrap() {
            "v1" => {
                assert_eq!(files["cpu.cfs_quota_us"], "5000");
                assert_eq!(files["cpu.cfs_period_us"], "100000");
                assert_eq!(files["cpu.shares"], "512");
            }
            _ => assert_eq!(files["cpu.max"], "5000 100000"),
        }
        assert!(
            l["cgroup"]["path"].as_str().unwrap().contains("kcpu"),
            "{l}"
        );
        // One thread spinning under 0.05 CPU (low enough to hold on a busy machine): most
        // periods are throttled.
        let m = &l["measured"];
        let periods = m["nr_periods"].as_u64().unwrap();
        let throttled = m["nr_throttled"].as_u64().unwrap();
        assert!(periods >= 8, "{m}");
        assert!(throttled * 2 >= periods, "{m}");
        let usage = m["usage_usec"].as_u64().unwrap() as f64;
        let wall = m["wall_usec"].as_u64().unwrap() as f64;
        assert!(
            usage / wall < 0.1,
            "usage {usage} over {wall} under a 0.05 CPU quota"
        );
    }
}

#[test]
fn probe_inside_a_runc_container() {
    let bin = match static_binary() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    if let Some(why) = runc_unavailable() {
        println!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let id = format!("probe-{}", std::process::id());
    let (mut cmd, _parents) = runc_bundle(
        dir.path(),
        &id,
        &[("/kcpu", &bin)],
        &[
            "/kcpu",
            "probe",
            "--load",
            "spin:threads=1",
            "--duration",
            "1s",
            "--run-id",
            "t",
            "--workload",
            "Pod/a/p",
            "--container",
            "c",
        ],
    );
    // The container's CPU limit, as a kubelet would set it for 50m (5ms per 100ms; low enough that
    // the spinning thread is throttled even on a busy machine).
    let config_path = dir.path().join("bundle/config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["linux"]["resources"]["cpu"] =
        serde_json::json!({"quota": 5000, "period": 100000, "shares": 1024});
    config["process"]["user"] = serde_json::json!({"uid": 65534, "gid": 65534});
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = probe_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    let files = &l["files"];
    if l["node"]["cgroup_version"] == "v1" {
        assert_eq!(files["cpu.cfs_quota_us"], "5000");
        assert_eq!(files["cpu.shares"], "1024");
    } else {
        assert_eq!(files["cpu.max"], "5000 100000");
    }
    let m = &l["measured"];
    assert!(m["nr_throttled"].as_u64().unwrap() > 0, "{m}");
    assert_eq!(l["workload"], "Pod/a/p");
}

/// `kcpu collect ARGS`: (exit code, stdout, stderr).
fn collect(args: &[&str]) -> (i32, String, String) {
    let out = kcpu().arg("collect").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kcpu collect ARGS --output json`, which must succeed.
fn collect_json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--output", "json"]);
    let (code, out, err) = collect(&a);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn collect_on_recorded_probe_lines_and_prometheus_export() {
    // Recorded with `kcpu run --quota … -- kcpu probe …` on this machine (see the header of the
    // file), then prefixed the way `kubectl logs --prefix` prints.
    let r = collect_json(&[
        "tests/data/cluster/probe-lines.txt",
        "--compare",
        "tests/data/cluster/probed.yaml",
        "--cgroup",
        "v1",
    ]);
    assert!(r["probes"].as_u64().unwrap() >= 2);
    assert!(r["skipped_lines"].as_u64().unwrap() >= 1);
    for c in r["checks"].as_array().unwrap() {
        for f in c["files"].as_array().unwrap() {
            assert_eq!(f["expected"], f["actual"], "{c}");
        }
    }
    // One group per load; the spinning one is throttled on both sides, the periodic one
    // (15 ms of work per 100 ms under a 20 ms quota) on neither.
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for g in groups {
        let measured = g["measured_throttled_ratio"].as_f64().unwrap();
        let simulated = g["simulated_throttled_ratio"].as_f64().unwrap();
        if g["load"].as_str().unwrap().starts_with("spin") {
            assert!(measured > 0.5 && simulated > 0.5, "{g}");
        } else {
            assert!(measured < 0.1 && simulated < 0.1, "{g}");
        }
        assert_eq!(g["runs"], 3);
    }

    // A manifest that predicts other values (500m): shares and quota differ in all six probes,
    // with the rule named; the period agrees; and
    // --fail-on-mismatch exits 1.
    let (code, text, _) = collect(&[
        "tests/data/cluster/probe-lines.txt",
        "--compare",
        "tests/data/cluster/probed-changed.yaml",
        "--cgroup",
        "v1",
        "--fail-on-mismatch",
    ]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(text.matches("DIFFERS").count(), 6 * 2, "{text}");
    assert!(
        text.contains("helpers_linux.go") || text.contains("kubelet"),
        "{text}"
    );

    // Production: a Prometheus range-query export beside the prediction.
    let r = collect_json(&[
        "--prometheus",
        "tests/data/cluster/prometheus-range.json",
        "--compare",
        "tests/data/cluster/app.yaml",
    ]);
    let rows = r["production"].as_array().unwrap();
    let api = rows
        .iter()
        .find(|p| p["container"] == "api")
        .expect("the api container's series");
    assert_eq!(api["workload"], "Deployment shop/web");
    assert!(api["throttled_ratio"].as_f64().is_some());
    assert!(api["predicted_throttled_ratio"].as_f64().is_some(), "{api}");
    let metrics = rows.iter().find(|p| p["container"] == "metrics").unwrap();
    assert!(metrics["prediction"]
        .as_str()
        .unwrap()
        .starts_with("no prediction"));

    // Broken input exits 2.
    let dir = tempfile::tempdir().unwrap();
    let bad: PathBuf = dir.path().join("bad.txt");
    std::fs::write(&bad, "{\"kcpu_probe\": \n").unwrap();
    let (code, _, err) = collect(&[bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
}
