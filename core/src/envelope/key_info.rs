//! `KeyInfo`: which key and mechanism sealed a `BlobInfo`, and the KMS-wrapped data key.
//!
//! ```text
//! 1 mechanism uint64 | 2 hmac_mechanism uint64 | 3 key_id string | 4 hmac_key_id string
//! 5 wrapped_key bytes | 6 flags uint64 | 7 key_type enum | 8 key_purposes repeated enum
//! 9 key bytes | 10 key_encoding enum | 11 wrapped_key_encoding enum
//! ```

use core::fmt;

use super::wire::{Field, Reader, Value, for_each_field};
use super::{
    EnvelopeError, Mechanism,
    debug_bytes::{Hex, Redacted},
};

const MECHANISM: u32 = 1;
const HMAC_MECHANISM: u32 = 2;
const KEY_ID: u32 = 3;
const HMAC_KEY_ID: u32 = 4;
const WRAPPED_KEY: u32 = 5;
const FLAGS: u32 = 6;
const KEY_TYPE: u32 = 7;
const KEY_PURPOSES: u32 = 8;
const KEY: u32 = 9;
const KEY_ENCODING: u32 = 10;
const WRAPPED_KEY_ENCODING: u32 = 11;

/// A `KeyInfo` borrowed from the bytes it was decoded from; needs no allocator.
///
/// Enum fields are kept as the raw `u64` read from the wire. Absent fields read as 0 or empty,
/// as in proto3.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyInfoRef<'a> {
    raw: &'a [u8],
    base: usize,
    mechanism: u64,
    hmac_mechanism: u64,
    key_id: &'a str,
    hmac_key_id: &'a str,
    wrapped_key: &'a [u8],
    flags: u64,
    key_type: u64,
    key_purposes_len: usize,
    key: &'a [u8],
    key_encoding: u64,
    wrapped_key_encoding: u64,
}

impl<'a> KeyInfoRef<'a> {
    /// Decodes a serialized `KeyInfo` message.
    ///
    /// # Errors
    /// Any [`EnvelopeError`] of the wire format: truncation, overflow, a wrong wire type for a
    /// known field, invalid UTF-8 in `key_id` or `hmac_key_id`. Unknown fields are skipped.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        Self::decode_at(bytes, 0)
    }

    pub(crate) fn decode_at(bytes: &'a [u8], base: usize) -> Result<Self, EnvelopeError> {
        let mut info = KeyInfoRef {
            raw: bytes,
            base,
            mechanism: 0,
            hmac_mechanism: 0,
            key_id: "",
            hmac_key_id: "",
            wrapped_key: &[],
            flags: 0,
            key_type: 0,
            key_purposes_len: 0,
            key: &[],
            key_encoding: 0,
            wrapped_key_encoding: 0,
        };
        for_each_field(bytes, base, |field| {
            match field.number {
                MECHANISM => info.mechanism = field.varint("KeyInfo.mechanism")?,
                HMAC_MECHANISM => info.hmac_mechanism = field.varint("KeyInfo.hmac_mechanism")?,
                KEY_ID => info.key_id = field.string("KeyInfo.key_id")?,
                HMAC_KEY_ID => info.hmac_key_id = field.string("KeyInfo.hmac_key_id")?,
                WRAPPED_KEY => info.wrapped_key = field.len("KeyInfo.wrapped_key")?.0,
                FLAGS => info.flags = field.varint("KeyInfo.flags")?,
                KEY_TYPE => info.key_type = field.varint("KeyInfo.key_type")?,
                KEY_PURPOSES => info.key_purposes_len += purposes_in(&field)?,
                KEY => info.key = field.len("KeyInfo.key")?.0,
                KEY_ENCODING => info.key_encoding = field.varint("KeyInfo.key_encoding")?,
                WRAPPED_KEY_ENCODING => {
                    info.wrapped_key_encoding = field.varint("KeyInfo.wrapped_key_encoding")?;
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(info)
    }

    /// Field 1, the mechanism as written.
    pub fn mechanism_value(&self) -> u64 {
        self.mechanism
    }

    /// Field 1 as a [`Mechanism`].
    pub fn mechanism(&self) -> Mechanism {
        Mechanism::from_u64(self.mechanism)
    }

    /// Field 2.
    pub fn hmac_mechanism(&self) -> u64 {
        self.hmac_mechanism
    }

    /// Field 3: for AWS KMS, the key ARN that KMS returned when the data key was wrapped.
    pub fn key_id(&self) -> &'a str {
        self.key_id
    }

    /// Field 4.
    pub fn hmac_key_id(&self) -> &'a str {
        self.hmac_key_id
    }

    /// Field 5: for mechanism 1, the KMS ciphertext of the data key.
    pub fn wrapped_key(&self) -> &'a [u8] {
        self.wrapped_key
    }

    /// Field 6.
    pub fn flags(&self) -> u64 {
        self.flags
    }

    /// Field 7 (enum `KeyType`), raw.
    pub fn key_type(&self) -> u64 {
        self.key_type
    }

    /// Field 8 (repeated enum `KeyPurpose`), raw, in wire order; packed and unpacked entries
    /// are both read.
    pub fn key_purposes(&self) -> KeyPurposes<'a> {
        KeyPurposes {
            fields: Reader::new(self.raw, self.base),
            packed: Reader::new(&[], 0),
            remaining: self.key_purposes_len,
        }
    }

    /// Field 9: raw key material (unused by the AWS KMS wrapper). A secret if set.
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    /// Field 10 (enum `KeyEncoding`), raw.
    pub fn key_encoding(&self) -> u64 {
        self.key_encoding
    }

    /// Field 11 (enum `KeyEncoding`), raw.
    pub fn wrapped_key_encoding(&self) -> u64 {
        self.wrapped_key_encoding
    }
}

