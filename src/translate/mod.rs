//! Translation: effective requests, QoS, cgroup values (not yet written).
