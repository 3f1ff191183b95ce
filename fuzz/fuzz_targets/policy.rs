//! The policy file (`.kcpu.yaml`): parse, then check a small manifest with it.
#![no_main]
use kcpu::lint::{check_text, policy::Policy};
use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod, labels: {app: web}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        resources: {requests: {cpu: 250m}, limits: {cpu: 500m}}\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::from_yaml(text) {
        let _ = policy.assumptions();
        let _ = check_text("fuzz.yaml", MANIFEST, &policy);
    }
});
