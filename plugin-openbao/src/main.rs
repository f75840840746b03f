//! `openbao-plugin-kms-awskms`: see the `kms_seal_openbao` crate.

fn main() -> std::process::ExitCode {
    kms_seal_openbao::main()
}
