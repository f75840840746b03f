//! `BlobInfo`: one sealed value (go-kms-wrapping `wrapping.BlobInfo`).
//!
//! ```text
//! 1 ciphertext bytes | 2 iv bytes | 3 hmac bytes | 4 wrapped bool (deprecated)
//! 5 key_info KeyInfo | 6 value_path string (deprecated) | 7 plaintext bytes
//! 8 client_data google.protobuf.Struct (kept opaque)
//! ```

use core::fmt;

use super::debug_bytes::{Hex, Redacted};
use super::key_info::KeyInfoRef;
use super::wire::for_each_field;
use super::{EnvelopeError, Mechanism};

const CIPHERTEXT: u32 = 1;
const IV: u32 = 2;
const HMAC: u32 = 3;
const WRAPPED: u32 = 4;
const KEY_INFO: u32 = 5;
const VALUE_PATH: u32 = 6;
const PLAINTEXT: u32 = 7;
const CLIENT_DATA: u32 = 8;

/// A `BlobInfo` borrowed from the bytes it was decoded from; needs no allocator.
///
/// Absent fields read as empty, `false` or `None`, as in proto3. `key_info` and `client_data`
/// may occur at most once (protobuf would merge repeats; Vault never writes them): a second
/// occurrence is [`EnvelopeError::DuplicateField`]. Scalars and bytes that repeat take the
/// last value, as protobuf does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlobInfoRef<'a> {
    ciphertext: &'a [u8],
    iv: &'a [u8],
    hmac: &'a [u8],
    wrapped: bool,
    key_info: Option<KeyInfoRef<'a>>,
    value_path: &'a str,
    plaintext: &'a [u8],
    client_data: Option<&'a [u8]>,
}

impl<'a> BlobInfoRef<'a> {
    /// Decodes a serialized `BlobInfo` message.
    ///
    /// # Errors
    /// Any [`EnvelopeError`] of the wire format, in this message or its `key_info`. Unknown
    /// fields are skipped.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        Self::decode_at(bytes, 0)
    }

    pub(crate) fn decode_at(bytes: &'a [u8], base: usize) -> Result<Self, EnvelopeError> {
        let mut blob = BlobInfoRef {
            ciphertext: &[],
            iv: &[],
            hmac: &[],
            wrapped: false,
            key_info: None,
            value_path: "",
            plaintext: &[],
            client_data: None,
        };
        for_each_field(bytes, base, |field| {
            match field.number {
                CIPHERTEXT => blob.ciphertext = field.len("BlobInfo.ciphertext")?.0,
                IV => blob.iv = field.len("BlobInfo.iv")?.0,
                HMAC => blob.hmac = field.len("BlobInfo.hmac")?.0,
                WRAPPED => blob.wrapped = field.varint("BlobInfo.wrapped")? != 0,
                KEY_INFO => {
                    let (payload, at) = field.len("BlobInfo.key_info")?;
                    if blob.key_info.is_some() {
                        return Err(EnvelopeError::DuplicateField {
                            field: "BlobInfo.key_info",
                            offset: field.offset,
                        });
                    }
                    blob.key_info = Some(KeyInfoRef::decode_at(payload, at)?);
                }
                VALUE_PATH => blob.value_path = field.string("BlobInfo.value_path")?,
                PLAINTEXT => blob.plaintext = field.len("BlobInfo.plaintext")?.0,
                CLIENT_DATA => {
                    let (payload, _) = field.len("BlobInfo.client_data")?;
                    if blob.client_data.is_some() {
                        return Err(EnvelopeError::DuplicateField {
                            field: "BlobInfo.client_data",
                            offset: field.offset,
                        });
                    }
                    blob.client_data = Some(payload);
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(blob)
    }

    /// Field 1: the KMS ciphertext (mechanism 0) or AES-GCM ciphertext with its 16-byte tag
    /// appended (mechanism 1); for an unencrypted seal-wrapped entry, the value itself.
    pub fn ciphertext(&self) -> &'a [u8] {
        self.ciphertext
    }

    /// Field 2: the 12-byte AES-GCM IV of mechanism 1.
    pub fn iv(&self) -> &'a [u8] {
        self.iv
    }

    /// Field 3.
    pub fn hmac(&self) -> &'a [u8] {
        self.hmac
    }

    /// Field 4 (deprecated): whether the value is seal-wrapped.
    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    /// Field 5, if present.
    pub fn key_info(&self) -> Option<KeyInfoRef<'a>> {
        self.key_info
    }

    /// Field 6 (deprecated).
    pub fn value_path(&self) -> &'a str {
        self.value_path
    }

    /// Field 7. A secret if set; the AWS KMS wrapper never sets it.
    pub fn plaintext(&self) -> &'a [u8] {
        self.plaintext
    }

    /// Field 8: the serialized `google.protobuf.Struct`, uninterpreted; empty when absent.
    pub fn client_data(&self) -> &'a [u8] {
        self.client_data.unwrap_or_default()
    }

    /// How the value was sealed: [`Mechanism::AwsKmsEncrypt`] when `key_info` is absent.
    pub fn mechanism(&self) -> Mechanism {
        self.key_info
            .map_or(Mechanism::AwsKmsEncrypt, |info| info.mechanism())
    }

    /// The KMS key ARN recorded in `key_info`, or `None` when absent or empty.
    pub fn key_id(&self) -> Option<&'a str> {
        self.key_info
            .map(|info| info.key_id())
            .filter(|id| !id.is_empty())
    }
}

