//! CLI tests of `kcpu simulate`: table and JSON output, phase sweeps, node mode, charts (SVG
//! parsed as XML, PNG checked by signature and size) and exit code 2 for bad flags.

use assert_cmd::Command;
use predicates::prelude::*;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;
use std::path::Path;

const R5: &[&str] = &[
    "--quota",
    "100ms",
    "--period",
    "100ms",
    "--cpus",
    "2",
    "--load",
    "periodic:threads=2,work=80ms,every=200ms",
];

fn kcpu() -> Command {
    let mut c = Command::cargo_bin("kcpu").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn simulate(extra: &[&str]) -> Command {
    let mut c = kcpu();
    c.arg("simulate").args(extra);
    c
}

fn json(extra: &[&str]) -> Value {
    let out = simulate(extra)
        .args(["--output", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn table_output_of_the_reference_case() {
    let out = simulate(R5)
        .args([
            "--duration",
            "2s",
            "--runs",
            "3",
            "--phase",
            "20ms",
            "--hz",
            "1000",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    // The model line names the running kernel's release: keep the rest of it in the snapshot.
    let text: String = text
        .lines()
        .map(
            |l| match (l.strip_prefix("model: kernel "), l.find(" (model ")) {
                (Some(_), Some(i)) => format!("model: kernel <release>{}\n", &l[i..]),
                _ => format!("{l}\n"),
            },
        )
        .collect();
    insta::assert_snapshot!("table_r5_phase_20ms", text);
    assert!(text.contains("runs throttled    3 / 3"), "{text}");
}

#[test]
fn json_output_has_the_shared_schema() {
    let v = json(
        &[
            R5,
            &[
                "--duration",
                "4s",
                "--runs",
                "5",
                "--seed",
                "7",
                "--hz",
                "250",
            ],
        ]
        .concat(),
    );
    assert_eq!(v["machine"]["cpus"], 2);
    assert_eq!(v["machine"]["hz"], 250);
    let g = &v["groups"][0];
    assert_eq!(g["limits"]["quota"], 100_000);
    let s = &g["summary"];
    assert_eq!(s["runs"], 5);
    assert_eq!(s["per_run"].as_array().unwrap().len(), 5);
    let t = &s["totals"];
    for key in [
        "nr_periods",
        "nr_throttled",
        "throttled_ratio",
        "throttled_time_us",
        "nr_bursts",
        "burst_time_us",
        "usage_cores",
        "latency",
        "wakeup",
    ] {
        assert!(t.get(key).is_some(), "missing {key}");
    }
    for key in ["p50_ms", "p90_ms", "p99_ms", "max_ms", "count"] {
        assert!(t["latency"].get(key).is_some(), "missing latency.{key}");
    }
    assert_eq!(t["latency"]["count"], 5 * 2 * 20);
    assert!((t["usage_cores"].as_f64().unwrap() - 0.8).abs() < 0.01);
    // The same seed gives the same JSON.
    let again = json(
        &[
            R5,
            &[
                "--duration",
                "4s",
                "--runs",
                "5",
                "--seed",
                "7",
                "--hz",
                "250",
            ],
        ]
        .concat(),
    );
    assert_eq!(v, again);
}

#[test]
fn phase_sweep_gives_one_run_per_phase() {
    let v = json(
        &[
            R5,
            &["--duration", "2s", "--phase-sweep", "10ms", "--hz", "1000"],
        ]
        .concat(),
    );
    let runs = v["groups"][0]["summary"]["per_run"].as_array().unwrap();
    let phases: Vec<u64> = runs
        .iter()
        .map(|r| r["phase_us"].as_u64().unwrap())
        .collect();
    assert_eq!(phases, (0..10).map(|k| k * 10_000).collect::<Vec<_>>());
    // Phases 60 ms (inside the fluid model's 50 < φ ≤ 70 window) are never throttled; 20 ms is.
    let throttled = |i: usize| runs[i]["totals"]["nr_throttled"].as_u64().unwrap();
    assert_eq!(throttled(6), 0);
    assert!(throttled(2) > 0);
}

#[test]
fn burst_removes_throttling_in_the_reference_case() {
    let v = json(
        &[
            R5,
            &[
                "--burst",
                "100ms",
                "--duration",
                "2s",
                "--phase-sweep",
                "5ms",
                "--hz",
                "1000",
            ],
        ]
        .concat(),
    );
    let s = &v["groups"][0]["summary"];
    assert_eq!(s["runs_throttled"], 0);
    assert_eq!(s["totals"]["latency"]["p99_ms"], 80.0);
    assert!(s["totals"]["nr_bursts"].as_u64().unwrap() > 0);
}

#[test]
fn node_mode_from_a_scenario() {
    let out = simulate(&[
        "--scenario",
        "tests/data/sim/node.yaml",
        "--duration",
        "2s",
        "--runs",
        "2",
        "--hz",
        "250",
    ])
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let text = String::from_utf8(out).unwrap();
    for name in ["api-0", "api-1", "worker", "batch", "replay"] {
        assert!(text.contains(name), "missing {name}: {text}");
    }
    let v = json(&[
        "--scenario",
        "tests/data/sim/node.yaml",
        "--duration",
        "2s",
        "--runs",
        "2",
        "--hz",
        "250",
    ]);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 5);
    assert_eq!(v["machine"]["cpus"], 4);
    // The worker asks for 0.6 CPU under a 0.5 CPU quota: throttled in every run.
    assert_eq!(groups[2]["summary"]["runs_throttled"], 2);
    let total: f64 = groups
        .iter()
        .map(|g| g["summary"]["totals"]["usage_cores"].as_f64().unwrap())
        .sum();
    assert!(total <= 4.0 + 1e-9, "{total}");
    // --cpus overrides the scenario.
    let v8 = json(&[
        "--scenario",
        "tests/data/sim/node.yaml",
        "--cpus",
        "8",
        "--duration",
        "1s",
        "--runs",
        "1",
    ]);
    assert_eq!(v8["machine"]["cpus"], 8);
}

#[test]
fn trace_load_from_a_csv() {
    let v = json(&[
        "--quota",
        "20ms",
        "--load",
        "trace:tests/data/sim/small.csv",
        "--duration",
        "2s",
        "--runs",
        "1",
    ]);
    assert_eq!(v["groups"][0]["summary"]["totals"]["latency"]["count"], 6);
}

fn svg_text(path: &Path) -> String {
    let svg = std::fs::read_to_string(path).unwrap();
    let mut reader = Reader::from_str(&svg);
    let mut text = String::new();
    let mut depth = 0i64;
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                root.get_or_insert_with(|| String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => {
                text.push_str(&t.decode().unwrap());
                text.push('\n');
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "SVG is not well-formed XML at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "unbalanced SVG");
    assert_eq!(root.as_deref(), Some("svg"));
    text
}

#[test]
fn chart_svg_parses_and_has_axis_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeline.svg");
    simulate(
        &[
            R5,
            &[
                "--duration",
                "3s",
                "--runs",
                "2",
                "--phase",
                "20ms",
                "--chart",
                path.to_str().unwrap(),
            ],
        ]
        .concat(),
    )
    .assert()
    .success();
    let text = svg_text(&path);
    for label in [
        "time (s)",
        "CPU (cores)",
        "latency (ms)",
        "fraction of requests",
        "quota / period",
        "throttled period",
    ] {
        assert!(text.contains(label), "missing {label:?} in {text}");
    }
    // Node mode charts too.
    let node = dir.path().join("node.svg");
    simulate(&[
        "--scenario",
        "tests/data/sim/node.yaml",
        "--duration",
        "1s",
        "--runs",
        "1",
        "--chart",
        node.to_str().unwrap(),
    ])
    .assert()
    .success();
    let text = svg_text(&node);
    assert!(
        text.contains("worker") && text.contains("CPU (cores)"),
        "{text}"
    );
}

#[test]
fn chart_png_is_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeline.png");
    simulate(
        &[
            R5,
            &[
                "--duration",
                "2s",
                "--runs",
                "1",
                "--chart",
                path.to_str().unwrap(),
            ],
        ]
        .concat(),
    )
    .assert()
    .success();
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1000);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 760);
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--quota", "1x", "--load", "spin:threads=1"],
            "invalid duration",
        ),
        (&["--quota", "100ms", "--load", "bogus"], "unknown kind"),
        (&["--quota", "100ms"], "--load is required"),
        (
            &[
                "--quota",
                "100ms",
                "--period",
                "5s",
                "--load",
                "spin:threads=1",
            ],
            "period",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--burst",
                "200ms",
                "--load",
                "spin:threads=1",
            ],
            "burst",
        ),
        (
            &["--quota", "500us", "--load", "spin:threads=1"],
            "minimum of 1ms",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--chart",
                "out.gif",
            ],
            ".svg or .png",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--phase",
                "150ms",
            ],
            "not inside the period",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--phase",
                "1ms",
                "--phase-sweep",
                "1ms",
            ],
            "cannot be used with",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--runs",
                "0",
            ],
            "runs",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--cpus",
                "0",
            ],
            "cpus",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--output",
                "xml",
            ],
            "invalid value",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--shares",
                "1",
            ],
            "shares",
        ),
        (
            &["--quota", "100ms", "--load", "trace:no/such.csv"],
            "cannot read trace",
        ),
        (
            &["--scenario", "no/such.yaml", "--cpus", "2"],
            "cannot read scenario",
        ),
        (
            &["--scenario", "tests/data/sim/node.yaml", "--quota", "1ms"],
            "cannot be used with",
        ),
        (
            &[
                "--quota",
                "100ms",
                "--load",
                "spin:threads=1",
                "--hz",
                "20000",
            ],
            "hz",
        ),
    ];
    for (args, msg) in cases {
        simulate(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*msg));
    }
}

