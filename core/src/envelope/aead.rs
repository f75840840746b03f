//! AES-256-GCM as the AWS KMS wrapper uses it for mechanism 1 (`AwsKmsEnvelopeAesGcmEncrypt`).
//!
//! Go's layout: the 16-byte tag follows the ciphertext, the IV is 12 bytes and is stored apart
//! (in `BlobInfo.iv`). No AAD and empty AAD are the same thing, as in Go. Nothing here draws
//! randomness: the caller supplies a fresh data key and IV for every seal.
//!
//! The in-place functions need no allocator and work on a caller's buffer; `seal` and
//! `open` (with `alloc`) return new vectors, the plaintext in a `zeroize::Zeroizing` one.
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use kms_seal_core::envelope::aead::{self, DataKey, Iv};
//!
//! let key = DataKey::from_bytes([7; 32]);
//! let iv = Iv::from_bytes([9; 12]);
//! let sealed = aead::seal(&key, &iv, b"root key", None);
//! assert_eq!(sealed.len(), 8 + aead::TAG_LEN);
//! let opened = aead::open(&key, &iv, &sealed, Some(b"")).expect("genuine seal opens");
//! assert_eq!(opened.as_slice(), b"root key");
//! # }
//! ```

use core::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

#[cfg(feature = "alloc")]
use aes_gcm::aead::inout::InOutBuf;
#[cfg(feature = "alloc")]
use alloc::vec::Vec;
#[cfg(feature = "alloc")]
use zeroize::Zeroizing;

/// Length of an AES-256 data key.
pub const KEY_LEN: usize = 32;
/// Length of the GCM IV (nonce) go-kms-wrapping uses.
pub const IV_LEN: usize = 12;
/// Length of the GCM tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// A 32-byte AES-256 data key. Zeroized on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// Wraps key bytes (for example KMS `GenerateDataKey`'s or `Decrypt`'s plaintext, or
    /// fresh random bytes).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        DataKey(bytes)
    }

    /// Copies key bytes from a slice.
    ///
    /// # Errors
    /// [`LengthError::DataKey`] unless `bytes` is exactly [`KEY_LEN`] long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LengthError> {
        let array: &[u8; KEY_LEN] = bytes.try_into().map_err(|_| LengthError::DataKey {
            actual: bytes.len(),
        })?;
        Ok(DataKey(*array))
    }

    /// The key bytes (for example to send to KMS `Encrypt`). Do not log them.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }
}

impl TryFrom<&[u8]> for DataKey {
    type Error = LengthError;

    fn try_from(bytes: &[u8]) -> Result<Self, LengthError> {
        Self::from_slice(bytes)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<32 bytes redacted>)")
    }
}

/// A 12-byte GCM IV. Not secret, but it must never repeat under one data key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Iv([u8; IV_LEN]);

impl Iv {
    /// Wraps IV bytes.
    pub fn from_bytes(bytes: [u8; IV_LEN]) -> Self {
        Iv(bytes)
    }

    /// Copies IV bytes from a slice (such as `BlobInfo.iv`).
    ///
    /// # Errors
    /// [`LengthError::Iv`] unless `bytes` is exactly [`IV_LEN`] long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LengthError> {
        let array: &[u8; IV_LEN] = bytes.try_into().map_err(|_| LengthError::Iv {
            actual: bytes.len(),
        })?;
        Ok(Iv(*array))
    }

    /// The IV bytes.
    pub fn as_bytes(&self) -> &[u8; IV_LEN] {
        &self.0
    }
}

impl TryFrom<&[u8]> for Iv {
    type Error = LengthError;

    fn try_from(bytes: &[u8]) -> Result<Self, LengthError> {
        Self::from_slice(bytes)
    }
}

impl fmt::Debug for Iv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iv(0x")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        f.write_str(")")
    }
}

/// A data key or IV of the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LengthError {
    /// The data key is not 32 bytes.
    DataKey {
        /// The length given.
        actual: usize,
    },
    /// The IV is not 12 bytes.
    Iv {
        /// The length given.
        actual: usize,
    },
}

impl fmt::Display for LengthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DataKey { actual } => write!(
                f,
                "data key is {actual} bytes, not {KEY_LEN}: ask kms for an AES_256 data key \
                 or check that the wrapped key decrypted to the right value"
            ),
            Self::Iv { actual } => write!(
                f,
                "iv is {actual} bytes, not {IV_LEN}: the BlobInfo's iv field is corrupt or \
                 not from the aws kms envelope mechanism"
            ),
        }
    }
}

impl core::error::Error for LengthError {}

/// Sealing failed; only the in-place functions can fail, through caller misuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The buffer has no room for the tag after the plaintext.
    BufferTooSmall {
        /// Bytes needed: plaintext length + [`TAG_LEN`].
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The plaintext is longer than GCM allows under one IV (2^36 - 32 bytes).
    TooLong,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { needed, available } => write!(
                f,
                "seal buffer holds {available} bytes but needs {needed}: leave {TAG_LEN} bytes \
                 after the plaintext for the tag"
            ),
            Self::TooLong => f.write_str(
                "plaintext exceeds aes-gcm's 64 GiB limit: split the value before sealing it",
            ),
        }
    }
}

