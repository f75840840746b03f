//! Shared helpers for the kms-seal integration tests.

pub mod moto;
pub mod mock_kms;
