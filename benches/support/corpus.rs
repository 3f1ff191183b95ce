//! Synthetic manifest corpora for benches (shared by every bench through `#[path]`).
//!
//! Real-world bundles are mostly CRDs and other non-workload documents, so the multi-document
//! corpus mixes Deployments, StatefulSets, CronJobs and Pods with Services, ConfigMaps and large
//! CustomResourceDefinitions.

#![allow(dead_code)]

use std::fmt::Write;

fn deployment(out: &mut String, i: usize, indent: &str, first: &str) {
    let containers = 1 + i % 3;
    let _ = writeln!(out, "{first}apiVersion: apps/v1");
    let _ = writeln!(out, "{indent}kind: Deployment");
    let _ = writeln!(out, "{indent}metadata:\n{indent}  name: app-{i}\n{indent}  namespace: ns-{}\n{indent}  labels: {{app: app-{i}, team: t{}}}", i % 40, i % 7);
    let _ = writeln!(out, "{indent}spec:\n{indent}  replicas: {}\n{indent}  selector:\n{indent}    matchLabels: {{app: app-{i}}}", 1 + i % 5);
    let _ = writeln!(out, "{indent}  template:\n{indent}    metadata:\n{indent}      labels: {{app: app-{i}}}\n{indent}    spec:\n{indent}      containers:");
    for c in 0..containers {
        let req = 50 + (i * 37 + c * 11) % 1950;
        let _ = writeln!(out, "{indent}      - name: c{c}\n{indent}        image: registry.example.com/app-{i}:{c}.0\n{indent}        ports: [{{containerPort: {}}}]", 8000 + c);
        let _ = writeln!(out, "{indent}        env:\n{indent}        - {{name: MODE, value: production}}\n{indent}        - {{name: WORKERS, value: \"{}\"}}", 1 + c);
        let _ = writeln!(
            out,
            "{indent}        resources:\n{indent}          requests: {{cpu: {req}m, memory: {}Mi}}",
            64 * (1 + c)
        );
        if !i.is_multiple_of(4) {
            let _ = writeln!(
                out,
                "{indent}          limits: {{cpu: \"{}\", memory: {}Mi}}",
                1 + (i + c) % 4,
                128 * (1 + c)
            );
        }
    }
}

fn crd(out: &mut String, i: usize) {
    let _ = writeln!(out, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets{i}.example.com\nspec:\n  group: example.com\n  names: {{kind: Widget{i}, plural: widgets{i}}}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:");
    for p in 0..40 {
        let _ = writeln!(out, "          field{p}:\n            type: string\n            description: \"Field {p} of the widget; a long description that real CRDs carry for every property.\"");
    }
}

/// A multi-document YAML stream of about `bytes` bytes; returns it with its workload count.
pub fn multi_document(bytes: usize) -> (String, usize) {
    let mut out = String::with_capacity(bytes + 4096);
    let mut i = 0;
    let mut workloads = 0;
    while out.len() < bytes {
        if !out.is_empty() {
            out.push_str("---\n");
        }
        match i % 6 {
            0 | 3 => {
                deployment(&mut out, i, "", "");
                workloads += 1;
            }
            1 => {
                let _ = writeln!(out, "apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: ns-{}}}\nspec:\n  selector: {{app: app-{i}}}\n  ports: [{{port: 80, targetPort: 8080}}]", i % 40);
            }
            2 => {
                let _ = writeln!(out, "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata:\n  config.yaml: |\n    log_level: info\n    workers: 4\n    endpoints: [a, b, c]");
            }
            4 => crd(&mut out, i),
            _ => {
                let _ = writeln!(out, "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: job-{i}}}\nspec:\n  schedule: \"*/5 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: run\n            image: x\n            resources: {{limits: {{cpu: 250m}}}}");
                workloads += 1;
            }
        }
        i += 1;
    }
    (out, workloads)
}

/// A `kind: List` of `n` Deployments as `kubectl get deploy -A -o yaml` prints it.
pub fn cluster_dump(n: usize) -> String {
    let mut out =
        String::from("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n");
    for i in 0..n {
        deployment(&mut out, i, "  ", "- ");
    }
    out
}