#[test]
fn scenario_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "groups:\n  - name: a\n    load: spin:threads=1\n    colour: red\n",
    )
    .unwrap();
    simulate(&["--scenario", bad.to_str().unwrap(), "--cpus", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("scenario"));
    let no_cpus = dir.path().join("nocpus.yaml");
    std::fs::write(&no_cpus, "groups:\n  - name: a\n    load: spin:threads=1\n").unwrap();
    simulate(&["--scenario", no_cpus.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--cpus"));
}

#[test]
fn manifest_mode_uses_the_translated_values_and_the_annotation_load() {
    let v = json(&[
        "fixtures/web.yaml",
        "--container",
        "app",
        "--duration",
        "2s",
        "--runs",
        "2",
    ]);
    let g = &v["groups"][0];
    assert_eq!(g["name"], "Deployment/web/app");
    // limits.cpu 1 → 100000/100000; requests 500m → cpu.weight 59 (v2 default, runc-1.4 quadratic
    // formula of translate; the number itself is tested there).
    assert_eq!(g["limits"]["quota"], 100_000);
    assert_eq!(g["limits"]["period"], 100_000);
    assert!(g["limits"]["weight"]["weight"].as_u64().is_some(), "{g}");
    assert_eq!(g["load"], "periodic:threads=2,work=30ms,every=100ms");
    assert_eq!(g["summary"]["runs"], 2);
    // 2 × 30 ms every 100 ms = 0.6 cores, under the 1-CPU limit.
    let usage = g["summary"]["totals"]["usage_cores"].as_f64().unwrap();
    assert!((usage - 0.6).abs() < 0.02, "{usage}");
}

#[test]
fn manifest_mode_v1_gives_shares_and_load_flag_wins() {
    let v = json(&[
        "fixtures/web.yaml",
        "--container",
        "app",
        "--cgroup",
        "v1",
        "--load",
        "spin:threads=2",
        "--duration",
        "1s",
        "--runs",
        "1",
    ]);
    let g = &v["groups"][0];
    assert_eq!(g["limits"]["weight"]["shares"], 512);
    assert_eq!(g["load"], "spin:threads=2");
    // Two spinning threads held to 1 CPU; the partial period the run starts in brings up to one
    // extra quota (100 ms over 1 s).
    let usage = g["summary"]["totals"]["usage_cores"].as_f64().unwrap();
    assert!((0.97..1.12).contains(&usage), "{usage}");
    assert_eq!(g["summary"]["runs_throttled"], 1);
}

#[test]
fn manifest_mode_errors_list_what_is_available() {
    simulate(&["fixtures/web.yaml", "--container", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "available: Deployment shop/web (containers: app, metrics)",
        ));
    simulate(&[
        "fixtures/web.yaml",
        "--container",
        "app",
        "--workload",
        "StatefulSet/web",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("no workload matches"));
    simulate(&["fixtures/web.yaml", "--container", "app", "--quota", "50ms"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot be combined with manifests",
        ));
    simulate(&["fixtures/web.yaml", "--load", "spin:threads=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--container"));
}

fn translate_json(args: &[&str]) -> Value {
    let out = kcpu()
        .arg("translate")
        .args(args)
        .args(["--output", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// The group named `name` of a `simulate --output json` report.
fn group<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("no group {name} in {v}"))
}

#[test]
fn node_mode_from_manifests_uses_annotations_replicas_and_translated_values() {
    let v = json(&[
        "fixtures/web.yaml",
        "fixtures/worker.yaml",
        "--cpus",
        "8",
        "--duration",
        "3s",
        "--runs",
        "2",
        "--max-replicas",
        "2",
        "--default-load",
        "none",
    ]);
    let names: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    // web has 3 replicas (capped at 2), worker 2; only the first app container of each has a
    // load (kcpu.dev/load); metrics and the log-shipper sidecar are idle with --default-load none.
    assert_eq!(
        names,
        [
            "web-0/app",
            "web-1/app",
            "worker-0/worker",
            "worker-1/worker"
        ]
    );
    assert_eq!(
        v["manifest"]["idle"],
        serde_json::json!(["web/metrics", "worker/log-shipper"])
    );
    assert_eq!(
        v["manifest"]["groups"][0]["load_from"],
        "annotation kcpu.dev/load"
    );
    // The values are the translation's (v2 by default: cpu.max and cpu.weight).
    let t = translate_json(&["fixtures/web.yaml", "fixtures/worker.yaml"]);
    for (pod, c, g) in [(0, 0, "web-1/app"), (1, 1, "worker-0/worker")] {
        let tc = &t["pods"][pod]["containers"][c];
        let (q, p) = tc["cpu.max"].as_str().unwrap().split_once(' ').unwrap();
        let lim = &group(&v, g)["limits"];
        assert_eq!(lim["quota"].to_string(), q, "{g}");
        assert_eq!(lim["period"].to_string(), p, "{g}");
        assert_eq!(lim["weight"]["weight"], tc["cpu.weight"], "{g}");
        assert_eq!(lim["burst"], 0);
    }
    // 8 CPUs are enough for everyone: web (0.6 cores demand under 1 CPU) is never throttled,
    // worker (4 × 40 ms every 200 ms = 0.8 cores under 0.5 CPU) is held to its quota.
    let web = &group(&v, "web-0/app")["summary"]["totals"];
    assert!(
        (web["usage_cores"].as_f64().unwrap() - 0.6).abs() < 0.02,
        "{web}"
    );
    assert_eq!(web["nr_throttled"], 0);
    let worker = &group(&v, "worker-1/worker")["summary"]["totals"];
    assert!(
        (worker["usage_cores"].as_f64().unwrap() - 0.5).abs() < 0.03,
        "{worker}"
    );
    assert!(
        worker["throttled_ratio"].as_f64().unwrap() > 0.9,
        "{worker}"
    );
}

#[test]
fn node_mode_default_load_uses_each_request_and_prints_group_rows() {
    let v = json(&[
        "fixtures/web.yaml",
        "--cpus",
        "8",
        "--duration",
        "2s",
        "--runs",
        "1",
        "--cgroup",
        "v1",
    ]);
    // 3 replicas × (app, metrics); metrics (request 50m) uses its request: 5 ms every 100 ms.
    assert_eq!(v["groups"].as_array().map(Vec::len), Some(6));
    let m = group(&v, "web-2/metrics");
    assert_eq!(m["load"], "periodic:threads=1,work=5ms,every=100ms");
    assert_eq!(m["limits"]["weight"]["shares"], 51);
    assert_eq!(m["limits"]["quota"], 10_000);
    let usage = m["summary"]["totals"]["usage_cores"].as_f64().unwrap();
    assert!((usage - 0.05).abs() < 0.005, "{usage}");
    assert_eq!(v["manifest"]["groups"][5]["load_from"], "request");
    assert_eq!(v["manifest"]["cgroup"], "v1");

    let out = simulate(&[
        "fixtures/web.yaml",
        "--cpus",
        "8",
        "--duration",
        "1s",
        "--runs",
        "1",
    ])
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "manifests: 1 workload → 6 groups",
        "loads: 3 groups from kcpu.dev/load annotations, 3 from --default-load request",
        "web-0/app",
        "web-2/metrics",
        "weight 59",
        "weight 11",
        "10ms/100ms (0.10 CPU)",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}

#[test]
fn node_mode_weights_from_translation_split_a_contended_cpu() {
    for (cgroup, key) in [("v1", "shares"), ("v2", "weight")] {
        let v = json(&[
            "tests/data/sim/pair.yaml",
            "--cpus",
            "1",
            "--duration",
            "5s",
            "--runs",
            "1",
            "--cgroup",
            cgroup,
        ]);
        let kernel_weight = |g: &Value| {
            let w = g["limits"]["weight"][key].as_f64().unwrap();
            if key == "shares" {
                w
            } else {
                (w * 1024.0 / 100.0).round()
            }
        };
        let big = group(&v, "big/main");
        let small = group(&v, "small/main");
        assert_eq!(
            v["manifest"]["groups"][1]["load_from"],
            "annotation kcpu.dev/load.main"
        );
        let expected = kernel_weight(big) / kernel_weight(small);
        let ub = big["summary"]["totals"]["usage_cores"].as_f64().unwrap();
        let us = small["summary"]["totals"]["usage_cores"].as_f64().unwrap();
        assert!((ub + us - 1.0).abs() < 0.01, "{cgroup}: {ub} + {us}");
        let ratio = ub / us;
        assert!(
            (ratio / expected - 1.0).abs() < 0.1,
            "{cgroup}: usage ratio {ratio:.3} vs weight ratio {expected:.3}"
        );
    }
}

#[test]
fn node_mode_errors_exit_2() {
    for (args, needle) in [
        (
            &["fixtures/web.yaml"][..],
            "needs the node's CPU count: pass --cpus N",
        ),
        (
            &[
                "fixtures/web.yaml",
                "--cpus",
                "2",
                "--load",
                "spin:threads=1",
            ][..],
            "--load applies to one container",
        ),
        (
            &[
                "fixtures/web.yaml",
                "--cpus",
                "2",
                "--default-load",
                "none",
                "--workload",
                "nope",
            ][..],
            "no workload matches",
        ),
        (
            &[
                "fixtures/web.yaml",
                "--cpus",
                "2",
                "--default-load",
                "bogus",
            ][..],
            "invalid value 'bogus'",
        ),
        (
            &["fixtures/web.yaml", "--cpus", "2", "--max-replicas", "0"][..],
            "--max-replicas must be at least 1",
        ),
    ] {
        simulate(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
    }
}

#[test]
fn manifest_container_without_its_own_annotation_needs_a_load() {
    // kcpu.dev/load is for the first app container (app), not for metrics.
    simulate(&["fixtures/web.yaml", "--container", "metrics"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "has no kcpu.dev/load.metrics annotation (kcpu.dev/load is for the first app container, app)",
        ));
    // --burst is a what-if on top of the translated values.
    let v = json(&[
        "fixtures/web.yaml",
        "--container",
        "metrics",
        "--load",
        "spin:threads=1",
        "--burst",
        "5ms",
        "--duration",
        "1s",
        "--runs",
        "1",
    ]);
    assert_eq!(v["groups"][0]["limits"]["burst"], 5_000);
    assert_eq!(v["manifest"]["groups"][0]["load_from"], "--load");
}

#[test]
fn short_periods_carry_an_accuracy_caveat() {
    // The fidelity grid's 20 ms period scenario: the kernel did not repeat its own p50 and
    // throttled ratio there (tests/data/fidelity/*/repeat), so the figures are labelled.
    let v = json(&[
        "--period",
        "20ms",
        "--quota",
        "10ms",
        "--load",
        "periodic:threads=2,work=8ms,every=50ms",
        "--duration",
        "2s",
    ]);
    let caveats = v["caveats"].as_array().expect("caveats");
    assert_eq!(caveats.len(), 1, "{v}");
    assert!(
        caveats[0]
            .as_str()
            .unwrap_or("")
            .starts_with("the period is 20 ms"),
        "{v}"
    );
    // The reference case (100 ms period, 80 % of quota) is within the measured tolerances.
    let v = json(&[
        "--quota",
        "100ms",
        "--load",
        "periodic:threads=2,work=80ms,every=200ms",
        "--duration",
        "2s",
    ]);
    assert!(v["caveats"].as_array().is_none_or(|c| c.is_empty()), "{v}");
}
