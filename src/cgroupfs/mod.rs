//! Typed cgroupfs layer, v1 and v2 (not yet written).
