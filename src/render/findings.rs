//! Lint findings renderers: text, json, sarif, junit, github, markdown (not yet written).
