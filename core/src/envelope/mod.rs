//! Vault's seal wire format: the protobuf messages the AWS KMS seal stores, and the
//! AES-256-GCM envelope of mechanism 1.
//!
//! Reads and writes exactly the bytes Vault and OpenBao store (go-kms-wrapping v2 types):
//!
//! - `BlobInfo` / [`BlobInfoRef`]: one sealed value, with its `KeyInfo` / [`KeyInfoRef`];
//! - `MultiWrapValue` / [`MultiWrapValueRef`]: a value sealed by several seals;
//! - `decode_stored_value` / [`decode_stored_value_ref`]: a whole storage entry, bare or
//!   `multiwrapvalue:1`-framed, with or without the canary byte `s`;
//! - [`aead`]: AES-256-GCM with Go's layout (tag appended, 12-byte IV).
//!
//! The `…Ref` types borrow from the input and need no allocator; the owned types (feature
//! `alloc`) add `encode()`, which writes what Go's `proto.Marshal` writes: fields in number
//! order, defaults left out, `key_purposes` packed. Decoding follows proto3: unknown fields of
//! every wire type are skipped, the last occurrence of a scalar wins, `key_purposes` is read
//! packed or unpacked. Enum fields stay raw `u64`s so unknown and negative values re-encode
//! unchanged. Owned values drop unknown fields.
//!
//! Where this is stricter than Go's decoder, on bytes Vault never writes: a known field with
//! the wrong wire type is an error (Go would keep it as an unknown field), and a repeated
//! `key_info` or `client_data` is an error (Go would merge the two messages).
//!
//! # Messages (proto3)
//!
//! ```text
//! BlobInfo:  1 ciphertext bytes | 2 iv bytes | 3 hmac bytes | 4 wrapped bool (deprecated)
//!            5 key_info KeyInfo | 6 value_path string (deprecated) | 7 plaintext bytes
//!            8 client_data google.protobuf.Struct (kept opaque)
//! KeyInfo:   1 mechanism uint64 | 2 hmac_mechanism uint64 | 3 key_id string | 4 hmac_key_id string
//!            5 wrapped_key bytes | 6 flags uint64 | 7 key_type enum | 8 key_purposes repeated enum
//!            9 key bytes | 10 key_encoding enum | 11 wrapped_key_encoding enum
//! MultiWrapValue: 1 generation uint64 | 2 slots repeated BlobInfo
//! ```
//!
//! # Stored values and the canary
//!
//! A value sealed by one seal is stored as a bare serialized `BlobInfo`. A value sealed by
//! several seals is framed as `"multiwrapvalue:1"` (16 ASCII bytes), a 4-byte big-endian
//! length, then the `MultiWrapValue`, and the length must equal the number of bytes that
//! follow. Generic seal-wrapped storage entries carry one more byte at the very end, the
//! canary `s`. Decoding tells the canary apart without guessing:
//!
//! 1. **Framed values** (starting with `multiwrapvalue:1`): the length tells. If exactly
//!    `length` bytes follow there is no canary; if `length + 1` follow and the last is `s`,
//!    that byte is the canary; anything else is [`EnvelopeError::FramingLengthMismatch`].
//!    No bare `BlobInfo` can start with the header (its `w` would be a tag with the undefined
//!    wire type 7), so the header is never ambiguous.
//! 2. **Bare values**: the whole input is parsed as a `BlobInfo` first; if that works there is
//!    no canary. Otherwise, if the last byte is `s` and everything before it parses, that byte
//!    is the canary. Otherwise the error of the first attempt is returned.
//!
//! Rule 2 cannot misread a value: `s` (0x73) read as a tag opens a group for field 14, so a
//! valid `BlobInfo` followed by `s` always fails the first attempt (the group is never
//! closed), and a value that parses whole never gained a canary. This is Vault's own order
//! (framing first, then a bare `BlobInfo`); the decoded value's `canary` flag lets its
//! `encode()` write the same bytes back.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use kms_seal_core::envelope::{self, aead, BlobInfo, KeyInfo, Mechanism, StoredValue};
//!
//! // Seal a value as mechanism 1 (the data key would come from KMS GenerateDataKey or a
//! // random source, and `wrapped_key` from KMS Encrypt).
//! let key = aead::DataKey::from_bytes([1; 32]);
//! let iv = aead::Iv::from_bytes([2; 12]);
//! let blob = BlobInfo {
//!     ciphertext: aead::seal(&key, &iv, b"secret", None),
//!     iv: iv.as_bytes().to_vec(),
//!     key_info: Some(KeyInfo {
//!         mechanism: Mechanism::EnvelopeAesGcm.as_u64(),
//!         key_id: "arn:aws:kms:us-east-1:111122223333:key/example".into(),
//!         wrapped_key: b"kms ciphertext of the data key".to_vec(),
//!         ..KeyInfo::default()
//!     }),
//!     ..BlobInfo::default()
//! };
//! let stored = StoredValue::Bare(blob).encode();
//!
//! let decoded = envelope::decode_stored_value(&stored)?;
//! let slot = &decoded.value.slots()[0];
//! assert_eq!(slot.mechanism(), Mechanism::EnvelopeAesGcm);
//! let iv = aead::Iv::from_slice(&slot.iv)?;
//! assert_eq!(aead::open(&key, &iv, &slot.ciphertext, None)?.as_slice(), b"secret");
//! # }
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

pub mod aead;
mod blob_info;
mod debug_bytes;
mod error;
mod key_info;
mod mechanism;
mod multi_wrap_value;
mod stored_value;
mod wire;

pub use blob_info::BlobInfoRef;
pub use error::EnvelopeError;
pub use key_info::{KeyInfoRef, KeyPurposes};
pub use mechanism::Mechanism;
pub use multi_wrap_value::{MultiWrapValueRef, Slots};
pub use stored_value::{
    CANARY, DecodedValueRef, MULTI_WRAP_VALUE_HEADER, StoredSlots, StoredValueRef,
    decode_stored_value_ref,
};
pub use wire::{MAX_GROUP_DEPTH, WireType};

#[cfg(feature = "alloc")]
pub use blob_info::BlobInfo;
#[cfg(feature = "alloc")]
pub use key_info::KeyInfo;
#[cfg(feature = "alloc")]
pub use multi_wrap_value::MultiWrapValue;
#[cfg(feature = "alloc")]
pub use stored_value::{DecodedValue, StoredValue, decode_stored_value};
