//! The `kms-seal` binary: against moto on loopback, and under fault injection.
//!
//! The binary must be built first (`cargo build -p kms-seal-ureq --bin kms-seal`; the test
//! script does it), see [`kms_seal_tests::cli::kms_seal_bin`].

mod faults;
mod moto;
mod trees;
