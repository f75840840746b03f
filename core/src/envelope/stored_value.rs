//! Stored values: what Vault writes to its storage backend for a sealed entry, bare or
//! `multiwrapvalue:1`-framed, with or without the canary byte. The rules are in the
//! [`envelope`](super) module documentation, section "Stored values and the canary".

use core::fmt;

use super::EnvelopeError;
use super::blob_info::BlobInfoRef;
use super::multi_wrap_value::{MultiWrapValueRef, Slots};

/// The 16 ASCII bytes that start a framed `MultiWrapValue`.
pub const MULTI_WRAP_VALUE_HEADER: &[u8; 16] = b"multiwrapvalue:1";

/// The byte Vault appends to generic seal-wrapped storage entries.
pub const CANARY: u8 = b's';

/// Length of the header plus the 4-byte big-endian length.
const FRAMING_LEN: usize = MULTI_WRAP_VALUE_HEADER.len() + 4;

/// A stored value borrowed from its bytes: one bare `BlobInfo` or a framed `MultiWrapValue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a borrowed view lives on the stack briefly; boxing would need an allocator"
)]
pub enum StoredValueRef<'a> {
    /// A bare `BlobInfo` (one seal; what Vault before 1.15 always wrote).
    Bare(BlobInfoRef<'a>),
    /// A `multiwrapvalue:1`-framed `MultiWrapValue` (several seals).
    Multi(MultiWrapValueRef<'a>),
}

impl<'a> StoredValueRef<'a> {
    /// The seal generation: the `MultiWrapValue`'s, or 0 for a bare `BlobInfo` (Vault's
    /// "transitory" generation).
    pub fn generation(&self) -> u64 {
        match self {
            Self::Bare(_) => 0,
            Self::Multi(multi) => multi.generation(),
        }
    }

    /// Every `BlobInfo` of the value: the bare one, or each slot.
    pub fn slots(&self) -> StoredSlots<'a> {
        StoredSlots {
            inner: match self {
                Self::Bare(blob) => SlotsInner::Bare(Some(*blob)),
                Self::Multi(multi) => SlotsInner::Multi(multi.slots()),
            },
        }
    }
}

/// A decoded stored value and whether it carried the canary byte `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedValueRef<'a> {
    /// The value.
    pub value: StoredValueRef<'a>,
    /// Whether the input ended with the canary byte `s` (not part of the value).
    pub canary: bool,
}

/// Decodes a stored value without allocating, telling the canary apart by the rules in the
/// [`envelope`](super#stored-values-and-the-canary) module documentation.
///
/// # Errors
/// [`EnvelopeError::FramingTooShort`] or [`EnvelopeError::FramingLengthMismatch`] for a bad
/// `multiwrapvalue:1` framing; otherwise any wire-format error of the `BlobInfo` or
/// `MultiWrapValue`, with offsets counted from the start of `bytes`.
pub fn decode_stored_value_ref(bytes: &[u8]) -> Result<DecodedValueRef<'_>, EnvelopeError> {
    if let Some(framed) = bytes.strip_prefix(MULTI_WRAP_VALUE_HEADER.as_slice()) {
        let (length, body) =
            framed
                .split_first_chunk::<4>()
                .ok_or(EnvelopeError::FramingTooShort {
                    length: bytes.len(),
                })?;
        let declared = u32::from_be_bytes(*length);
        let split = usize::try_from(declared)
            .ok()
            .and_then(|n| body.split_at_checked(n));
        let (message, canary) = match split {
            Some((message, [])) => (message, false),
            Some((message, [CANARY])) => (message, true),
            _ => {
                return Err(EnvelopeError::FramingLengthMismatch {
                    declared,
                    actual: body.len(),
                });
            }
        };
        let value = MultiWrapValueRef::decode_at(message, FRAMING_LEN)?;
        return Ok(DecodedValueRef {
            value: StoredValueRef::Multi(value),
            canary,
        });
    }
    match BlobInfoRef::decode_at(bytes, 0) {
        Ok(blob) => Ok(DecodedValueRef {
            value: StoredValueRef::Bare(blob),
            canary: false,
        }),
        Err(whole) => match bytes.split_last() {
            Some((&CANARY, rest)) => BlobInfoRef::decode_at(rest, 0)
                .map(|blob| DecodedValueRef {
                    value: StoredValueRef::Bare(blob),
                    canary: true,
                })
                .map_err(|_| whole),
            _ => Err(whole),
        },
    }
}

