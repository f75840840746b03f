//! SigV4 step 1: the canonical request.
//!
//! ```text
//! METHOD\n
//! canonical path\n
//! canonical query\n
//! name:value\n   (one line per signed header, sorted by lower-case name)
//! \n
//! signed;header;names\n
//! hex(sha256(body))
//! ```
//!
//! It is streamed to a [`Sink`] and never held in memory.

use core::cmp::Ordering;
use core::iter::Peekable;

use super::{
    Buffered, MAX_HEADERS, MAX_QUERY_PARAMETERS, SigningError, SigningParams, SigningSettings, Sink,
};

/// What goes into one canonical request.
pub(crate) struct Parts<'p> {
    pub(crate) method: &'p str,
    pub(crate) path: &'p str,
    pub(crate) query: &'p str,
    pub(crate) headers: &'p CanonicalHeaders<'p>,
    pub(crate) amz_date: &'p [u8],
    pub(crate) session_token: Option<&'p str>,
    pub(crate) payload_hash: &'p [u8],
    pub(crate) settings: SigningSettings,
}

/// Streams the canonical request to `sink`.
///
/// # Errors
/// [`SigningError::TooManyQueryParameters`] (nothing else can fail once the headers are
/// checked).
pub(crate) fn write<S: Sink + ?Sized>(sink: &mut S, parts: &Parts<'_>) -> Result<(), SigningError> {
    let mut out = Buffered::new(sink);
    out.text(parts.method);
    out.byte(b'\n');
    write_path(&mut out, parts.path, parts.settings);
    out.byte(b'\n');
    if !parts.query.is_empty() {
        CanonicalQuery::new(parts.query)?.write(&mut out);
    }
    out.byte(b'\n');
    parts.headers.write_canonical(
        &mut out,
        parts.amz_date,
        parts.session_token,
        parts.payload_hash,
    );
    out.byte(b'\n');
    for (i, (name, lowercase)) in parts.headers.signed_names().enumerate() {
        if i > 0 {
            out.byte(b';');
        }
        write_name(&mut out, name, lowercase);
    }
    out.byte(b'\n');
    out.ascii(parts.payload_hash);
    Ok(())
}

/// Whether `s` is a non-empty HTTP token (RFC 9110 `tchar`s): valid as a method or header name.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && name_class(s) & NOT_TCHAR == 0
}

/// RFC 3986 unreserved characters: the only ones SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn write_percent<S: Sink + ?Sized>(out: &mut Buffered<'_, S>, b: u8) {
    out.byte(b'%');
    out.byte(HEX_UPPER[usize::from(b >> 4)]);
    out.byte(HEX_UPPER[usize::from(b & 0x0f)]);
}

/// Writes a header name in lower case; `lowercase` says it already is (the usual case).
fn write_name<S: Sink + ?Sized>(out: &mut Buffered<'_, S>, name: &str, lowercase: bool) {
    if lowercase {
        out.text(name);
    } else {
        out.lowercase(name);
    }
}

fn cmp_lowercase(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

// ---------------------------------------------------------------------------------------------
// Path

/// Writes the canonical path: `/`-prefixed, optionally normalised, then encoded.
///
/// With `double_encode_path`, every byte but the unreserved ones and `/` is percent-encoded
/// (the path is already encoded, so `%` becomes `%25`). Without it the path is kept as sent,
/// except that bytes which cannot appear on a request line (space, controls, non-ASCII) are
/// percent-encoded.
fn write_path<S: Sink + ?Sized>(out: &mut Buffered<'_, S>, path: &str, settings: SigningSettings) {
    let encode = |out: &mut Buffered<'_, S>, segment: &str| {
        for b in segment.bytes() {
            let bare = if settings.double_encode_path {
                is_unreserved(b) || b == b'/'
            } else {
                b.is_ascii_graphic()
            };
            if bare {
                out.byte(b);
            } else {
                write_percent(out, b);
            }
        }
    };
    if !settings.normalize_path {
        if !path.starts_with('/') {
            out.byte(b'/');
        }
        encode(out, path);
        return;
    }
    // RFC 3986 5.2.4 (remove dot segments), dropping empty segments as the AWS SDKs do. A
    // segment survives unless a later `..` pops it; finding that out by looking ahead keeps
    // the path out of memory (paths are short; KMS's is `/`).
    let mut segments = path.split('/');
    let mut kept = 0usize;
    while let Some(segment) = segments.next() {
        if matches!(segment, "" | "." | "..") || popped_later(segments.clone()) {
            continue;
        }
        out.byte(b'/');
        encode(out, segment);
        kept += 1;
    }
    if kept == 0 || ends_with_slash(path) {
        out.byte(b'/');
    }
}

