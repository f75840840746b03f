//! Shared helpers for the kms-seal integration tests.

pub mod moto;
