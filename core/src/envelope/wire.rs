//! The protobuf (proto3) wire format: one length-checking reader and, under `alloc`, the
//! writer primitives.
//!
//! Reading follows Go's `protowire` rules, which is what Vault and OpenBao use: varints of up
//! to 10 bytes (non-minimal encodings accepted, the tenth byte at most 1), field numbers
//! 1..=2^29-1, wire types 0-5, groups skipped as unknown fields when their end tag matches.
//! Nothing is indexed directly: every step goes through `split_at_checked`/`get`.

use core::fmt;

use super::EnvelopeError;

/// The deepest nesting of (unknown, deprecated) groups the reader skips before giving up.
///
/// Vault never writes groups; this only bounds the work spent on hostile input.
pub const MAX_GROUP_DEPTH: usize = 64;

/// The largest length prefix accepted: protobuf's 2 GiB limit on any message.
pub(crate) const MAX_FIELD_LEN: u64 = i32::MAX as u64;

/// The largest valid field number (2^29 - 1).
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// A protobuf wire type, the low 3 bits of every tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireType {
    /// 0: a varint (`uint64`, `bool`, enums).
    Varint,
    /// 1: eight little-endian bytes.
    Fixed64,
    /// 2: a length prefix and that many bytes (`bytes`, `string`, messages, packed repeated).
    Len,
    /// 3: start of a (deprecated) group.
    StartGroup,
    /// 4: end of a (deprecated) group.
    EndGroup,
    /// 5: four little-endian bytes.
    Fixed32,
}

impl WireType {
    /// The wire type for the low 3 bits of a tag, or `None` for the undefined 6 and 7.
    pub fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::Varint),
            1 => Some(Self::Fixed64),
            2 => Some(Self::Len),
            3 => Some(Self::StartGroup),
            4 => Some(Self::EndGroup),
            5 => Some(Self::Fixed32),
            _ => None,
        }
    }

    /// The 3-bit value written in tags.
    pub fn bits(self) -> u8 {
        match self {
            Self::Varint => 0,
            Self::Fixed64 => 1,
            Self::Len => 2,
            Self::StartGroup => 3,
            Self::EndGroup => 4,
            Self::Fixed32 => 5,
        }
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Varint => "varint",
            Self::Fixed64 => "fixed64",
            Self::Len => "length-delimited",
            Self::StartGroup => "start-group",
            Self::EndGroup => "end-group",
            Self::Fixed32 => "fixed32",
        })
    }
}

/// The payload of one field as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64,
    /// The payload and the absolute offset where it starts.
    Len(&'a [u8], usize),
    Fixed32,
    /// A whole group, already skipped.
    Group,
}

impl Value<'_> {
    pub(crate) fn wire_type(&self) -> WireType {
        match self {
            Value::Varint(_) => WireType::Varint,
            Value::Fixed64 => WireType::Fixed64,
            Value::Len(..) => WireType::Len,
            Value::Fixed32 => WireType::Fixed32,
            Value::Group => WireType::StartGroup,
        }
    }
}

/// One field: its number, its payload and the absolute offset of its tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub(crate) number: u32,
    pub(crate) value: Value<'a>,
    pub(crate) offset: usize,
}

impl<'a> Field<'a> {
    /// The varint of a known varint field.
    pub(crate) fn varint(&self, name: &'static str) -> Result<u64, EnvelopeError> {
        match self.value {
            Value::Varint(v) => Ok(v),
            other => Err(self.wrong(name, WireType::Varint, other.wire_type())),
        }
    }

    /// The payload of a known length-delimited field.
    pub(crate) fn len(&self, name: &'static str) -> Result<(&'a [u8], usize), EnvelopeError> {
        match self.value {
            Value::Len(bytes, at) => Ok((bytes, at)),
            other => Err(self.wrong(name, WireType::Len, other.wire_type())),
        }
    }

