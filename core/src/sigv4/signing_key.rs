//! SigV4 step 3: the signing key.
//!
//! ```text
//! kDate    = HMAC("AWS4" + secret access key, YYYYMMDD)
//! kRegion  = HMAC(kDate, region)
//! kService = HMAC(kRegion, service)
//! kSigning = HMAC(kService, "aws4_request")
//! ```
//!
//! The key only changes with the date, region, service and secret, so a caller derives it
//! once a day and signs every request of that day with it.

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use super::sha256::{HmacKey, HmacSha256};
use super::string_to_sign::TERMINATOR;
use super::{MAX_SCOPE_NAME_LEN, SigningError, check_scope_name};

/// A derived SigV4 signing key and the date, region and service it is valid for.
///
/// The key bytes (and the HMAC state precomputed from them) are zeroized on drop and never
/// printed.
#[derive(Clone)]
pub struct SigningKey {
    key: [u8; 32],
    hmac: HmacKey,
    date: [u8; 8],
    region: heapless::String<MAX_SCOPE_NAME_LEN>,
    service: heapless::String<MAX_SCOPE_NAME_LEN>,
}

impl SigningKey {
    /// Derives the key for `date` (`YYYYMMDD`, as from
    /// [`Timestamp::date_stamp`](crate::time::Timestamp::date_stamp)), `region` and `service`.
    ///
    /// # Errors
    /// [`SigningError::InvalidParameter`] when the secret is empty, the date is not eight
    /// digits, or the region or service is empty or has characters other than
    /// `A-Z a-z 0-9 - _ .`; [`SigningError::ParameterTooLong`] when the region or service is
    /// longer than [`MAX_SCOPE_NAME_LEN`].
    pub fn derive(
        secret_access_key: &str,
        date: &[u8; 8],
        region: &str,
        service: &str,
    ) -> Result<SigningKey, SigningError> {
        if secret_access_key.is_empty() {
            return Err(SigningError::InvalidParameter {
                name: "secret access key",
            });
        }
        if !date.iter().all(u8::is_ascii_digit) {
            return Err(SigningError::InvalidParameter { name: "date" });
        }
        check_scope_name("region", region, MAX_SCOPE_NAME_LEN)?;
        check_scope_name("service", service, MAX_SCOPE_NAME_LEN)?;

        let secret = HmacKey::new(&[b"AWS4", secret_access_key.as_bytes()]);
        let k_date = Zeroizing::new(secret.sign(date));
        let k_region = Zeroizing::new(HmacKey::new(&[k_date.as_slice()]).sign(region.as_bytes()));
        let k_service =
            Zeroizing::new(HmacKey::new(&[k_region.as_slice()]).sign(service.as_bytes()));
        let key = HmacKey::new(&[k_service.as_slice()]).sign(TERMINATOR.as_bytes());

        let mut scope_region = heapless::String::new();
        let mut scope_service = heapless::String::new();
        scope_region
            .push_str(region)
            .expect("region length was checked against its capacity");
        scope_service
            .push_str(service)
            .expect("service length was checked against its capacity");
        Ok(SigningKey {
            hmac: HmacKey::new(&[key.as_slice()]),
            key,
            date: *date,
            region: scope_region,
            service: scope_service,
        })
    }

    /// Whether this key signs requests dated `date` for `region` and `service`.
    pub fn is_for(&self, date: &[u8; 8], region: &str, service: &str) -> bool {
        self.date == *date && self.region == region && self.service == service
    }

