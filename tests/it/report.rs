//! `kcpu report` end to end: JSON snapshot, SVG charts parse as XML with their axis labels, the
//! HTML is self-contained, and headless Chromium renders it to a non-blank page.

use assert_cmd::Command;
use std::path::Path;

fn report(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut c = Command::cargo_bin("kcpu").expect("kcpu binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("CI");
    c.args(["report", "fixtures/", "--out"])
        .arg(out)
        .args(extra);
    c.output().expect("run kcpu report")
}

#[test]
fn report_on_fixtures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = report(dir.path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let r = &v["report"];
    // web: HPA maxReplicas 10 × 550m; the DaemonSet runs on the 3 policy nodes.
    let web = r["workloads"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == "web"))
        .expect("web");
    assert_eq!(web["replicas"], 10);
    assert_eq!(web["total_request_millicores"], 5500);
    let agent = r["workloads"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == "node-agent"))
        .expect("agent");
    assert_eq!(agent["replicas"], 3);
    assert_eq!(r["node_fit"]["nodes"].as_array().map(|n| n.len()), Some(3));
    assert_eq!(
        r["throttling"][0]["container"], "worker",
        "the declared worker load is the riskiest"
    );
    insta::assert_snapshot!("report_json_fixtures", json);

    for (file, labels) in [
        (
            "namespaces.svg",
            &["CPUs", "namespace", "requests", "shop"][..],
        ),
        (
            "nodes.svg",
            &["CPUs", "node", "allocatable", "general-1"][..],
        ),
        (
            "throttling.svg",
            &["periods throttled (%)", "container", "worker"][..],
        ),
        ("timeline.svg", &["worker"][..]),
    ] {
        let svg = std::fs::read_to_string(dir.path().join(file)).expect(file);
        let mut reader = quick_xml::Reader::from_str(&svg);
        let mut elements = 0;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_)) => {
                    elements += 1
                }
                Ok(_) => {}
                Err(e) => panic!("{file} is not XML: {e}"),
            }
        }
        assert!(elements > 10, "{file} has {elements} elements");
        for l in labels {
            assert!(svg.contains(l), "{file} lacks label {l:?}");
        }
        let png = std::fs::read(dir.path().join(file.replace(".svg", ".png"))).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "@import",
        "url(",
        "<script",
        "<link",
    ] {
        assert!(
            !html.contains(bad),
            "HTML references something external: {bad}"
        );
    }
    assert!(html.matches("<svg").count() >= 4, "charts are inlined");
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    assert!(md.contains("| namespace |") && md.contains("![") && md.contains("namespaces.svg"));
    browser_renders(&dir.path().join("report.html"));
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Renders the HTML in headless Chromium and checks the screenshot is not blank.
#[allow(clippy::print_stdout)]
fn browser_renders(html: &Path) {
    let Some(browser) = chromium() else {
        println!("skipped: no Chromium installed (apt-get install chromium); the HTML was checked statically only");
        return;
    };
    let profile = tempfile::tempdir().expect("profile dir");
    let shot = profile.path().join("shot.png");
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("open png"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let px = &buf[..info.buffer_size()];
    let mean = px.iter().map(|&b| f64::from(b)).sum::<f64>() / px.len() as f64;
    let var = px
        .iter()
        .map(|&b| (f64::from(b) - mean).powi(2))
        .sum::<f64>()
        / px.len() as f64;
    let dark = px.iter().filter(|&&b| b < 128).count();
    assert!(
        var > 100.0 && dark > px.len() / 200,
        "the rendered page looks blank (variance {var:.1}, {dark} dark bytes)"
    );
}

/// Issue 13 defect 2: one container with `limits: {cpu: 100M}` made `kcpu report` exit 2 and
/// write nothing. Its simulation is skipped with the reason; the rest is written. Issue 11: a
/// container without a declared load is a labelled "what if", never a prediction.
#[test]
fn one_unsimulatable_container_does_not_cost_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Command::cargo_bin("kcpu").expect("kcpu binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("CI");
    let o = c
        .args([
            "report",
            "tests/data/report/huge-limit.yaml",
            "--nodes",
            "2x4cpu",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run kcpu report");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md written");
    assert!(
        md.contains("t/huge c: not simulated:"),
        "the skipped container and its reason are in the report:\n{md}"
    );
    let json = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let rows = v["report"]["throttling"]
        .as_array()
        .expect("throttling rows");
    assert_eq!(rows.len(), 1, "the other container is still simulated");
    assert_eq!(rows[0]["load_from"], "what-if: request-sized burst");
    assert!(md.contains("## What if (assumed load, not a prediction)"));
    assert!(md.contains("declare no load"));
    assert!(
        !dir.path().join("timeline.svg").exists() && !dir.path().join("throttling.svg").exists(),
        "no riskiest-container or throttling chart without a declared load"
    );
    assert!(md.contains("no limited container declares a load"));
}

/// A generated cluster dump: `n` Deployments over 60 namespaces with long, repeated names
/// (every name exists in two namespaces), a third without CPU requests, one larger than any
/// node, and limited containers for the throttling section (every fifth with a declared load).
fn generated_dump(n: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..n {
        let ns = format!("team-{:02}-with-a-rather-long-namespace-name", i % 60);
        let name = format!("service-{:04}-with-a-long-deployment-name", i / 2);
        let cpu = if i == 7 {
            "resources: {requests: {cpu: \"64\"}, limits: {cpu: \"64\"}}".to_string()
        } else if i % 3 == 0 {
            "resources: {}".to_string()
        } else {
            format!(
                "resources: {{requests: {{cpu: {}m}}, limits: {{cpu: {}m}}}}",
                50 + (i % 17) * 25,
                100 + (i % 11) * 100
            )
        };
        let load = if i % 5 == 1 {
            "\n      metadata: {annotations: {kcpu.dev/load: \"periodic:threads=2,work=30ms,every=100ms\"}}"
        } else {
            ""
        };
        s.push_str(&format!(
            "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: {name}, namespace: {ns}}}\n  spec:\n    replicas: {}\n    template:{load}\n      spec:\n        containers:\n        - name: app\n          image: x\n          {cpu}\n",
            1 + i % 3
        ));
    }
    s
}

fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(t[start..end].to_string())
        })
        .collect()
}

