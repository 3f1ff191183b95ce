//! End-to-end tests of `translate_workload`: upstream kubelet test tables, gates, runtimes,
//! errors, and property tests.

use super::*;
use crate::manifest::model::{Container, Metadata, PodSpec, Resources};
use crate::profile::{CgroupDriver, GateOverrides, KubeVersion, Runtime, WeightFormula};
use crate::source::SourceId;
use crate::units::Weight;
use proptest::prelude::*;
use std::cell::Cell;
use std::collections::BTreeMap;

thread_local! {
    static NEXT: Cell<usize> = const { Cell::new(0) };
}

/// A fresh span (increasing offsets, so "first error" has a meaning).
fn span() -> Span {
    NEXT.with(|n| {
        let s = n.get();
        n.set(s + 10);
        Span::new(SourceId(0), s, s + 5)
    })
}

/// Parses the few quantity spellings the tests use: `100m`, `100Mi`, `2Gi`, `2`, `0.5`.
fn nanos(raw: &str) -> i128 {
    if let Some(v) = raw.strip_suffix('m') {
        return v.parse::<i128>().unwrap() * 1_000_000;
    }
    if let Some(v) = raw.strip_suffix("Mi") {
        return v.parse::<i128>().unwrap() * (1 << 20) * 1_000_000_000;
    }
    if let Some(v) = raw.strip_suffix("Gi") {
        return v.parse::<i128>().unwrap() * (1 << 30) * 1_000_000_000;
    }
    if let Some((i, f)) = raw.split_once('.') {
        let frac = format!("{f:0<9}");
        return i.parse::<i128>().unwrap() * 1_000_000_000 + frac.parse::<i128>().unwrap();
    }
    raw.parse::<i128>().unwrap() * 1_000_000_000
}

/// A parse error for `input` (whatever the parser says), with a fixed reason and hint so
/// the assertions do not depend on the parser's wording.
pub(crate) fn qerr(
    input: &str,
    reason: &str,
    hint: Option<&str>,
) -> crate::quantity::QuantityError {
    let mut e = crate::quantity::parse(input).expect_err("test input must not parse");
    e.reason = reason.to_string();
    e.hint = hint.map(str::to_string);
    e
}

fn qv(raw: &str) -> QuantityValue {
    QuantityValue {
        raw: raw.into(),
        span: span(),
        key_span: span(),
        parsed: Ok(Quantity { nanos: nanos(raw) }),
    }
}

/// `getResourceList(cpu, memory)`: empty strings are left out.
fn list(cpu: &str, memory: &str) -> ResourceList {
    let mut entries = BTreeMap::new();
    if !cpu.is_empty() {
        entries.insert("cpu".to_string(), qv(cpu));
    }
    if !memory.is_empty() {
        entries.insert("memory".to_string(), qv(memory));
    }
    ResourceList {
        entries,
        span: Some(span()),
    }
}

fn res(requests: ResourceList, limits: ResourceList) -> Resources {
    Resources {
        requests,
        limits,
        span: Some(span()),
        unknown_keys: Vec::new(),
    }
}

fn ctr(name: &str, role: Role, resources: Resources) -> Container {
    Container {
        name: name.into(),
        role,
        resources,
        span: span(),
    }
}

fn pod(containers: Vec<Container>, init: Vec<Container>, pod_level: Option<Resources>) -> Workload {
    Workload {
        kind: "Pod".into(),
        api_version: "v1".into(),
        metadata: Metadata {
            name: "p".into(),
            ..Metadata::default()
        },
        template_metadata: Metadata::default(),
        replicas: None,
        status_qos: None,
        pod: PodSpec {
            containers,
            init_containers: init,
            overhead: ResourceList::default(),
            resources: pod_level,
            span: span(),
        },
        span: span(),
        doc_index: 0,
        list_path: Vec::new(),
    }
}

fn one(requests: ResourceList, limits: ResourceList) -> Vec<Container> {
    vec![ctr("c", Role::Container, res(requests, limits))]
}

fn none() -> Vec<Container> {
    vec![ctr(
        "Container with no resources",
        Role::Container,
        Resources::default(),
    )]
}

