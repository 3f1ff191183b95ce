//! CFS bandwidth simulator (not yet written).
