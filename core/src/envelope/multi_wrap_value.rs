//! `MultiWrapValue`: one value sealed by several seals (Vault 1.15+ seal HA).
//!
//! ```text
//! 1 generation uint64 | 2 slots repeated BlobInfo
//! ```

use core::fmt;

use super::EnvelopeError;
use super::blob_info::BlobInfoRef;
use super::wire::{Reader, Value, for_each_field};

const GENERATION: u32 = 1;
const SLOTS: u32 = 2;

/// A `MultiWrapValue` borrowed from the bytes it was decoded from; needs no allocator.
///
/// Every slot is checked when the value is decoded, so [`slots`](Self::slots) cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MultiWrapValueRef<'a> {
    raw: &'a [u8],
    base: usize,
    generation: u64,
    slot_count: usize,
}

impl<'a> MultiWrapValueRef<'a> {
    /// Decodes a serialized `MultiWrapValue` message (without the `multiwrapvalue:1` framing;
    /// see [`decode_stored_value_ref`](super::decode_stored_value_ref) for that).
    ///
    /// # Errors
    /// Any [`EnvelopeError`] of the wire format, in this message or any slot.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        Self::decode_at(bytes, 0)
    }

    pub(crate) fn decode_at(bytes: &'a [u8], base: usize) -> Result<Self, EnvelopeError> {
        let mut value = MultiWrapValueRef {
            raw: bytes,
            base,
            generation: 0,
            slot_count: 0,
        };
        for_each_field(bytes, base, |field| {
            match field.number {
                GENERATION => value.generation = field.varint("MultiWrapValue.generation")?,
                SLOTS => {
                    let (payload, at) = field.len("MultiWrapValue.slots")?;
                    BlobInfoRef::decode_at(payload, at)?;
                    value.slot_count += 1;
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(value)
    }

    /// Field 1: the seal generation that wrote the value.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Field 2: one `BlobInfo` per seal, in wire order.
    pub fn slots(&self) -> Slots<'a> {
        Slots {
            fields: Reader::new(self.raw, self.base),
            remaining: self.slot_count,
        }
    }
}

impl fmt::Debug for MultiWrapValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct List<'a>(Slots<'a>);
        impl fmt::Debug for List<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.clone()).finish()
            }
        }
        f.debug_struct("MultiWrapValueRef")
            .field("generation", &self.generation)
            .field("slots", &List(self.slots()))
            .finish()
    }
}

/// The slots of a [`MultiWrapValueRef`].
#[derive(Clone, Debug)]
pub struct Slots<'a> {
    fields: Reader<'a>,
    remaining: usize,
}

impl<'a> Iterator for Slots<'a> {
    type Item = BlobInfoRef<'a>;

    fn next(&mut self) -> Option<BlobInfoRef<'a>> {
        const CHECKED: &str = "slots were checked when the MultiWrapValueRef was decoded";
        loop {
            let field = self.fields.next_field().expect(CHECKED)?;
            if let (SLOTS, Value::Len(payload, at)) = (field.number, field.value) {
                self.remaining = self.remaining.saturating_sub(1);
                return Some(BlobInfoRef::decode_at(payload, at).expect(CHECKED));
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Slots<'_> {}

#[cfg(feature = "alloc")]
pub use owned::MultiWrapValue;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::vec::Vec;

    use super::*;
    use crate::envelope::BlobInfo;
    use crate::envelope::wire::{
        len_field_len, put_len_header, put_varint_field, varint_field_len,
    };

    /// An owned `MultiWrapValue` (Vault's `seal.MultiWrapValue`).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct MultiWrapValue {
        /// Field 1: the seal generation that wrote the value.
        pub generation: u64,
        /// Field 2: one `BlobInfo` per seal.
        pub slots: Vec<BlobInfo>,
    }

    impl MultiWrapValue {
        /// Decodes a serialized `MultiWrapValue` (without framing); unknown fields are dropped.
        ///
        /// # Errors
        /// As [`MultiWrapValueRef::decode`].
        pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
            MultiWrapValueRef::decode(bytes).map(Self::from)
        }

        /// The serialized message (without framing), as Go's `proto.Marshal` writes it.
        pub fn encode(&self) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.encoded_len());
            self.encode_into(&mut out);
            out
        }

        /// Appends the serialized message (without framing) to `out`.
        pub fn encode_into(&self, out: &mut Vec<u8>) {
            put_varint_field(out, GENERATION, self.generation);
            for slot in &self.slots {
                put_len_header(out, SLOTS, slot.encoded_len());
                slot.encode_into(out);
            }
        }

        /// The length of [`encode`](Self::encode)'s output.
        pub fn encoded_len(&self) -> usize {
            varint_field_len(GENERATION, self.generation)
                + self
                    .slots
                    .iter()
                    .map(|slot| len_field_len(SLOTS, slot.encoded_len()))
                    .sum::<usize>()
        }
    }

    impl From<MultiWrapValueRef<'_>> for MultiWrapValue {
        fn from(r: MultiWrapValueRef<'_>) -> Self {
            MultiWrapValue {
                generation: r.generation,
                slots: r.slots().map(BlobInfo::from).collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::wire::WireType;

    #[test]
    fn reads_slots_in_order_around_unknown_fields() {
        let bytes = [
            0x12, 0x03, 0x0a, 0x01, b'a', // slot 1
            0x08, 0x07, // generation 7
            0x1d, 0, 0, 0, 0, // unknown fixed32 field 3
            0x12, 0x03, 0x0a, 0x01, b'b', // slot 2
        ];
        let value = MultiWrapValueRef::decode(&bytes).unwrap();
        assert_eq!(value.generation(), 7);
        assert_eq!(value.slots().len(), 2);
        let texts: [&[u8]; 2] = [b"a", b"b"];
        assert!(value.slots().map(|s| s.ciphertext()).eq(texts));
    }

    #[test]
    fn a_bad_slot_fails_the_whole_value() {
        assert_eq!(
            MultiWrapValueRef::decode(&[0x08, 0x01, 0x12, 0x02, 0x0a, 0x05]),
            Err(EnvelopeError::LengthPastEnd {
                offset: 6,
                length: 5,
                available: 0
            })
        );
        assert_eq!(
            MultiWrapValueRef::decode(&[0x10, 0x01]),
            Err(EnvelopeError::WrongWireType {
                field: "MultiWrapValue.slots",
                expected: WireType::Len,
                found: WireType::Varint,
                offset: 0
            })
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn owned_round_trip() {
        use crate::envelope::BlobInfo;
        let value = MultiWrapValue {
            generation: 3,
            slots: alloc::vec![
                BlobInfo::default(),
                BlobInfo {
                    ciphertext: alloc::vec![1],
                    ..BlobInfo::default()
                }
            ],
        };
        let bytes = value.encode();
        // An empty slot is still written (length 0): slots are messages, always present.
        assert_eq!(
            bytes,
            [0x08, 0x03, 0x12, 0x00, 0x12, 0x03, 0x0a, 0x01, 0x01]
        );
        assert_eq!(MultiWrapValue::decode(&bytes).unwrap(), value);
    }
}
