//! Why bytes did not decode as a Vault seal value.

use core::fmt;

use super::wire::WireType;

/// Why a stored value, `BlobInfo`, `KeyInfo` or `MultiWrapValue` could not be decoded.
///
/// Every `offset` is a byte position in the slice handed to the decode function that failed
/// (for a stored value: in the whole stored entry, header included). No variant carries any
/// byte of the value itself, so these errors are safe to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The input ends in the middle of a varint (its last byte still has the high bit set).
    TruncatedVarint {
        /// Where the varint starts.
        offset: usize,
    },
    /// A varint is longer than 10 bytes or does not fit in 64 bits.
    VarintOverflow {
        /// Where the varint starts.
        offset: usize,
    },
    /// A length-delimited or fixed-width field claims more bytes than are left.
    LengthPastEnd {
        /// Where the field's payload starts.
        offset: usize,
        /// The length the field needs.
        length: u64,
        /// How many bytes are left in the enclosing message.
        available: usize,
    },
    /// A length prefix is larger than protobuf's 2 GiB limit for any message.
    FieldTooLarge {
        /// Where the length prefix starts.
        offset: usize,
        /// The declared length.
        length: u64,
    },
    /// A tag carries field number 0 or one above 2^29 - 1.
    InvalidFieldNumber {
        /// Where the tag starts.
        offset: usize,
        /// The field number found.
        number: u64,
    },
    /// A tag carries wire type 6 or 7, which protobuf does not define.
    InvalidWireType {
        /// Where the tag starts.
        offset: usize,
        /// The wire type found.
        wire_type: u8,
    },
    /// A known field arrived with a wire type its declared type never uses.
    WrongWireType {
        /// The field, as `Message.field`.
        field: &'static str,
        /// The wire type the field's type requires.
        expected: WireType,
        /// The wire type found.
        found: WireType,
        /// Where the tag starts.
        offset: usize,
    },
    /// A group (wire type 3) is never closed by its end-group tag.
    UnclosedGroup {
        /// Where the start-group tag is.
        offset: usize,
        /// The group's field number.
        number: u32,
    },
    /// An end-group tag (wire type 4) with no matching start-group tag.
    UnexpectedEndGroup {
        /// Where the end-group tag is.
        offset: usize,
        /// The field number it carries.
        number: u32,
    },
    /// Groups nested deeper than [`MAX_GROUP_DEPTH`](super::MAX_GROUP_DEPTH).
    NestingTooDeep {
        /// Where the start-group tag that went too deep is.
        offset: usize,
    },
    /// A `string` field is not valid UTF-8 (proto3 requires it).
    InvalidUtf8 {
        /// The field, as `Message.field`.
        field: &'static str,
        /// Where the string's bytes start.
        offset: usize,
    },
    /// A singular embedded message (`BlobInfo.key_info`, `BlobInfo.client_data`) occurs twice.
    DuplicateField {
        /// The field, as `Message.field`.
        field: &'static str,
        /// Where the second occurrence's tag is.
        offset: usize,
    },
    /// The value starts with `multiwrapvalue:1` but has no room for the 4-byte length.
    FramingTooShort {
        /// The whole value's length.
        length: usize,
    },
    /// The `multiwrapvalue:1` length does not match the bytes that follow it (with or without
    /// a canary byte `s`): the value is cut short or has trailing bytes.
    FramingLengthMismatch {
        /// The length written after the header.
        declared: u32,
        /// How many bytes follow the header and the length.
        actual: usize,
    },
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CUT: &str =
            "the stored value is cut short or corrupt; read the whole storage entry again";
        match self {
            Self::TruncatedVarint { offset } => {
                write!(f, "varint at byte {offset} is truncated: {CUT}")
            }
            Self::VarintOverflow { offset } => write!(
                f,
                "varint at byte {offset} does not fit in 64 bits: the bytes are not a vault seal value"
            ),
            Self::LengthPastEnd {
                offset,
                length,
                available,
            } => write!(
                f,
                "field at byte {offset} needs {length} bytes but only {available} are left: {CUT}"
            ),
            Self::FieldTooLarge { offset, length } => write!(
                f,
                "length {length} at byte {offset} exceeds protobuf's 2 GiB limit: the bytes are not a vault seal value"
            ),
            Self::InvalidFieldNumber { offset, number } => write!(
                f,
                "invalid protobuf field number {number} at byte {offset}: the bytes are not a vault seal value"
            ),
            Self::InvalidWireType { offset, wire_type } => write!(
                f,
                "invalid protobuf wire type {wire_type} at byte {offset}: the bytes are not a vault seal value"
            ),
            Self::WrongWireType {
                field,
                expected,
                found,
                offset,
            } => write!(
                f,
                "field {field} at byte {offset} is encoded as {found} but must be {expected}: \
                 the value was not written by vault or openbao"
            ),
            Self::UnclosedGroup { offset, number } => write!(
                f,
                "group field {number} opened at byte {offset} is never closed: {CUT}"
            ),
            Self::UnexpectedEndGroup { offset, number } => write!(
                f,
                "end of group {number} at byte {offset} closes no open group: the bytes are not a vault seal value"
            ),
            Self::NestingTooDeep { offset } => write!(
                f,
                "groups nested deeper than {} levels at byte {offset}: the bytes are not a vault seal value",
                super::MAX_GROUP_DEPTH
            ),
            Self::InvalidUtf8 { field, offset } => write!(
                f,
                "string field {field} at byte {offset} is not valid utf-8: {CUT}"
            ),
            Self::DuplicateField { field, offset } => write!(
                f,
                "field {field} occurs a second time at byte {offset}: \
                 the value was not written by vault or openbao"
            ),
            Self::FramingTooShort { length } => write!(
                f,
                "value starts with \"multiwrapvalue:1\" but is only {length} bytes long, \
                 too short for its 4-byte length: {CUT}"
            ),
            Self::FramingLengthMismatch { declared, actual } => write!(
                f,
                "\"multiwrapvalue:1\" header declares {declared} bytes but {actual} follow: {CUT}"
            ),
        }
    }
}

