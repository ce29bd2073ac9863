//! Drift (to be written).
