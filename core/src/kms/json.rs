//! Writes the small, flat JSON objects the KMS requests are made of.
//!
//! Request bodies carry secrets (the base64 of a data key or a plaintext), so they are written
//! in two passes: the first only counts bytes, the second writes into a buffer allocated once
//! at the exact size. The buffer never grows, so no copy of the secret is left behind in freed
//! memory, and it is [`Zeroizing`] so the one copy is wiped on drop.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::RequestError;

/// Where JSON bytes go: a counter (first pass) or the body buffer (second pass).
pub(crate) trait Sink {
    /// Appends raw bytes.
    fn put(&mut self, bytes: &[u8]);
    /// Appends the standard, padded base64 of `data`.
    fn put_base64(&mut self, data: &[u8]);
}

struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }

    fn put_base64(&mut self, data: &[u8]) {
        self.0 = self.0.saturating_add(base64_len(data.len()));
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn put_base64(&mut self, data: &[u8]) {
        let start = self.len();
        self.resize(start + base64_len(data.len()), 0);
        let written = STANDARD
            .encode_slice(data, &mut self[start..])
            .expect("the buffer was resized to the exact encoded length");
        self.truncate(start + written);
    }
}

fn base64_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

/// A JSON object being written to a [`Sink`]; members are separated automatically.
pub(crate) struct ObjectWriter<'s, S: Sink> {
    sink: &'s mut S,
    first: bool,
}

impl<'s, S: Sink> ObjectWriter<'s, S> {
    fn open(sink: &'s mut S) -> Self {
        sink.put(b"{");
        ObjectWriter { sink, first: true }
    }

    fn close(self) {
        self.sink.put(b"}");
    }

    fn name(&mut self, name: &str) {
        if !self.first {
            self.sink.put(b",");
        }
        self.first = false;
        write_string(self.sink, name);
        self.sink.put(b":");
    }

    /// `"name":"value"`.
    pub(crate) fn string(&mut self, name: &str, value: &str) {
        self.name(name);
        write_string(self.sink, value);
    }

    /// `"name":"value"` when `value` is set.
    pub(crate) fn opt_string(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.string(name, v);
        }
    }

    /// `"name":<number>`.
    pub(crate) fn number(&mut self, name: &str, value: u32) {
        self.name(name);
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        let mut v = value;
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.sink.put(&digits[i..]);
    }

    /// `"name":"<base64>"`.
    pub(crate) fn blob(&mut self, name: &str, data: &[u8]) {
        self.name(name);
        self.sink.put(b"\"");
        self.sink.put_base64(data);
        self.sink.put(b"\"");
    }

    /// `"name":{"k":"v",...}`, left out when `pairs` is empty (KMS treats an absent context and
    /// an empty one alike).
    pub(crate) fn string_map(&mut self, name: &str, pairs: &[(String, String)]) {
        if pairs.is_empty() {
            return;
        }
        self.name(name);
        self.sink.put(b"{");
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                self.sink.put(b",");
            }
            write_string(self.sink, k);
            self.sink.put(b":");
            write_string(self.sink, v);
        }
        self.sink.put(b"}");
    }

    /// `"name":["a","b"]`, left out when `items` is empty.
    pub(crate) fn string_array(&mut self, name: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        self.name(name);
        self.sink.put(b"[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.sink.put(b",");
            }
            write_string(self.sink, item);
        }
        self.sink.put(b"]");
    }
}

