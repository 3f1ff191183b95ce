//! Linter: rule registry, policy and inline ignores (not yet written).
