//! Runner: cgroup lifetime, mini-init, sampling (not yet written).
