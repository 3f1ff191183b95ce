//! Manifest loading: YAML/JSON text → workloads with spans (pure core).

pub mod model;