/// `kcpu report -` on `stdin` into `out` with `args`; asserts exit 0.
fn report_stdin(out: &Path, args: &[&str], stdin: String) {
    let mut c = Command::cargo_bin("kcpu").expect("kcpu binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CI")
        .args(["report", "-", "--out"])
        .arg(out)
        .args(args)
        .write_stdin(stdin);
    let o = c.output().expect("run kcpu report");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn report_at_scale_stays_legible() {
    let dir = tempfile::tempdir().expect("tempdir");
    report_stdin(
        dir.path(),
        &[
            "--nodes",
            "4x4cpu",
            "--max-simulations",
            "30",
            "--sim-duration",
            "1s",
        ],
        generated_dump(1000),
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    assert!(md.len() < 65_536, "Markdown is {} bytes", md.len());
    let longest = md.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest <= 2_000, "a Markdown line has {longest} characters");
    assert!(md.contains(" more"), "lists say how many are left out");
    assert!(md.contains("every row is in report.html and report.json"));
    assert!(
        !md.contains("Input problem"),
        "nothing here is an input problem"
    );

    let json = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let fit = &v["report"]["node_fit"];
    for n in fit["nodes"].as_array().expect("nodes") {
        assert!(
            n["pods"].as_u64() <= n["max_pods"].as_u64(),
            "node {} holds {} pods (max {})",
            n["name"],
            n["pods"],
            n["max_pods"]
        );
        assert_eq!(n["max_pods"], 110);
    }
    assert_eq!(fit["too_large_pods"], 2, "the 64-CPU workload's 2 replicas");
    assert!(fit["no_room_pods"].as_u64().unwrap_or(0) > 0);
    assert!(
        fit["nodes_needed_of_largest_shape"].as_u64().unwrap_or(0) >= 19,
        "≈2000 pods at ≤110 per node need ≥19 nodes even though two pods fit nowhere: {}",
        fit["nodes_needed_of_largest_shape"]
    );
    // Every namespace has limits somewhere, and none shows 0.00×.
    assert!(!md.contains("0.00×"));

    // Charts: top-N plus "other", unique labels.
    let ns = std::fs::read_to_string(dir.path().join("namespaces.svg")).expect("svg");
    let texts = svg_texts(&ns);
    assert!(
        texts.iter().any(|t| t.trim() == "other (40 namespaces)"),
        "{texts:?}"
    );
    let thr = std::fs::read_to_string(dir.path().join("throttling.svg")).expect("svg");
    let labels: Vec<String> = svg_texts(&thr)
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| t.contains("team-"))
        .collect();
    assert!(labels.len() >= 2, "{labels:?}");
    let unique: std::collections::BTreeSet<&String> = labels.iter().collect();
    assert_eq!(unique.len(), labels.len(), "duplicate labels: {labels:?}");
    // Unique because they name the workload, not because of a ` #2` suffix: the start of the
    // workload name (its number) stays visible after the namespace.
    assert!(
        labels
            .iter()
            .all(|l| l.contains("/service-0") && !l.contains(" #")),
        "{labels:?}"
    );
    // The 40 namespaces summed in "other" do not set the scale: that bar is drawn cut, with
    // its value written, like the 64-CPU outlier's namespace.
    let cut: Vec<&String> = texts.iter().filter(|t| t.contains("(cut)")).collect();
    assert_eq!(cut.len(), 2, "{texts:?}");
    // The timeline chart and the table name the same riskiest container (the first row with
    // a declared load).
    let first = v["report"]["throttling"]
        .as_array()
        .and_then(|rows| rows.iter().find(|t| t["load_from"] == "annotation"))
        .expect("a declared load was simulated");
    let timeline = std::fs::read_to_string(dir.path().join("timeline.svg")).expect("svg");
    let title = format!(
        "{} {}",
        first["workload"].as_str().unwrap_or(""),
        first["container"].as_str().unwrap_or("")
    );
    assert!(timeline.contains(&title), "timeline is not about {title}");
}

#[test]
fn namespaces_without_limits_do_not_show_zero_overcommit() {
    let dir = tempfile::tempdir().expect("tempdir");
    report_stdin(
        dir.path(),
        &["--nodes", "1x4cpu", "--format", "md"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: free}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n        resources: {requests: {cpu: 500m}}\n".to_string(),
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("md");
    assert!(!md.contains("0.00×"), "{md}");
    assert!(md.contains("no limits"), "{md}");
}
