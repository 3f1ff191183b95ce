//! profile (not yet written).