/// Raw kubelet output for the pod cgroup: (shares, quota if set, period if set).
fn pod_config(p: &PodPlan) -> (u64, Option<i64>, Option<u64>) {
    let v = &p.pod;
    (
        v.shares.value.0,
        (!v.cfs_quota_us.kernel_default).then_some(v.cfs_quota_us.value.0),
        (!v.cfs_period_us.kernel_default).then_some(v.cfs_period_us.value.0),
    )
}

fn kubelet_unit(enforce: bool, period: u64, custom_gate: bool, minor: u32) -> Assumptions {
    Assumptions {
        driver: CgroupDriver::Cgroupfs,
        cfs_period: PeriodUs(period),
        cpu_cfs_quota: enforce,
        kubernetes: KubeVersion::new(minor),
        gates: GateOverrides {
            custom_cpu_cfs_quota_period: Some(custom_gate),
            ..GateOverrides::default()
        },
        ..Assumptions::default()
    }
}

type Case = (
    &'static str,
    Workload,
    bool,
    u64,
    (u64, Option<i64>, Option<u64>),
);

/// kubernetes `pkg/kubelet/cm/helpers_linux_test.go` TestResourceConfigForPod (gate
/// `CustomCPUCFSQuotaPeriod` off, 1.33–1.36 era), expected values as in reference §6.1.
fn resource_config_for_pod_cases() -> Vec<Case> {
    let burst = || one(list("100m", "100Mi"), list("200m", "200Mi"));
    let partial = || {
        vec![
            ctr(
                "a",
                Role::Container,
                res(list("100m", "100Mi"), list("200m", "200Mi")),
            ),
            ctr(
                "b",
                Role::Container,
                res(list("100m", "100Mi"), list("", "")),
            ),
        ]
    };
    let guar = || one(list("100m", "100Mi"), list("100m", "100Mi"));
    let init2 = || {
        vec![
            ctr(
                "a",
                Role::Container,
                res(list("100m", "100m"), list("100m", "100Mi")),
            ),
            ctr(
                "b",
                Role::Container,
                res(list("100m", "100m"), list("", "")),
            ),
        ]
    };
    let init2i = || {
        vec![
            ctr(
                "i",
                Role::Init,
                res(list("100m", "100m"), list("100m", "100Mi")),
            ),
            ctr("j", Role::Init, res(list("100m", "100m"), list("", ""))),
        ]
    };
    let plr =
        |req: (&str, &str), lim: (&str, &str)| Some(res(list(req.0, req.1), list(lim.0, lim.1)));
    vec![
        (
            "besteffort",
            pod(one(list("", ""), list("", "")), vec![], None),
            true,
            100_000,
            (2, None, None),
        ),
        (
            "burstable-no-limits",
            pod(one(list("100m", "100Mi"), list("", "")), vec![], None),
            true,
            100_000,
            (102, None, None),
        ),
        (
            "burstable-with-limits",
            pod(burst(), vec![], None),
            true,
            100_000,
            (102, Some(20_000), Some(100_000)),
        ),
        (
            "burstable-with-limits-no-cpu-enforcement",
            pod(burst(), vec![], None),
            false,
            100_000,
            (102, Some(-1), Some(100_000)),
        ),
        (
            "burstable-partial-limits",
            pod(partial(), vec![], None),
            true,
            100_000,
            (204, None, None),
        ),
        (
            "burstable-with-limits-with-tuned-quota",
            pod(burst(), vec![], None),
            true,
            5000,
            (102, Some(20_000), Some(5000)),
        ),
        (
            "burstable-with-limits-no-cpu-enforcement-with-tuned-quota",
            pod(burst(), vec![], None),
            false,
            5000,
            (102, Some(-1), Some(5000)),
        ),
        (
            "burstable-partial-limits-with-tuned-quota",
            pod(partial(), vec![], None),
            true,
            5000,
            (204, None, None),
        ),
        (
            "guaranteed",
            pod(guar(), vec![], None),
            true,
            100_000,
            (102, Some(10_000), Some(100_000)),
        ),
        (
            "guaranteed-no-cpu-enforcement",
            pod(guar(), vec![], None),
            false,
            100_000,
            (102, Some(-1), Some(100_000)),
        ),
        (
            "guaranteed-with-tuned-quota",
            pod(guar(), vec![], None),
            true,
            5000,
            (102, Some(10_000), Some(5000)),
        ),
        (
            "guaranteed-no-cpu-enforcement-with-tuned-quota",
            pod(guar(), vec![], None),
            false,
            5000,
            (102, Some(-1), Some(5000)),
        ),
        (
            "burstable-partial-limits-with-init-containers",
            pod(init2(), init2i(), None),
            true,
            5000,
            (204, None, None),
        ),
        (
            "besteffort-with-pod-level-resources-enabled",
            pod(
                one(list("", ""), list("", "")),
                vec![],
                plr(("", ""), ("", "")),
            ),
            true,
            100_000,
            (2, None, None),
        ),
        (
            "burstable-with-pod-level-requests",
            pod(none(), vec![], plr(("100m", "100Mi"), ("", ""))),
            true,
            100_000,
            (102, None, None),
        ),
        (
            "burstable-with-pod-and-container-level-requests",
            pod(
                one(list("10m", "50Mi"), list("", "")),
                vec![],
                plr(("100m", "100Mi"), ("", "")),
            ),
            true,
            100_000,
            (102, None, None),
        ),
        (
            "burstable-with-pod-level-resources",
            pod(none(), vec![], plr(("100m", "100Mi"), ("200m", "200Mi"))),
            true,
            100_000,
            (102, Some(20_000), Some(100_000)),
        ),
        (
            "burstable-with-pod-and-container-level-resources",
            pod(
                one(list("10m", "50Mi"), list("50m", "100Mi")),
                vec![],
                plr(("100m", "100Mi"), ("200m", "200Mi")),
            ),
            true,
            100_000,
            (102, Some(20_000), Some(100_000)),
        ),
        (
            "burstable-with-partial-pod-level-resources-limits",
            pod(
                one(list("200m", "200Mi"), list("200m", "200Mi")),
                vec![],
                plr(("200m", "300Mi"), ("", "")),
            ),
            true,
            100_000,
            (204, Some(20_000), Some(100_000)),
        ),
        (
            "guaranteed-with-pod-level-resources",
            pod(none(), vec![], plr(("100m", "100Mi"), ("100m", "100Mi"))),
            true,
            100_000,
            (102, Some(10_000), Some(100_000)),
        ),
        (
            "guaranteed-with-pod-and-container-level-resources",
            pod(
                one(list("10m", "50Mi"), list("50m", "100Mi")),
                vec![],
                plr(("100m", "100Mi"), ("100m", "100Mi")),
            ),
            true,
            100_000,
            (102, Some(10_000), Some(100_000)),
        ),
        (
            "guaranteed-pod-level-resources-with-init-containers",
            pod(
                one(list("10m", "50Mi"), list("50m", "50Mi")),
                vec![ctr(
                    "i",
                    Role::Init,
                    res(list("10m", "50Mi"), list("50m", "50Mi")),
                )],
                plr(("100m", "100Mi"), ("100m", "100Mi")),
            ),
            true,
            100_000,
            (102, Some(10_000), Some(100_000)),
        ),
    ]
}

