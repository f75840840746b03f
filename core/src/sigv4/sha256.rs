//! HMAC-SHA256 (RFC 2104) for SigV4, from RustCrypto's `hmac` and `sha2`.
//!
//! SigV4 computes one HMAC per request with a key that is fixed for a day. HMAC starts by
//! hashing one block derived from the key for the inner hash and one for the outer hash; an
//! [`HmacKey`] is an `Hmac<Sha256>` that has absorbed those two blocks and nothing else, and
//! every MAC starts from a clone of it, which saves two of the ~22 compressions a KMS request
//! costs.
//!
//! Key-dependent state is zeroized on drop: the core enables the `zeroize` features of `hmac`
//! and `sha2`, which zeroize the two SHA-256 states and the buffered input of every
//! `Hmac<Sha256>` and `Sha256`. The padded key block is built and wiped here, so `hmac` only
//! ever sees a block-sized key (the one copy it makes while keying lives on its stack frame).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use super::Sink;

/// SHA-256's block length, the length HMAC pads or hashes its key to.
const BLOCK_LEN: usize = 64;

/// The key-dependent part of HMAC-SHA256: the SHA-256 states after the `ipad` and `opad`
/// blocks. Zeroized on drop.
#[derive(Clone)]
pub(crate) struct HmacKey(Hmac<Sha256>);

impl HmacKey {
    /// The HMAC key `parts` concatenated (so `"AWS4" + secret` needs no buffer of its own).
    pub(crate) fn new(parts: &[&[u8]]) -> HmacKey {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        // RFC 2104 §2: the key is zero-padded to the block, or hashed first when longer, so
        // the padded block keys the same MAC as the key itself.
        let mut block = [0u8; BLOCK_LEN];
        if len <= BLOCK_LEN {
            let mut at = 0;
            for part in parts {
                block[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        } else {
            let mut hash = Sha256::new();
            for part in parts {
                Digest::update(&mut hash, part);
            }
            let mut digest: [u8; 32] = hash.finalize().into();
            block[..32].copy_from_slice(&digest);
            digest.zeroize();
        }
        let key = HmacKey(<Hmac<Sha256> as KeyInit>::new(&block.into()));
        block.zeroize();
        key
    }

    /// A MAC computation with this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        HmacSha256(self.0.clone())
    }

    /// `HMAC(key, data)` in one call.
    pub(crate) fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(data);
        mac.finalize()
    }
}

/// An HMAC-SHA256 computation in progress. Zeroized on drop.
pub(crate) struct HmacSha256(Hmac<Sha256>);

impl HmacSha256 {
    /// Appends `data` to the message.
    #[inline]
    pub(crate) fn update(&mut self, data: &[u8]) {
        Mac::update(&mut self.0, data);
    }

    /// The 32-byte tag.
    pub(crate) fn finalize(self) -> [u8; 32] {
        self.0.finalize().into_bytes().into()
    }
}

impl Sink for HmacSha256 {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        Mac::update(&mut mac, data);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn matches_rfc_4231_vectors() {
        // Test case 2: key "Jefe".
        let tag = HmacKey::new(&[b"Jefe"]).sign(b"what do ya want for nothing?");
        assert_eq!(
            tag,
            [
                0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
                0x64, 0xec, 0x38, 0x43
            ]
        );
        // Test case 6: a 131-byte key, hashed first.
        let key = [0xaa; 131];
        let tag =
            HmacKey::new(&[&key]).sign(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            tag,
            [
                0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f, 0x0d, 0x8a, 0x26, 0xaa, 0xcb, 0xf5,
                0xb7, 0x7f, 0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28, 0xc5, 0x14, 0x05, 0x46, 0x04, 0x0f,
                0x0e, 0xe3, 0x7f, 0x54
            ]
        );
    }

    #[test]
    fn split_keys_and_streamed_messages_match_one_shot_hmac() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for key_len in [0usize, 1, 32, 63, 64, 65, 200] {
            let key = &data[..key_len];
            let hmac_key = HmacKey::new(&[&key[..key_len / 2], &key[key_len / 2..]]);
            for len in [0usize, 1, 55, 56, 63, 64, 65, 128, 299] {
                let expected = reference(key, &data[..len]);
                assert_eq!(
                    hmac_key.sign(&data[..len]),
                    expected,
                    "key {key_len} len {len}"
                );
                // Streamed in uneven pieces, from the same cached key.
                let mut mac = hmac_key.mac();
                for piece in data[..len].chunks(1 + len % 13) {
                    mac.update(piece);
                }
                assert_eq!(mac.finalize(), expected, "key {key_len} len {len} streamed");
            }
        }
    }
}