    /// The payload of a known `string` field, checked to be UTF-8.
    pub(crate) fn string(&self, name: &'static str) -> Result<&'a str, EnvelopeError> {
        let (bytes, at) = self.len(name)?;
        core::str::from_utf8(bytes).map_err(|_| EnvelopeError::InvalidUtf8 {
            field: name,
            offset: at,
        })
    }

    fn wrong(&self, field: &'static str, expected: WireType, found: WireType) -> EnvelopeError {
        EnvelopeError::WrongWireType {
            field,
            expected,
            found,
            offset: self.offset,
        }
    }
}

/// Reads fields one after the other from a message's bytes, checking every length.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    /// Absolute offset of `rest[0]` in the caller's input.
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, which start at absolute offset `base` of the caller's input.
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            rest: bytes,
            pos: base,
        }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next field, or `None` at the end of the message.
    ///
    /// Groups are skipped whole (and come back as [`Value::Group`]); an end-group tag at this
    /// level is an error.
    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>, EnvelopeError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let offset = self.pos;
        let (number, wire_type) = self.tag()?;
        let value = match wire_type {
            WireType::Varint => Value::Varint(self.varint()?),
            WireType::Fixed64 => {
                self.take(8)?;
                Value::Fixed64
            }
            WireType::Fixed32 => {
                self.take(4)?;
                Value::Fixed32
            }
            WireType::Len => {
                let (bytes, at) = self.len_delimited()?;
                Value::Len(bytes, at)
            }
            WireType::StartGroup => {
                self.skip_group(number, offset)?;
                Value::Group
            }
            WireType::EndGroup => return Err(EnvelopeError::UnexpectedEndGroup { offset, number }),
        };
        Ok(Some(Field {
            number,
            value,
            offset,
        }))
    }

    /// A varint (Go `protowire.ConsumeVarint` rules).
    pub(crate) fn varint(&mut self) -> Result<u64, EnvelopeError> {
        let offset = self.pos;
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some((&byte, rest)) = self.rest.split_first() else {
                return Err(EnvelopeError::TruncatedVarint { offset });
            };
            if i == 9 && byte > 1 {
                return Err(EnvelopeError::VarintOverflow { offset });
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            self.rest = rest;
            self.pos += 1;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(EnvelopeError::VarintOverflow { offset })
    }

    fn tag(&mut self) -> Result<(u32, WireType), EnvelopeError> {
        let offset = self.pos;
        let key = self.varint()?;
        let number = key >> 3;
        let bits = (key & 7) as u8;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return Err(EnvelopeError::InvalidFieldNumber { offset, number });
        }
        let wire_type = WireType::from_bits(bits).ok_or(EnvelopeError::InvalidWireType {
            offset,
            wire_type: bits,
        })?;
        let number = u32::try_from(number)
            .map_err(|_| EnvelopeError::InvalidFieldNumber { offset, number })?;
        Ok((number, wire_type))
    }

    fn len_delimited(&mut self) -> Result<(&'a [u8], usize), EnvelopeError> {
        let offset = self.pos;
        let length = self.varint()?;
        if length > MAX_FIELD_LEN {
            return Err(EnvelopeError::FieldTooLarge { offset, length });
        }
        let at = self.pos;
        let bytes = self.take(length)?;
        Ok((bytes, at))
    }

    fn take(&mut self, length: u64) -> Result<&'a [u8], EnvelopeError> {
        let past_end = EnvelopeError::LengthPastEnd {
            offset: self.pos,
            length,
            available: self.rest.len(),
        };
        let n = usize::try_from(length).map_err(|_| past_end)?;
        let (taken, rest) = self.rest.split_at_checked(n).ok_or(past_end)?;
        self.rest = rest;
        self.pos += n;
        Ok(taken)
    }

    /// Skips the body of the group `number` whose start tag was at `offset`, up to and
    /// including its end tag. Iterative, with the open groups on a fixed stack.
    fn skip_group(&mut self, number: u32, offset: usize) -> Result<(), EnvelopeError> {
        // Only `open[..depth]` is meaningful; the first entry is the group being skipped.
        let mut open = [(number, offset); MAX_GROUP_DEPTH];
        let mut depth: usize = 1;
        while let Some(&(current, opened_at)) = depth.checked_sub(1).and_then(|top| open.get(top)) {
            if self.rest.is_empty() {
                return Err(EnvelopeError::UnclosedGroup {
                    offset: opened_at,
                    number: current,
                });
            }
            let tag_at = self.pos;
            let (n, wire_type) = self.tag()?;
            match wire_type {
                WireType::Varint => {
                    self.varint()?;
                }
                WireType::Fixed64 => {
                    self.take(8)?;
                }
                WireType::Fixed32 => {
                    self.take(4)?;
                }
                WireType::Len => {
                    self.len_delimited()?;
                }
                WireType::StartGroup => {
                    let slot = open
                        .get_mut(depth)
                        .ok_or(EnvelopeError::NestingTooDeep { offset: tag_at })?;
                    *slot = (n, tag_at);
                    depth += 1;
                }
                WireType::EndGroup => {
                    if n != current {
                        return Err(EnvelopeError::UnexpectedEndGroup {
                            offset: tag_at,
                            number: n,
                        });
                    }
                    depth -= 1;
                }
            }
        }
        Ok(())
    }
}