    /// The 32 key bytes (`kSigning`). Secret: do not log.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// A fresh HMAC-SHA256 keyed with this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.hmac.mac()
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field(
                "date",
                &core::str::from_utf8(&self.date).expect("the date was checked to be digits"),
            )
            .field("region", &self.region.as_str())
            .field("service", &self.service.as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> heapless::String<64> {
        let mut s = heapless::String::new();
        for b in bytes {
            use core::fmt::Write;
            write!(s, "{b:02x}").unwrap();
        }
        s
    }

    #[test]
    fn derives_the_documented_example_key() {
        // The worked example of the AWS General Reference ("Deriving the signing key"):
        // secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
        let key = SigningKey::derive(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            b"20120215",
            "us-east-1",
            "iam",
        )
        .unwrap();
        assert_eq!(
            hex(key.as_bytes()).as_str(),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
        assert!(key.is_for(b"20120215", "us-east-1", "iam"));
        assert!(!key.is_for(b"20120216", "us-east-1", "iam"));
        assert!(!key.is_for(b"20120215", "us-east-2", "iam"));
        assert!(!key.is_for(b"20120215", "us-east-1", "kms"));
    }

    #[test]
    fn long_secrets_are_hashed_like_hmac_does() {
        use hmac::{Hmac, KeyInit, Mac};
        use sha2::Sha256;
        let reference = |key: &[u8], data: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
            mac.update(data);
            mac.finalize().into_bytes().into()
        };
        // 60 bytes: "AWS4" + secret fills the block exactly; 100: it is hashed first.
        for len in [1usize, 59, 60, 61, 100] {
            let secret = "s".repeat_into::<100>();
            let secret = &secret[..len];
            let key = SigningKey::derive(secret, b"20150830", "us-east-1", "kms").unwrap();
            let mut aws4_secret = heapless::Vec::<u8, 104>::new();
            aws4_secret.extend_from_slice(b"AWS4").unwrap();
            aws4_secret.extend_from_slice(secret.as_bytes()).unwrap();
            let k_date = reference(&aws4_secret, b"20150830");
            let k_region = reference(&k_date, b"us-east-1");
            let k_service = reference(&k_region, b"kms");
            assert_eq!(
                key.as_bytes(),
                &reference(&k_service, b"aws4_request"),
                "{len}"
            );
            // The precomputed MAC state is keyed with the derived key.
            let mut mac = key.mac();
            mac.update(b"string to sign");
            assert_eq!(mac.finalize(), reference(key.as_bytes(), b"string to sign"));
        }
    }

    #[test]
    fn rejects_bad_scope_parts() {
        let derive = |secret, date: &[u8; 8], region, service| {
            SigningKey::derive(secret, date, region, service).err()
        };
        assert_eq!(
            derive("", b"20150830", "us-east-1", "kms"),
            Some(SigningError::InvalidParameter {
                name: "secret access key"
            })
        );
        assert_eq!(
            derive("s", b"2015-830", "us-east-1", "kms"),
            Some(SigningError::InvalidParameter { name: "date" })
        );
        assert_eq!(
            derive("s", b"20150830", "us/east", "kms"),
            Some(SigningError::InvalidParameter { name: "region" })
        );
        assert_eq!(
            derive("s", b"20150830", "us-east-1", ""),
            Some(SigningError::InvalidParameter { name: "service" })
        );
        let long = "r".repeat_into::<65>();
        assert_eq!(
            derive("s", b"20150830", &long, "kms"),
            Some(SigningError::ParameterTooLong {
                name: "region",
                max: MAX_SCOPE_NAME_LEN
            })
        );
    }

    #[test]
    fn debug_hides_the_key() {
        use core::fmt::Write;
        let key = SigningKey::derive("secret", b"20150830", "us-east-1", "kms").unwrap();
        let mut text = heapless::String::<256>::new();
        write!(text, "{key:?}").unwrap();
        assert_eq!(
            text.as_str(),
            "SigningKey { date: \"20150830\", region: \"us-east-1\", service: \"kms\", .. }"
        );
    }

    /// A no_std stand-in for `str::repeat` in these tests.
    trait RepeatInto {
        fn repeat_into<const N: usize>(&self) -> heapless::String<N>;
    }
    impl RepeatInto for str {
        fn repeat_into<const N: usize>(&self) -> heapless::String<N> {
            let mut s = heapless::String::new();
            while s.len() + self.len() <= N {
                s.push_str(self).unwrap();
            }
            s
        }
    }
}
