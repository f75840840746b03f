//! Configuration: the core model's precedence and properties, Vault config files with
//! `seal "awskms"` stanzas, and one-line configuration errors.

mod errors;
mod model;
mod vault_files;
