//! Capacity report renderers: html, markdown, json (not yet written).