/// The `BlobInfo`s of a [`StoredValueRef`].
#[derive(Clone, Debug)]
pub struct StoredSlots<'a> {
    inner: SlotsInner<'a>,
}

#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a borrowed view lives on the stack briefly; boxing would need an allocator"
)]
enum SlotsInner<'a> {
    Bare(Option<BlobInfoRef<'a>>),
    Multi(Slots<'a>),
}

impl<'a> Iterator for StoredSlots<'a> {
    type Item = BlobInfoRef<'a>;

    fn next(&mut self) -> Option<BlobInfoRef<'a>> {
        match &mut self.inner {
            SlotsInner::Bare(blob) => blob.take(),
            SlotsInner::Multi(slots) => slots.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            SlotsInner::Bare(blob) => {
                let n = usize::from(blob.is_some());
                (n, Some(n))
            }
            SlotsInner::Multi(slots) => slots.size_hint(),
        }
    }
}

impl ExactSizeIterator for StoredSlots<'_> {}

impl fmt::Display for StoredValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bare(blob) => write!(f, "bare BlobInfo ({})", blob.mechanism()),
            Self::Multi(multi) => write!(
                f,
                "MultiWrapValue generation {} with {} slots",
                multi.generation(),
                multi.slots().len()
            ),
        }
    }
}

#[cfg(feature = "alloc")]
pub use owned::{DecodedValue, StoredValue, decode_stored_value};

#[cfg(feature = "alloc")]
mod owned {
    use alloc::vec::Vec;

    use super::*;
    use crate::envelope::{BlobInfo, MultiWrapValue};

    /// An owned stored value: one bare `BlobInfo` or a framed `MultiWrapValue`.
    ///
    /// Encoding keeps the form: `Multi` is always framed, even with one slot (Vault itself
    /// writes a one-slot value bare; build `Bare` for that).
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[allow(
        clippy::large_enum_variant,
        reason = "the public shape others match on; the 320 bytes are headers of heap data"
    )]
    pub enum StoredValue {
        /// A bare `BlobInfo`.
        Bare(BlobInfo),
        /// A `multiwrapvalue:1`-framed `MultiWrapValue`.
        Multi(MultiWrapValue),
    }

