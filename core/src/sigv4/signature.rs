//! SigV4 step 4: the signature and the `Authorization` header.
//!
//! ```text
//! signature     = hex(HMAC(kSigning, string to sign))
//! Authorization: AWS4-HMAC-SHA256 Credential=<access key id>/<credential scope>,
//!                SignedHeaders=<names>, Signature=<signature>
//! ```

use super::canonical_request::CanonicalHeaders;
use super::string_to_sign::{ALGORITHM, TERMINATOR};
use super::{MAX_AUTHORIZATION_LEN, SigningError, SigningParams};

/// The two lower-case hex digits of every byte value (one lookup per byte: three digests per
/// request are hex-encoded).
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 0x0f]];
        i += 1;
    }
    table
};

/// Lower-case hex of a 32-byte digest or MAC, as ASCII bytes (only made a `str` where a
/// caller asks for one: checking UTF-8 three times per signature is not free).
pub(crate) fn hex(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.as_chunks_mut::<2>().0.iter_mut().zip(bytes) {
        *pair = HEX_PAIRS[usize::from(b)];
    }
    out
}

/// An ASCII array the signer built, as a `str`.
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).expect("the signer writes ASCII only")
}

/// The `Authorization` header value, held inline.
///
/// A plain byte array with a length (rather than `heapless::String`, whose pushes copy byte by
/// byte): every byte written is ASCII, checked where it comes from.
#[derive(Clone)]
pub(crate) struct Authorization {
    bytes: [u8; MAX_AUTHORIZATION_LEN],
    len: usize,
}

impl Authorization {
    /// The header value.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len])
            .expect("the authorization header is built from ASCII parts")
    }

    fn push(&mut self, part: &[u8]) -> Result<(), SigningError> {
        let end = self.len + part.len();
        let slot = self
            .bytes
            .get_mut(self.len..end)
            .ok_or(SigningError::AuthorizationTooLong {
                max: MAX_AUTHORIZATION_LEN,
            })?;
        slot.copy_from_slice(part);
        self.len = end;
        Ok(())
    }
}

impl Authorization {
    /// An empty header value.
    pub(crate) fn new() -> Authorization {
        Authorization {
            bytes: [0; MAX_AUTHORIZATION_LEN],
            len: 0,
        }
    }
}

/// Builds the `Authorization` header value, in `out` (filled where it will stay: the value is
/// a kilobyte, and building it elsewhere cost a copy or two per signature).
///
/// The access key id, region and service were checked to be ASCII; header names are tokens.
pub(crate) fn write_authorization(
    out: &mut Authorization,
    params: &SigningParams<'_>,
    date: &[u8; 8],
    headers: &CanonicalHeaders<'_>,
    signature: &[u8],
) -> Result<(), SigningError> {
    out.len = 0;
    for part in [
        ALGORITHM.as_bytes(),
        b" Credential=",
        params.access_key_id.as_bytes(),
        b"/",
        date,
        b"/",
        params.region.as_bytes(),
        b"/",
        params.service.as_bytes(),
        b"/",
        TERMINATOR.as_bytes(),
        b", SignedHeaders=",
    ] {
        out.push(part)?;
    }
    for (i, (name, lowercase)) in headers.signed_names().enumerate() {
        if i > 0 {
            out.push(b";")?;
        }
        let start = out.len;
        out.push(name.as_bytes())?;
        if !lowercase {
            out.bytes[start..out.len].make_ascii_lowercase();
        }
    }
    out.push(b", Signature=")?;
    out.push(signature)
}

/// [`write_authorization`] into a new value.
#[cfg(test)]
fn authorization(
    params: &SigningParams<'_>,
    date: &[u8; 8],
    headers: &CanonicalHeaders<'_>,
    signature: &[u8],
) -> Result<Authorization, SigningError> {
    let mut out = Authorization::new();
    write_authorization(&mut out, params, date, headers, signature)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{MAX_HEADERS, SigningSettings};
    use crate::time::Timestamp;

    fn params() -> SigningParams<'static> {
        SigningParams {
            access_key_id: "AKIDEXAMPLE",
            session_token: None,
            region: "us-east-1",
            service: "service",
            time: Timestamp(1_440_938_160),
            settings: SigningSettings::default(),
        }
    }

    #[test]
    fn hex_is_lower_case() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xAB;
        bytes[31] = 0x0F;
        let text = hex(&bytes);
        assert_eq!(&text[..4], b"ab00");
        assert_eq!(&text[60..], b"000f");
    }

    #[test]
    fn builds_the_suite_authorization_header() {
        let p = params();
        let list = [("Host", "example.amazonaws.com"), ("My-Header1", "value1")];
        let headers = CanonicalHeaders::new(&list, &p).unwrap();
        let sig = "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c";
        let out = authorization(&p, b"20150830", &headers, sig.as_bytes()).unwrap();
        // aws-signing-test-suite/v4/post-header-key-sort/header-signed-request.txt
        assert_eq!(
            out.as_str(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;my-header1;x-amz-date, \
             Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"
        );
    }

    #[test]
    fn overlong_authorization_is_an_error() {
        let p = params();
        let long_name = [b'x'; 40];
        let long_name = core::str::from_utf8(&long_name).unwrap();
        let mut list = [(long_name, "v"); MAX_HEADERS];
        list[0] = ("host", "h");
        // Distinct names so every one is listed: vary the last character.
        let names: [heapless::String<41>; MAX_HEADERS] = core::array::from_fn(|i| {
            let mut s = heapless::String::new();
            s.push_str(long_name).unwrap();
            s.push(char::from(b'a' + (i % 26) as u8)).unwrap();
            s.push(char::from(b'a' + (i / 26) as u8)).ok();
            s
        });
        for (slot, name) in list.iter_mut().zip(&names).skip(1) {
            *slot = (name.as_str(), "v");
        }
        let headers = CanonicalHeaders::new(&list, &p).unwrap();
        assert_eq!(
            authorization(&p, b"20150830", &headers, b"sig").err(),
            Some(SigningError::AuthorizationTooLong {
                max: MAX_AUTHORIZATION_LEN
            })
        );
    }
}
