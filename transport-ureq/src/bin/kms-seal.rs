//! `kms-seal`: seal, unseal, inspect, check and rewrap HashiCorp Vault / OpenBao values with
//! AWS KMS. See `kms-seal --help` and the README.

fn main() {
    std::process::exit(kms_seal_ureq::cli::main());
}
