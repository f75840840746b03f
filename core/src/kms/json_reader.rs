//! Reads the JSON of KMS responses (and of Vault's JSON configuration files, in
//! `kms-seal-cli`): one pass over the body, no value tree, no floats.
//!
//! The caller walks the document it expects: [`Reader::object`] calls back once per member
//! with the member's name and the reader positioned on its value, which the callback reads
//! with the typed methods ([`Reader::opt_string`], [`Reader::opt_bool`], ...) or
//! [`Reader::skip`]s. Strings are borrowed from the body unless they hold escapes; an escaped
//! string is decoded into a buffer allocated once at its final capacity, so a secret's base64
//! leaves no partial copies in freed memory.
//!
//! Strict RFC 8259: invalid UTF-8, raw control characters in strings, bad escapes and lone
//! surrogates, malformed numbers, unterminated input and trailing bytes after the document are
//! errors, and so is nesting deeper than [`MAX_JSON_DEPTH`]. Nothing
//! here recurses except through nested objects and arrays, which that limit bounds.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::MAX_JSON_DEPTH;

/// Why a body could not be read, and the byte offset where that became clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// What went wrong.
    pub kind: ReadErrorKind,
    /// Byte offset into the body.
    pub at: usize,
}

/// What went wrong while reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// A byte that cannot start or continue the expected token.
    Syntax,
    /// The body ends inside a value.
    Unterminated,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A bad `\` escape, or a `\u` surrogate without its partner.
    InvalidEscape,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacter,
    /// Bytes other than whitespace after the document.
    TrailingCharacters,
    /// Objects and arrays nested deeper than [`MAX_JSON_DEPTH`].
    TooDeep,
    /// Valid JSON of another type than the member needs.
    WrongType,
    /// A member the caller reads appears twice in one object.
    DuplicateMember,
}

/// The JSON type of the next value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `{...}`.
    Object,
    /// `[...]`.
    Array,
    /// `"..."`.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// A cursor over one JSON document.
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Reader {
            input,
            pos: 0,
            depth: 0,
        }
    }

    /// The byte offset of the reader in the input (after the value last read).
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Checks that only whitespace follows the document.
    pub fn finish(mut self) -> Result<(), ReadError> {
        self.skip_whitespace();
        if self.pos < self.input.len() {
            return Err(self.error(ReadErrorKind::TrailingCharacters));
        }
        Ok(())
    }

    /// The type of the next value, without consuming it.
    pub fn peek(&mut self) -> Result<Kind, ReadError> {
        self.skip_whitespace();
        match self.input.get(self.pos) {
            None => Err(self.error(ReadErrorKind::Unterminated)),
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(_) => Err(self.error(ReadErrorKind::Syntax)),
        }
    }

    /// Reads an object, calling `member` with each member's name; `member` must read or skip
    /// the value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        self.expect_kind(Kind::Object)?;
        self.enter()?;
        if self.eat_after_whitespace(b'}') {
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if self.input.get(self.pos) != Some(&b'"') {
                return Err(self.syntax_or_end());
            }
            let name = self.string_token()?;
            if !self.eat_after_whitespace(b':') {
                return Err(self.syntax_or_end());
            }
            member(self, name)?;
            if self.eat_after_whitespace(b',') {
                continue;
            }
            if self.eat_after_whitespace(b'}') {
                self.depth -= 1;
                return Ok(());
            }
            return Err(self.syntax_or_end());
        }
    }

    /// Reads an array, calling `item` once per element; `item` must read or skip it.
    pub fn array(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        self.expect_kind(Kind::Array)?;
        self.enter()?;
        if self.eat_after_whitespace(b']') {
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self)?;
            if self.eat_after_whitespace(b',') {
                continue;
            }
            if self.eat_after_whitespace(b']') {
                self.depth -= 1;
                return Ok(());
            }
            return Err(self.syntax_or_end());
        }
    }

    /// Reads a string.
    pub fn string(&mut self) -> Result<Cow<'a, str>, ReadError> {
        self.expect_kind(Kind::String)?;
        self.string_token()
    }

    /// Reads a number and returns its text, checked against the JSON number grammar.
    pub fn number(&mut self) -> Result<&'a str, ReadError> {
        self.expect_kind(Kind::Number)?;
        let start = self.pos;
        self.eat(b'-');
        match self.input.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax_or_end()),
        }
        if self.eat(b'.') {
            self.one_or_more_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.one_or_more_digits()?;
        }
        let text = &self.input[start..self.pos];
        Ok(core::str::from_utf8(text).expect("a number token is ASCII"))
    }

    /// Reads `true` or `false`.
    pub fn bool(&mut self) -> Result<bool, ReadError> {
        self.expect_kind(Kind::Bool)?;
        if self.literal(b"true")? {
            return Ok(true);
        }
        if self.literal(b"false")? {
            return Ok(false);
        }
        Err(self.syntax_or_end())
    }

    /// Reads `null` if it comes next; `Ok(false)` (nothing consumed) for any other value.
    pub fn null(&mut self) -> Result<bool, ReadError> {
        if self.peek()? != Kind::Null {
            return Ok(false);
        }
        if self.literal(b"null")? {
            return Ok(true);
        }
        Err(self.syntax_or_end())
    }

    /// Reads and discards one value of any type.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        match self.peek()? {
            Kind::Object => self.object(|r, _| r.skip()),
            Kind::Array => self.array(Self::skip),
            Kind::String => self.string_token().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::Bool => self.bool().map(drop),
            Kind::Null => self.null().map(drop),
        }
    }

    /// A string or `null`.
    pub fn opt_string(&mut self) -> Result<Option<Cow<'a, str>>, ReadError> {
        if self.null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// An owned string or `null`.
    pub fn opt_owned_string(&mut self) -> Result<Option<String>, ReadError> {
        Ok(self.opt_string()?.map(Cow::into_owned))
    }

    /// `true`, `false` or `null`.
    pub fn opt_bool(&mut self) -> Result<Option<bool>, ReadError> {
        if self.null()? {
            return Ok(None);
        }
        self.bool().map(Some)
    }

    /// An array of strings, or `null`.
    pub fn opt_string_array(&mut self) -> Result<Option<Vec<String>>, ReadError> {
        if self.null()? {
            return Ok(None);
        }
        let mut items = Vec::new();
        self.array(|r| {
            items.push(r.string()?.into_owned());
            Ok(())
        })?;
        Ok(Some(items))
    }

    /// A number or `null`, as whole non-negative seconds below 10^15 (a plausible epoch time);
    /// `None` for `null` and for numbers outside that range.
    pub fn opt_seconds(&mut self) -> Result<Option<u64>, ReadError> {
        if self.null()? {
            return Ok(None);
        }
        Ok(whole_seconds(self.number()?))
    }

    /// Fills `slot` by `read` the first time a member is seen; a second sighting is
    /// [`ReadErrorKind::DuplicateMember`] (reported before its value is read).
    pub fn once<T>(
        &mut self,
        slot: &mut Option<Option<T>>,
        read: impl FnOnce(&mut Self) -> Result<Option<T>, ReadError>,
    ) -> Result<(), ReadError> {
        if slot.is_some() {
            return Err(self.error(ReadErrorKind::DuplicateMember));
        }
        *slot = Some(read(self)?);
        Ok(())
    }

    /// The 1-based line and column (in bytes) of byte offset `at`.
    pub fn line_column(input: &[u8], at: usize) -> (usize, usize) {
        let before = input.get(..at).unwrap_or(input);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        (line, at.min(input.len()) - line_start + 1)
    }

    fn error(&self, kind: ReadErrorKind) -> ReadError {
        ReadError { kind, at: self.pos }
    }

    fn syntax_or_end(&self) -> ReadError {
        if self.pos >= self.input.len() {
            self.error(ReadErrorKind::Unterminated)
        } else {
            self.error(ReadErrorKind::Syntax)
        }
    }

    fn expect_kind(&mut self, kind: Kind) -> Result<(), ReadError> {
        if self.peek()? == kind {
            Ok(())
        } else {
            Err(self.error(ReadErrorKind::WrongType))
        }
    }

    fn enter(&mut self) -> Result<(), ReadError> {
        if self.depth >= MAX_JSON_DEPTH {
            return Err(self.error(ReadErrorKind::TooDeep));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.input.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_after_whitespace(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        self.eat(byte)
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Result<(), ReadError> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            return Err(self.syntax_or_end());
        }
        Ok(())
    }

    /// Consumes `word` if the input continues with it; an error if the input ends inside it.
    fn literal(&mut self, word: &[u8]) -> Result<bool, ReadError> {
        let rest = &self.input[self.pos..];
        if rest.starts_with(word) {
            self.pos += word.len();
            return Ok(true);
        }
        if word.starts_with(rest) {
            self.pos = self.input.len();
            return Err(self.error(ReadErrorKind::Unterminated));
        }
        Ok(false)
    }

    /// Reads a string token; `self.pos` is on its opening quote.
    fn string_token(&mut self) -> Result<Cow<'a, str>, ReadError> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: up to the closing quote with no escape, borrowed. Base64 blobs make most
        // of a KMS response, so whole 16-byte chunks without a quote, backslash or control
        // character are skipped at once (the fold has no early exit, so it vectorises).
        while let Some(chunk) = self
            .input
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<16>())
        {
            let special = chunk.iter().fold(false, |found, &b| {
                found | (b == b'"') | (b == b'\\') | (b < 0x20)
            });
            if special {
                break;
            }
            self.pos += 16;
        }
        loop {
            match self.input.get(self.pos) {
                None => return Err(self.error(ReadErrorKind::Unterminated)),
                Some(b'"') => {
                    let text = self.utf8(start, self.pos)?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(text));
                }
                Some(b'\\') => break,
                Some(0x00..=0x1f) => return Err(self.error(ReadErrorKind::ControlCharacter)),
                Some(_) => self.pos += 1,
            }
        }
        // Escapes: the decoded text is never longer than the raw text up to the closing
        // quote, so one allocation of that size holds it without growing.
        let end = self.closing_quote()?;
        let mut out = String::with_capacity(end - start);
        out.push_str(self.utf8(start, self.pos)?);
        while self.pos < end {
            let plain = self.pos;
            while self.pos < end && self.input[self.pos] != b'\\' {
                if self.input[self.pos] < 0x20 {
                    return Err(self.error(ReadErrorKind::ControlCharacter));
                }
                self.pos += 1;
            }
            out.push_str(self.utf8(plain, self.pos)?);
            if self.pos < end {
                out.push(self.escape()?);
            }
        }
        debug_assert!(
            out.len() <= end - start,
            "decoding never lengthens a string"
        );
        self.pos = end + 1;
        Ok(Cow::Owned(out))
    }

    /// The offset of the quote that closes the string containing `self.pos`.
    fn closing_quote(&self) -> Result<usize, ReadError> {
        let mut i = self.pos;
        while let Some(&b) = self.input.get(i) {
            match b {
                b'"' => return Ok(i),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        Err(ReadError {
            kind: ReadErrorKind::Unterminated,
            at: self.input.len(),
        })
    }

    fn utf8(&self, start: usize, end: usize) -> Result<&'a str, ReadError> {
        core::str::from_utf8(&self.input[start..end]).map_err(|e| ReadError {
            kind: ReadErrorKind::InvalidUtf8,
            at: start + e.valid_up_to(),
        })
    }

    /// Decodes one escape; `self.pos` is on its backslash.
    fn escape(&mut self) -> Result<char, ReadError> {
        let at = self.pos;
        let bad = ReadError {
            kind: ReadErrorKind::InvalidEscape,
            at,
        };
        let c = match self.input.get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4(at + 2).ok_or(bad)?;
                self.pos = at + 6;
                let code = match high {
                    0xd800..=0xdbff => {
                        if self.input.get(at + 6..at + 8) != Some(b"\\u") {
                            return Err(bad);
                        }
                        let low = self.hex4(at + 8).ok_or(bad)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(bad);
                        }
                        self.pos = at + 12;
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(bad),
                    _ => high,
                };
                return char::from_u32(code).ok_or(bad);
            }
            _ => return Err(bad),
        };
        self.pos = at + 2;
        Ok(c)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.input.get(at..at + 4)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            let v = char::from(d).to_digit(16)?;
            Some(acc << 4 | v)
        })
    }
}

/// The whole seconds of a JSON number (truncated, exact: no floating point), when it is
/// non-negative and below 10^15.
fn whole_seconds(number: &str) -> Option<u64> {
    const MAX_DIGITS: i64 = 15;
    let (negative, rest) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (exponent_negative, exponent_digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    // Saturates far beyond any digit count a body can hold.
    let magnitude = exponent_digits
        .bytes()
        .fold(0i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
    let exponent = if exponent_negative {
        -magnitude
    } else {
        magnitude
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // All mantissa digits, leading zeros dropped; the value is digits x 10^shift.
    let digits = int_part
        .bytes()
        .chain(frac_part.bytes())
        .skip_while(|&b| b == b'0');
    let count = digits.clone().count() as i64;
    if count == 0 {
        return Some(0);
    }
    if negative {
        return None;
    }
    let integer_digits = count + exponent - frac_part.len() as i64;
    if integer_digits > MAX_DIGITS {
        return None;
    }
    let mut seconds = 0u64;
    for i in 0..integer_digits.max(0) {
        let d = digits.clone().nth(i as usize).unwrap_or(b'0');
        seconds = seconds * 10 + u64::from(d - b'0');
    }
    Some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn err(input: &[u8]) -> ReadError {
        let mut r = Reader::new(input);
        r.skip().and_then(|()| r.finish()).unwrap_err()
    }

    fn one_string(input: &str) -> Result<Cow<'_, str>, ReadError> {
        let mut r = Reader::new(input.as_bytes());
        let s = r.string()?;
        r.finish()?;
        Ok(s)
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        assert!(matches!(
            one_string(r#""plain é""#),
            Ok(Cow::Borrowed("plain é"))
        ));
        let s = one_string(r#""a\"b\\c\/d\b\f\n\r\t""#).unwrap();
        assert!(matches!(s, Cow::Owned(_)));
        assert_eq!(s, "a\"b\\c/d\u{8}\u{c}\n\r\t");
        assert_eq!(one_string(r#""\u0041\u00e9\u20AC""#).unwrap(), "Aé€");
        assert_eq!(one_string(r#""x\ud83d\ude00y""#).unwrap(), "x😀y");
        assert_eq!(one_string(r#""\uDBFF\uDFFF""#).unwrap(), "\u{10FFFF}");
        assert_eq!(one_string(r#""é\n""#).unwrap(), "é\n");
    }

    #[test]
    fn bad_strings_are_typed_errors() {
        for (input, kind, at) in [
            (&br#""\ud800""#[..], ReadErrorKind::InvalidEscape, 1),
            (br#""\ud800\u0041""#, ReadErrorKind::InvalidEscape, 1),
            (br#""\udc00""#, ReadErrorKind::InvalidEscape, 1),
            (br#""a\x""#, ReadErrorKind::InvalidEscape, 2),
            (br#""\u12G4""#, ReadErrorKind::InvalidEscape, 1),
            (br#""\u12""#, ReadErrorKind::InvalidEscape, 1),
            (b"\"a\x01\"", ReadErrorKind::ControlCharacter, 2),
            (b"\"\\n\x1f\"", ReadErrorKind::ControlCharacter, 3),
            (b"\"\xff\"", ReadErrorKind::InvalidUtf8, 1),
            (b"\"\\n\xc3\"", ReadErrorKind::InvalidUtf8, 3),
            (b"\"abc", ReadErrorKind::Unterminated, 4),
            (b"\"a\\\"", ReadErrorKind::Unterminated, 4),
            (b"\"a\\", ReadErrorKind::Unterminated, 3),
        ] {
            assert_eq!(err(input), ReadError { kind, at }, "{input:?}");
        }
    }

    #[test]
    fn unknown_members_of_any_type_are_skipped() {
        let body = br#" { "x" : [1, -0.5e+3, {"y": [[], {}]}, null, true, false, "s\"]"],
            "KeyId" : "k", "n": 0, "o": {"a": {"b": null}} } "#;
        let mut r = Reader::new(body);
        let mut key_id = None;
        r.object(|r, name| match &*name {
            "KeyId" => r.once(&mut key_id, Reader::opt_owned_string),
            _ => r.skip(),
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(key_id.flatten().as_deref(), Some("k"));
    }

    #[test]
    fn duplicates_of_read_members_are_refused() {
        let body = br#"{"KeyId":"a","KeyId":null}"#;
        let mut r = Reader::new(body);
        let mut key_id = None;
        let e = r
            .object(|r, name| match &*name {
                "KeyId" => r.once(&mut key_id, Reader::opt_owned_string),
                _ => r.skip(),
            })
            .unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::DuplicateMember);
        assert_eq!(e.at, 21);
    }

    #[test]
    fn depth_is_bounded() {
        let ok = [b"[".repeat(MAX_JSON_DEPTH), b"]".repeat(MAX_JSON_DEPTH)].concat();
        let mut r = Reader::new(&ok);
        r.skip().unwrap();
        r.finish().unwrap();
        let deep = b"[".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(
            err(&deep),
            ReadError {
                kind: ReadErrorKind::TooDeep,
                at: MAX_JSON_DEPTH
            }
        );
        let huge = b"{\"a\":".repeat(100_000);
        assert_eq!(err(&huge).kind, ReadErrorKind::TooDeep);
    }

    #[test]
    fn malformed_documents() {
        for (input, kind) in [
            (&b""[..], ReadErrorKind::Unterminated),
            (b"   ", ReadErrorKind::Unterminated),
            (b"<html>", ReadErrorKind::Syntax),
            (b"{", ReadErrorKind::Unterminated),
            (b"{\"a\"", ReadErrorKind::Unterminated),
            (b"{\"a\":", ReadErrorKind::Unterminated),
            (b"{\"a\":1", ReadErrorKind::Unterminated),
            (b"{\"a\":1,}", ReadErrorKind::Syntax),
            (b"{\"a\" 1}", ReadErrorKind::Syntax),
            (b"{a:1}", ReadErrorKind::Syntax),
            (b"[1,]", ReadErrorKind::Syntax),
            (b"[1 2]", ReadErrorKind::Syntax),
            (b"[", ReadErrorKind::Unterminated),
            (b"{} {}", ReadErrorKind::TrailingCharacters),
            (b"{}x", ReadErrorKind::TrailingCharacters),
            (b"01", ReadErrorKind::TrailingCharacters),
            (b"-", ReadErrorKind::Unterminated),
            (b"-a", ReadErrorKind::Syntax),
            (b"1.", ReadErrorKind::Unterminated),
            (b"1.e5", ReadErrorKind::Syntax),
            (b"1e", ReadErrorKind::Unterminated),
            (b"1e+", ReadErrorKind::Unterminated),
            (b"+1", ReadErrorKind::Syntax),
            (b".5", ReadErrorKind::Syntax),
            (b"tru", ReadErrorKind::Unterminated),
            (b"nul", ReadErrorKind::Unterminated),
            (b"trux", ReadErrorKind::Syntax),
            (b"nulL", ReadErrorKind::Syntax),
            (b"True", ReadErrorKind::Syntax),
            (b"\xef\xbb\xbf{}", ReadErrorKind::Syntax),
        ] {
            assert_eq!(err(input).kind, kind, "{:?}", core::str::from_utf8(input));
        }
        for good in [
            &b"{}"[..],
            b" [ ] ",
            b"0",
            b"-0.0e-0",
            b"1E+9",
            b"\"\"",
            b"null\n",
        ] {
            let mut r = Reader::new(good);
            assert_eq!(r.skip().and_then(|()| r.finish()), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn typed_reads_refuse_other_types() {
        for (input, read) in [
            (&b"1"[..], 0),
            (b"\"x\"", 1),
            (b"[\"a\", 1]", 2),
            (b"true", 3),
        ] {
            let mut r = Reader::new(input);
            let e = match read {
                0 => r.opt_string().map(drop),
                1 => r.opt_bool().map(drop),
                2 => r.opt_string_array().map(drop),
                _ => r.opt_seconds().map(drop),
            }
            .unwrap_err();
            assert_eq!(e.kind, ReadErrorKind::WrongType, "{input:?}");
        }
        let mut r = Reader::new(b"[\"a\",\"b\"]");
        assert_eq!(
            r.opt_string_array().unwrap(),
            Some(vec![String::from("a"), String::from("b")])
        );
        assert_eq!(Reader::new(b" null").opt_bool(), Ok(None));
        assert_eq!(Reader::new(b"false").opt_bool(), Ok(Some(false)));
    }

    #[test]
    fn seconds_are_exact_and_bounded() {
        for (text, want) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("-0.0e5", Some(0)),
            ("1795976393.657768", Some(1_795_976_393)),
            ("1.795976393657768E9", Some(1_795_976_393)),
            ("17959763936e-1", Some(1_795_976_393)),
            ("0.999", Some(0)),
            ("5e-400", Some(0)),
            ("-5", None),
            ("-0.001", None),
            ("999999999999999.9", Some(999_999_999_999_999)),
            ("1e15", None),
            ("1e14", Some(100_000_000_000_000)),
            ("1e400", None),
            ("1e99999999999999999999", None),
            ("0.000e99999999999999999999", Some(0)),
        ] {
            assert_eq!(whole_seconds(text), want, "{text}");
        }
    }

    #[test]
    fn positions_are_lines_and_columns() {
        assert_eq!(Reader::line_column(b"<html>", 0), (1, 1));
        assert_eq!(Reader::line_column(b"{\n  x", 4), (2, 3));
        assert_eq!(Reader::line_column(b"{\n", 2), (2, 1));
        assert_eq!(Reader::line_column(b"ab", 9), (1, 3));
    }
}