#[test]
fn upstream_test_resource_config_for_pod() {
    let mut failures = Vec::new();
    for (name, w, enforce, period, want) in resource_config_for_pod_cases() {
        let a = kubelet_unit(enforce, period, false, 34);
        match translate_workload(&w, &a) {
            Ok(p) if pod_config(&p) == want => {}
            Ok(p) => failures.push(format!("{name}: got {:?}, want {want:?}", pod_config(&p))),
            Err(e) => failures.push(format!("{name}: error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// TestResourceConfigForPodWithCustomCPUCFSQuotaPeriod: identical except the tuned rows,
/// where the quota follows the 5 ms period (200m → 1000, 100m → 500 floored to 1000).
#[test]
fn upstream_test_resource_config_for_pod_custom_period() {
    let mut failures = Vec::new();
    for (name, w, enforce, period, mut want) in resource_config_for_pod_cases() {
        if name == "burstable-with-limits-with-tuned-quota" || name == "guaranteed-with-tuned-quota"
        {
            want.1 = Some(1000);
        }
        let a = kubelet_unit(enforce, period, true, 34);
        let got = translate_workload(&w, &a).map(|p| pod_config(&p));
        if got.as_ref().ok() != Some(&want) {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The post-1.36 helpers_linux_test.go expects the caller's period without any gate.
#[test]
fn newer_kubelets_use_the_configured_period_for_the_pod_quota() {
    let w = pod(
        one(list("100m", "100Mi"), list("200m", "200Mi")),
        vec![],
        None,
    );
    let p = translate_workload(&w, &kubelet_unit(true, 5000, false, 37)).unwrap();
    assert_eq!(pod_config(&p), (102, Some(1000), Some(5000)));
    let p = translate_workload(&w, &kubelet_unit(true, 5000, false, 36)).unwrap();
    assert_eq!(pod_config(&p), (102, Some(20_000), Some(5000)));
}

/// Container CRI values: (CpuShares, CpuQuota, CpuPeriod) as seen in the v1 files.
fn container_cri(c: &ContainerPlan) -> (u64, Option<i64>, Option<u64>) {
    let v = &c.values;
    (
        v.shares.value.0,
        (!v.cfs_quota_us.kernel_default).then_some(v.cfs_quota_us.value.0),
        (!v.cfs_period_us.kernel_default).then_some(v.cfs_period_us.value.0),
    )
}

/// kubernetes `pkg/kubelet/kuberuntime/kuberuntime_container_linux_test.go`
/// TestCalculateLinuxResources (cpuCFSQuota on, gate off). A CRI quota of 0 is dropped by
/// containerd, so "no limit" shows as an unwritten quota.
#[test]
fn upstream_test_calculate_linux_resources() {
    let a = kubelet_unit(true, 100_000, false, 34);
    let cases = [
        (
            list("1", ""),
            list("2", "128Mi"),
            (1024, Some(200_000), Some(100_000)),
        ),
        (
            list("2", ""),
            list("8", ""),
            (2048, Some(800_000), Some(100_000)),
        ),
        (
            list("", ""),
            list("2", ""),
            (2048, Some(200_000), Some(100_000)),
        ),
        (
            list("0", ""),
            list("2", ""),
            (2, Some(200_000), Some(100_000)),
        ),
    ];
    for (i, (req, lim, want)) in cases.into_iter().enumerate() {
        let p = translate_workload(&pod(one(req, lim), vec![], None), &a).unwrap();
        assert_eq!(container_cri(&p.containers[0]), want, "case {i}");
        assert_eq!(
            p.containers[0].values.max.value.to_string(),
            format!("{} 100000", want.1.unwrap()),
            "case {i}"
        );
    }
}

/// TestGenerateLinuxContainerResources (the test manager has cpuCFSQuota off: no quota and
/// no period reach the runtime, the files keep kernel defaults).
#[test]
fn upstream_test_generate_linux_container_resources() {
    let a = kubelet_unit(false, 100_000, false, 34);
    let cases = [
        (list("250m", "500Mi"), list("250m", "500Mi"), 256),
        (list("250m", "500Mi"), list("500m", "750Mi"), 256),
        (list("", ""), list("", ""), 2),
    ];
    for (req, lim, shares) in cases {
        let p = translate_workload(&pod(one(req, lim), vec![], None), &a).unwrap();
        let c = &p.containers[0];
        assert_eq!(container_cri(c), (shares, None, None));
        assert_eq!(c.values.max.value.to_string(), "max 100000");
        assert!(c.values.max.kernel_default);
    }
}

#[test]
fn limit_only_container_gets_period_and_max() {
    // Request absent, limit absent, quota enforcement on: period written, quota not.
    let a = Assumptions {
        driver: CgroupDriver::Cgroupfs,
        ..Assumptions::default()
    };
    let p =
        translate_workload(&pod(one(list("100m", ""), list("", "")), vec![], None), &a).unwrap();
    let c = &p.containers[0];
    assert_eq!(container_cri(c), (102, None, Some(100_000)));
    assert_eq!(c.values.max.value.to_string(), "max 100000");
    assert!(
        !c.values.max.kernel_default,
        "runc writes \"max 100000\" because a period is set"
    );
    assert_eq!(c.values.cfs_quota_us.value, QuotaUs(-1));
}

#[test]
fn pod_weight_is_linear_container_weight_follows_runtime() {
    let w = pod(one(list("100m", ""), list("", "")), vec![], None);
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.pod.weight.value, Weight(4));
    assert_eq!(p.containers[0].values.weight.value, Weight(17));
    let old = Assumptions {
        runtime: Runtime::Runc1_2,
        ..Assumptions::default()
    };
    assert_eq!(
        translate_workload(&w, &old).unwrap().containers[0]
            .values
            .weight
            .value,
        Weight(4)
    );
    let overridden = Assumptions {
        weight_formula: Some(WeightFormula::Linear),
        ..Assumptions::default()
    };
    assert_eq!(
        translate_workload(&w, &overridden).unwrap().containers[0]
            .values
            .weight
            .value,
        Weight(4)
    );
}

#[test]
fn systemd_rounding_end_to_end() {
    let w = pod(one(list("15m", "10Mi"), list("15m", "10Mi")), vec![], None);
    // Container: runc 1.4 writes the rounded quota; pod (kubelet 1.34, cgroups v0.0.1) does not.
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.containers[0].values.max.value.to_string(), "2000 100000");
    assert_eq!(p.pod.max.value.to_string(), "1500 100000");
    let p35 = translate_workload(
        &w,
        &Assumptions {
            kubernetes: KubeVersion::new(35),
            ..Assumptions::default()
        },
    )
    .unwrap();
    assert_eq!(p35.pod.max.value.to_string(), "2000 100000");
    let fs = translate_workload(
        &w,
        &Assumptions {
            driver: CgroupDriver::Cgroupfs,
            ..Assumptions::default()
        },
    )
    .unwrap();
    assert_eq!(fs.containers[0].values.cfs_quota_us.value, QuotaUs(1500));
}

#[test]
fn static_cpu_manager_exclusive_cpus() {
    let w = pod(one(list("2", "1Gi"), list("2", "1Gi")), vec![], None);
    let a = Assumptions {
        cpu_manager_policy: CpuManagerPolicy::Static,
        ..Assumptions::default()
    };
    let p = translate_workload(&w, &a).unwrap();
    let c = &p.containers[0];
    assert_eq!(p.qos.value, QosClass::Guaranteed);
    assert_eq!(c.exclusive_cpus, 2);
    assert_eq!(c.values.max.value.to_string(), "max 100000");
    assert_eq!(c.values.cfs_quota_us.value, QuotaUs(-1));
    assert!(!c.values.cfs_quota_us.kernel_default);
    assert_eq!(p.pod.max.value.to_string(), "max 100000");
    // Before 1.33 the quota stays.
    let old = Assumptions {
        kubernetes: KubeVersion::new(32),
        ..a.clone()
    };
    let p = translate_workload(&w, &old).unwrap();
    assert_eq!(p.containers[0].exclusive_cpus, 2);
    assert_eq!(
        p.containers[0].values.max.value.to_string(),
        "200000 100000"
    );
    assert_eq!(p.pod.max.value.to_string(), "200000 100000");
    // Non-integral request: shared pool, normal quota.
    let w = pod(
        one(list("1500m", "1Gi"), list("1500m", "1Gi")),
        vec![],
        None,
    );
    let p = translate_workload(&w, &a).unwrap();
    assert_eq!(p.containers[0].exclusive_cpus, 0);
    assert_eq!(
        p.containers[0].values.max.value.to_string(),
        "150000 100000"
    );
}

#[test]
fn pod_level_limit_is_inherited_by_containers() {
    let w = pod(
        one(list("", ""), list("", "")),
        vec![],
        Some(res(list("500m", "1Gi"), list("2", "1Gi"))),
    );
    let a = Assumptions {
        driver: CgroupDriver::Cgroupfs,
        ..Assumptions::default()
    };
    let p = translate_workload(&w, &a).unwrap();
    let c = &p.containers[0];
    assert_eq!(c.request_millicores.value, None);
    assert_eq!(c.limit_millicores.value, Some(2000));
    assert_eq!(
        container_cri(c),
        (2048, Some(200_000), Some(100_000)),
        "shares from the pod-level limit"
    );
    assert_eq!(p.qos.value, QosClass::Burstable);
    assert_eq!(pod_config(&p), (512, Some(200_000), Some(100_000)));
    // With the gate off (1.33) spec.resources is dropped: BestEffort.
    let old = Assumptions {
        kubernetes: KubeVersion::new(33),
        ..a
    };
    let p = translate_workload(&w, &old).unwrap();
    assert_eq!(p.qos.value, QosClass::BestEffort);
    assert_eq!(container_cri(&p.containers[0]), (2, None, Some(100_000)));
    assert!(p.notes.iter().any(|n| n.contains("spec.resources ignored")));
}

#[test]
fn pod_level_limits_only_default_requests_from_containers() {
    // Reference §4.3: pod-level limits {cpu 3, memory 1Gi}, container requests cpu 700m.
    let w = pod(
        one(list("700m", ""), list("", "")),
        vec![],
        Some(res(list("", ""), list("3", "1Gi"))),
    );
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.qos.value, QosClass::Burstable);
    assert_eq!(p.request_millicores.value, Some(700));
    assert_eq!(p.pod.shares.value, Shares(716));
    assert_eq!(p.limit_millicores.value, Some(3000));
}

#[test]
fn sidecars_and_init_containers() {
    let init = vec![
        ctr("setup", Role::Init, res(list("500m", ""), list("", ""))),
        ctr("proxy", Role::Sidecar, res(list("100m", ""), list("", ""))),
    ];
    let w = pod(one(list("200m", ""), list("", "")), init, None);
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.request_millicores.value, Some(500), "max(200 + 100, 500)");
    assert_eq!(p.containers.len(), 3);
    assert_eq!(p.containers[1].role, Role::Sidecar);
    // 1.28: SidecarContainers off → the sidecar is an ordinary init container.
    let p = translate_workload(
        &w,
        &Assumptions {
            kubernetes: KubeVersion::new(28),
            ..Assumptions::default()
        },
    )
    .unwrap();
    assert_eq!(p.containers[1].role, Role::Init);
    assert_eq!(p.request_millicores.value, Some(500), "max(200, 500, 100)");
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("restartPolicy: Always ignored")));
}

#[test]
fn init_container_without_limit_disables_pod_quota() {
    let init = vec![ctr(
        "setup",
        Role::Init,
        res(list("100m", ""), list("", "")),
    )];
    let w = pod(one(list("100m", ""), list("1", "")), init, None);
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.qos.value, QosClass::Burstable);
    assert_eq!(p.limit_millicores.value, None);
    assert!(p.pod.max.kernel_default);
    let old = Assumptions {
        kubernetes: KubeVersion::new(26),
        ..Assumptions::default()
    };
    let p = translate_workload(&w, &old).unwrap();
    assert_eq!(p.limit_millicores.value, Some(1000));
    assert_eq!(p.pod.max.value.to_string(), "100000 100000");
}

#[test]
fn overhead_adds_to_pod_values_only() {
    let mut w = pod(one(list("1", "1Gi"), list("1", "1Gi")), vec![], None);
    w.pod.overhead = list("250m", "");
    let a = Assumptions {
        driver: CgroupDriver::Cgroupfs,
        ..Assumptions::default()
    };
    let p = translate_workload(&w, &a).unwrap();
    assert_eq!(p.request_millicores.value, Some(1250));
    assert_eq!(pod_config(&p), (1280, Some(125_000), Some(100_000)));
    assert_eq!(
        container_cri(&p.containers[0]),
        (1024, Some(100_000), Some(100_000))
    );
}

#[test]
fn status_qos_wins() {
    let mut w = pod(one(list("100m", ""), list("", "")), vec![], None);
    w.status_qos = Some("BestEffort".into());
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.qos.value, QosClass::BestEffort);
    assert_eq!(p.pod.shares.value, Shares(2));
    assert!(p.notes.iter().any(|n| n.contains("differs")));
}

