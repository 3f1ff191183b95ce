//! The kind table: where each kind keeps its pod spec (pure core).
//!
//! Paths follow the Kubernetes API types (k8s.io/api): Pod `.spec`; Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, ReplicationController, Job `.spec.template.spec`; CronJob
//! `.spec.jobTemplate.spec.template.spec`; PodTemplate `.template.spec`. Any other kind whose
//! `spec.template.spec` or `spec.jobTemplate.spec.template.spec` holds `containers` (Argo
//! Rollouts, OpenKruise CloneSets, …) is treated as a workload too.

/// Where a kind keeps its pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPath {
    /// `.spec` (Pod).
    Spec,
    /// `.spec.template.spec`.
    SpecTemplate,
    /// `.spec.jobTemplate.spec.template.spec` (CronJob).
    JobTemplate,
    /// `.template.spec` (PodTemplate).
    Template,
}

/// The built-in workload kinds and their pod spec paths.
pub const WORKLOAD_KINDS: &[(&str, PodPath)] = &[
    ("Pod", PodPath::Spec),
    ("Deployment", PodPath::SpecTemplate),
    ("StatefulSet", PodPath::SpecTemplate),
    ("DaemonSet", PodPath::SpecTemplate),
    ("ReplicaSet", PodPath::SpecTemplate),
    ("ReplicationController", PodPath::SpecTemplate),
    ("Job", PodPath::SpecTemplate),
    ("CronJob", PodPath::JobTemplate),
    ("PodTemplate", PodPath::Template),
];

/// Kinds known to carry no pod template; their bodies are skipped without being built.
pub const NON_WORKLOAD_KINDS: &[&str] = &[
    "APIService",
    "Binding",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "ControllerRevision",
    "CustomResourceDefinition",
    "EndpointSlice",
    "Endpoints",
    "Event",
    "FlowSchema",
    "Ingress",
    "IngressClass",
    "Lease",
    "MutatingWebhookConfiguration",
    "Namespace",
    "NetworkPolicy",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "Role",
    "RoleBinding",
    "RuntimeClass",
    "Secret",
    "Service",
    "ServiceAccount",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// The pod spec path of a built-in workload kind.
pub fn pod_path(kind: &str) -> Option<PodPath> {
    WORKLOAD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
}

/// True for kinds that certainly hold no pod template.
pub fn is_non_workload(kind: &str) -> bool {
    NON_WORKLOAD_KINDS.binary_search(&kind).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        let mut v = NON_WORKLOAD_KINDS.to_vec();
        v.sort_unstable();
        assert_eq!(v, NON_WORKLOAD_KINDS);
        assert!(is_non_workload("Service"));
        assert!(!is_non_workload("Rollout"));
        assert_eq!(pod_path("CronJob"), Some(PodPath::JobTemplate));
        assert_eq!(pod_path("Rollout"), None);
    }
}
