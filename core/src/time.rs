//! Time values without a clock: the caller passes the current time in.
//!
//! [`Timestamp`] is whole seconds since the Unix epoch (UTC). This module formats it the way
//! SigV4 needs (`YYYYMMDD`, `YYYYMMDDTHHMMSSZ`) and parses the two forms AWS sends back:
//! RFC 3339 (credential `Expiration`) and the HTTP `Date` header (IMF-fixdate).

use core::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

/// A calendar date and time in UTC, broken down from a [`Timestamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year, for example 2015.
    pub year: u32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=59.
    pub second: u32,
}

/// A time string that could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseTimeError;

impl fmt::Display for ParseTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid timestamp")
    }
}

impl core::error::Error for ParseTimeError {}

impl Timestamp {
    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Breaks the timestamp down into a UTC calendar date and time.
    pub fn to_datetime(self) -> DateTime {
        let days = self.0 / 86_400;
        let rem = self.0 % 86_400;
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: ((rem % 3600) / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// Builds a timestamp from a UTC calendar date and time; `None` when a field is out of range
    /// or the date is before 1970.
    pub fn from_datetime(dt: DateTime) -> Option<Self> {
        if !(1..=12).contains(&dt.month)
            || dt.day == 0
            || dt.day > days_in_month(dt.year, dt.month)
            || dt.hour > 23
            || dt.minute > 59
            || dt.second > 60
            || dt.year < 1970
        {
            return None;
        }
        let days = days_from_civil(dt.year, dt.month, dt.day);
        let secs = days
            .checked_mul(86_400)?
            .checked_add(u64::from(dt.hour) * 3600 + u64::from(dt.minute) * 60)?
            .checked_add(u64::from(dt.second))?;
        Some(Timestamp(secs))
    }

    /// `YYYYMMDD`, the SigV4 credential-scope date.
    pub fn date_stamp(self) -> [u8; 8] {
        let d = self.to_datetime();
        let mut out = [0u8; 8];
        write_digits(&mut out[0..4], d.year);
        write_digits(&mut out[4..6], d.month);
        write_digits(&mut out[6..8], d.day);
        out
    }

    /// `YYYYMMDDTHHMMSSZ`, the SigV4 `x-amz-date` value.
    pub fn amz_date(self) -> [u8; 16] {
        let d = self.to_datetime();
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.date_stamp());
        out[8] = b'T';
        write_digits(&mut out[9..11], d.hour);
        write_digits(&mut out[11..13], d.minute);
        write_digits(&mut out[13..15], d.second);
        out[15] = b'Z';
        out
    }

    /// Parses RFC 3339 / ISO 8601 as AWS writes it: `2015-08-30T12:36:00Z`, with optional
    /// fractional seconds and a `Z` or `+hh:mm`/`-hh:mm` offset.
    ///
    /// # Errors
    /// [`ParseTimeError`] when the text is not such a timestamp.
    pub fn parse_rfc3339(s: &str) -> Result<Self, ParseTimeError> {
        let b = s.trim().as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(ParseTimeError);
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(ParseTimeError);
        }
        let dt = DateTime {
            year: digits(&b[0..4])?,
            month: digits(&b[5..7])?,
            day: digits(&b[8..10])?,
            hour: digits(&b[11..13])?,
            minute: digits(&b[14..16])?,
            second: digits(&b[17..19])?,
        };
        let mut rest = &b[19..];
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(ParseTimeError);
            }
            rest = &tail[n..];
        }
        let base = Timestamp::from_datetime(dt).ok_or(ParseTimeError)?.0;
        match rest {
            [b'Z' | b'z'] => Ok(Timestamp(base)),
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let off =
                    u64::from(digits(&[*h1, *h2])?) * 3600 + u64::from(digits(&[*m1, *m2])?) * 60;
                let secs = if *sign == b'+' {
                    base.checked_sub(off)
                } else {
                    base.checked_add(off)
                };
                secs.map(Timestamp).ok_or(ParseTimeError)
            }
            _ => Err(ParseTimeError),
        }
    }

    /// Parses an HTTP `Date` header in IMF-fixdate form: `Sun, 30 Aug 2015 12:36:00 GMT`.
    ///
    /// # Errors
    /// [`ParseTimeError`] when the text is not such a date.
    pub fn parse_http_date(s: &str) -> Result<Self, ParseTimeError> {
        let b = s.trim().as_bytes();
        // "Sun, 30 Aug 2015 12:36:00 GMT" is 29 bytes.
        if b.len() != 29 || b[3] != b',' || b[4] != b' ' || b[7] != b' ' || b[11] != b' ' {
            return Err(ParseTimeError);
        }
        if b[16] != b' ' || b[19] != b':' || b[22] != b':' || &b[25..] != b" GMT" {
            return Err(ParseTimeError);
        }
        const MONTHS: [&[u8; 3]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let month = MONTHS
            .iter()
            .position(|m| &b[8..11] == m.as_slice())
            .ok_or(ParseTimeError)? as u32
            + 1;
        let dt = DateTime {
            year: digits(&b[12..16])?,
            month,
            day: digits(&b[5..7])?,
            hour: digits(&b[17..19])?,
            minute: digits(&b[20..22])?,
            second: digits(&b[23..25])?,
        };
        Timestamp::from_datetime(dt).ok_or(ParseTimeError)
    }
}

fn digits(b: &[u8]) -> Result<u32, ParseTimeError> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(ParseTimeError);
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

fn write_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's civil-from-days algorithm (public-domain arithmetic), restricted to the
// proleptic Gregorian calendar from 1970 on.
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y as u32, m as u32, d as u32)
}

fn days_from_civil(y: u32, m: u32, d: u32) -> u64 {
    let y = u64::from(if m <= 2 { y - 1 } else { y });
    let era = y / 400;
    let yoe = y - era * 400;
    let m = u64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + u64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_sigv4_suite_date() {
        let t = Timestamp(1_440_938_160);
        assert_eq!(&t.amz_date(), b"20150830T123600Z");
        assert_eq!(&t.date_stamp(), b"20150830");
    }

    #[test]
    fn parses_rfc3339_forms() {
        assert_eq!(
            Timestamp::parse_rfc3339("2015-08-30T12:36:00Z"),
            Ok(Timestamp(1_440_938_160))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2015-08-30T12:36:00.123456Z"),
            Ok(Timestamp(1_440_938_160))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2015-08-30T14:36:00+02:00"),
            Ok(Timestamp(1_440_938_160))
        );
        assert!(Timestamp::parse_rfc3339("2015-02-30T12:36:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("garbage").is_err());
        assert!(Timestamp::parse_rfc3339("2015-08-30T12:36:00").is_err());
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            Timestamp::parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Ok(Timestamp(1_440_938_160))
        );
        assert!(Timestamp::parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT").is_err());
        assert!(Timestamp::parse_http_date("").is_err());
    }

    #[test]
    fn round_trips_calendar_dates() {
        for secs in [
            0u64,
            951_782_400,
            1_709_164_800,
            4_102_444_800,
            1_440_938_160,
        ] {
            let t = Timestamp(secs);
            assert_eq!(Timestamp::from_datetime(t.to_datetime()), Some(t));
        }
    }
}
