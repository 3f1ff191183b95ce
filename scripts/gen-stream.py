#!/usr/bin/env python3
# scripts/gen-stream.py PATH MB [findings] - generates a ~MB-megabyte multi-document stream of Deployments (kcpu hardening, defect 7).
# With `findings`, every Deployment has three findings for `kcpu check` (exit 1): its main container
# has no CPU request and a limit written `200M` (KCPU004), its sidecar a limit below its request
# (KCPU009) that is a multiple of 1024m (KCPU008).
import sys
path, target = sys.argv[1], int(sys.argv[2]) * 1_000_000
findings = sys.argv[3:] == ["findings"]
tmpl = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{ns}
  labels: {{app: app-{i}, tier: backend}}
spec:
  replicas: {r}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      containers:
      - name: main
        image: registry.example.com/app:{i}
        resources:
          requests: {{cpu: {req}m, memory: 256Mi}}
          limits: {{cpu: {lim}m, memory: 512Mi}}
      - name: sidecar
        image: envoy:1.30
        resources:
          requests: {{cpu: 100m}}
          limits: {{cpu: 200m}}
"""
if findings:
    tmpl = tmpl.replace("requests: {{cpu: {req}m, memory: 256Mi}}", "requests: {{memory: 256Mi}}")
    tmpl = tmpl.replace("limits: {{cpu: {lim}m, memory: 512Mi}}", "limits: {{cpu: 200M, memory: 512Mi}}")
    tmpl = tmpl.replace("requests: {{cpu: 100m}}", "requests: {{cpu: 2}}").replace("limits: {{cpu: 200m}}", "limits: {{cpu: 1024m}}")
n = 0
i = 0
with open(path, "w") as f:
    while n < target:
        s = tmpl.format(i=i, ns=i % 50, r=1 + i % 5, req=100 + i % 900, lim=200 + i % 1800)
        f.write(s); n += len(s); i += 1
print(i, "deployments", n, "bytes")
