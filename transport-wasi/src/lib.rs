//! WASI transport (filled by a later issue).
