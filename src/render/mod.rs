//! Renderers (pure core): results → bytes written into a writer the caller gives.
//!
//! One file per output format and result type; only `cli` decides where the bytes go.

pub mod chart;
pub mod escape;
pub mod findings;
pub mod oci;
pub mod plan;
pub mod report;
pub mod report_charts;
pub mod trace;