/// Whether a `..` among `rest` removes the segment just before `rest`.
fn popped_later<'a>(rest: impl Iterator<Item = &'a str>) -> bool {
    let mut depth = 0usize;
    for segment in rest {
        match segment {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

/// RFC 3986 5.2.4 keeps a trailing `/` for paths ending in `/`, `/.` or `/..`.
fn ends_with_slash(path: &str) -> bool {
    ["/", "/.", "/./", "/..", "/../"].iter().any(|suffix| {
        // A relative path is read as if it started with `/`.
        path.ends_with(suffix) || (!path.starts_with('/') && path == &suffix[1..])
    })
}

// ---------------------------------------------------------------------------------------------
// Query

/// The query's parameters, sorted by encoded key and then encoded value.
struct CanonicalQuery<'q> {
    pairs: heapless::Vec<(&'q str, &'q str), MAX_QUERY_PARAMETERS>,
}

impl<'q> CanonicalQuery<'q> {
    /// Splits `query` at `&` (dropping empty pieces) and each piece at its first `=`.
    fn new(query: &'q str) -> Result<Self, SigningError> {
        let mut pairs = heapless::Vec::new();
        for piece in query.split('&').filter(|p| !p.is_empty()) {
            let pair = piece.split_once('=').unwrap_or((piece, ""));
            pairs
                .push(pair)
                .map_err(|_| SigningError::TooManyQueryParameters {
                    max: MAX_QUERY_PARAMETERS,
                })?;
        }
        // Insertion sort: stable, no allocation, and the lists are short.
        for i in 1..pairs.len() {
            let mut j = i;
            while j > 0 && cmp_pair(pairs[j - 1], pairs[j]) == Ordering::Greater {
                pairs.swap(j - 1, j);
                j -= 1;
            }
        }
        Ok(CanonicalQuery { pairs })
    }

    fn write<S: Sink + ?Sized>(&self, out: &mut Buffered<'_, S>) {
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.byte(b'&');
            }
            EncodedComponent::new(key).for_each(|b| out.byte(b));
            out.byte(b'=');
            EncodedComponent::new(value).for_each(|b| out.byte(b));
        }
    }
}

fn cmp_pair(a: (&str, &str), b: (&str, &str)) -> Ordering {
    EncodedComponent::new(a.0)
        .cmp(EncodedComponent::new(b.0))
        .then_with(|| EncodedComponent::new(a.1).cmp(EncodedComponent::new(b.1)))
}

/// A query key or value as SigV4 signs it: form-decoded (`+` is a space, `%XX` a byte, a stray
/// `%` itself), read as UTF-8 with each invalid sequence replaced by U+FFFD (as the WHATWG URL
/// parser and the AWS SDKs do), then percent-encoded with only unreserved bytes left bare.
struct EncodedComponent<'a> {
    scalars: Utf8Lossy<FormDecoded<'a>>,
    pending: [u8; 12],
    pos: usize,
    len: usize,
}

impl<'a> EncodedComponent<'a> {
    fn new(raw: &'a str) -> Self {
        EncodedComponent {
            scalars: Utf8Lossy {
                bytes: FormDecoded {
                    rest: raw.as_bytes(),
                }
                .peekable(),
            },
            pending: [0; 12],
            pos: 0,
            len: 0,
        }
    }
}

impl Iterator for EncodedComponent<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.pos == self.len {
            let (scalar, n) = self.scalars.next()?;
            self.pos = 0;
            self.len = 0;
            for &b in &scalar[..n] {
                if is_unreserved(b) {
                    self.pending[self.len] = b;
                    self.len += 1;
                } else {
                    self.pending[self.len] = b'%';
                    self.pending[self.len + 1] = HEX_UPPER[usize::from(b >> 4)];
                    self.pending[self.len + 2] = HEX_UPPER[usize::from(b & 0x0f)];
                    self.len += 3;
                }
            }
        }
        let b = self.pending[self.pos];
        self.pos += 1;
        Some(b)
    }
}

