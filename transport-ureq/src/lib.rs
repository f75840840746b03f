//! Native HTTPS transport for kms-seal on ureq, the AWS credential and region chain, and
//! Vault configuration loading. The `kms-seal` command-line tool is built on this crate.

pub mod cli;
pub mod credentials;
pub mod endpoints;
pub mod native;
pub mod region;
pub mod runtime;
pub mod tcp;
pub mod transport;
