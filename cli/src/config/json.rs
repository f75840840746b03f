//! The seal stanzas of a Vault configuration in JSON: `{"seal": {"awskms": {...}}}`,
//! `{"seal": {"awskms": [{...}]}}` or `{"seal": [{"awskms": {...}}, ...]}`.
//!
//! Read with the core's strict one-pass JSON reader (the one that reads KMS responses), so
//! objects keep their file order and duplicate keys, and every parameter has its line.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use kms_seal_core::kms::MAX_JSON_DEPTH;
use kms_seal_core::kms::json_reader::{Kind, ReadError as JsonError, ReadErrorKind, Reader};
use zeroize::Zeroizing;

use super::{RawParam, RawStanza, RawValue, ReadError};

/// Every seal stanza of the JSON `text`, in order.
///
/// # Errors
/// A [`ReadError`]: a syntax error with its line, or a `seal` of another shape.
pub(crate) fn seal_stanzas(text: &str) -> Result<Vec<RawStanza>, ReadError> {
    let input = text.as_bytes();
    let line_at = |at: usize| Reader::line_column(input, at).0;
    let mut reader = Reader::new(input);
    let mut out = Vec::new();
    let mut shape: Option<(usize, String)> = None;
    let result = (|| -> Result<(), JsonError> {
        if reader.peek()? != Kind::Object {
            shape = Some((
                1,
                "the JSON config is not an object; write {\"seal\": {\"awskms\": {...}}}".into(),
            ));
            return reader.skip();
        }
        reader.object(|r, key| {
            if key != "seal" {
                return r.skip();
            }
            let seal_line = line_at(r.offset());
            match r.peek()? {
                Kind::Object => by_type(r, input, &mut out, &mut shape),
                Kind::Array => r.array(|r| {
                    if r.peek()? == Kind::Object {
                        by_type(r, input, &mut out, &mut shape)
                    } else {
                        shape.get_or_insert((
                            seal_line,
                            "\"seal\" entries must be objects: [{\"awskms\": {...}}]".into(),
                        ));
                        r.skip()
                    }
                }),
                _ => {
                    shape.get_or_insert((
                        seal_line,
                        "\"seal\" must be {\"awskms\": {...}} or [{\"awskms\": {...}}]".into(),
                    ));
                    r.skip()
                }
            }
        })
    })();
    result
        .and_then(|()| reader.finish())
        .map_err(|e| ReadError::Syntax {
            line: line_at(e.at),
            detail: syntax_detail(e.kind).into(),
        })?;
    match shape {
        Some((line, detail)) => Err(ReadError::Stanza { line, detail }),
        None => Ok(out),
    }
}

/// `{"<type>": {...} | [{...}, ...], ...}`: one stanza per body.
fn by_type(
    r: &mut Reader<'_>,
    input: &[u8],
    out: &mut Vec<RawStanza>,
    shape: &mut Option<(usize, String)>,
) -> Result<(), JsonError> {
    r.object(|r, seal_type| {
        let line = Reader::line_column(input, r.offset()).0;
        let seal_type = seal_type.into_owned();
        let mut body = |r: &mut Reader<'_>| -> Result<(), JsonError> {
            if r.peek()? != Kind::Object {
                shape.get_or_insert((
                    line,
                    format!("\"seal\": {{\"{seal_type}\": ...}} must be an object of parameters"),
                ));
                return r.skip();
            }
            let mut params = Vec::new();
            r.object(|r, name| {
                let line = Reader::line_column(input, r.offset()).0;
                let value = value(r)?;
                params.push(RawParam {
                    name: name.into_owned(),
                    line,
                    value,
                });
                Ok(())
            })?;
            out.push(RawStanza {
                seal_type: seal_type.clone(),
                line,
                params,
            });
            Ok(())
        };
        if r.peek()? == Kind::Array {
            r.array(|r| body(r))
        } else {
            body(r)
        }
    })
}

/// A parameter's value: strings as they are, numbers as written, booleans as `true`/`false`.
fn value(r: &mut Reader<'_>) -> Result<RawValue, JsonError> {
    Ok(match r.peek()? {
        Kind::String => RawValue::Text(Zeroizing::new(r.string()?.into_owned())),
        Kind::Number => RawValue::Text(Zeroizing::new(r.number()?.to_owned())),
        Kind::Bool => RawValue::Text(Zeroizing::new(
            if r.bool()? { "true" } else { "false" }.to_owned(),
        )),
        Kind::Null => {
            r.skip()?;
            RawValue::Other("null")
        }
        Kind::Array => {
            r.skip()?;
            RawValue::Other("a list")
        }
        Kind::Object => {
            r.skip()?;
            RawValue::Other("an object")
        }
    })
}

/// What the reader found wrong, in words (never the input's text).
fn syntax_detail(kind: ReadErrorKind) -> &'static str {
    match kind {
        ReadErrorKind::Unterminated => "the file ends inside a value",
        ReadErrorKind::InvalidUtf8 => "a string is not valid UTF-8",
        ReadErrorKind::InvalidEscape => "a bad escape in a string",
        ReadErrorKind::ControlCharacter => "a raw control character in a string",
        ReadErrorKind::TrailingCharacters => "text after the end of the document",
        ReadErrorKind::TooDeep => {
            const _: () = assert!(MAX_JSON_DEPTH == 32);
            "objects and arrays nested deeper than 32 levels"
        }
        _ => "unexpected character",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn kinds(stanza: &RawStanza) -> Vec<(&str, usize, Result<&str, &'static str>)> {
        stanza
            .params
            .iter()
            .map(|p| {
                let v = match &p.value {
                    RawValue::Text(t) => Ok(t.as_str()),
                    RawValue::Other(k) => Err(*k),
                };
                (p.name.as_str(), p.line, v)
            })
            .collect()
    }

    #[test]
    fn forms_order_and_duplicates() {
        let text = "{\"seal\": [\n {\"awskms\": {\"kms_key_id\": \"k\",\n \"n\": 3, \"b\": true,\n \
                    \"kms_key_id\": null}},\n {\"transit\": [{\"x\": [1]}]}\n]}";
        let stanzas = seal_stanzas(text).unwrap();
        assert_eq!(stanzas.len(), 2);
        assert_eq!(stanzas[0].seal_type, "awskms");
        assert_eq!(stanzas[0].line, 2);
        assert_eq!(
            kinds(&stanzas[0]),
            vec![
                ("kms_key_id", 2, Ok("k")),
                ("n", 3, Ok("3")),
                ("b", 3, Ok("true")),
                ("kms_key_id", 4, Err("null")),
            ]
        );
        assert_eq!(kinds(&stanzas[1]), vec![("x", 5, Err("a list"))]);
    }

    #[test]
    fn shapes_and_syntax() {
        assert!(seal_stanzas("{\"ui\": true}").unwrap().is_empty());
        for bad in [
            "{\"seal\": \"awskms\"}",
            "{\"seal\": [1]}",
            "{\"seal\": {\"awskms\": \"x\"}}",
            "[]",
        ] {
            assert!(
                matches!(seal_stanzas(bad), Err(ReadError::Stanza { .. })),
                "{bad}"
            );
        }
        let Err(ReadError::Syntax { line, detail }) =
            seal_stanzas("{\"seal\": {\n\"awskms\": {\"secret_key\": \"s3cr3t\"")
        else {
            panic!("not a syntax error")
        };
        assert_eq!(line, 2);
        assert!(
            !detail.contains("s3cr3t") && !detail.contains("line"),
            "{detail}"
        );
    }
}
