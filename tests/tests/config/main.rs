//! Configuration: the core model's precedence and properties, Vault config files with
//! `seal "awskms"` stanzas, one-line configuration errors, and the HCL reader against hcl-rs.

mod errors;
mod hcl_oracle;
mod model;
mod vault_files;