/// Calls `each` with every field of `bytes` (at absolute offset `base`), stopping at the first
/// error.
pub(crate) fn for_each_field<'a>(
    bytes: &'a [u8],
    base: usize,
    mut each: impl FnMut(Field<'a>) -> Result<(), EnvelopeError>,
) -> Result<(), EnvelopeError> {
    let mut reader = Reader::new(bytes, base);
    while let Some(field) = reader.next_field()? {
        each(field)?;
    }
    Ok(())
}

#[cfg(feature = "alloc")]
pub(crate) use writer::*;

/// Writer primitives: Go's `proto.Marshal` order and defaults (fields in number order, zero
/// scalars and empty bytes/strings left out, present messages always written).
#[cfg(feature = "alloc")]
mod writer {
    use alloc::vec::Vec;

    use super::WireType;

    /// How many bytes `value` takes as a varint.
    pub(crate) fn varint_len(value: u64) -> usize {
        // 1 byte per started group of 7 bits, at least one byte.
        let bits = 64 - (value | 1).leading_zeros() as usize;
        bits.div_ceil(7)
    }

    pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    fn put_tag(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
        put_varint(out, (u64::from(number) << 3) | u64::from(wire_type.bits()));
    }

    fn tag_len(number: u32) -> usize {
        varint_len(u64::from(number) << 3)
    }

    /// Size of a varint field, 0 when the value is the default (0).
    pub(crate) fn varint_field_len(number: u32, value: u64) -> usize {
        if value == 0 {
            0
        } else {
            tag_len(number) + varint_len(value)
        }
    }

    /// A varint field, left out when the value is the default (0).
    pub(crate) fn put_varint_field(out: &mut Vec<u8>, number: u32, value: u64) {
        if value != 0 {
            put_tag(out, number, WireType::Varint);
            put_varint(out, value);
        }
    }

    /// Size of a length-delimited field whose payload is `len` bytes, written or not.
    pub(crate) fn len_field_len(number: u32, len: usize) -> usize {
        tag_len(number) + varint_len(len as u64) + len
    }

    /// Size of a bytes/string field, 0 when empty (the default).
    pub(crate) fn bytes_field_len(number: u32, bytes: &[u8]) -> usize {
        if bytes.is_empty() {
            0
        } else {
            len_field_len(number, bytes.len())
        }
    }

    /// A bytes/string field, left out when empty.
    pub(crate) fn put_bytes_field(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
        if !bytes.is_empty() {
            put_len_header(out, number, bytes.len());
            out.extend_from_slice(bytes);
        }
    }