#[test]
fn cgroup_paths() {
    let mut w = pod(one(list("100m", ""), list("", "")), vec![], None);
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.qos_tier, QosTier::Burstable);
    assert_eq!(p.cgroup.cgroupfs, "/kubepods/burstable/pod<uid>");
    assert_eq!(
        p.cgroup.systemd,
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice"
    );
    w.metadata.uid = Some("6b1f-22".into());
    w.pod.containers = one(list("1", "1Gi"), list("1", "1Gi"));
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    assert_eq!(p.cgroup.cgroupfs, "/kubepods/pod6b1f-22");
    assert_eq!(
        p.cgroup.systemd,
        "/kubepods.slice/kubepods-pod6b1f_22.slice"
    );
    assert_eq!(
        p.containers[0].cgroup.systemd,
        "/kubepods.slice/kubepods-pod6b1f_22.slice/cri-containerd-<container-id>.scope"
    );
}

#[test]
fn bad_quantities_are_typed_errors_with_spans() {
    let mut bad = list("", "");
    let mut v = qv("1");
    v.raw = "1,5".into();
    v.parsed = Err(qerr("1,5", "bad", Some("1.5")));
    let bad_span = v.span;
    bad.entries.insert("cpu".into(), v);
    let w = pod(one(bad, list("", "")), vec![], None);
    let e = translate_workload(&w, &Assumptions::default()).unwrap_err();
    assert_eq!(e.span(), bad_span);
    assert_eq!(e.code(), "invalid-quantity");
    assert_eq!(e.hint().as_deref(), Some("1.5"));
    assert!(
        e.to_string()
            .contains("containers[c].resources.requests.cpu"),
        "{e}"
    );

    let mut neg = list("", "");
    let mut v = qv("1");
    v.raw = "-1".into();
    v.parsed = Ok(Quantity {
        nanos: -1_000_000_000,
    });
    neg.entries.insert("cpu".into(), v);
    let e = translate_workload(
        &pod(one(list("", ""), neg), vec![], None),
        &Assumptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "negative-quantity");

    // A bad memory value only matters when the QoS class must be computed.
    let mut mem = list("100m", "");
    let mut v = qv("1");
    v.parsed = Err(qerr("x", "bad", None));
    mem.entries.insert("memory".into(), v);
    let mut w = pod(one(mem, list("", "")), vec![], None);
    assert!(translate_workload(&w, &Assumptions::default()).is_err());
    w.status_qos = Some("Burstable".into());
    assert!(translate_workload(&w, &Assumptions::default()).is_ok());
}

