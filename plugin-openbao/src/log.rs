//! hclog JSON lines on stderr, which go-plugin's host parses and re-logs at the same level:
//! `{"@level":"info","@message":"...","@timestamp":"2006-01-02T15:04:05.000000Z07:00"}` plus
//! key/value pairs. Nothing logged here may hold a secret, a plaintext or a data key.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use kms_seal_core::time::Timestamp;

/// hclog levels the plugin uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warn`.
    Warn,
    /// `error`.
    Error,
}

impl Level {
    /// The name hclog writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one log line to stderr (errors writing it are ignored: there is nowhere else to say).
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let line = line(level, message, fields, SystemTime::now());
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    let _ = stderr.flush();
}

/// The JSON line, with its newline.
pub fn line(level: Level, message: &str, fields: &[(&str, &str)], now: SystemTime) -> String {
    let mut object = serde_json::Map::new();
    for (key, value) in fields {
        object.insert((*key).to_owned(), serde_json::Value::from(*value));
    }
    object.insert("@level".into(), level.as_str().into());
    object.insert("@message".into(), message.into());
    object.insert("@timestamp".into(), timestamp(now).into());
    let mut line = serde_json::Value::Object(object).to_string();
    line.push('\n');
    line
}

/// Go's `2006-01-02T15:04:05.000000Z07:00` for a UTC time: microseconds, `Z`.
pub fn timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let t = Timestamp(since.as_secs()).to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        since.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamp_has_go_layout() {
        let t = UNIX_EPOCH + Duration::new(1_136_214_245, 123_456_000);
        assert_eq!(timestamp(t), "2006-01-02T15:04:05.123456Z");
    }

    #[test]
    fn line_is_one_json_object_with_hclog_keys() {
        let t = UNIX_EPOCH + Duration::new(1_136_214_245, 0);
        let text = line(Level::Warn, "say \"x\"\nnext", &[("key_id", "alias/a")], t);
        assert!(text.ends_with('\n'));
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["@level"], "warn");
        assert_eq!(value["@message"], "say \"x\"\nnext");
        assert_eq!(value["@timestamp"], "2006-01-02T15:04:05.000000Z");
        assert_eq!(value["key_id"], "alias/a");
    }
}