/// `application/x-www-form-urlencoded` decoding of bytes.
struct FormDecoded<'a> {
    rest: &'a [u8],
}

impl Iterator for FormDecoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (b, rest) = match self.rest {
            [] => return None,
            [b'+', rest @ ..] => (b' ', rest),
            [b'%', hi, lo, rest @ ..] => match (hex_value(*hi), hex_value(*lo)) {
                (Some(hi), Some(lo)) => ((hi << 4) | lo, rest),
                _ => (b'%', &self.rest[1..]),
            },
            [b, rest @ ..] => (*b, rest),
        };
        self.rest = rest;
        Some(b)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Yields UTF-8 scalar values (as up to 4 bytes and their count) from a byte stream; each
/// maximal invalid subpart becomes U+FFFD (Unicode 15 §3.9, the rule of
/// `String::from_utf8_lossy`).
struct Utf8Lossy<I: Iterator<Item = u8>> {
    bytes: Peekable<I>,
}

const REPLACEMENT: ([u8; 4], usize) = ([0xEF, 0xBF, 0xBD, 0], 3);

impl<I: Iterator<Item = u8>> Iterator for Utf8Lossy<I> {
    type Item = ([u8; 4], usize);

    fn next(&mut self) -> Option<Self::Item> {
        let lead = self.bytes.next()?;
        let (continuations, second) = match lead {
            0x00..=0x7F => return Some(([lead, 0, 0, 0], 1)),
            0xC2..=0xDF => (1, 0x80..=0xBF),
            0xE0 => (2, 0xA0..=0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80..=0xBF),
            0xED => (2, 0x80..=0x9F),
            0xF0 => (3, 0x90..=0xBF),
            0xF1..=0xF3 => (3, 0x80..=0xBF),
            0xF4 => (3, 0x80..=0x8F),
            _ => return Some(REPLACEMENT),
        };
        let mut scalar = [lead, 0, 0, 0];
        for (k, slot) in scalar[1..=continuations].iter_mut().enumerate() {
            let range = if k == 0 { second.clone() } else { 0x80..=0xBF };
            match self.bytes.peek() {
                Some(b) if range.contains(b) => {
                    *slot = *b;
                    self.bytes.next();
                }
                // The offending byte is not consumed: it starts the next scalar.
                _ => return Some(REPLACEMENT),
            }
        }
        Some((scalar, continuations + 1))
    }
}

// ---------------------------------------------------------------------------------------------
// Headers

/// Where one canonical header line comes from: `0..MAX_HEADERS` is an index into the
/// request's headers, the three values above are the headers the signer adds. One byte, so the
/// sorted index stays small.
pub(crate) type Entry = u8;

/// `x-amz-date`, added by the signer.
const DATE: Entry = u8::MAX;
/// `x-amz-security-token`, added by the signer.
const SESSION_TOKEN: Entry = u8::MAX - 1;
/// `x-amz-content-sha256`, added by the signer.
const CONTENT_SHA256: Entry = u8::MAX - 2;

const _: () = assert!(MAX_HEADERS < CONTENT_SHA256 as usize);

/// The signed headers, checked and sorted by lower-case name (stable, so repeated names keep
/// their request order).
pub(crate) struct CanonicalHeaders<'h> {
    request: &'h [(&'h str, &'h str)],
    entries: heapless::Vec<Entry, { MAX_HEADERS + 3 }>,
    /// Bit `i` is set when `entries[i]` has the same name as `entries[i - 1]`.
    repeats: u64,
    /// Bit `i` is set when request header `i`'s name has an upper-case letter. Names are
    /// usually lower case already; those are compared and copied as they are.
    mixed_case: u64,
    /// Bit `i` is set when request header `i`'s value has spaces to trim or squeeze. Values
    /// usually have none; those are copied as they are.
    untrimmed: u64,
}

const _: () = assert!(MAX_HEADERS + 3 <= u64::BITS as usize);