/// A value that writes itself as the members of one JSON object.
pub(crate) trait WriteMembers {
    /// Writes the members; must write the same bytes on every call.
    fn write_members<S: Sink>(&self, object: &mut ObjectWriter<'_, S>);
}

/// Writes one JSON object in two passes and returns it in a buffer of exactly its size.
pub(crate) fn object(members: &impl WriteMembers) -> Zeroizing<Vec<u8>> {
    let mut counter = Counter(0);
    let mut w = ObjectWriter::open(&mut counter);
    members.write_members(&mut w);
    w.close();
    let mut body = Zeroizing::new(Vec::with_capacity(counter.0));
    let mut w = ObjectWriter::open(&mut *body);
    members.write_members(&mut w);
    w.close();
    debug_assert_eq!(body.len(), counter.0, "both passes write the same bytes");
    body
}

fn write_string<S: Sink>(sink: &mut S, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    sink.put(b"\"");
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        sink.put(&bytes[plain_from..i]);
        match escape {
            Some(e) => sink.put(e),
            None => sink.put(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        plain_from = i + 1;
    }
    sink.put(&bytes[plain_from..]);
    sink.put(b"\"");
}

/// Checks what every request with an encryption context and grant tokens shares.
pub(crate) fn check_context_and_tokens(
    encryption_context: &[(String, String)],
    grant_tokens: &[String],
) -> Result<(), RequestError> {
    for (i, (k, _)) in encryption_context.iter().enumerate() {
        if k.is_empty() {
            return Err(RequestError::EmptyContextKey);
        }
        if encryption_context[..i].iter().any(|(prev, _)| prev == k) {
            return Err(RequestError::DuplicateContextKey);
        }
    }
    if grant_tokens.len() > super::MAX_GRANT_TOKENS {
        return Err(RequestError::TooManyGrantTokens(grant_tokens.len()));
    }
    if grant_tokens.iter().any(String::is_empty) {
        return Err(RequestError::EmptyGrantToken);
    }
    Ok(())
}

/// Checks a `KeyId` / `DestinationKeyId` value.
pub(crate) fn check_key_id(key_id: &str) -> Result<(), RequestError> {
    if key_id.is_empty() {
        return Err(RequestError::EmptyKeyId);
    }
    if key_id.len() > super::MAX_KEY_ID_LEN {
        return Err(RequestError::KeyIdTooLong(key_id.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    struct Members<F>(F);

    impl<F: Fn(&mut dyn FnMut(Member<'_>))> WriteMembers for Members<F> {
        fn write_members<S: Sink>(&self, o: &mut ObjectWriter<'_, S>) {
            (self.0)(&mut |m| match m {
                Member::Str(n, v) => o.string(n, v),
                Member::OptStr(n, v) => o.opt_string(n, v),
                Member::Num(n, v) => o.number(n, v),
                Member::Blob(n, v) => o.blob(n, v),
                Member::Map(n, v) => o.string_map(n, v),
                Member::Array(n, v) => o.string_array(n, v),
            });
        }
    }

    enum Member<'a> {
        Str(&'a str, &'a str),
        OptStr(&'a str, Option<&'a str>),
        Num(&'a str, u32),
        Blob(&'a str, &'a [u8]),
        Map(&'a str, &'a [(String, String)]),
        Array(&'a str, &'a [String]),
    }

    fn write(f: impl Fn(&mut dyn FnMut(Member<'_>))) -> String {
        String::from_utf8(object(&Members(f)).to_vec()).unwrap()
    }

    #[test]
    fn writes_members_in_order_with_escapes() {
        let ctx = vec![("a\"b".to_string(), "line\nbreak\u{1}".to_string())];
        let tokens = vec!["t1".to_string(), "t2".to_string()];
        let out = write(|o| {
            o(Member::Str("KeyId", "alias/x\\y"));
            o(Member::Blob("Plaintext", b"hi!"));
            o(Member::Map("EncryptionContext", &ctx));
            o(Member::Array("GrantTokens", &tokens));
            o(Member::Num("NumberOfBytes", 32));
            o(Member::OptStr("Absent", None));
        });
        assert_eq!(
            out,
            r#"{"KeyId":"alias/x\\y","Plaintext":"aGkh","EncryptionContext":{"a\"b":"line\nbreak\u0001"},"GrantTokens":["t1","t2"],"NumberOfBytes":32}"#
        );
        let mut r = crate::kms::json_reader::Reader::new(out.as_bytes());
        let mut context = Vec::new();
        r.object(|r, name| match &*name {
            "EncryptionContext" => r.object(|r, k| {
                context.push((k.into_owned(), r.string()?.into_owned()));
                Ok(())
            }),
            _ => r.skip(),
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(context, ctx);
    }

    #[test]
    fn empty_collections_are_left_out() {
        let out = write(|o| {
            o(Member::Map("EncryptionContext", &[]));
            o(Member::Array("GrantTokens", &[]));
            o(Member::Num("N", 0));
            o(Member::Num("M", u32::MAX));
        });
        assert_eq!(out, r#"{"N":0,"M":4294967295}"#);
    }

    #[test]
    fn base64_lengths_match_the_encoder() {
        for n in 0..40usize {
            let data = vec![0xa5u8; n];
            let out = write(|o| o(Member::Blob("B", &data)));
            let encoded = STANDARD.encode(&data);
            assert_eq!(out, alloc::format!("{{\"B\":\"{encoded}\"}}"));
        }
    }

    #[test]
    fn body_is_allocated_exactly_once() {
        let body = object(&Members(|o: &mut dyn FnMut(Member<'_>)| {
            o(Member::Blob("Plaintext", &[7u8; 100]));
            o(Member::Str("KeyId", "k"));
        }));
        assert_eq!(body.len(), body.capacity());
    }

    #[test]
    fn context_and_token_checks() {
        let dup = vec![
            ("k".to_string(), "1".to_string()),
            ("k".to_string(), "2".to_string()),
        ];
        assert_eq!(
            check_context_and_tokens(&dup, &[]),
            Err(RequestError::DuplicateContextKey)
        );
        let empty = vec![(String::new(), "1".to_string())];
        assert_eq!(
            check_context_and_tokens(&empty, &[]),
            Err(RequestError::EmptyContextKey)
        );
        let many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        assert_eq!(
            check_context_and_tokens(&[], &many),
            Err(RequestError::TooManyGrantTokens(11))
        );
        assert_eq!(
            check_context_and_tokens(&[], &[String::new()]),
            Err(RequestError::EmptyGrantToken)
        );
        assert_eq!(check_context_and_tokens(&dup[..1], &many[..10]), Ok(()));
        assert_eq!(check_key_id(""), Err(RequestError::EmptyKeyId));
        assert_eq!(
            check_key_id(&"a".repeat(2049)),
            Err(RequestError::KeyIdTooLong(2049))
        );
        assert_eq!(check_key_id("alias/a"), Ok(()));
    }
}
