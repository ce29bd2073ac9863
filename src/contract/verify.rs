//! Verify (to be written).