impl fmt::Debug for BlobInfoRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobInfoRef")
            .field("ciphertext", &Hex(self.ciphertext))
            .field("iv", &Hex(self.iv))
            .field("hmac", &Hex(self.hmac))
            .field("wrapped", &self.wrapped)
            .field("key_info", &self.key_info)
            .field("value_path", &self.value_path)
            .field("plaintext", &Redacted(self.plaintext))
            .field("client_data", &Hex(self.client_data()))
            .finish()
    }
}

#[cfg(feature = "alloc")]
pub use owned::BlobInfo;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt;

    use super::*;
    use crate::envelope::KeyInfo;
    use crate::envelope::wire::{
        bytes_field_len, len_field_len, put_bytes_field, put_len_header, put_varint_field,
        varint_field_len,
    };

    /// An owned `BlobInfo` (go-kms-wrapping `wrapping.BlobInfo`).
    ///
    /// `client_data` holds the serialized `google.protobuf.Struct` unchanged (empty = absent).
    /// `plaintext` is a secret if set (the AWS KMS wrapper never sets it); `Debug` never
    /// prints it.
    #[derive(Clone, Default, PartialEq, Eq)]
    pub struct BlobInfo {
        /// Field 1: KMS ciphertext (mechanism 0) or AES-GCM ciphertext + tag (mechanism 1).
        pub ciphertext: Vec<u8>,
        /// Field 2: the AES-GCM IV (mechanism 1).
        pub iv: Vec<u8>,
        /// Field 3.
        pub hmac: Vec<u8>,
        /// Field 4 (deprecated): whether the value is seal-wrapped.
        pub wrapped: bool,
        /// Field 5.
        pub key_info: Option<KeyInfo>,
        /// Field 6 (deprecated).
        pub value_path: String,
        /// Field 7. A secret if set.
        pub plaintext: Vec<u8>,
        /// Field 8: a serialized `google.protobuf.Struct`, kept opaque.
        pub client_data: Vec<u8>,
    }

    impl BlobInfo {
        /// Decodes a serialized `BlobInfo`; unknown fields are dropped.
        ///
        /// # Errors
        /// As [`BlobInfoRef::decode`].
        pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
            BlobInfoRef::decode(bytes).map(Self::from)
        }

        /// How the value was sealed: [`Mechanism::AwsKmsEncrypt`] when `key_info` is absent.
        pub fn mechanism(&self) -> Mechanism {
            self.key_info
                .as_ref()
                .map_or(Mechanism::AwsKmsEncrypt, KeyInfo::mechanism)
        }

        /// The KMS key ARN recorded in `key_info`, or `None` when absent or empty.
        pub fn key_id(&self) -> Option<&str> {
            self.key_info
                .as_ref()
                .map(|info| info.key_id.as_str())
                .filter(|id| !id.is_empty())
        }

        /// Whether `key_info.key_id` is an AWS KMS key ARN (`arn:<partition>:kms:...`), that
        /// is, whether an AWS KMS seal made this blob. In a `multiwrapvalue:1` entry this tells
        /// the AWS KMS slots from other seals' (transit, PKCS#11, ...), which are left alone.
        pub fn is_aws_kms(&self) -> bool {
            self.key_id().is_some_and(|id| {
                id.strip_prefix("arn:")
                    .and_then(|rest| rest.split(':').nth(1))
                    .is_some_and(|service| service == "kms")
            })
        }

        /// The serialized message, as Go's `proto.Marshal` writes it: fields in number order,
        /// empty and `false` fields left out, `key_info` written whenever it is `Some`.
        pub fn encode(&self) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.encoded_len());
            self.encode_into(&mut out);
            out
        }

        /// Appends the serialized message to `out`.
        pub fn encode_into(&self, out: &mut Vec<u8>) {
            put_bytes_field(out, CIPHERTEXT, &self.ciphertext);
            put_bytes_field(out, IV, &self.iv);
            put_bytes_field(out, HMAC, &self.hmac);
            put_varint_field(out, WRAPPED, u64::from(self.wrapped));
            if let Some(info) = &self.key_info {
                put_len_header(out, KEY_INFO, info.encoded_len());
                info.encode_into(out);
            }
            put_bytes_field(out, VALUE_PATH, self.value_path.as_bytes());
            put_bytes_field(out, PLAINTEXT, &self.plaintext);
            put_bytes_field(out, CLIENT_DATA, &self.client_data);
        }

        /// The length of [`encode`](Self::encode)'s output.
        pub fn encoded_len(&self) -> usize {
            bytes_field_len(CIPHERTEXT, &self.ciphertext)
                + bytes_field_len(IV, &self.iv)
                + bytes_field_len(HMAC, &self.hmac)
                + varint_field_len(WRAPPED, u64::from(self.wrapped))
                + self
                    .key_info
                    .as_ref()
                    .map_or(0, |info| len_field_len(KEY_INFO, info.encoded_len()))
                + bytes_field_len(VALUE_PATH, self.value_path.as_bytes())
                + bytes_field_len(PLAINTEXT, &self.plaintext)
                + bytes_field_len(CLIENT_DATA, &self.client_data)
        }
    }

    impl From<BlobInfoRef<'_>> for BlobInfo {
        fn from(r: BlobInfoRef<'_>) -> Self {
            BlobInfo {
                ciphertext: r.ciphertext.to_vec(),
                iv: r.iv.to_vec(),
                hmac: r.hmac.to_vec(),
                wrapped: r.wrapped,
                key_info: r.key_info.map(KeyInfo::from),
                value_path: r.value_path.into(),
                plaintext: r.plaintext.to_vec(),
                client_data: r.client_data().to_vec(),
            }
        }
    }

    impl fmt::Debug for BlobInfo {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("BlobInfo")
                .field("ciphertext", &Hex(&self.ciphertext))
                .field("iv", &Hex(&self.iv))
                .field("hmac", &Hex(&self.hmac))
                .field("wrapped", &self.wrapped)
                .field("key_info", &self.key_info)
                .field("value_path", &self.value_path)
                .field("plaintext", &Redacted(&self.plaintext))
                .field("client_data", &Hex(&self.client_data))
                .finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::wire::WireType;

    /// A mechanism-1 blob: ciphertext, iv, key_info {mechanism 1, key_id "k", wrapped_key}.
    const BLOB: [u8; 23] = [
        0x0a, 0x03, 1, 2, 3, // ciphertext
        0x12, 0x02, 4, 5, // iv
        0x20, 0x01, // wrapped
        0x2a, 0x08, 0x08, 0x01, 0x1a, 0x01, b'k', 0x2a, 0x01, 9, // key_info
        0x42, 0x00, // client_data: empty Struct
    ];

    #[test]
    fn reads_a_mechanism_1_blob() {
        let blob = BlobInfoRef::decode(&BLOB).unwrap();
        assert_eq!(blob.ciphertext(), [1, 2, 3]);
        assert_eq!(blob.iv(), [4, 5]);
        assert!(blob.wrapped());
        assert_eq!(blob.mechanism(), Mechanism::EnvelopeAesGcm);
        assert_eq!(blob.key_id(), Some("k"));
        assert_eq!(blob.key_info().unwrap().wrapped_key(), [9]);
        assert_eq!(blob.client_data(), b"");
    }

    #[test]
    fn no_key_info_is_mechanism_0() {
        let blob = BlobInfoRef::decode(&[0x0a, 0x01, 7]).unwrap();
        assert_eq!(blob.mechanism(), Mechanism::AwsKmsEncrypt);
        assert_eq!(blob.key_id(), None);
        assert_eq!(
            BlobInfoRef::decode(&[]).unwrap().mechanism(),
            Mechanism::AwsKmsEncrypt
        );
    }

    #[test]
    fn errors_in_key_info_carry_absolute_offsets() {
        // key_info holding a truncated varint: offset counts from the BlobInfo's start.
        assert_eq!(
            BlobInfoRef::decode(&[0x0a, 0x00, 0x2a, 0x02, 0x08, 0x80]),
            Err(EnvelopeError::TruncatedVarint { offset: 5 })
        );
        assert_eq!(
            BlobInfoRef::decode(&[0x2a, 0x03, 0x1a, 0x01, 0xfe]),
            Err(EnvelopeError::InvalidUtf8 {
                field: "KeyInfo.key_id",
                offset: 4
            })
        );
    }

    #[test]
    fn duplicate_embedded_messages() {
        assert_eq!(
            BlobInfoRef::decode(&[0x2a, 0x00, 0x2a, 0x00]),
            Err(EnvelopeError::DuplicateField {
                field: "BlobInfo.key_info",
                offset: 2
            })
        );
        assert_eq!(
            BlobInfoRef::decode(&[0x42, 0x00, 0x0a, 0x00, 0x42, 0x00]),
            Err(EnvelopeError::DuplicateField {
                field: "BlobInfo.client_data",
                offset: 4
            })
        );
    }

    #[test]
    fn wrong_wire_types() {
        assert_eq!(
            BlobInfoRef::decode(&[0x08, 0x01]),
            Err(EnvelopeError::WrongWireType {
                field: "BlobInfo.ciphertext",
                expected: WireType::Len,
                found: WireType::Varint,
                offset: 0
            })
        );
        assert_eq!(
            BlobInfoRef::decode(&[0x22, 0x00]),
            Err(EnvelopeError::WrongWireType {
                field: "BlobInfo.wrapped",
                expected: WireType::Varint,
                found: WireType::Len,
                offset: 0
            })
        );
        // A group where key_info belongs.
        assert_eq!(
            BlobInfoRef::decode(&[0x2b, 0x2c]),
            Err(EnvelopeError::WrongWireType {
                field: "BlobInfo.key_info",
                expected: WireType::Len,
                found: WireType::StartGroup,
                offset: 0
            })
        );
        assert_eq!(
            BlobInfoRef::decode(&[0x32, 0x01, 0x80]),
            Err(EnvelopeError::InvalidUtf8 {
                field: "BlobInfo.value_path",
                offset: 2
            })
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn owned_encoding_is_canonical() {
        let blob = BlobInfo::decode(&BLOB).unwrap();
        // The empty client_data Struct is not kept apart from an absent one.
        let mut expected = BLOB[..BLOB.len() - 2].to_vec();
        assert_eq!(blob.encode(), expected);
        assert_eq!(blob.encoded_len(), expected.len());
        // Non-canonical bool true (2) re-encodes as 1.
        expected[10] = 2;
        assert_eq!(BlobInfo::decode(&expected).unwrap(), blob);
        let debug = alloc::format!(
            "{:?}",
            BlobInfo {
                plaintext: b"top secret".to_vec(),
                ..blob
            }
        );
        assert!(!debug.contains("top secret") && debug.contains("10 bytes redacted"));
    }
}