    /// A decoded stored value and whether it carried the canary byte `s`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct DecodedValue {
        /// The value.
        pub value: StoredValue,
        /// Whether the input ended with the canary byte `s`; [`encode`](Self::encode) writes
        /// it back.
        pub canary: bool,
    }

    /// Decodes a stored value, telling the canary apart by the rules in the
    /// [`envelope`](crate::envelope#stored-values-and-the-canary) module documentation. Unknown fields are dropped.
    ///
    /// # Errors
    /// As [`decode_stored_value_ref`].
    pub fn decode_stored_value(bytes: &[u8]) -> Result<DecodedValue, EnvelopeError> {
        decode_stored_value_ref(bytes).map(DecodedValue::from)
    }

    impl StoredValue {
        /// Decodes a stored value; same as [`decode_stored_value`].
        ///
        /// # Errors
        /// As [`decode_stored_value_ref`].
        pub fn decode(bytes: &[u8]) -> Result<DecodedValue, EnvelopeError> {
            decode_stored_value(bytes)
        }

        /// The stored bytes, without a canary.
        ///
        /// # Panics
        /// If a `Multi` value's encoding exceeds 4 GiB, which the 4-byte framing length cannot
        /// express (Vault's values are far smaller).
        pub fn encode(&self) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.encoded_len(false));
            self.encode_into(&mut out, false);
            out
        }

        /// The stored bytes followed by the canary byte `s`, as Vault writes generic
        /// seal-wrapped entries.
        ///
        /// # Panics
        /// As [`encode`](Self::encode).
        pub fn encode_with_canary(&self) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.encoded_len(true));
            self.encode_into(&mut out, true);
            out
        }

        /// Appends the stored bytes, and the canary if `canary`, to `out`.
        ///
        /// # Panics
        /// As [`encode`](Self::encode).
        pub fn encode_into(&self, out: &mut Vec<u8>, canary: bool) {
            match self {
                Self::Bare(blob) => blob.encode_into(out),
                Self::Multi(multi) => {
                    let length = u32::try_from(multi.encoded_len())
                        .expect("a framed MultiWrapValue is at most 4 GiB (see # Panics)");
                    out.extend_from_slice(MULTI_WRAP_VALUE_HEADER);
                    out.extend_from_slice(&length.to_be_bytes());
                    multi.encode_into(out);
                }
            }
            if canary {
                out.push(CANARY);
            }
        }

        /// The length of the encoding, with or without the canary.
        pub fn encoded_len(&self, canary: bool) -> usize {
            let value = match self {
                Self::Bare(blob) => blob.encoded_len(),
                Self::Multi(multi) => FRAMING_LEN + multi.encoded_len(),
            };
            value + usize::from(canary)
        }

        /// The seal generation: the `MultiWrapValue`'s, or 0 for a bare `BlobInfo`.
        pub fn generation(&self) -> u64 {
            match self {
                Self::Bare(_) => 0,
                Self::Multi(multi) => multi.generation,
            }
        }

        /// Every `BlobInfo` of the value: the bare one, or each slot.
        pub fn slots(&self) -> &[BlobInfo] {
            match self {
                Self::Bare(blob) => core::slice::from_ref(blob),
                Self::Multi(multi) => &multi.slots,
            }
        }
    }

    impl DecodedValue {
        /// The stored bytes, with the canary if [`canary`](Self::canary) is set.
        ///
        /// # Panics
        /// As [`StoredValue::encode`].
        pub fn encode(&self) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.value.encoded_len(self.canary));
            self.value.encode_into(&mut out, self.canary);
            out
        }
    }

    impl From<StoredValueRef<'_>> for StoredValue {
        fn from(r: StoredValueRef<'_>) -> Self {
            match r {
                StoredValueRef::Bare(blob) => Self::Bare(blob.into()),
                StoredValueRef::Multi(multi) => Self::Multi(multi.into()),
            }
        }
    }

    impl From<DecodedValueRef<'_>> for DecodedValue {
        fn from(r: DecodedValueRef<'_>) -> Self {
            DecodedValue {
                value: r.value.into(),
                canary: r.canary,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Mechanism;

    /// Header, length 12, generation 2, slots with ciphertexts "a" and "b".
    const FRAMED: [u8; 32] =
        *b"multiwrapvalue:1\x00\x00\x00\x0c\x08\x02\x12\x03\x0a\x01a\x12\x03\x0a\x01b";

    #[test]
    fn framed_value_without_and_with_canary() {
        let decoded = decode_stored_value_ref(&FRAMED).unwrap();
        assert!(!decoded.canary);
        let StoredValueRef::Multi(multi) = decoded.value else {
            panic!("expected a framed value, got {decoded:?}");
        };
        assert_eq!(multi.generation(), 2);
        assert_eq!(decoded.value.slots().len(), 2);

        let mut with_canary = [0u8; 33];
        with_canary[..32].copy_from_slice(&FRAMED);
        with_canary[32] = b's';
        let decoded = decode_stored_value_ref(&with_canary).unwrap();
        assert!(decoded.canary);
        assert_eq!(decoded.value.generation(), 2);
    }

    #[test]
    fn framing_errors() {
        assert_eq!(
            decode_stored_value_ref(b"multiwrapvalue:1\x00\x00"),
            Err(EnvelopeError::FramingTooShort { length: 18 })
        );
        // One byte short.
        assert_eq!(
            decode_stored_value_ref(&FRAMED[..31]),
            Err(EnvelopeError::FramingLengthMismatch {
                declared: 12,
                actual: 11
            })
        );
        // Trailing garbage that is not the canary.
        let mut trailing = [0u8; 33];
        trailing[..32].copy_from_slice(&FRAMED);
        trailing[32] = b'x';
        assert_eq!(
            decode_stored_value_ref(&trailing),
            Err(EnvelopeError::FramingLengthMismatch {
                declared: 12,
                actual: 13
            })
        );
        // A declared length past 2 GiB.
        assert_eq!(
            decode_stored_value_ref(b"multiwrapvalue:1\xff\xff\xff\xff"),
            Err(EnvelopeError::FramingLengthMismatch {
                declared: u32::MAX,
                actual: 0
            })
        );
        // Errors inside the MultiWrapValue count from the start of the stored value.
        assert_eq!(
            decode_stored_value_ref(b"multiwrapvalue:1\x00\x00\x00\x01\x08"),
            Err(EnvelopeError::TruncatedVarint { offset: 21 })
        );
    }

    #[test]
    fn bare_value_without_and_with_canary() {
        let blob = [0x0a, 0x02, b'c', b's', 0x2a, 0x02, 0x08, 0x01];
        let decoded = decode_stored_value_ref(&blob).unwrap();
        assert!(!decoded.canary);
        let StoredValueRef::Bare(bare) = decoded.value else {
            panic!("expected a bare value, got {decoded:?}");
        };
        assert_eq!(bare.mechanism(), Mechanism::EnvelopeAesGcm);

        let mut with_canary = [0u8; 9];
        with_canary[..8].copy_from_slice(&blob);
        with_canary[8] = b's';
        let decoded = decode_stored_value_ref(&with_canary).unwrap();
        assert!(decoded.canary);
        assert_eq!(decoded.value.generation(), 0);
        assert_eq!(decoded.value.slots().next().unwrap().ciphertext(), b"cs");

        // A value whose own last byte is `s` is not mistaken for a canary.
        let decoded = decode_stored_value_ref(&blob[..4]).unwrap();
        assert!(!decoded.canary);

        // Only the canary: an empty BlobInfo.
        let decoded = decode_stored_value_ref(b"s").unwrap();
        assert!(decoded.canary);
        assert!(!decode_stored_value_ref(b"").unwrap().canary);
    }

    #[test]
    fn bare_errors_report_the_whole_input() {
        // Not a BlobInfo, with or without its last byte.
        assert_eq!(
            decode_stored_value_ref(&[0x0a, 0x05, b's']),
            Err(EnvelopeError::LengthPastEnd {
                offset: 2,
                length: 5,
                available: 1
            })
        );
        assert_eq!(
            decode_stored_value_ref(&[0x0a, 0x05, b'x']),
            Err(EnvelopeError::LengthPastEnd {
                offset: 2,
                length: 5,
                available: 1
            })
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn owned_encode_keeps_form_and_canary() {
        use alloc::vec::Vec;
        let decoded = decode_stored_value(&FRAMED).unwrap();
        assert_eq!(decoded.encode(), FRAMED);
        let mut with_canary: Vec<u8> = FRAMED.to_vec();
        with_canary.push(b's');
        assert_eq!(decoded.value.encode_with_canary(), with_canary);
        let again = StoredValue::decode(&with_canary).unwrap();
        assert!(again.canary);
        assert_eq!(again.encode(), with_canary);
        assert_eq!(again.value.slots().len(), 2);
        assert_eq!(again.value.generation(), 2);

        let bare = StoredValue::Bare(crate::envelope::BlobInfo {
            ciphertext: b"x".to_vec(),
            ..Default::default()
        });
        assert_eq!(bare.encode(), [0x0a, 0x01, b'x']);
        assert_eq!(bare.encode_with_canary(), [0x0a, 0x01, b'x', b's']);
        assert_eq!(bare.encoded_len(true), 4);
    }
}
