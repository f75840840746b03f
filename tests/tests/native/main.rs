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

/// `init` and an encrypt/decrypt round trip of `plaintext` through moto with this chain's
/// credentials; the error text otherwise.
pub(crate) fn moto_round_trip(
    moto: &kms_seal_tests::moto::Moto,
    chain: kms_seal_ureq::credentials::CredentialChain,
    plaintext: &[u8],
) -> Result<(), String> {
    use kms_seal_core::kms::endpoint::Endpoint;
    use kms_seal_core::seal::{Seal, SealSettings};
    let endpoint = Endpoint::custom(&moto.endpoint, &moto.region).unwrap();
    let mut seal = Seal::new(
        SealSettings::new(&moto.alias, endpoint),
        kms_seal_ureq::transport::UreqTransport::new(),
        chain,
        kms_seal_ureq::runtime::StdRuntime,
    );
    seal.init().map_err(|e| e.to_string())?;
    let blob = seal.encrypt(plaintext, None).map_err(|e| e.to_string())?;
    let plain = seal.decrypt(&blob, None).map_err(|e| e.to_string())?;
    assert_eq!(&plain[..], plaintext);
    Ok(())
}