impl<'h> CanonicalHeaders<'h> {
    pub(crate) fn new(
        request: &'h [(&'h str, &'h str)],
        params: &SigningParams<'_>,
    ) -> Result<Self, SigningError> {
        if request.len() > MAX_HEADERS {
            return Err(SigningError::TooManyHeaders { max: MAX_HEADERS });
        }
        let settings = params.settings;
        let signs_token = params.session_token.is_some();

        let mut entries = heapless::Vec::new();
        let mut keys = heapless::Vec::<u128, { MAX_HEADERS + 3 }>::new();
        let mut has_host = false;
        let mut mixed_case = 0u64;
        let mut untrimmed = 0u64;
        for (index, (name, value)) in request.iter().enumerate() {
            // One pass over the name: valid token (as `is_token`) and upper case.
            let class = name_class(name);
            if name.is_empty() || class & NOT_TCHAR != 0 {
                return Err(SigningError::InvalidHeaderName { index });
            }
            mixed_case |= u64::from(class & UPPER != 0) << index;
            match scan_value(value) {
                None => return Err(SigningError::InvalidHeaderValue { index }),
                Some(trim) => untrimmed |= u64::from(trim) << index,
            }
            match Special::of(name) {
                Special::Reserved(name) => return Err(SigningError::ReservedHeader { name }),
                Special::SessionToken if signs_token => {
                    return Err(SigningError::ReservedHeader {
                        name: "x-amz-security-token",
                    });
                }
                Special::ContentSha256 if settings.content_sha256_header => {
                    return Err(SigningError::ReservedHeader {
                        name: "x-amz-content-sha256",
                    });
                }
                Special::Unsigned => continue,
                Special::Host => has_host = true,
                Special::SessionToken | Special::ContentSha256 | Special::Ordinary => {}
            }
            let entry = Entry::try_from(index).expect("at most MAX_HEADERS headers, checked above");
            push_entry(&mut entries, &mut keys, entry, name);
        }
        if !has_host {
            return Err(SigningError::MissingHost);
        }
        push_entry(&mut entries, &mut keys, DATE, "x-amz-date");
        if signs_token && !settings.omit_session_token {
            push_entry(
                &mut entries,
                &mut keys,
                SESSION_TOKEN,
                "x-amz-security-token",
            );
        }
        if settings.content_sha256_header {
            push_entry(
                &mut entries,
                &mut keys,
                CONTENT_SHA256,
                "x-amz-content-sha256",
            );
        }

        let mut headers = CanonicalHeaders {
            request,
            entries,
            repeats: 0,
            mixed_case,
            untrimmed,
        };
        headers.sort(&mut keys);
        for i in 1..headers.entries.len() {
            if keys[i - 1] == keys[i]
                && headers.cmp_names(headers.entries[i - 1], headers.entries[i]) == Ordering::Equal
            {
                headers.repeats |= 1 << i;
            }
        }
        Ok(headers)
    }

