//! Translation plan renderers: table, json, yaml, explain (not yet written).