#[test]
fn translate_collects_errors_and_plans() {
    let good = pod(one(list("100m", ""), list("", "")), vec![], None);
    let mut badl = list("", "");
    let mut v = qv("1");
    v.parsed = Err(qerr("x", "bad", None));
    badl.entries.insert("cpu".into(), v);
    let bad = pod(one(badl, list("", "")), vec![], None);
    let plan = translate(&[good.clone(), bad, good], &Assumptions::default());
    assert_eq!(plan.pods.len(), 2);
    assert_eq!(plan.errors.len(), 1);
    assert_eq!(burstable_tier_shares(&plan.pods), Shares(204));
}

#[test]
fn tier_values() {
    let a = Assumptions::default();
    let kubepods = kubelet_managed_values(kubelet::kubepods_shares(MilliCpu(8000)), Vec::new(), &a);
    assert_eq!(kubepods.shares.value, Shares(8192));
    assert_eq!(
        kubepods.weight.value,
        Weight(313),
        "kubernetes PR #139807: kubepods.slice cpu.weight 313"
    );
    assert_eq!(kubepods.max.value.to_string(), "max 100000");
    assert!(kubepods.max.kernel_default && kubepods.cfs_quota_us.kernel_default);
    let be = kubelet_managed_values(kubelet::besteffort_tier_shares(), Vec::new(), &a);
    assert_eq!(be.weight.value, Weight(1));
}

