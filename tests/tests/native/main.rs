//! The native stack over loopback: the ureq transport, the credential chain (scripted servers,
//! instance metadata, moto's STS and metadata, `credential_process` helpers, an IAM Identity
//! Center portal stub, each checked against boto3), the whole seal against moto, and fault
//! injection.
//!
//! Each test starts its own peers on 127.0.0.1 and reads its environment through an injected
//! lookup: nothing here touches the process environment, so the modules can share a binary.

mod assume_role;
mod credential_process;
mod credentials_chain;
mod credentials_imds;
mod credentials_moto;
mod faults;
mod proxy;
mod seal_moto;
mod sso;
mod tls_trust;
mod transport;
