#!/usr/bin/env python3
"""Vendors the JSON Schemas of batch/v1 Job and v1 ConfigMap (strict: unknown fields rejected)
into tests/data/k8s/job-batch-v1.schema.json and configmap-v1.schema.json, for the --emit-job
validation test (a `trace:` load ships in a ConfigMap beside the Job).

Source: the `kubernetes-validate` PyPI package (pip install kubernetes-validate==1.37.0), whose
`v1.35.0-local-strict` schemas are generated from kubernetes/kubernetes
api/openapi-spec (v1.35.0) with additionalProperties: false. This script keeps each kind's
schema and the transitive closure of the definitions it references, drops descriptions, and
rewrites the references to point inside the one file.

Usage: scripts/vendor-job-schema.py [KUBERNETES_VERSION]   (default v1.35.0)
"""
import json
import os
import sys

import kubernetes_validate

version = sys.argv[1] if len(sys.argv) > 1 else "v1.35.0"
base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                    f"{version}-local-strict")
defs = json.load(open(os.path.join(base, "_definitions.json")))["$defs"]
PREFIX = "/api/_definitions.json#/$defs/"


def walk(node, found):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (ref.startswith(PREFIX) or ref.startswith("#/$defs/")):
            name = ref.split("#/$defs/", 1)[1]
            node["$ref"] = "#/$defs/" + name
            if name not in found:
                found[name] = None
                found[name] = walk(json.loads(json.dumps(defs[name])), found)
        node.pop("description", None)
        for k, v in list(node.items()):
            if k != "$ref":
                node[k] = walk(v, found) if k != "properties" else {
                    p: walk(s, found) for p, s in v.items()}
    elif isinstance(node, list):
        return [walk(x, found) for x in node]
    return node


for kind, name in [("job-batch-v1", "batch/v1 Job"), ("configmap-v1", "v1 ConfigMap")]:
    found = {}
    schema = walk(json.load(open(os.path.join(base, f"{kind}.json"))), found)
    schema.pop("$id", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$comment"] = (f"{name}, Kubernetes {version}, strict; vendored by "
                          "scripts/vendor-job-schema.py from kubernetes-validate 1.37.0 (generated "
                          "from kubernetes/kubernetes api/openapi-spec)")
    schema["$defs"] = dict(sorted(found.items()))
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "k8s",
                       f"{kind}.schema.json")
    with open(out, "w") as f:
        json.dump(schema, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"{out}: {len(found)} definitions")
