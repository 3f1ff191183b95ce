//! Renderer tests: the same small plan in every format (insta snapshots), plus contract
//! checks on the JSON keys.

use super::*;
use crate::manifest::model::{
    Container, Metadata, PodSpec, QuantityValue, ResourceList, Resources, Workload,
};
use crate::profile::{CgroupDriver, CgroupVersion, Runtime};
use crate::quantity::Quantity;
use crate::source::{SourceFile, SourceId};
use crate::translate::translate;
use std::collections::BTreeMap;

const TEXT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          requests:
            cpu: 500m
            memory: 256Mi
          limits:
            cpu: \"1\"
            memory: 256Mi
---
apiVersion: v1
kind: Pod
metadata:
  name: batch
  uid: 0c2f-77
spec:
  initContainers:
  - name: migrate
    resources:
      limits:
        cpu: 250m
        memory: 64Mi
  - name: proxy
    restartPolicy: Always
    resources:
      limits:
        cpu: 100m
        memory: 32Mi
  containers:
  - name: worker
    resources:
      limits:
        cpu: \"2\"
        memory: 1Gi
      limt:
        cpu: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
  containers:
  - name: bad
    resources:
      limits:
        cpu: 1,5
";

/// Span of the `nth` occurrence of `needle`.
fn at(needle: &str, nth: usize) -> Span {
    let start = TEXT
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .expect("needle in fixture");
    Span::new(SourceId(0), start, start + needle.len())
}

fn q(raw: &str, nanos: i128, needle: &str, nth: usize) -> QuantityValue {
    QuantityValue {
        raw: raw.into(),
        span: at(needle, nth),
        key_span: at(needle, nth),
        parsed: Ok(Quantity { nanos }),
    }
}

fn rl(entries: Vec<(&str, QuantityValue)>) -> ResourceList {
    ResourceList {
        entries: entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        span: None,
    }
}

fn workload(kind: &str, name: &str, obj: usize, pod: PodSpec) -> Workload {
    Workload {
        kind: kind.into(),
        api_version: String::new(),
        metadata: Metadata {
            name: name.into(),
            ..Metadata::default()
        },
        template_metadata: Metadata::default(),
        replicas: None,
        status_qos: None,
        pod,
        span: at("apiVersion", obj),
        doc_index: obj,
        list_path: Vec::new(),
    }
}

const MI: i128 = 1 << 20;
const G: i128 = 1_000_000_000;

fn fixture() -> (Vec<Workload>, SourceSet, Vec<LoadIssue>) {
    let mut sources = SourceSet::default();
    sources.add(SourceFile::new("shop.yaml", TEXT));

    let web = Container {
        name: "app".into(),
        role: Role::Container,
        resources: Resources {
            requests: rl(vec![
                ("cpu", q("500m", G / 2, "500m", 0)),
                ("memory", q("256Mi", 256 * MI * G, "256Mi", 0)),
            ]),
            limits: rl(vec![
                ("cpu", q("1", G, "\"1\"", 0)),
                ("memory", q("256Mi", 256 * MI * G, "256Mi", 1)),
            ]),
            span: Some(at("resources", 0)),
            unknown_keys: Vec::new(),
        },
        span: at("name: app", 0),
    };
    let mut w1 = workload(
        "Deployment",
        "web",
        0,
        PodSpec {
            containers: vec![web],
            ..PodSpec::default()
        },
    );
    w1.metadata.namespace = Some("shop".into());

    let lim = |cpu: (&str, i128, &str), mem: (&str, i128, &str)| Resources {
        requests: ResourceList::default(),
        limits: rl(vec![
            ("cpu", q(cpu.0, cpu.1, cpu.2, 0)),
            ("memory", q(mem.0, mem.1, mem.2, 0)),
        ]),
        span: None,
        unknown_keys: Vec::new(),
    };
    let migrate = Container {
        name: "migrate".into(),
        role: Role::Init,
        resources: lim(("250m", G / 4, "250m"), ("64Mi", 64 * MI * G, "64Mi")),
        span: at("name: migrate", 0),
    };
    let proxy = Container {
        name: "proxy".into(),
        role: Role::Sidecar,
        resources: lim(("100m", G / 10, "100m"), ("32Mi", 32 * MI * G, "32Mi")),
        span: at("name: proxy", 0),
    };
    let mut worker_res = lim(("2", 2 * G, "\"2\""), ("1Gi", 1024 * MI * G, "1Gi"));
    worker_res.unknown_keys.push(("limt".into(), at("limt", 0)));
    let worker = Container {
        name: "worker".into(),
        role: Role::Container,
        resources: worker_res,
        span: at("name: worker", 0),
    };
    let mut w2 = workload(
        "Pod",
        "batch",
        1,
        PodSpec {
            containers: vec![worker],
            init_containers: vec![migrate, proxy],
            ..PodSpec::default()
        },
    );
    w2.metadata.uid = Some("0c2f-77".into());

    let bad_value = QuantityValue {
        raw: "1,5".into(),
        span: at("1,5", 0),
        key_span: at("1,5", 0),
        parsed: Err(crate::translate::tests::qerr(
            "1,5",
            "unexpected character ','",
            Some("did you mean 1.5 or 1500m?"),
        )),
    };
    let bad = Container {
        name: "bad".into(),
        role: Role::Container,
        resources: Resources {
            requests: ResourceList::default(),
            limits: ResourceList {
                entries: BTreeMap::from([("cpu".to_string(), bad_value)]),
                span: None,
            },
            span: None,
            unknown_keys: Vec::new(),
        },
        span: at("name: bad", 0),
    };
    let w3 = workload(
        "Pod",
        "broken",
        2,
        PodSpec {
            containers: vec![bad],
            ..PodSpec::default()
        },
    );

    let issues = vec![LoadIssue {
        level: IssueLevel::Warning,
        code: "unknown-resources-key",
        message: "unknown key `limt` under resources: Kubernetes ignores it".into(),
        hint: Some("did you mean `limits`?".into()),
        span: at("limt", 0),
    }];
    (vec![w1, w2, w3], sources, issues)
}

