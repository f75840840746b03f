//! Structured inputs for the kms-seal fuzz targets.
//!
//! The targets themselves are one line each; where libFuzzer's raw bytes would waste most
//! executions on inputs an entry point ignores, a type here derives [`arbitrary::Arbitrary`]
//! and lays itself out as the bytes the entry point expects.

use arbitrary::Arbitrary;

/// What `kms_seal_core::fuzzing::envelope::envelope_open` works on: a data key, an IV, the
/// additional data and a message (opened as a ciphertext and sealed as a plaintext).
///
/// Byte slices rather than `Vec`s: `arbitrary` reads a slice's length once from the end of
/// the input, where a `Vec<u8>` would spend a continuation byte per element.
#[derive(Arbitrary, Debug)]
pub struct OpenInput<'a> {
    /// AES-256 data key.
    pub key: [u8; 32],
    /// AES-GCM IV.
    pub iv: [u8; 12],
    /// Additional authenticated data (the entry point takes at most 255 bytes).
    pub aad: &'a [u8],
    /// The message.
    pub message: &'a [u8],
}

impl OpenInput<'_> {
    /// The entry point's byte layout: key, IV, one AAD length byte, the AAD, the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let aad = &self.aad[..self.aad.len().min(usize::from(u8::MAX))];
        let mut out = Vec::with_capacity(32 + 12 + 1 + aad.len() + self.message.len());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.iv);
        out.push(u8::try_from(aad.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(aad);
        out.extend_from_slice(&self.message);
        out
    }
}