impl fmt::Debug for KeyInfoRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyInfoRef")
            .field("mechanism", &self.mechanism)
            .field("hmac_mechanism", &self.hmac_mechanism)
            .field("key_id", &self.key_id)
            .field("hmac_key_id", &self.hmac_key_id)
            .field("wrapped_key", &Hex(self.wrapped_key))
            .field("flags", &self.flags)
            .field("key_type", &self.key_type)
            .field("key_purposes", &DebugPurposes(self.key_purposes()))
            .field("key", &Redacted(self.key))
            .field("key_encoding", &self.key_encoding)
            .field("wrapped_key_encoding", &self.wrapped_key_encoding)
            .finish()
    }
}

struct DebugPurposes<'a>(KeyPurposes<'a>);

impl fmt::Debug for DebugPurposes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

/// How many key purposes one occurrence of field 8 holds, checking a packed payload.
fn purposes_in(field: &Field<'_>) -> Result<usize, EnvelopeError> {
    match field.value {
        Value::Varint(_) => Ok(1),
        Value::Len(payload, at) => {
            let mut packed = Reader::new(payload, at);
            let mut n = 0;
            while !packed.is_empty() {
                packed.varint()?;
                n += 1;
            }
            Ok(n)
        }
        _ => field.varint("KeyInfo.key_purposes").map(|_| 0),
    }
}

/// The key purposes of a [`KeyInfoRef`], as raw enum values.
#[derive(Clone, Debug)]
pub struct KeyPurposes<'a> {
    fields: Reader<'a>,
    packed: Reader<'a>,
    remaining: usize,
}

