//! capacity (not yet written).