fn rendered(format: PlanFormat, a: &Assumptions) -> String {
    let (workloads, sources, issues) = fixture();
    let plan = translate(&workloads, a);
    let mut out = Vec::new();
    render(format, &mut out, &plan, &sources, &issues, DEFAULT_WIDTH).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn table_v2_default() {
    insta::assert_snapshot!(rendered(PlanFormat::Table, &Assumptions::default()));
}

#[test]
fn table_v1_cgroupfs_old_runc() {
    let a = Assumptions {
        cgroup: CgroupVersion::V1,
        driver: CgroupDriver::Cgroupfs,
        runtime: Runtime::Runc1_2,
        ..Assumptions::default()
    };
    insta::assert_snapshot!(rendered(PlanFormat::Table, &a));
}

#[test]
fn json_contract() {
    let text = rendered(PlanFormat::Json, &Assumptions::default());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys =
        |o: &serde_json::Value| -> Vec<String> { o.as_object().unwrap().keys().cloned().collect() };
    for k in ["assumptions", "pods", "warnings", "errors"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let pod = &v["pods"][0];
    for k in [
        "kind",
        "namespace",
        "name",
        "qos",
        "source",
        "pod",
        "containers",
    ] {
        assert!(pod.get(k).is_some(), "pod lacks {k}: {:?}", keys(pod));
    }
    assert_eq!(
        pod["source"],
        serde_json::json!({"file": "shop.yaml", "line": 1, "column": 1})
    );
    assert_eq!(pod["namespace"], "shop");
    let files = [
        "cpu.shares",
        "cpu.cfs_quota_us",
        "cpu.cfs_period_us",
        "cpu.weight",
        "cpu.max",
    ];
    assert_eq!(keys(&pod["pod"]).len(), 5);
    for f in files {
        assert!(pod["pod"].get(f).is_some());
    }
    let c = &pod["containers"][0];
    for k in ["name", "role", "request_millicores", "limit_millicores"]
        .iter()
        .chain(files.iter())
    {
        assert!(c.get(*k).is_some(), "container lacks {k}");
    }
    assert_eq!(c["request_millicores"], 500);
    assert_eq!(c["cpu.max"], "100000 100000");
    assert_eq!(c["cpu.weight"], 59);
    assert_eq!(pod["pod"]["cpu.weight"], 20);
    assert_eq!(v["warnings"][0]["source"]["line"], 43);
    assert_eq!(v["errors"][0]["code"], "invalid-quantity");
    assert_eq!(v["errors"][0]["hint"], "did you mean 1.5 or 1500m?");
    assert_eq!(v["pods"].as_array().unwrap().len(), 2);
    insta::assert_snapshot!(text);
}

#[test]
fn yaml_matches_json_data() {
    let yaml = rendered(PlanFormat::Yaml, &Assumptions::default());
    let json = rendered(PlanFormat::Json, &Assumptions::default());
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let from_json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(from_yaml, from_json);
    insta::assert_snapshot!(yaml);
}

#[test]
fn explain_lists_every_number_with_sources() {
    let text = rendered(PlanFormat::Explain, &Assumptions::default());
    assert!(text.contains("MilliCPUToShares(500) = 500*1024/1000 = 512"));
    assert!(
        text.contains("[kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go MilliCPUToShares]")
    );
    insta::assert_snapshot!(text);
    let no_quota = Assumptions {
        cpu_cfs_quota: false,
        ..Assumptions::default()
    };
    let text = rendered(PlanFormat::Explain, &no_quota);
    assert!(
        text.contains("cpu.max = max 100000 (kernel default, not written)"),
        "{text}"
    );
    assert!(text.contains("cpuCFSQuota = false: kubelet sends neither CpuQuota nor CpuPeriod"));
}

#[test]
fn rendering_is_deterministic() {
    for f in [
        PlanFormat::Table,
        PlanFormat::Json,
        PlanFormat::Yaml,
        PlanFormat::Explain,
    ] {
        assert_eq!(
            rendered(f, &Assumptions::default()),
            rendered(f, &Assumptions::default())
        );
    }
}

#[test]
fn loader_errors_are_not_duplicated() {
    let (workloads, sources, mut issues) = fixture();
    issues.push(LoadIssue {
        level: IssueLevel::Error,
        code: "invalid-quantity",
        message: "invalid quantity \"1,5\"".into(),
        hint: None,
        span: at("1,5", 0),
    });
    let plan = translate(&workloads, &Assumptions::default());
    let (warnings, errors) = diagnostics(&plan, &sources, &issues);
    assert_eq!(warnings.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].source.line, 55);
}

#[test]
fn broken_pipe_is_reported() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let (workloads, sources, issues) = fixture();
    let plan = translate(&workloads, &Assumptions::default());
    for f in [
        PlanFormat::Table,
        PlanFormat::Json,
        PlanFormat::Yaml,
        PlanFormat::Explain,
    ] {
        let e = render(f, &mut Broken, &plan, &sources, &issues, DEFAULT_WIDTH).unwrap_err();
        assert!(
            matches!(e, RenderError::Io(_) | RenderError::Json(_)),
            "{f:?}: {e}"
        );
    }
}

