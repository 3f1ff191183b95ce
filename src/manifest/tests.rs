//! Loader tests: kinds, spans, lists, aliases, diagnostics.

use super::*;
use crate::source::SourceFile;

fn load(text: &str) -> (Loaded, SourceFile) {
    (
        load_source(SourceId(0), text, &LoadOptions::default()),
        SourceFile::new("t.yaml", text),
    )
}

fn pos(f: &SourceFile, s: Span) -> (usize, usize) {
    let p = f.position(s.start);
    (p.line, p.column)
}

const MIXED: &str = "\
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  template: 3
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    kcpu.dev/load: periodic:threads=2,work=20ms,every=100ms
spec:
  replicas: 3
  template:
    metadata:
      annotations: {kcpu.dev/ignore: \"KCPU003=ok\"}
    spec:
      initContainers:
      - name: migrate
        resources: {requests: {cpu: 200m}}
      - name: proxy
        restartPolicy: Always
        resources:
          limits: {cpu: \"1\"}
      containers:
      - name: app
        resources:
          requests:
            cpu: 0.5
            memory: 64Mi
          limit:
            cpu: 1
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, resources: {limits: {cpu: 2}}}]
";

#[test]
fn reads_kinds_roles_and_spans() {
    let (l, f) = load(MIXED);
    let ws: Vec<_> = l.workloads().collect();
    assert_eq!(ws.len(), 2, "{:?}", l.issues);
    assert_eq!(
        l.stats.skipped.get("Service"),
        Some(&1),
        "other documents are skipped and counted"
    );
    let web = ws[0];
    assert_eq!(
        (
            web.kind.as_str(),
            web.metadata.name.as_str(),
            web.namespace()
        ),
        ("Deployment", "web", "shop")
    );
    assert_eq!(web.replicas, Some(3));
    assert_eq!(pos(&f, web.span), (7, 1));
    assert_eq!(web.doc_index, 1);
    let roles: Vec<_> = web
        .pod
        .all_containers()
        .map(|c| (c.name.as_str(), c.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("migrate", Role::Init),
            ("proxy", Role::Sidecar),
            ("app", Role::Container)
        ]
    );
    let app = &web.pod.containers[0];
    assert_eq!(pos(&f, app.span), (28, 9));
    let cpu = app.resources.requests.cpu().expect("cpu request");
    assert_eq!(cpu.raw, "0.5");
    assert_eq!(pos(&f, cpu.span), (31, 18));
    assert_eq!(pos(&f, cpu.key_span), (31, 13));
    assert_eq!(&f.text[cpu.span.start..cpu.span.end], "0.5");
    assert!(web.annotation("kcpu.dev/ignore").is_some());
    assert_eq!(
        web.annotation("kcpu.dev/load").map(|a| a.value.as_str()),
        Some("periodic:threads=2,work=20ms,every=100ms")
    );
    let cron = ws[1];
    assert_eq!(cron.kind, "CronJob");
    assert_eq!(
        cron.pod.containers[0]
            .resources
            .limits
            .cpu()
            .map(|q| q.raw.as_str()),
        Some("2")
    );
}

#[test]
fn warns_about_misspelled_resources_keys() {
    let (l, f) = load(MIXED);
    let w: Vec<_> = l
        .issues
        .iter()
        .filter(|i| i.code == "unknown-resources-key")
        .collect();
    assert_eq!(w.len(), 1, "{:?}", l.issues);
    assert_eq!(w[0].level, IssueLevel::Warning);
    assert_eq!(pos(&f, w[0].span), (33, 11));
    assert_eq!(w[0].hint.as_deref(), Some("did you mean `limits`?"));
    assert_eq!(
        l.workloads()
            .next()
            .map(|w| w.pod.containers[0].resources.unknown_keys.len()),
        Some(1)
    );
}

#[test]
fn list_items_keep_positions() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec:\n    containers:\n    - name: c\n      resources: {requests: {cpu: 100m}}\n- apiVersion: v1\n  kind: ConfigMap\n  data: {x: y}\n- apiVersion: argoproj.io/v1alpha1\n  kind: Rollout\n  metadata: {name: r}\n  spec:\n    template:\n      spec:\n        containers: [{name: x}]\n";
    let (l, f) = load(text);
    let ws: Vec<_> = l.workloads().collect();
    assert_eq!(ws.len(), 2, "{:?}", l.issues);
    assert_eq!(ws[0].list_path, vec![0]);
    assert_eq!(pos(&f, ws[0].span), (4, 3));
    let cpu = ws[0].pod.containers[0]
        .resources
        .requests
        .cpu()
        .expect("cpu");
    assert_eq!(pos(&f, cpu.span), (10, 35));
    assert_eq!(ws[1].kind, "Rollout");
    assert_eq!(ws[1].list_path, vec![2]);
}

#[test]
fn unknown_kinds_without_templates_are_counted() {
    let (l, _) = load("apiVersion: x/v1\nkind: Widget\nspec: {template: {spec: {foo: 1}}}\n---\nkind: Gadget\nspec: [1, 2]\n");
    assert_eq!(l.workloads().count(), 0);
    assert_eq!(l.stats.skipped.get("Widget"), Some(&1));
    assert_eq!(l.stats.skipped.get("Gadget"), Some(&1));
    assert!(l.issues.is_empty(), "{:?}", l.issues);
}

