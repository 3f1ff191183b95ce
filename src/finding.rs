//! finding (not yet written).