#[test]
fn explanations_cite_sources_and_kernel_defaults() {
    let w = pod(one(list("100m", ""), list("", "")), vec![], None);
    let p = translate_workload(&w, &Assumptions::default()).unwrap();
    let steps = &p.pod.shares.steps;
    assert!(
        steps.iter().any(|s| s
            .text
            .contains("MilliCPUToShares(100) = 100*1024/1000 = 102")),
        "{steps:#?}"
    );
    assert!(p
        .pod
        .max
        .steps
        .last()
        .unwrap()
        .text
        .contains("kernel default"));
    for v in [&p.pod, &p.containers[0].values] {
        for s in v
            .shares
            .steps
            .iter()
            .chain(&v.weight.steps)
            .chain(&v.max.steps)
            .chain(&v.cfs_quota_us.steps)
        {
            assert!(!s.source.is_empty() && !s.text.is_empty());
        }
    }
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["pod"]["cpu.shares"], 102);
    assert_eq!(json["pod"]["cpu.max"], "max 100000");
    assert_eq!(json["containers"][0]["cpu.weight"], 17);
    assert_eq!(json["containers"][0]["request_millicores"], 100);
    assert!(json["containers"][0]["limit_millicores"].is_null());
}

proptest! {
    #[test]
    fn shares_and_weights_are_monotonic(a in 0i64..2_000_000, b in 0i64..2_000_000) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (s_lo, s_hi) = (kubelet::milli_cpu_to_shares(MilliCpu(lo)), kubelet::milli_cpu_to_shares(MilliCpu(hi)));
        prop_assert!(s_lo <= s_hi);
        prop_assert!(kubelet::kubelet_cpu_weight(Some(s_lo)).value <= kubelet::kubelet_cpu_weight(Some(s_hi)).value);
        prop_assert!(runtime::runtime_linear_weight(s_lo).value <= runtime::runtime_linear_weight(s_hi).value);
        prop_assert!(runtime::quadratic_weight(s_lo).value <= runtime::quadratic_weight(s_hi).value);
    }

    #[test]
    fn quota_is_monotonic(a in 0i64..2_000_000, b in 0i64..2_000_000, p in 1_000u64..=1_000_000) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(kubelet::milli_cpu_to_quota(MilliCpu(lo), PeriodUs(p)) <= kubelet::milli_cpu_to_quota(MilliCpu(hi), PeriodUs(p)));
        let r_lo = runtime::systemd_add_cpu_quota(kubelet::milli_cpu_to_quota(MilliCpu(lo), PeriodUs(p)), PeriodUs(p)).quota;
        let r_hi = runtime::systemd_add_cpu_quota(kubelet::milli_cpu_to_quota(MilliCpu(hi), PeriodUs(p)), PeriodUs(p)).quota;
        prop_assert!(r_lo <= r_hi);
    }

    #[test]
    fn kubelet_values_stay_in_kernel_ranges(m in proptest::num::i64::ANY) {
        let s = kubelet::milli_cpu_to_shares(MilliCpu(m));
        prop_assert!((2..=262_144).contains(&s.0));
        for w in [kubelet::kubelet_cpu_weight(Some(s)).value, runtime::runtime_linear_weight(s).value, runtime::quadratic_weight(s).value] {
            prop_assert!((1..=10_000).contains(&w.0), "{s} -> {w}");
        }
        if m > 0 {
            prop_assert!(kubelet::milli_cpu_to_quota(MilliCpu(m.min(1 << 40)), PeriodUs(100_000)).0 >= 1000);
        }
    }

    #[test]
    fn systemd_rounding_never_lowers_and_stays_within_a_step(q in 1i64..10_000_000, p in 1_000u64..=1_000_000) {
        let r = runtime::systemd_add_cpu_quota(QuotaUs(q), PeriodUs(p));
        let per_sec = r.per_sec_usec.unwrap();
        prop_assert_eq!(per_sec % 10_000, 0);
        prop_assert!(per_sec >= (q as u64 * 1_000_000) / p);
        prop_assert!(per_sec < (q as u64 * 1_000_000) / p + 10_000);
    }

    #[test]
    fn more_request_never_fewer_container_shares(a in 0i64..300_000, b in 0i64..300_000) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let run = |m: i64| {
            let w = pod(one(list(&format!("{m}m"), ""), list("", "")), vec![], None);
            let p = translate_workload(&w, &Assumptions::default()).unwrap();
            (p.containers[0].values.shares.value, p.containers[0].values.weight.value, p.pod.weight.value)
        };
        let (lo_v, hi_v) = (run(lo), run(hi));
        prop_assert!(lo_v.0 <= hi_v.0 && lo_v.1 <= hi_v.1 && lo_v.2 <= hi_v.2);
    }
}
