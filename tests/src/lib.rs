//! Shared helpers for the kms-seal integration tests.

pub mod cli;
pub mod moto;
pub mod mock_kms;
pub mod fault_server;
#[doc(hidden)]
pub mod fuzzing;
