//! Renderers, one per output format (not yet written).