#[test]
fn bad_document_does_not_hide_the_others() {
    let text = "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n---\nkind: Pod\nspec: [\n---\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c}]}\n";
    let (l, f) = load(text);
    assert_eq!(
        l.workloads()
            .map(|w| w.metadata.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let e: Vec<_> = l
        .issues
        .iter()
        .filter(|i| i.level == IssueLevel::Error)
        .collect();
    assert_eq!(e.len(), 1, "{:?}", l.issues);
    assert_eq!(e[0].code, "yaml-syntax");
    let (line, _) = pos(&f, e[0].span);
    assert!((6..=7).contains(&line), "error line {line}: {:?}", e[0]);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let text = "kind: Deployment\nmetadata: {name: m}\nspec:\n  template:\n    spec:\n      containers:\n      - &base\n        name: a\n        resources: {requests: {cpu: &c 250m}}\n      - <<: *base\n        name: b\n      - name: c\n        resources: {requests: {cpu: *c}}\n";
    let (l, f) = load(text);
    let w = l.workloads().next().expect("workload");
    let names: Vec<_> = w.pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    for c in &w.pod.containers {
        let q = c.resources.requests.cpu().expect("cpu");
        assert_eq!(q.raw, "250m");
        // The value span points at the text as written (the anchored node).
        assert_eq!(pos(&f, q.span).0, 9);
    }
}

#[test]
fn budgets_stop_alias_bombs() {
    let mut text = String::from("kind: Pod\na0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 9].join(", ")
        ));
    }
    let (l, _) = load(&text);
    assert_eq!(l.issues.len(), 1, "{:?}", l.issues);
    assert_eq!(l.issues[0].code, "yaml-budget");
}

#[test]
fn json_documents_and_empty_streams() {
    let (l, _) = load("{\"kind\": \"Pod\", \"metadata\": {\"name\": \"j\"}, \"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {\"limits\": {\"cpu\": 0.25}}}]}}");
    let w = l.workloads().next().expect("json pod");
    assert_eq!(
        w.pod.containers[0]
            .resources
            .limits
            .cpu()
            .map(|q| q.raw.as_str()),
        Some("0.25")
    );
    let (l, _) = load("---\n# only a comment\n---\n");
    assert_eq!(l.stats.documents, 0);
    assert!(l.objects.is_empty() && l.issues.is_empty());
}

#[test]
fn split_keeps_offsets() {
    let t = "a: 1\n---\nb: 2\n...\n--- \nc: 3\n";
    let d = split_documents(t);
    let starts: Vec<_> = d.iter().map(|(s, _)| *s).collect();
    assert_eq!(starts, [0, 5, 18]);
    assert_eq!(d[1].1, "---\nb: 2\n");
    // A `---` inside a line is not a marker.
    assert_eq!(split_documents("a: '---'\nb: x---\n").len(), 1);
}

#[test]
fn policy_objects() {
    let text = "kind: LimitRange\nmetadata: {name: lr, namespace: ns}\nspec:\n  limits:\n  - type: Container\n    default: {cpu: 500m}\n    defaultRequest: {cpu: 100m}\n---\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {requests.cpu: \"4\"}}\n---\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 10}\n";
    let (l, _) = load(text);
    assert_eq!(l.objects.len(), 3, "{:?}", l.issues);
    match &l.objects[0] {
        Object::LimitRange(lr) => {
            assert_eq!(
                lr.default_limits.cpu().map(|q| q.raw.as_str()),
                Some("500m")
            );
            assert_eq!(
                lr.default_requests.cpu().map(|q| q.raw.as_str()),
                Some("100m")
            );
        }
        o => panic!("{o:?}"),
    }
    assert!(
        matches!(&l.objects[1], Object::ResourceQuota(q) if q.hard.entries.contains_key("requests.cpu"))
    );
    assert!(
        matches!(&l.objects[2], Object::Hpa(h) if h.max_replicas == 10 && h.target_name == "web")
    );
}

#[test]
fn missing_containers_in_builtin_kind_is_an_error() {
    // A pod template without `containers` (a typo such as `container:`) is an error.
    let (l, _) =
        load("kind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {container: []}}}\n");
    assert_eq!(l.issues.len(), 1);
    assert_eq!(l.issues[0].code, "no-containers");
    // No pod template at all is a partial object (a kustomize patch): a note, skipped.
    let (l, _) = load("kind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1}\n");
    assert_eq!(l.issues.len(), 1);
    assert_eq!(l.issues[0].code, "partial-object");
    assert_eq!(l.issues[0].level, IssueLevel::Note);
}

#[test]
fn large_list_documents_fit_the_budget() {
    // A cluster dump is one document: its node budget must grow with its size.
    let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..20_000 {
        text.push_str(&format!("- kind: Pod\n  metadata: {{name: p{i}, labels: {{a: b, c: d}}}}\n  spec:\n    containers:\n    - name: c\n      resources: {{requests: {{cpu: 100m, memory: 1Mi}}, limits: {{cpu: 200m}}}}\n"));
    }
    let (l, _) = load(&text);
    assert!(l.issues.is_empty(), "{:?}", l.issues.first());
    assert_eq!(l.workloads().count(), 20_000);
}

#[test]
fn yaml_messages_name_no_library_internals() {
    assert_eq!(
        super::plain_yaml_message(
            "duplicate mapping key: kind, set DuplicateKeyPolicy in Options if acceptable"
        ),
        "duplicate mapping key: kind (a key may appear only once in a mapping)"
    );
    assert_eq!(
        super::plain_yaml_message("budget breached: Depth { depth: 65 }"),
        "the document exceeds kcpu's limit on depth (stopped at 65)"
    );
    assert_eq!(
        super::plain_yaml_message("budget breached: AliasExpansions"),
        "the document exceeds kcpu's limit on alias expansions"
    );
    assert_eq!(
        super::plain_yaml_message("did not find expected key"),
        "did not find expected key"
    );
}