impl Iterator for KeyPurposes<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        const CHECKED: &str = "key_purposes were checked when the KeyInfoRef was decoded";
        loop {
            if !self.packed.is_empty() {
                self.remaining = self.remaining.saturating_sub(1);
                return Some(self.packed.varint().expect(CHECKED));
            }
            let field = self.fields.next_field().expect(CHECKED)?;
            if field.number != KEY_PURPOSES {
                continue;
            }
            match field.value {
                Value::Varint(v) => {
                    self.remaining = self.remaining.saturating_sub(1);
                    return Some(v);
                }
                Value::Len(payload, at) => self.packed = Reader::new(payload, at),
                _ => {}
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for KeyPurposes<'_> {}

#[cfg(feature = "alloc")]
pub use owned::KeyInfo;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt;

    use super::*;
    use crate::envelope::wire::{
        bytes_field_len, len_field_len, put_bytes_field, put_len_header, put_varint,
        put_varint_field, varint_field_len, varint_len,
    };

    /// An owned `KeyInfo` (go-kms-wrapping `wrapping.KeyInfo`).
    ///
    /// Enum fields are raw `u64`s so unknown and negative values re-encode bit for bit.
    /// `key` is raw key material, unused by the AWS KMS wrapper; `Debug` never prints it.
    #[derive(Clone, Default, PartialEq, Eq)]
    pub struct KeyInfo {
        /// Field 1: the [`Mechanism`] as a wire value.
        pub mechanism: u64,
        /// Field 2.
        pub hmac_mechanism: u64,
        /// Field 3: for AWS KMS, the key ARN that KMS returned.
        pub key_id: String,
        /// Field 4.
        pub hmac_key_id: String,
        /// Field 5: the KMS ciphertext of the data key (mechanism 1).
        pub wrapped_key: Vec<u8>,
        /// Field 6.
        pub flags: u64,
        /// Field 7 (enum `KeyType`).
        pub key_type: u64,
        /// Field 8 (repeated enum `KeyPurpose`), written packed.
        pub key_purposes: Vec<u64>,
        /// Field 9: raw key material. A secret if set.
        pub key: Vec<u8>,
        /// Field 10 (enum `KeyEncoding`).
        pub key_encoding: u64,
        /// Field 11 (enum `KeyEncoding`).
        pub wrapped_key_encoding: u64,
    }

    impl KeyInfo {
        /// Decodes a serialized `KeyInfo`; unknown fields are dropped.
        ///
        /// # Errors
        /// As [`KeyInfoRef::decode`].
        pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
            KeyInfoRef::decode(bytes).map(Self::from)
        }

        /// Field 1 as a [`Mechanism`].
        pub fn mechanism(&self) -> Mechanism {
            Mechanism::from_u64(self.mechanism)
        }

        /// The serialized message, as Go's `proto.Marshal` writes it.
        pub fn encode(&self) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.encoded_len());
            self.encode_into(&mut out);
            out
        }

        /// Appends the serialized message to `out`.
        pub fn encode_into(&self, out: &mut Vec<u8>) {
            put_varint_field(out, MECHANISM, self.mechanism);
            put_varint_field(out, HMAC_MECHANISM, self.hmac_mechanism);
            put_bytes_field(out, KEY_ID, self.key_id.as_bytes());
            put_bytes_field(out, HMAC_KEY_ID, self.hmac_key_id.as_bytes());
            put_bytes_field(out, WRAPPED_KEY, &self.wrapped_key);
            put_varint_field(out, FLAGS, self.flags);
            put_varint_field(out, KEY_TYPE, self.key_type);
            if !self.key_purposes.is_empty() {
                put_len_header(out, KEY_PURPOSES, self.packed_purposes_len());
                for &purpose in &self.key_purposes {
                    put_varint(out, purpose);
                }
            }
            put_bytes_field(out, KEY, &self.key);
            put_varint_field(out, KEY_ENCODING, self.key_encoding);
            put_varint_field(out, WRAPPED_KEY_ENCODING, self.wrapped_key_encoding);
        }

        /// The length of [`encode`](Self::encode)'s output.
        pub fn encoded_len(&self) -> usize {
            let purposes = if self.key_purposes.is_empty() {
                0
            } else {
                len_field_len(KEY_PURPOSES, self.packed_purposes_len())
            };
            varint_field_len(MECHANISM, self.mechanism)
                + varint_field_len(HMAC_MECHANISM, self.hmac_mechanism)
                + bytes_field_len(KEY_ID, self.key_id.as_bytes())
                + bytes_field_len(HMAC_KEY_ID, self.hmac_key_id.as_bytes())
                + bytes_field_len(WRAPPED_KEY, &self.wrapped_key)
                + varint_field_len(FLAGS, self.flags)
                + varint_field_len(KEY_TYPE, self.key_type)
                + purposes
                + bytes_field_len(KEY, &self.key)
                + varint_field_len(KEY_ENCODING, self.key_encoding)
                + varint_field_len(WRAPPED_KEY_ENCODING, self.wrapped_key_encoding)
        }

        fn packed_purposes_len(&self) -> usize {
            self.key_purposes.iter().map(|&p| varint_len(p)).sum()
        }
    }

    impl From<KeyInfoRef<'_>> for KeyInfo {
        fn from(r: KeyInfoRef<'_>) -> Self {
            KeyInfo {
                mechanism: r.mechanism,
                hmac_mechanism: r.hmac_mechanism,
                key_id: r.key_id.into(),
                hmac_key_id: r.hmac_key_id.into(),
                wrapped_key: r.wrapped_key.to_vec(),
                flags: r.flags,
                key_type: r.key_type,
                key_purposes: r.key_purposes().collect(),
                key: r.key.to_vec(),
                key_encoding: r.key_encoding,
                wrapped_key_encoding: r.wrapped_key_encoding,
            }
        }
    }

    impl fmt::Debug for KeyInfo {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("KeyInfo")
                .field("mechanism", &self.mechanism)
                .field("hmac_mechanism", &self.hmac_mechanism)
                .field("key_id", &self.key_id)
                .field("hmac_key_id", &self.hmac_key_id)
                .field("wrapped_key", &Hex(&self.wrapped_key))
                .field("flags", &self.flags)
                .field("key_type", &self.key_type)
                .field("key_purposes", &self.key_purposes)
                .field("key", &Redacted(&self.key))
                .field("key_encoding", &self.key_encoding)
                .field("wrapped_key_encoding", &self.wrapped_key_encoding)
                .finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::wire::WireType;

    #[test]
    fn reads_every_field() {
        let bytes = [
            0x08, 0x01, // mechanism 1
            0x10, 0x02, // hmac_mechanism 2
            0x1a, 0x01, b'k', // key_id "k"
            0x22, 0x01, b'h', // hmac_key_id "h"
            0x2a, 0x02, 0xaa, 0xbb, // wrapped_key
            0x30, 0x03, // flags 3
            0x38, 0x04, // key_type 4
            0x42, 0x02, 0x05, 0x06, // key_purposes packed [5, 6]
            0x40, 0x07, // key_purposes unpacked 7
            0x4a, 0x01, 0xcc, // key
            0x50, 0x08, // key_encoding 8
            0x58, 0x09, // wrapped_key_encoding 9
            0xa0, 0x06, 0x01, // unknown field 100
        ];
        let info = KeyInfoRef::decode(&bytes).unwrap();
        assert_eq!(info.mechanism(), Mechanism::EnvelopeAesGcm);
        assert_eq!(info.hmac_mechanism(), 2);
        assert_eq!(info.key_id(), "k");
        assert_eq!(info.hmac_key_id(), "h");
        assert_eq!(info.wrapped_key(), [0xaa, 0xbb]);
        assert_eq!(info.flags(), 3);
        assert_eq!(info.key_type(), 4);
        assert!(info.key_purposes().eq([5, 6, 7]));
        assert_eq!(info.key_purposes().len(), 3);
        assert_eq!(info.key(), [0xcc]);
        assert_eq!(info.key_encoding(), 8);
        assert_eq!(info.wrapped_key_encoding(), 9);
        let debug = alloc_free_debug(&info);
        assert!(debug.contains("redacted"), "{debug}");
    }

    fn alloc_free_debug(info: &KeyInfoRef<'_>) -> heapless::String<1024> {
        use core::fmt::Write;
        let mut s = heapless::String::new();
        write!(s, "{info:?}").unwrap();
        s
    }

    #[test]
    fn malformed_key_purposes() {
        // Packed payload ending in a truncated varint.
        assert_eq!(
            KeyInfoRef::decode(&[0x42, 0x02, 0x05, 0x86]),
            Err(EnvelopeError::TruncatedVarint { offset: 3 })
        );
        // key_purposes as fixed32.
        assert_eq!(
            KeyInfoRef::decode(&[0x45, 0, 0, 0, 0]),
            Err(EnvelopeError::WrongWireType {
                field: "KeyInfo.key_purposes",
                expected: WireType::Varint,
                found: WireType::Fixed32,
                offset: 0
            })
        );
    }

    #[test]
    fn malformed_fields() {
        assert_eq!(
            KeyInfoRef::decode(&[0x1a, 0x01, 0xff]),
            Err(EnvelopeError::InvalidUtf8 {
                field: "KeyInfo.key_id",
                offset: 2
            })
        );
        assert_eq!(
            KeyInfoRef::decode(&[0x0a, 0x00]),
            Err(EnvelopeError::WrongWireType {
                field: "KeyInfo.mechanism",
                expected: WireType::Varint,
                found: WireType::Len,
                offset: 0
            })
        );
        assert_eq!(
            KeyInfoRef::decode(&[0x28, 0x00]),
            Err(EnvelopeError::WrongWireType {
                field: "KeyInfo.wrapped_key",
                expected: WireType::Len,
                found: WireType::Varint,
                offset: 0
            })
        );
    }

    #[test]
    fn last_scalar_wins() {
        let info =
            KeyInfoRef::decode(&[0x08, 0x01, 0x08, 0x00, 0x1a, 0x01, b'a', 0x1a, 0x00]).unwrap();
        assert_eq!(info.mechanism(), Mechanism::AwsKmsEncrypt);
        assert_eq!(info.key_id(), "");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn owned_round_trip_is_packed_and_ordered() {
        let info = KeyInfo {
            mechanism: 1,
            key_id: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
            wrapped_key: alloc::vec![1, 2, 3],
            key_type: u64::MAX, // a negative int32 enum, sign-extended
            key_purposes: alloc::vec![3, 300],
            ..KeyInfo::default()
        };
        let bytes = info.encode();
        assert_eq!(bytes.len(), info.encoded_len());
        assert_eq!(KeyInfo::decode(&bytes).unwrap(), info);
        // Packed: tag 0x42, length 3, varints 3 and 300 (0xac 0x02).
        let purposes = [0x42, 0x03, 0x03, 0xac, 0x02];
        assert!(bytes.windows(5).any(|w| w == purposes));
        assert!(KeyInfo::default().encode().is_empty());
    }
}
