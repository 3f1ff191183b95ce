//! Simulation/run summary renderers: table, json (not yet written).
