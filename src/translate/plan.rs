//! Translation results: one [`PodPlan`] per workload, each number with its derivation
//! (pure core).
//!
//! These types serialize to the stable JSON contract of `kcpu translate --output json`:
//! the five cgroup files use their kernel names (`cpu.shares`, `cpu.cfs_quota_us`,
//! `cpu.cfs_period_us`, `cpu.weight`, `cpu.max`) and every [`Explained`] value serializes as
//! its bare value. Spans stay byte offsets; renderers resolve them.

use crate::cpu::{CgroupVersion, CpuMax, CpuShare};
use crate::manifest::model::Role;
use crate::profile::{Assumptions, CgroupDriver};
use crate::source::Span;
use crate::units::{PeriodUs, QuotaUs, Shares, Weight};
use serde::{Serialize, Serializer};

pub use crate::cpu::{Explained, Step};

use super::TranslateError;

/// The five CPU files of one cgroup, as they read after the kubelet or runtime wrote them.
///
/// `cpu.shares`, `cpu.cfs_quota_us` and `cpu.cfs_period_us` are the cgroup v1 files;
/// `cpu.weight` and `cpu.max` the cgroup v2 files. Both sets are always computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupValues {
    /// v1 `cpu.shares`.
    #[serde(rename = "cpu.shares")]
    pub shares: Explained<Shares>,
    /// v1 `cpu.cfs_quota_us` (−1 = unlimited).
    #[serde(rename = "cpu.cfs_quota_us")]
    pub cfs_quota_us: Explained<QuotaUs>,
    /// v1 `cpu.cfs_period_us`.
    #[serde(rename = "cpu.cfs_period_us")]
    pub cfs_period_us: Explained<PeriodUs>,
    /// v2 `cpu.weight`.
    #[serde(rename = "cpu.weight")]
    pub weight: Explained<Weight>,
    /// v2 `cpu.max` (serialized as `"<quota> <period>"`, `"max <period>"` when unlimited).
    #[serde(rename = "cpu.max")]
    pub max: Explained<CpuMax>,
}

impl CgroupValues {
    /// The weight and bandwidth files one cgroup version reads: v1 `cpu.shares` +
    /// `cpu.cfs_quota_us`/`cpu.cfs_period_us`, or v2 `cpu.weight` + `cpu.max` (crun and systemd
    /// may round the v2 quota differently from v1, so the two are not interchangeable).
    pub fn for_version(&self, version: CgroupVersion) -> (CpuShare, CpuMax) {
        match version {
            CgroupVersion::V1 => (
                CpuShare::Shares(self.shares.value),
                CpuMax {
                    quota: self.cfs_quota_us.value,
                    period: self.cfs_period_us.value,
                },
            ),
            CgroupVersion::V2 => (CpuShare::Weight(self.weight.value), self.max.value),
        }
    }
}

/// Kubernetes QoS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum QosClass {
    /// Every container has equal, non-zero CPU and memory requests and limits.
    Guaranteed,
    /// Anything between.
    Burstable,
    /// No CPU or memory request or limit anywhere.
    BestEffort,
}

impl QosClass {
    /// The upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }

    /// Parses `status.qosClass` (exact upstream spelling).
    pub fn from_status(s: &str) -> Option<QosClass> {
        match s {
            "Guaranteed" => Some(QosClass::Guaranteed),
            "Burstable" => Some(QosClass::Burstable),
            "BestEffort" => Some(QosClass::BestEffort),
            _ => None,
        }
    }

    /// The QoS tier cgroup the pod lands in.
    pub fn tier(self) -> QosTier {
        match self {
            QosClass::Guaranteed => QosTier::Kubepods,
            QosClass::Burstable => QosTier::Burstable,
            QosClass::BestEffort => QosTier::BestEffort,
        }
    }
}

impl std::fmt::Display for QosClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kubelet cgroup a pod cgroup is created under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QosTier {
    /// `kubepods` itself (Guaranteed pods; there is no Guaranteed tier cgroup).
    Kubepods,
    /// `kubepods/burstable`.
    Burstable,
    /// `kubepods/besteffort`.
    BestEffort,
}

