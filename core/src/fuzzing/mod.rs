//! Entry points for the cargo-fuzz targets in `fuzz/`. Not a stable API.
//!
//! Each target is one line that calls a function here; the function asserts the properties
//! (round trips, no panics, authentication only of genuine seals).

#[cfg(feature = "alloc")]
pub mod config;
pub mod envelope;
#[cfg(feature = "alloc")]
pub mod kms;