#[test]
fn streamed_json_is_byte_identical() {
    let (ws, sources, issues) = fixture();
    for plan in [
        translate(&ws, &Assumptions::default()),
        translate(&[], &Assumptions::default()),
    ] {
        let mut whole = Vec::new();
        render_json(&mut whole, &plan, &sources, &issues).unwrap();
        let mut streamed = Vec::new();
        let mut s = PlanStream::json(&mut streamed, &plan.assumptions).unwrap();
        for p in &plan.pods {
            s.pod(p, &sources).unwrap();
        }
        s.finish(&plan, &sources, &issues).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(whole).unwrap()
        );
    }
}

/// Diagnostics wrap to the width, but their `file:line:col:` location is never cut: a long one
/// stands alone and the message continues below it.
#[test]
fn diagnostics_wrap_without_cutting_the_location() {
    let short = "k8s/a.yaml:3:1: warning[missing-kind]: document has no `kind`; skipped, and more words follow here";
    let lines = wrap_diagnostic(short, 40, "    ");
    assert!(lines.len() > 1, "{lines:?}");
    assert!(lines[0].starts_with("k8s/a.yaml:3:1: "), "{lines:?}");
    assert!(lines.iter().all(|l| display_width(l) <= 40), "{lines:?}");
    assert!(
        lines[1..].iter().all(|l| l.starts_with("    ")),
        "{lines:?}"
    );
    let loc = format!("{}/x.yaml:10:1:", "deep".repeat(15));
    let long = format!("{loc} warning[missing-kind]: document has no `kind`; skipped");
    let lines = wrap_diagnostic(&long, 40, "    ");
    assert_eq!(lines[0], loc);
    assert_eq!(lines[1], "    warning[missing-kind]: document has");
    assert!(
        lines[1..].iter().all(|l| display_width(l) <= 40),
        "{lines:?}"
    );
    let words = |v: &[String]| v.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(words(&lines), long);
    assert_eq!(
        wrap_diagnostic("  hint: fits", 40, "    "),
        ["  hint: fits"]
    );
}

#[test]
fn streamed_yaml_is_byte_identical() {
    let (ws, sources, issues) = fixture();
    for plan in [
        translate(&ws, &Assumptions::default()),
        translate(&[], &Assumptions::default()),
    ] {
        let mut whole = Vec::new();
        render_yaml(&mut whole, &plan, &sources, &issues).unwrap();
        let mut streamed = Vec::new();
        let mut s = PlanStream::yaml(&mut streamed, &plan.assumptions).unwrap();
        for p in &plan.pods {
            s.pod(p, &sources).unwrap();
        }
        s.finish(&plan, &sources, &issues).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(whole).unwrap()
        );
    }
}

#[test]
fn table_in_one_block_is_the_whole_table() {
    let (ws, sources, _) = fixture();
    let plan = translate(&ws, &Assumptions::default());
    let mut whole = Vec::new();
    render_table(&mut whole, &plan, &sources, DEFAULT_WIDTH).unwrap();
    let mut blocks = Vec::new();
    render_table_head(&mut blocks, &plan.assumptions, DEFAULT_WIDTH).unwrap();
    render_table_block(
        &mut blocks,
        &plan.assumptions,
        &plan.pods,
        &sources,
        DEFAULT_WIDTH,
    )
    .unwrap();
    assert_eq!(blocks, whole);
}

#[test]
fn streamed_oci_is_byte_identical() {
    use crate::render::oci::{oci_stream, render_oci};
    let (ws, sources, issues) = fixture();
    for plan in [
        translate(&ws, &Assumptions::default()),
        translate(&[], &Assumptions::default()),
    ] {
        let mut whole = Vec::new();
        render_oci(&mut whole, &plan, &sources, &issues).unwrap();
        let mut streamed = Vec::new();
        let mut s = oci_stream(&mut streamed, &plan.assumptions).unwrap();
        for p in &plan.pods {
            s.pod(p, &sources).unwrap();
        }
        s.finish(&plan, &sources, &issues).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(whole).unwrap()
        );
    }
}