    fn name(&self, entry: Entry) -> &'h str {
        match entry {
            DATE => "x-amz-date",
            SESSION_TOKEN => "x-amz-security-token",
            CONTENT_SHA256 => "x-amz-content-sha256",
            index => self.request[usize::from(index)].0,
        }
    }

    /// Whether `entry`'s name is lower case (the signer's own names are).
    fn is_lowercase(&self, entry: Entry) -> bool {
        entry >= CONTENT_SHA256 || self.mixed_case & (1 << entry) == 0
    }

    /// Orders two entries by lower-case name.
    fn cmp_names(&self, a: Entry, b: Entry) -> Ordering {
        let (name_a, name_b) = (self.name(a), self.name(b));
        if self.is_lowercase(a) && self.is_lowercase(b) {
            name_a.cmp(name_b)
        } else {
            cmp_lowercase(name_a, name_b)
        }
    }

    /// Whether `entries[i]` has the same name as `entries[i - 1]`.
    fn repeats_previous(&self, i: usize) -> bool {
        self.repeats & (1 << i) != 0
    }

    /// Sorts the entries by lower-case name, stably. `keys` holds each entry's [`sort_key`]:
    /// most pairs of names differ in their first 16 bytes, so one integer comparison decides;
    /// equal keys fall back to comparing the names.
    fn sort(&mut self, keys: &mut [u128]) {
        for i in 1..self.entries.len() {
            let mut j = i;
            while j > 0 {
                let order = keys[j - 1]
                    .cmp(&keys[j])
                    .then_with(|| self.cmp_names(self.entries[j - 1], self.entries[j]));
                if order != Ordering::Greater {
                    break;
                }
                self.entries.swap(j - 1, j);
                keys.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    /// The distinct signed header names, sorted, each in the request's case with whether that
    /// is lower case already (if not, lower-case it).
    pub(crate) fn signed_names(&self) -> impl Iterator<Item = (&'h str, bool)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|&(i, _)| !self.repeats_previous(i))
            .map(|(_, &entry)| (self.name(entry), self.is_lowercase(entry)))
    }

    /// Writes one `name:value[,value...]\n` line per distinct name.
    fn write_canonical<S: Sink + ?Sized>(
        &self,
        out: &mut Buffered<'_, S>,
        amz_date: &[u8],
        session_token: Option<&str>,
        payload_hash: &[u8],
    ) {
        for (i, &entry) in self.entries.iter().enumerate() {
            let name = self.name(entry);
            let continues_group = self.repeats_previous(i);
            if continues_group {
                out.byte(b',');
            } else {
                if i > 0 {
                    out.byte(b'\n');
                }
                write_name(out, name, self.is_lowercase(entry));
                out.byte(b':');
            }
            match entry {
                DATE => out.ascii(amz_date),
                SESSION_TOKEN => out.secret(session_token.unwrap_or_default()),
                CONTENT_SHA256 => out.ascii(payload_hash),
                index if self.untrimmed & (1 << index) == 0 => {
                    out.text(self.request[usize::from(index)].1);
                }
                index => write_trimmed(out, self.request[usize::from(index)].1),
            }
        }
        if !self.entries.is_empty() {
            out.byte(b'\n');
        }
    }
}

/// How the signer treats a request header, by name.
#[derive(Clone, Copy)]
enum Special {
    /// `host`: required.
    Host,
    /// `x-amz-date`, `authorization`: always added by the signer.
    Reserved(&'static str),
    /// `x-amz-security-token`: added by the signer when it has a token.
    SessionToken,
    /// `x-amz-content-sha256`: added by the signer when the setting asks for it.
    ContentSha256,
    /// Changed by proxies and client libraries in flight: sent, never signed (the AWS SDKs leave
    /// out the same ones).
    Unsigned,
    /// Signed as given.
    Ordinary,
}

impl Special {
    /// Classifies `name` (any case), comparing only with the names of its length.
    fn of(name: &str) -> Special {
        let candidates: &[(&str, Special)] = match name.len() {
            4 => &[("host", Special::Host)],
            10 => &[
                ("x-amz-date", Special::Reserved("x-amz-date")),
                ("user-agent", Special::Unsigned),
            ],
            13 => &[("authorization", Special::Reserved("authorization"))],
            15 => &[("x-amzn-trace-id", Special::Unsigned)],
            17 => &[("transfer-encoding", Special::Unsigned)],
            20 => &[
                ("x-amz-security-token", Special::SessionToken),
                ("x-amz-content-sha256", Special::ContentSha256),
            ],
            _ => &[],
        };
        candidates
            .iter()
            .find(|(candidate, _)| name.eq_ignore_ascii_case(candidate))
            .map_or(Special::Ordinary, |&(_, special)| special)
    }
}

fn push_entry(
    entries: &mut heapless::Vec<Entry, { MAX_HEADERS + 3 }>,
    keys: &mut heapless::Vec<u128, { MAX_HEADERS + 3 }>,
    entry: Entry,
    name: &str,
) {
    // `is_ok` rather than `expect`: an `expect` would format the rejected value with `Debug`,
    // which pulls u128 formatting (1.7 KB) into the WASM components.
    let fits = entries.push(entry).is_ok() && keys.push(sort_key(name)).is_ok();
    assert!(
        fits,
        "MAX_HEADERS request headers plus three signer headers fit"
    );
}

/// The first 16 bytes of a header name, lower-cased, as a big-endian integer (short names padded
/// with zero bytes). Header names never contain a zero byte, so comparing keys orders names as
/// comparing their lower-case bytes does, and equal keys mean equal names unless both are at
/// least 16 bytes long.
fn sort_key(name: &str) -> u128 {
    let mut bytes = [0u8; 16];
    for (slot, b) in bytes.iter_mut().zip(name.bytes()) {
        *slot = b.to_ascii_lowercase();
    }
    u128::from_be_bytes(bytes)
}

/// [`BYTE_CLASS`] bit: not an RFC 9110 `tchar` (not valid in a method or header name).
const NOT_TCHAR: u8 = 1;
/// [`BYTE_CLASS`] bit: an ASCII upper-case letter.
const UPPER: u8 = 2;
/// [`BYTE_CLASS`] bit: a control character other than tab (not allowed in a header value).
const CONTROL: u8 = 4;
/// [`BYTE_CLASS`] bit: a space.
const SPACE: u8 = 8;

/// What the signer needs to know of each byte of a header name or value, one lookup per byte.
const BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        let tchar = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        if !tchar {
            class |= NOT_TCHAR;
        }
        if c.is_ascii_uppercase() {
            class |= UPPER;
        }
        if (c < 0x20 && c != b'\t') || c == 0x7f {
            class |= CONTROL;
        }
        if c == b' ' {
            class |= SPACE;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// The union of the [`BYTE_CLASS`] bits of a header name's bytes.
fn name_class(name: &str) -> u8 {
    name.bytes()
        .fold(0, |class, b| class | BYTE_CLASS[usize::from(b)])
}

/// Checks a header value in one pass: `None` if it has a control character, else whether it
/// has spaces to trim or squeeze (leading, trailing, or two in a row).
fn scan_value(value: &str) -> Option<bool> {
    let bytes = value.as_bytes();
    let mut seen = 0u8;
    let mut double_space = 0u8;
    let mut previous = 0u8;
    for &b in bytes {
        let class = BYTE_CLASS[usize::from(b)];
        seen |= class;
        double_space |= previous & class;
        previous = class;
    }
    if seen & CONTROL != 0 {
        return None;
    }
    let edge = |b: Option<&u8>| b == Some(&b' ');
    Some(double_space & SPACE != 0 || edge(bytes.first()) || edge(bytes.last()))
}

/// Writes a header value without leading and trailing spaces, each inner run of spaces as one.
/// Only spaces are touched (tabs and other whitespace are kept), as the AWS SDKs do.
fn write_trimmed<S: Sink + ?Sized>(out: &mut Buffered<'_, S>, value: &str) {
    let value = value.trim_matches(' ');
    if !value.contains("  ") {
        out.text(value);
        return;
    }
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.byte(b' ');
        }
        out.text(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    /// Collects sink output for assertions.
    struct Text(heapless::Vec<u8, 2048>);

    impl Sink for Text {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes).unwrap();
        }
    }

    impl Text {
        fn new() -> Self {
            Text(heapless::Vec::new())
        }
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.0).unwrap()
        }
    }

    fn path(p: &str, normalize: bool, double: bool) -> Text {
        let mut text = Text::new();
        let settings = SigningSettings {
            normalize_path: normalize,
            double_encode_path: double,
            ..SigningSettings::default()
        };
        write_path(&mut Buffered::new(&mut text), p, settings);
        text
    }

    fn query(q: &str) -> Text {
        let mut text = Text::new();
        CanonicalQuery::new(q)
            .unwrap()
            .write(&mut Buffered::new(&mut text));
        text
    }

    fn params(token: Option<&str>, settings: SigningSettings) -> SigningParams<'_> {
        SigningParams {
            access_key_id: "AKID",
            session_token: token,
            region: "us-east-1",
            service: "kms",
            time: Timestamp(0),
            settings,
        }
    }

    fn headers(list: &[(&str, &str)], token: Option<&str>, settings: SigningSettings) -> Text {
        let p = params(token, settings);
        let h = CanonicalHeaders::new(list, &p).unwrap();
        let mut text = Text::new();
        {
            let mut out = Buffered::new(&mut text);
            h.write_canonical(&mut out, b"DATE", token, b"HASH");
            for (i, (name, lowercase)) in h.signed_names().enumerate() {
                if i > 0 {
                    out.byte(b';');
                }
                write_name(&mut out, name, lowercase);
            }
        }
        text
    }

    #[test]
    fn normalises_dot_and_empty_segments() {
        for (input, expected) in [
            ("/", "/"),
            ("", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//", "/"),
            ("//example//", "/example/"),
            ("/a/b/../c/./d", "/a/c/d"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/../a", "/a"),
            ("/a/../../b/", "/b/"),
            ("a/b", "/a/b"),
            ("..", "/"),
            ("/a.b/c..d/", "/a.b/c..d/"),
        ] {
            assert_eq!(path(input, true, false).as_str(), expected, "{input}");
        }
    }

    #[test]
    fn keeps_the_path_when_normalisation_is_off() {
        assert_eq!(path("/example/..", false, true).as_str(), "/example/..");
        assert_eq!(path("//example//", false, true).as_str(), "//example//");
        assert_eq!(path("a", false, true).as_str(), "/a");
    }

    #[test]
    fn encodes_the_path_once_more_or_only_where_needed() {
        assert_eq!(path("/a%3Ab/@c", true, true).as_str(), "/a%253Ab/%40c");
        assert_eq!(path("/a%3Ab/@c", true, false).as_str(), "/a%3Ab/@c");
        assert_eq!(
            path("/example space/", true, false).as_str(),
            "/example%20space/"
        );
        assert_eq!(
            path("/example space/", true, true).as_str(),
            "/example%20space/"
        );
        assert_eq!(path("/\u{1234}", true, true).as_str(), "/%E1%88%B4");
        assert_eq!(
            path("/-._~0123456789AZaz", true, true).as_str(),
            "/-._~0123456789AZaz"
        );
    }

    #[test]
    fn sorts_and_encodes_the_query() {
        assert_eq!(query("").as_str(), "");
        assert_eq!(
            query("Param2=value2&Param1=value1").as_str(),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(
            query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1").as_str(),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(query("\u{1234}=bar").as_str(), "%E1%88%B4=bar");
        assert_eq!(query("a=2&a=1&b").as_str(), "a=1&a=2&b=");
        assert_eq!(query("&&k=&=v&").as_str(), "=v&k=");
        assert_eq!(query("a+b=c%2Bd&x=y=z").as_str(), "a%20b=c%2Bd&x=y%3Dz");
        assert_eq!(query("p=%zz%4").as_str(), "p=%25zz%254");
        assert_eq!(query("p=%7e%41").as_str(), "p=~A");
    }

    #[test]
    fn replaces_invalid_utf8_in_the_query_like_from_utf8_lossy() {
        // %FF: not a lead byte; %E1%88: truncated 3-byte sequence; %ED%A0%80: surrogate.
        assert_eq!(query("p=%FFa").as_str(), "p=%EF%BF%BDa");
        assert_eq!(query("p=%E1%88").as_str(), "p=%EF%BF%BD");
        assert_eq!(query("p=%E1%88x").as_str(), "p=%EF%BF%BDx");
        assert_eq!(
            query("p=%ED%A0%80").as_str(),
            "p=%EF%BF%BD%EF%BF%BD%EF%BF%BD"
        );
        assert_eq!(query("p=%F0%9F%98%80").as_str(), "p=%F0%9F%98%80");
    }

    #[test]
    fn lossy_decoder_matches_std_on_tricky_sequences() {
        // Reference results worked out by hand from the maximal-subpart rule.
        let cases: [(&[u8], &[u8]); 5] = [
            (b"\xC0\x80", b"\xEF\xBF\xBD\xEF\xBF\xBD"),
            (
                b"\xF4\x90\x80\x80",
                b"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
            ),
            (b"\xE0\xA0\x80", b"\xE0\xA0\x80"),
            (b"\xF0\x90\x80", b"\xEF\xBF\xBD"),
            (b"a\x80b", b"a\xEF\xBF\xBDb"),
        ];
        for (input, expected) in cases {
            let mut out = heapless::Vec::<u8, 32>::new();
            let lossy = Utf8Lossy {
                bytes: input.iter().copied().peekable(),
            };
            for (scalar, n) in lossy {
                out.extend_from_slice(&scalar[..n]).unwrap();
            }
            assert_eq!(out.as_slice(), expected);
        }
    }

    #[test]
    fn too_many_query_parameters_are_refused() {
        let mut q = heapless::String::<1024>::new();
        for _ in 0..=MAX_QUERY_PARAMETERS {
            q.push_str("a=b&").unwrap();
        }
        assert_eq!(
            CanonicalQuery::new(&q).err(),
            Some(SigningError::TooManyQueryParameters {
                max: MAX_QUERY_PARAMETERS
            })
        );
    }

    #[test]
    fn canonical_headers_are_sorted_trimmed_and_joined() {
        let text = headers(
            &[
                ("Host", "example.amazonaws.com"),
                ("My-Header1", "  a   b  c "),
                ("my-header1", "second"),
                ("X-Amz-Target", "TrentService.Encrypt"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("User-Agent", "not signed"),
                ("Tabbed", "\tx\t"),
            ],
            Some("TOKEN"),
            SigningSettings::default(),
        );
        assert_eq!(
            text.as_str(),
            "content-type:application/x-amz-json-1.1\n\
             host:example.amazonaws.com\n\
             my-header1:a b c,second\n\
             tabbed:\tx\t\n\
             x-amz-date:DATE\n\
             x-amz-security-token:TOKEN\n\
             x-amz-target:TrentService.Encrypt\n\
             content-type;host;my-header1;tabbed;x-amz-date;x-amz-security-token;x-amz-target"
        );
    }

    #[test]
    fn content_hash_and_omitted_token_change_the_signed_set() {
        let settings = SigningSettings {
            content_sha256_header: true,
            omit_session_token: true,
            ..SigningSettings::default()
        };
        let text = headers(&[("host", "h")], Some("TOKEN"), settings);
        assert_eq!(
            text.as_str(),
            "host:h\nx-amz-content-sha256:HASH\nx-amz-date:DATE\n\
             host;x-amz-content-sha256;x-amz-date"
        );
    }

    #[test]
    fn caller_token_header_is_signed_when_no_token_is_given() {
        let text = headers(
            &[("host", "h"), ("X-Amz-Security-Token", "mine")],
            None,
            SigningSettings::default(),
        );
        assert!(text.as_str().contains("x-amz-security-token:mine\n"));
    }

    #[test]
    fn header_errors() {
        let settings = SigningSettings::default();
        let p = params(Some("T"), settings);
        let check = |list: &[(&str, &str)]| CanonicalHeaders::new(list, &p).err();
        assert_eq!(check(&[("a", "b")]), Some(SigningError::MissingHost));
        assert_eq!(
            check(&[("host", "h"), ("X-Amz-Date", "x")]),
            Some(SigningError::ReservedHeader { name: "x-amz-date" })
        );
        assert_eq!(
            check(&[("host", "h"), ("authorization", "x")]),
            Some(SigningError::ReservedHeader {
                name: "authorization"
            })
        );
        assert_eq!(
            check(&[("host", "h"), ("x-amz-security-token", "x")]),
            Some(SigningError::ReservedHeader {
                name: "x-amz-security-token"
            })
        );
        assert_eq!(
            check(&[("host", "h"), ("bad name", "x")]),
            Some(SigningError::InvalidHeaderName { index: 1 })
        );
        assert_eq!(
            check(&[("", "x")]),
            Some(SigningError::InvalidHeaderName { index: 0 })
        );
        assert_eq!(
            check(&[("host", "h\r\nx-injected: 1")]),
            Some(SigningError::InvalidHeaderValue { index: 0 })
        );
        assert_eq!(
            check(&[("host", "h\u{7f}")]),
            Some(SigningError::InvalidHeaderValue { index: 0 })
        );
        let many = [("host", "h"); MAX_HEADERS + 1];
        assert_eq!(
            check(&many),
            Some(SigningError::TooManyHeaders { max: MAX_HEADERS })
        );
        assert!(check(&many[..MAX_HEADERS]).is_none());
    }

    #[test]
    fn writes_a_whole_canonical_request() {
        let p = params(None, SigningSettings::default());
        let list = [("Host", "example.amazonaws.com")];
        let h = CanonicalHeaders::new(&list, &p).unwrap();
        let mut text = Text::new();
        write(
            &mut text,
            &Parts {
                method: "GET",
                path: "/x/../y",
                query: "b=2&a=1",
                headers: &h,
                amz_date: b"20150830T123600Z",
                session_token: None,
                payload_hash: b"e3b0",
                settings: p.settings,
            },
        )
        .unwrap();
        assert_eq!(
            text.as_str(),
            "GET\n/y\na=1&b=2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0"
        );
    }
}
