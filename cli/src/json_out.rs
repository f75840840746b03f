//! The JSON the commands print (`inspect`, `check`, the `rewrap` summary), written directly:
//! the components carry no JSON serializer. The layout is serde_json's pretty printer (two
//! spaces, `"key": value`) with members in the order written, which the callers keep sorted,
//! so the output is byte for byte what earlier versions printed.

use alloc::format;
use alloc::string::String;
use core::fmt::Write as _;

/// A value to print.
pub(crate) enum Json<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An unsigned integer.
    Uint(u64),
    /// Milliseconds from whole microseconds, printed as serde_json prints the `f64`
    /// (`12.0`, `0.25`, `3.142`).
    Millis(u64),
    /// A string (escaped as JSON requires).
    Str(&'a str),
    /// An object: members in print order.
    Object(&'a [(&'a str, Json<'a>)]),
    /// An array.
    Array(&'a [Json<'a>]),
}

impl Json<'_> {
    /// Pretty-printed, as `serde_json::to_string_pretty`.
    pub(crate) fn pretty(&self) -> String {
        self.pretty_at(0)
    }

    /// Pretty-printed as if nested `level` levels deep (continuation lines indented by
    /// `level` steps; the first line is not).
    pub(crate) fn pretty_at(&self, level: usize) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(level));
        out
    }

    /// On one line, as `serde_json::to_string`.
    pub(crate) fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>) {
        let newline = |out: &mut String, level: usize| {
            out.push('\n');
            for _ in 0..level {
                out.push_str("  ");
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Uint(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Millis(micros) => {
                let (whole, frac) = (micros / 1000, micros % 1000);
                if frac == 0 {
                    let _ = write!(out, "{whole}.0");
                } else {
                    let digits = format!("{frac:03}");
                    let _ = write!(out, "{whole}.{}", digits.trim_end_matches('0'));
                }
            }
            Json::Str(s) => write_string(out, s),
            Json::Object(members) => {
                if members.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if let Some(level) = indent {
                        newline(out, level + 1);
                    }
                    write_string(out, key);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    value.write(out, indent.map(|l| l + 1));
                }
                if let Some(level) = indent {
                    newline(out, level);
                }
                out.push('}');
            }
            Json::Array(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if let Some(level) = indent {
                        newline(out, level + 1);
                    }
                    item.write(out, indent.map(|l| l + 1));
                }
                if let Some(level) = indent {
                    newline(out, level);
                }
                out.push(']');
            }
        }
    }
}

/// A JSON string literal, with the escapes serde_json writes.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_serde_json() {
        let nested = [Json::Uint(1), Json::Str("a\"b\\c\n\u{1}é")];
        let value = Json::Object(&[
            ("a", Json::Null),
            ("b", Json::Bool(true)),
            ("c", Json::Array(&nested)),
            (
                "d",
                Json::Object(&[("x", Json::Millis(12_000)), ("y", Json::Millis(250))]),
            ),
            ("e", Json::Object(&[])),
            ("f", Json::Array(&[])),
            ("g", Json::Millis(3_125)),
            ("h", Json::Millis(1)),
        ]);
        let expected = serde_json::json!({
            "a": null, "b": true, "c": [1, "a\"b\\c\n\u{1}é"],
            "d": {"x": 12.0, "y": 0.25}, "e": {}, "f": [], "g": 3.125, "h": 0.001,
        });
        assert_eq!(
            value.pretty(),
            serde_json::to_string_pretty(&expected).unwrap()
        );
        assert_eq!(value.compact(), serde_json::to_string(&expected).unwrap());
    }
}
