//! SHA-256 streaming and HMAC-SHA256 (RFC 2104) on top of `sha2`'s SHA-256 compression
//! function.
//!
//! SigV4 computes one HMAC per request with a key that is fixed for a day. HMAC starts by
//! hashing one block derived from the key for the inner hash and one for the outer hash; here
//! those two SHA-256 states are computed once ([`HmacKey`]) and every MAC starts from them, which
//! saves two of the ~22 compressions a KMS request costs. All key-dependent state, including
//! the streaming inner hash ([`Sha256Stream`]), is zeroized on drop (the `hmac` and `sha2`
//! crates only do that with features this workspace does not enable).

use sha2::block_api::compress256;
use zeroize::Zeroize;

use super::Sink;

const BLOCK_LEN: usize = 64;

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The key-dependent part of HMAC-SHA256: the SHA-256 states after the `ipad` and `opad`
/// blocks. Zeroized on drop.
#[derive(Clone)]
pub(crate) struct HmacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacKey {
    /// The HMAC key `parts` concatenated (so `"AWS4" + secret` needs no buffer of its own).
    pub(crate) fn new(parts: &[&[u8]]) -> HmacKey {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut block = [0u8; BLOCK_LEN];
        if len <= BLOCK_LEN {
            let mut at = 0;
            for part in parts {
                block[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        } else {
            // RFC 2104 §2: keys longer than the block are hashed first.
            let mut hash = Sha256Stream::new();
            for part in parts {
                hash.update(part);
            }
            let mut digest = hash.finalize();
            block[..32].copy_from_slice(&digest);
            digest.zeroize();
        }
        let mut inner = IV;
        let mut outer = IV;
        block.iter_mut().for_each(|b| *b ^= 0x36);
        compress256(&mut inner, &[block]);
        block.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
        compress256(&mut outer, &[block]);
        block.zeroize();
        HmacKey { inner, outer }
    }

    /// A MAC computation with this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        HmacSha256 {
            // The ipad block has been hashed already.
            inner: Sha256Stream::resume(self.inner, BLOCK_LEN as u64),
            outer: self.outer,
        }
    }

    /// `HMAC(key, data)` in one call.
    pub(crate) fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(data);
        mac.finalize()
    }
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// SHA-256 of a message written in pieces. Zeroized on drop.
pub(crate) struct Sha256Stream {
    state: [u32; 8],
    buf: [u8; BLOCK_LEN],
    buf_len: usize,
    hashed: u64,
}

impl Sha256Stream {
    /// An empty message.
    pub(crate) fn new() -> Sha256Stream {
        Sha256Stream::resume(IV, 0)
    }

    /// Continues from `state`, after `hashed` bytes (whole blocks).
    fn resume(state: [u32; 8], hashed: u64) -> Sha256Stream {
        Sha256Stream {
            state,
            buf: [0; BLOCK_LEN],
            buf_len: 0,
            hashed,
        }
    }

    /// Appends `data` to the message.
    #[inline]
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.hashed += data.len() as u64;
        let room = BLOCK_LEN - self.buf_len;
        if data.len() < room {
            // The common case for the small pieces of a canonical request.
            self.buf[self.buf_len..self.buf_len + data.len()].copy_from_slice(data);
            self.buf_len += data.len();
            return;
        }
        if self.buf_len > 0 {
            self.buf[self.buf_len..].copy_from_slice(&data[..room]);
            compress256(&mut self.state, core::slice::from_ref(&self.buf));
            self.buf_len = 0;
            data = &data[room..];
        }
        let (blocks, rest) = data.as_chunks::<BLOCK_LEN>();
        if !blocks.is_empty() {
            compress256(&mut self.state, blocks);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The 32-byte digest.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        finish(&mut self.state, &mut self.buf, self.buf_len, self.hashed)
    }
}

impl Drop for Sha256Stream {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

/// An HMAC-SHA256 computation in progress. Zeroized on drop.
pub(crate) struct HmacSha256 {
    inner: Sha256Stream,
    outer: [u32; 8],
}

impl HmacSha256 {
    /// Appends `data` to the message.
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The 32-byte tag.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        let inner = &mut self.inner;
        let mut digest = finish(
            &mut inner.state,
            &mut inner.buf,
            inner.buf_len,
            inner.hashed,
        );
        // Outer hash: the opad block (already in `outer`), then the inner digest.
        let mut block = [0u8; BLOCK_LEN];
        block[..32].copy_from_slice(&digest);
        let tag = finish(&mut self.outer, &mut block, 32, (BLOCK_LEN + 32) as u64);
        digest.zeroize();
        tag
    }
}

impl Sink for HmacSha256 {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Drop for HmacSha256 {
    fn drop(&mut self) {
        self.outer.zeroize();
    }
}

/// SHA-256 padding (FIPS 180-4 §5.1.1) of the `buf_len` bytes in `buf`, for a message of
/// `total_len` bytes; returns the digest. Leaves `buf` zeroed.
fn finish(
    state: &mut [u32; 8],
    buf: &mut [u8; BLOCK_LEN],
    buf_len: usize,
    total_len: u64,
) -> [u8; 32] {
    buf[buf_len] = 0x80;
    buf[buf_len + 1..].fill(0);
    if buf_len + 1 > BLOCK_LEN - 8 {
        compress256(state, core::slice::from_ref(buf));
        buf.fill(0);
    }
    buf[BLOCK_LEN - 8..].copy_from_slice(&(total_len * 8).to_be_bytes());
    compress256(state, core::slice::from_ref(buf));
    buf.zeroize();
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state.iter()) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};

    #[test]
    fn sha256_stream_matches_sha2_for_every_length_and_split() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 13 + 5) as u8);
        for len in 0..data.len() {
            let expected: [u8; 32] = Sha256::digest(&data[..len]).into();
            let mut hash = Sha256Stream::new();
            for piece in data[..len].chunks(1 + len % 17) {
                hash.update(piece);
            }
            assert_eq!(hash.finalize(), expected, "len {len} streamed");
        }
    }

    fn reference(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(data);
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
    fn matches_the_hmac_crate_for_every_length_and_split() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        for key_len in [0usize, 1, 32, 63, 64, 65, 200] {
            let key = &data[..key_len];
            let hmac_key = HmacKey::new(&[&key[..key_len / 2], &key[key_len / 2..]]);
            for len in 0..data.len() {
                let expected = reference(key, &data[..len]);
                assert_eq!(
                    hmac_key.sign(&data[..len]),
                    expected,
                    "key {key_len} len {len}"
                );
                // Streamed in uneven pieces.
                let mut mac = hmac_key.mac();
                for piece in data[..len].chunks(1 + len % 13) {
                    mac.update(piece);
                }
                assert_eq!(mac.finalize(), expected, "key {key_len} len {len} streamed");
            }
        }
    }
}
