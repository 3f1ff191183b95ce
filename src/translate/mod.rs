//! Translation: effective requests, QoS, cgroup values (pure core).

pub mod kubelet;
pub mod runtime;