    /// The tag and length prefix of a length-delimited field; the caller writes the payload.
    pub(crate) fn put_len_header(out: &mut Vec<u8>, number: u32, len: usize) {
        put_tag(out, number, WireType::Len);
        put_varint(out, len as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<usize, EnvelopeError> {
        let mut n = 0;
        for_each_field(bytes, 0, |_| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    #[test]
    fn varints_follow_go_rules() {
        let mut r = Reader::new(&[0x96, 0x01], 0);
        assert_eq!(r.varint(), Ok(150));
        assert!(r.is_empty());
        // Non-minimal encodings are accepted, as Go does.
        assert_eq!(Reader::new(&[0x80, 0x00], 0).varint(), Ok(0));
        // u64::MAX: nine 0xff and a final 0x01.
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max, 0).varint(), Ok(u64::MAX));
    }

    #[test]
    fn truncated_varint() {
        assert_eq!(
            Reader::new(&[0x08, 0x96], 3).next_field(),
            Err(EnvelopeError::TruncatedVarint { offset: 4 })
        );
        assert_eq!(
            Reader::new(&[0xff], 0).next_field(),
            Err(EnvelopeError::TruncatedVarint { offset: 0 })
        );
    }

    #[test]
    fn varint_overflow() {
        let tenth_too_big = [
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ];
        assert_eq!(
            fields(&tenth_too_big),
            Err(EnvelopeError::VarintOverflow { offset: 1 })
        );
        let eleven_bytes = [
            0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        assert_eq!(
            fields(&eleven_bytes),
            Err(EnvelopeError::VarintOverflow { offset: 1 })
        );
    }

    #[test]
    fn length_past_end() {
        assert_eq!(
            fields(&[0x0a, 0x05, 1, 2, 3]),
            Err(EnvelopeError::LengthPastEnd {
                offset: 2,
                length: 5,
                available: 3
            })
        );
        // Fixed-width fields too.
        assert_eq!(
            fields(&[0x09, 1, 2, 3]),
            Err(EnvelopeError::LengthPastEnd {
                offset: 1,
                length: 8,
                available: 3
            })
        );
        assert_eq!(
            fields(&[0x0d, 1, 2]),
            Err(EnvelopeError::LengthPastEnd {
                offset: 1,
                length: 4,
                available: 2
            })
        );
    }

    #[test]
    fn oversized_field() {
        // Length 2^31 exactly: one past the limit.
        assert_eq!(
            fields(&[0x0a, 0x80, 0x80, 0x80, 0x80, 0x08]),
            Err(EnvelopeError::FieldTooLarge {
                offset: 1,
                length: 1 << 31
            })
        );
        // u64::MAX as a length.
        let huge = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert!(matches!(
            fields(&huge),
            Err(EnvelopeError::FieldTooLarge { offset: 1, .. })
        ));
    }

    #[test]
    fn invalid_tags() {
        assert_eq!(
            fields(&[0x00]),
            Err(EnvelopeError::InvalidFieldNumber {
                offset: 0,
                number: 0
            })
        );
        // Field number 2^29 (one past the maximum), varint wire type.
        assert_eq!(
            fields(&[0x80, 0x80, 0x80, 0x80, 0x10, 0x00]),
            Err(EnvelopeError::InvalidFieldNumber {
                offset: 0,
                number: 1 << 29
            })
        );
        assert_eq!(
            fields(&[0x0e]),
            Err(EnvelopeError::InvalidWireType {
                offset: 0,
                wire_type: 6
            })
        );
        assert_eq!(
            fields(&[0x0f]),
            Err(EnvelopeError::InvalidWireType {
                offset: 0,
                wire_type: 7
            })
        );
    }

    #[test]
    fn groups_are_skipped_and_checked() {
        // Field 20 group holding a varint, a fixed32 and a nested group 21, then field 1 varint.
        let ok = [
            0xa3, 0x01, 0x08, 0x05, 0x15, 1, 2, 3, 4, 0xab, 0x01, 0xac, 0x01, 0xa4, 0x01, 0x08,
            0x07,
        ];
        assert_eq!(fields(&ok), Ok(2));
        assert_eq!(
            fields(&[0xa3, 0x01, 0x08, 0x05]),
            Err(EnvelopeError::UnclosedGroup {
                offset: 0,
                number: 20
            })
        );
        assert_eq!(
            fields(&[0xa3, 0x01, 0xac, 0x01]),
            Err(EnvelopeError::UnexpectedEndGroup {
                offset: 2,
                number: 21
            })
        );
        assert_eq!(
            fields(&[0x08, 0x01, 0xa4, 0x01]),
            Err(EnvelopeError::UnexpectedEndGroup {
                offset: 2,
                number: 20
            })
        );
        // The canary byte `s` alone is an unclosed group 14.
        assert_eq!(
            fields(b"s"),
            Err(EnvelopeError::UnclosedGroup {
                offset: 0,
                number: 14
            })
        );
    }

    #[test]
    fn nesting_too_deep() {
        // Field 1 start-group tags (0x0b), one more than the limit.
        let deep = [0x0b; MAX_GROUP_DEPTH + 1];
        assert_eq!(
            fields(&deep),
            Err(EnvelopeError::NestingTooDeep {
                offset: MAX_GROUP_DEPTH
            })
        );
        // Exactly the limit, closed properly (0x0c = end of group 1), is fine.
        let mut ok = [0x0c; 2 * MAX_GROUP_DEPTH];
        ok[..MAX_GROUP_DEPTH].fill(0x0b);
        assert_eq!(fields(&ok), Ok(1));
    }

    #[test]
    fn wrong_wire_type_and_utf8() {
        let mut r = Reader::new(&[0x0d, 0, 0, 0, 0], 0);
        let f = r.next_field().unwrap().unwrap();
        assert_eq!(
            f.varint("M.f"),
            Err(EnvelopeError::WrongWireType {
                field: "M.f",
                expected: WireType::Varint,
                found: WireType::Fixed32,
                offset: 0
            })
        );
        let mut r = Reader::new(&[0x1a, 0x02, 0xc3, 0x28], 10);
        let f = r.next_field().unwrap().unwrap();
        assert_eq!(
            f.string("M.s"),
            Err(EnvelopeError::InvalidUtf8 {
                field: "M.s",
                offset: 12
            })
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn writer_matches_reader() {
        use alloc::vec::Vec;
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(Reader::new(&out, 0).varint(), Ok(v));
        }
        let mut out = Vec::new();
        put_varint_field(&mut out, 1, 0);
        put_bytes_field(&mut out, 2, b"");
        assert!(out.is_empty());
        put_bytes_field(&mut out, 2, b"ab");
        assert_eq!(out, [0x12, 2, b'a', b'b']);
        assert_eq!(bytes_field_len(2, b"ab"), 4);
        assert_eq!(varint_field_len(16, 1), 3);
    }
}