impl core::error::Error for EnvelopeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn messages_are_lower_case_and_say_what_to_do() {
        let all = [
            EnvelopeError::TruncatedVarint { offset: 1 },
            EnvelopeError::VarintOverflow { offset: 1 },
            EnvelopeError::LengthPastEnd {
                offset: 1,
                length: 2,
                available: 1,
            },
            EnvelopeError::FieldTooLarge {
                offset: 1,
                length: 1 << 40,
            },
            EnvelopeError::InvalidFieldNumber {
                offset: 1,
                number: 0,
            },
            EnvelopeError::InvalidWireType {
                offset: 1,
                wire_type: 7,
            },
            EnvelopeError::WrongWireType {
                field: "BlobInfo.iv",
                expected: WireType::Len,
                found: WireType::Varint,
                offset: 1,
            },
            EnvelopeError::UnclosedGroup {
                offset: 1,
                number: 14,
            },
            EnvelopeError::UnexpectedEndGroup {
                offset: 1,
                number: 3,
            },
            EnvelopeError::NestingTooDeep { offset: 1 },
            EnvelopeError::InvalidUtf8 {
                field: "KeyInfo.key_id",
                offset: 1,
            },
            EnvelopeError::DuplicateField {
                field: "BlobInfo.key_info",
                offset: 1,
            },
            EnvelopeError::FramingTooShort { length: 18 },
            EnvelopeError::FramingLengthMismatch {
                declared: 9,
                actual: 8,
            },
        ];
        for error in all {
            let mut text = heapless::String::<256>::new();
            write!(text, "{error}").unwrap();
            let first = text.chars().next().unwrap();
            assert!(first.is_lowercase() || first == '"', "{text}");
            assert!(text.contains(':'), "no advice in {text}");
        }
    }
}