impl QosTier {
    /// `kubepods`, `kubepods/burstable` or `kubepods/besteffort`.
    pub fn as_str(self) -> &'static str {
        match self {
            QosTier::Kubepods => "kubepods",
            QosTier::Burstable => "kubepods/burstable",
            QosTier::BestEffort => "kubepods/besteffort",
        }
    }
}

impl Serialize for QosTier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A cgroup path under both drivers (relative to the cgroup mount; the container part uses
/// containerd's naming with a `<container-id>` placeholder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupPaths {
    /// `--cgroup-driver=cgroupfs` path.
    pub cgroupfs: String,
    /// `--cgroup-driver=systemd` path.
    pub systemd: String,
}

impl CgroupPaths {
    /// The path for `driver`.
    pub fn for_driver(&self, driver: CgroupDriver) -> &str {
        match driver {
            CgroupDriver::Cgroupfs => &self.cgroupfs,
            CgroupDriver::Systemd => &self.systemd,
        }
    }
}

/// One container, init container or sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerPlan {
    /// Container name.
    pub name: String,
    /// Role as the kubelet treats it (a restartable init container is `init` when the
    /// `SidecarContainers` gate is off).
    pub role: Role,
    /// Effective CPU request in millicores (after API defaulting: only a limit ⇒ request =
    /// limit); `None` when there is no `cpu` request key.
    pub request_millicores: Explained<Option<i64>>,
    /// CPU limit in millicores as used for the quota (the pod-level limit when inherited);
    /// `None` when there is none.
    pub limit_millicores: Explained<Option<i64>>,
    /// The container cgroup's files.
    #[serde(flatten)]
    pub values: CgroupValues,
    /// The CRI `LinuxContainerResources` CPU fields the kubelet sends (0 = not sent); the OCI
    /// spec is built from them ([`super::oci::LinuxCpu::from_cri`]).
    #[serde(skip)]
    pub cri: super::writer::CpuResources,
    /// CPUs the static CPU manager assigns exclusively (0 = shared pool).
    pub exclusive_cpus: u64,
    /// Container cgroup path under both drivers.
    pub cgroup: CgroupPaths,
    /// Caveats specific to this container.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Span of the container's mapping node.
    #[serde(skip)]
    pub span: Span,
}

/// One workload's pod: QoS, pod cgroup and containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodPlan {
    /// `kind` as written.
    pub kind: String,
    /// Namespace (`default` when absent).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// QoS class.
    pub qos: Explained<QosClass>,
    /// QoS tier the pod cgroup is created under.
    pub qos_tier: QosTier,
    /// Pod cgroup path under both drivers (`metadata.uid`, else the literal `<uid>`).
    pub cgroup: CgroupPaths,
    /// Effective pod CPU request (`PodRequests`, incl. overhead and pod-level resources) in
    /// millicores; `None` when nothing requests CPU.
    pub request_millicores: Explained<Option<i64>>,
    /// The pod CPU limit the pod cgroup's quota is computed from; `None` when the pod
    /// cgroup gets no quota from a limit.
    pub limit_millicores: Explained<Option<i64>>,
    /// The pod cgroup's files (written by the kubelet; weight always linear).
    pub pod: CgroupValues,
    /// Init containers (declaration order), then app containers.
    pub containers: Vec<ContainerPlan>,
    /// Caveats for this pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Span of the workload object.
    #[serde(skip)]
    pub span: Span,
}

/// The result of translating a set of workloads.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The assumptions every number depends on.
    pub assumptions: Assumptions,
    /// One entry per translated workload, in input order.
    pub pods: Vec<PodPlan>,
    /// Workloads that could not be translated.
    pub errors: Vec<TranslateError>,
}

impl Plan {
    /// An empty plan for `assumptions`.
    pub fn new(assumptions: Assumptions) -> Plan {
        Plan {
            assumptions,
            pods: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Adds one workload's outcome.
    pub fn push(&mut self, result: Result<PodPlan, TranslateError>) {
        match result {
            Ok(p) => self.pods.push(p),
            Err(e) => self.errors.push(e),
        }
    }
}