impl core::error::Error for SealError {}

/// The ciphertext did not authenticate: wrong data key, wrong IV, wrong AAD, or corrupt or
/// truncated data. Deliberately says nothing about which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenError;

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "aes-gcm authentication failed: check that the wrapped key was decrypted by the \
             right kms key and that the iv and aad belong to this value; otherwise the stored \
             value is corrupt",
        )
    }
}

impl core::error::Error for OpenError {}

/// Encrypts `buffer` in place and returns the tag, kept apart.
///
/// # Errors
/// [`SealError::TooLong`] if `buffer` exceeds GCM's limit of 2^36 - 32 bytes.
pub fn seal_in_place_detached(
    key: &DataKey,
    iv: &Iv,
    buffer: &mut [u8],
    aad: Option<&[u8]>,
) -> Result<[u8; TAG_LEN], SealError> {
    let tag = key
        .cipher()
        .encrypt_inout_detached((&iv.0).into(), aad.unwrap_or_default(), buffer.into())
        .map_err(|_| SealError::TooLong)?;
    Ok(tag.into())
}

/// Decrypts `buffer` in place if `tag` authenticates it; on failure `buffer` is unchanged.
///
/// # Errors
/// [`OpenError`] if authentication fails.
pub fn open_in_place_detached(
    key: &DataKey,
    iv: &Iv,
    buffer: &mut [u8],
    tag: &[u8; TAG_LEN],
    aad: Option<&[u8]>,
) -> Result<(), OpenError> {
    key.cipher()
        .decrypt_inout_detached(
            (&iv.0).into(),
            aad.unwrap_or_default(),
            buffer.into(),
            tag.into(),
        )
        .map_err(|_| OpenError)
}

/// Seals the first `plaintext_len` bytes of `buffer` in place and writes the tag right after
/// them (Go's layout). Returns the sealed length, `plaintext_len + TAG_LEN`.
///
/// # Errors
/// [`SealError::BufferTooSmall`] if `buffer` is shorter than `plaintext_len + TAG_LEN`;
/// [`SealError::TooLong`] past GCM's length limit.
pub fn seal_in_place(
    key: &DataKey,
    iv: &Iv,
    buffer: &mut [u8],
    plaintext_len: usize,
    aad: Option<&[u8]>,
) -> Result<usize, SealError> {
    let needed = plaintext_len
        .checked_add(TAG_LEN)
        .ok_or(SealError::TooLong)?;
    let too_small = SealError::BufferTooSmall {
        needed,
        available: buffer.len(),
    };
    let sealed = buffer.get_mut(..needed).ok_or(too_small)?;
    let (text, tag_out) = sealed.split_at_mut(plaintext_len);
    let tag = seal_in_place_detached(key, iv, text, aad)?;
    tag_out.copy_from_slice(&tag);
    Ok(needed)
}

/// Opens a sealed value (ciphertext with the tag appended) in place and returns the plaintext,
/// the front of `sealed`. On failure `sealed` is unchanged.
///
/// # Errors
/// [`OpenError`] if `sealed` is shorter than the tag or does not authenticate.
pub fn open_in_place<'b>(
    key: &DataKey,
    iv: &Iv,
    sealed: &'b mut [u8],
    aad: Option<&[u8]>,
) -> Result<&'b mut [u8], OpenError> {
    let text_len = sealed.len().checked_sub(TAG_LEN).ok_or(OpenError)?;
    let (text, tag) = sealed.split_at_mut(text_len);
    let tag: &[u8; TAG_LEN] = (&*tag).try_into().map_err(|_| OpenError)?;
    open_in_place_detached(key, iv, text, tag, aad)?;
    Ok(text)
}

/// Seals `plaintext`: returns the ciphertext with the tag appended, as go-kms-wrapping stores
/// it in `BlobInfo.ciphertext`.
///
/// # Panics
/// If `plaintext` is longer than GCM's limit of 2^36 - 32 bytes (64 GiB); use
/// [`seal_in_place`] to get an error instead.
#[cfg(feature = "alloc")]
pub fn seal(key: &DataKey, iv: &Iv, plaintext: &[u8], aad: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = seal_in_place_detached(key, iv, &mut out, aad)
        .expect("plaintexts in memory stay under gcm's 64 GiB limit (see # Panics)");
    out.extend_from_slice(&tag);
    out
}

