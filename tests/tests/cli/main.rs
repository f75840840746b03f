//! The `kms-seal` binary: against moto on loopback (also with `credential_process` and IAM
//! Identity Center profiles), and under fault injection.
//!
//! The binary must be built first (`cargo build -p kms-seal-ureq --bin kms-seal`; the test
//! script does it), see [`kms_seal_tests::cli::kms_seal_bin`].

mod credential_helpers;
mod faults;
mod migration;
mod moto;
mod snapshot;
mod trees;
