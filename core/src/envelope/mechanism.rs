//! The AWS KMS wrapper's encryption mechanisms (`KeyInfo.mechanism`).

use core::fmt;

/// How a `BlobInfo` was encrypted by the AWS KMS wrapper of go-kms-wrapping.
///
/// Stored on the wire as `KeyInfo.mechanism` (a `uint64`); [`Mechanism::from_u64`] is the
/// canonical conversion, so `Other` never holds 0 or 1 when built that way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// 0 (`AwsKmsEncrypt`): `ciphertext` is a KMS ciphertext of the plaintext itself. Also what
    /// a `BlobInfo` without `key_info` (old Vault data) means.
    AwsKmsEncrypt,
    /// 1 (`AwsKmsEnvelopeAesGcmEncrypt`): `ciphertext` is AES-256-GCM under a data key that
    /// KMS wrapped into `key_info.wrapped_key`.
    EnvelopeAesGcm,
    /// Any other value, kept so it re-encodes unchanged.
    Other(u64),
}

impl Mechanism {
    /// The mechanism for a wire value.
    pub fn from_u64(value: u64) -> Self {
        match value {
            0 => Self::AwsKmsEncrypt,
            1 => Self::EnvelopeAesGcm,
            other => Self::Other(other),
        }
    }

    /// The wire value.
    pub fn as_u64(self) -> u64 {
        match self {
            Self::AwsKmsEncrypt => 0,
            Self::EnvelopeAesGcm => 1,
            Self::Other(value) => value,
        }
    }

    /// A short name after go-kms-wrapping's constants: `awskms-encrypt`,
    /// `awskms-envelope-aes-gcm`, or `unknown`.
    pub fn name(self) -> &'static str {
        match Self::from_u64(self.as_u64()) {
            Self::AwsKmsEncrypt => "awskms-encrypt",
            Self::EnvelopeAesGcm => "awskms-envelope-aes-gcm",
            Self::Other(_) => "unknown",
        }
    }
}

impl From<u64> for Mechanism {
    fn from(value: u64) -> Self {
        Self::from_u64(value)
    }
}

impl From<Mechanism> for u64 {
    fn from(mechanism: Mechanism) -> Self {
        mechanism.as_u64()
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::from_u64(self.as_u64()) {
            Self::Other(value) => write!(f, "unknown mechanism {value}"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_and_names() {
        assert_eq!(Mechanism::from_u64(0), Mechanism::AwsKmsEncrypt);
        assert_eq!(Mechanism::from_u64(1), Mechanism::EnvelopeAesGcm);
        assert_eq!(Mechanism::from_u64(7), Mechanism::Other(7));
        assert_eq!(Mechanism::Other(7).as_u64(), 7);
        assert_eq!(Mechanism::EnvelopeAesGcm.name(), "awskms-envelope-aes-gcm");
        assert_eq!(Mechanism::AwsKmsEncrypt.name(), "awskms-encrypt");
        assert_eq!(Mechanism::Other(1).name(), "awskms-envelope-aes-gcm");
        assert_eq!(Mechanism::Other(9).name(), "unknown");
    }
}