/// Opens a ciphertext with its tag appended; the plaintext comes back zeroized on drop.
///
/// # Errors
/// [`OpenError`] if the input is shorter than the tag or does not authenticate.
#[cfg(feature = "alloc")]
pub fn open(
    key: &DataKey,
    iv: &Iv,
    ciphertext_with_tag: &[u8],
    aad: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let (text, tag) = ciphertext_with_tag
        .split_last_chunk::<TAG_LEN>()
        .ok_or(OpenError)?;
    // Decrypt straight from the input into the output: no copy pass over the ciphertext.
    let mut out = Zeroizing::new(alloc::vec![0u8; text.len()]);
    let buffer = InOutBuf::new(text, &mut out).map_err(|_| OpenError)?;
    key.cipher()
        .decrypt_inout_detached((&iv.0).into(), aad.unwrap_or_default(), buffer, tag.into())
        .map_err(|_| OpenError)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // NIST GCM test case 14 (AES-256, zero key, zero IV, one zero block).
    const ZERO_BLOCK_CT: [u8; 16] = [
        0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d,
        0x18,
    ];
    const ZERO_BLOCK_TAG: [u8; 16] = [
        0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9,
        0x19,
    ];

    #[test]
    fn nist_vector_in_place() {
        let key = DataKey::from_bytes([0; 32]);
        let iv = Iv::from_bytes([0; 12]);
        let mut buf = [0u8; 32];
        assert_eq!(seal_in_place(&key, &iv, &mut buf, 16, None), Ok(32));
        assert_eq!(buf[..16], ZERO_BLOCK_CT);
        assert_eq!(buf[16..], ZERO_BLOCK_TAG);
        let plain = open_in_place(&key, &iv, &mut buf, Some(&[])).unwrap();
        assert_eq!(plain, [0u8; 16]);
    }

    #[test]
    fn tampering_fails_and_leaves_the_buffer() {
        let key = DataKey::from_bytes([1; 32]);
        let iv = Iv::from_bytes([2; 12]);
        let mut buf = *b"hello, vault\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let n = seal_in_place(&key, &iv, &mut buf, 12, Some(b"aad")).unwrap();
        assert_eq!(n, 28);
        let sealed = buf;
        // Wrong AAD, absent AAD, wrong IV, wrong key, a flipped bit, a cut tag.
        let mut b = sealed;
        assert_eq!(open_in_place(&key, &iv, &mut b[..n], None), Err(OpenError));
        assert_eq!(b, sealed);
        assert!(open_in_place(&key, &Iv::from_bytes([3; 12]), &mut b[..n], Some(b"aad")).is_err());
        let other = DataKey::from_bytes([9; 32]);
        assert!(open_in_place(&other, &iv, &mut b[..n], Some(b"aad")).is_err());
        b[0] ^= 1;
        assert!(open_in_place(&key, &iv, &mut b[..n], Some(b"aad")).is_err());
        assert!(open_in_place(&key, &iv, &mut b[..15], Some(b"aad")).is_err());
        assert!(open_in_place(&key, &iv, &mut [0u8; 3], None).is_err());
        let mut b = sealed;
        assert_eq!(
            open_in_place(&key, &iv, &mut b[..n], Some(b"aad")).unwrap(),
            b"hello, vault"
        );
    }

    #[test]
    fn seal_buffer_too_small() {
        let key = DataKey::from_bytes([1; 32]);
        let iv = Iv::from_bytes([2; 12]);
        assert_eq!(
            seal_in_place(&key, &iv, &mut [0u8; 20], 5, None),
            Err(SealError::BufferTooSmall {
                needed: 21,
                available: 20
            })
        );
        assert_eq!(
            seal_in_place(&key, &iv, &mut [0u8; 20], usize::MAX, None),
            Err(SealError::TooLong)
        );
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(
            DataKey::from_slice(&[0; 16]).unwrap_err(),
            LengthError::DataKey { actual: 16 }
        );
        assert_eq!(
            Iv::try_from(&[0u8; 16][..]).unwrap_err(),
            LengthError::Iv { actual: 16 }
        );
        assert!(DataKey::try_from(&[0u8; 32][..]).is_ok());
        assert_eq!(Iv::from_slice(&[5; 12]).unwrap().as_bytes(), &[5; 12]);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn allocating_api_and_secrecy() {
        let key = DataKey::from_bytes([0; 32]);
        let iv = Iv::from_bytes([0; 12]);
        let sealed = seal(&key, &iv, &[0; 16], None);
        assert_eq!(sealed[..16], ZERO_BLOCK_CT);
        assert_eq!(sealed[16..], ZERO_BLOCK_TAG);
        assert_eq!(open(&key, &iv, &sealed, None).unwrap().as_slice(), [0; 16]);
        assert_eq!(open(&key, &iv, &sealed[..15], None), Err(OpenError));
        // An empty plaintext is just a tag.
        assert_eq!(seal(&key, &iv, b"", None).len(), TAG_LEN);
        let secret = DataKey::from_bytes([0xab; 32]);
        let debug = alloc::format!("{secret:?}");
        assert!(!debug.contains("ab") && !debug.contains("171"), "{debug}");
    }
}
