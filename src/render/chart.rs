//! Charts with plotters and an embedded font (not yet written).
