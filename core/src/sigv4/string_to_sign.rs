//! SigV4 step 2: the string to sign.
//!
//! ```text
//! AWS4-HMAC-SHA256\n
//! YYYYMMDDTHHMMSSZ\n
//! YYYYMMDD/region/service/aws4_request\n
//! hex(sha256(canonical request))
//! ```

use super::{Buffered, Sink};

/// The only algorithm this signer produces.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The fixed last element of every credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// Streams the string to sign to `sink` (the HMAC keyed with the signing key, or a buffer).
pub(crate) fn write<S: Sink + ?Sized>(
    sink: &mut S,
    amz_date: &[u8; 16],
    date: &[u8; 8],
    region: &str,
    service: &str,
    canonical_request_hash: &[u8; 64],
) {
    let mut out = Buffered::new(sink);
    out.text(ALGORITHM);
    out.byte(b'\n');
    out.ascii(amz_date);
    out.byte(b'\n');
    write_scope(&mut out, date, region, service);
    out.byte(b'\n');
    out.ascii(canonical_request_hash);
}

/// Writes the credential scope `YYYYMMDD/region/service/aws4_request`.
pub(crate) fn write_scope<S: Sink + ?Sized>(
    out: &mut Buffered<'_, S>,
    date: &[u8; 8],
    region: &str,
    service: &str,
) {
    for &b in date {
        out.byte(b);
    }
    out.byte(b'/');
    out.text(region);
    out.byte(b'/');
    out.text(service);
    out.byte(b'/');
    out.text(TERMINATOR);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Text(heapless::String<512>);

    impl Sink for Text {
        fn write(&mut self, bytes: &[u8]) {
            self.0
                .push_str(core::str::from_utf8(bytes).unwrap())
                .unwrap();
        }
    }

    #[test]
    fn writes_the_suite_string_to_sign() {
        let mut text = Text(heapless::String::new());
        write(
            &mut text,
            b"20150830T123600Z",
            b"20150830",
            "us-east-1",
            "service",
            b"bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        );
        // aws-signing-test-suite/v4/get-vanilla/header-string-to-sign.txt
        assert_eq!(
            text.0.as_str(),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
    }
}
