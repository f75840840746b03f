//! Shared helpers for the kms-seal integration tests.

pub mod aws_profiles;
pub mod boto3;
pub mod cli;
pub mod fault_server;
pub mod mock_kms;
pub mod moto;
pub mod snapshot;
pub mod stub_kms;
pub mod tls_front;

#[doc(hidden)]
pub mod fuzzing;
pub mod vault_config;
