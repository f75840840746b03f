//! Which certificate authorities a transport trusts: the built-in Mozilla roots, or a PEM
//! bundle that replaces them (`AWS_CA_BUNDLE`, a profile's `ca_bundle`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts};

/// A CA bundle larger than this is refused (the whole Mozilla store is about 220 KiB).
const MAX_BUNDLE_BYTES: u64 = 8 * 1024 * 1024;

/// The roots a transport verifies server certificates against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsTrust {
    /// The Mozilla roots compiled into the binary (webpki-roots). The default.
    #[default]
    BuiltIn,
    /// Only the certificates of this bundle, as the AWS CLI does with `AWS_CA_BUNDLE`.
    Bundle(CaBundle),
}

impl TlsTrust {
    pub(super) fn root_certs(&self) -> RootCerts {
        match self {
            TlsTrust::BuiltIn => RootCerts::WebPki,
            TlsTrust::Bundle(bundle) => RootCerts::Specific(Arc::clone(&bundle.certificates)),
        }
    }

    /// What to tell a user whose server certificate was not trusted.
    pub(super) fn advice(&self) -> String {
        match self {
            TlsTrust::BuiltIn => {
                "set AWS_CA_BUNDLE to a PEM file with the CA that issued it".to_owned()
            }
            TlsTrust::Bundle(bundle) => format!(
                "check that {} (from {}) holds the CA that issued it",
                bundle.path.display(),
                bundle.origin
            ),
        }
    }
}

/// The certificates of a PEM file, read once when the configuration is built.
#[derive(Clone)]
pub struct CaBundle {
    path: PathBuf,
    origin: String,
    certificates: Arc<Vec<Certificate<'static>>>,
}

impl CaBundle {
    /// Reads every `CERTIFICATE` block of the PEM file at `path`. `origin` names the setting
    /// the path came from (`AWS_CA_BUNDLE`, `ca_bundle in profile dev`), for messages.
    ///
    /// # Errors
    /// [`CaBundleError`] when the file cannot be read, is larger than 8 MiB, is not PEM or
    /// holds no certificate.
    pub fn load(path: &Path, origin: &str) -> Result<Self, CaBundleError> {
        let error = |reason: BundleProblem| CaBundleError {
            path: path.to_path_buf(),
            origin: origin.to_owned(),
            reason,
        };
        let bytes = read_bundle(path).map_err(error)?;
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(&bytes) {
            match item {
                Ok(PemItem::Certificate(c)) => certificates.push(c),
                Ok(_) => {}
                Err(_) => return Err(error(BundleProblem::NotPem)),
            }
        }
        if certificates.is_empty() {
            return Err(error(BundleProblem::NoCertificate));
        }
        log::info!(
            "https trusts the {} certificates of {} (from {origin}) instead of the built-in roots",
            certificates.len(),
            path.display()
        );
        Ok(CaBundle {
            path: path.to_path_buf(),
            origin: origin.to_owned(),
            certificates: Arc::new(certificates),
        })
    }

    /// The file the certificates were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many certificates the bundle holds.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Always `false`: a bundle without certificates is refused by [`CaBundle::load`].
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("origin", &self.origin)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

impl PartialEq for CaBundle {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.certificates.len() == other.certificates.len()
            && self
                .certificates
                .iter()
                .zip(other.certificates.iter())
                .all(|(a, b)| a.der() == b.der())
    }
}

impl Eq for CaBundle {}

/// A CA bundle that cannot be used. A configuration error: the file named must be fixed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaBundleError {
    path: PathBuf,
    origin: String,
    reason: BundleProblem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum BundleProblem {
    Unreadable(String),
    TooLarge,
    NotPem,
    NoCertificate,
}

impl fmt::Display for CaBundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        let origin = &self.origin;
        match &self.reason {
            BundleProblem::Unreadable(e) => write!(
                f,
                "cannot read the CA bundle {path} ({e}); fix {origin} or the file's permissions"
            ),
            BundleProblem::TooLarge => write!(
                f,
                "the CA bundle {path} is larger than 8 MiB; point {origin} at a PEM file of CA \
                 certificates"
            ),
            BundleProblem::NotPem => write!(
                f,
                "the CA bundle {path} is not valid PEM; point {origin} at a PEM file of CA \
                 certificates"
            ),
            BundleProblem::NoCertificate => write!(
                f,
                "the CA bundle {path} holds no PEM certificate; point {origin} at a PEM file \
                 of CA certificates"
            ),
        }
    }
}

impl std::error::Error for CaBundleError {}

fn read_bundle(path: &Path) -> Result<Vec<u8>, BundleProblem> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| BundleProblem::Unreadable(io_reason(&e)))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleProblem::Unreadable(io_reason(&e)))?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(BundleProblem::TooLarge);
    }
    Ok(bytes)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "a directory, not a file".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\n\
        MIIBmjCCAT+gAwIBAgIUIYa0x7+pIsl4z6v87Y+NaMxsFxwwCgYIKoZIzj0EAwIw\n\
        IjEgMB4GA1UEAwwXa21zLXNlYWwgdW5pdCB0ZXN0IHJvb3QwHhcNMjYxMjA2MTYz\n\
        NzQ4WhcNMzYxMjAzMTYzNzQ4WjAiMSAwHgYDVQQDDBdrbXMtc2VhbCB1bml0IHRl\n\
        c3Qgcm9vdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJPnDCzOHy/BE9vWSy4K\n\
        +fLAoXNPuBm1877qwlChYYcm5YqHIWbXoaLvJv7Wg1IavKoFFFmn1znB4AkHFM/0\n\
        umujUzBRMB0GA1UdDgQWBBSkievQ4b+ALGGJ879VMM6SGhQDHjAfBgNVHSMEGDAW\n\
        gBSkievQ4b+ALGGJ879VMM6SGhQDHjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49\n\
        BAMCA0kAMEYCIQDBknurdDlqpsNp5+Dry3+r8Sdu5hf94ni8G35bomB70QIhAL2C\n\
        1BNnSFLyVM2xsKt6KKAt6/GS2P7o/w8BKAZtV6Ac\n\
        -----END CERTIFICATE-----\n";

    #[test]
    fn reads_every_certificate_and_skips_other_text() {
        let dir = TempDir::new("read");
        let text = format!("# a comment\n{CERT}\nsome words\n{CERT}");
        let path = dir.write("two.pem", text.as_bytes());
        let bundle = CaBundle::load(&path, "AWS_CA_BUNDLE").unwrap();
        assert_eq!(bundle.len(), 2);
        assert_eq!(bundle.path(), path);
        assert_eq!(
            bundle,
            CaBundle::load(&path, "ca_bundle in profile default").unwrap()
        );
        assert!(matches!(
            TlsTrust::Bundle(bundle).root_certs(),
            RootCerts::Specific(c) if c.len() == 2
        ));
    }

    #[test]
    fn unusable_bundles_name_the_file_and_the_setting() {
        let dir = TempDir::new("unusable");
        let garbage = dir.write("garbage.pem", b"this is not a certificate\n");
        let e = CaBundle::load(&garbage, "AWS_CA_BUNDLE").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("garbage.pem"), "{text}");
        assert!(text.contains("holds no PEM certificate"), "{text}");
        assert!(text.contains("AWS_CA_BUNDLE"), "{text}");

        let broken = dir.write(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        let text = CaBundle::load(&broken, "AWS_CA_BUNDLE")
            .unwrap_err()
            .to_string();
        assert!(text.contains("is not valid PEM"), "{text}");

        let empty = dir.write("empty.pem", b"");
        assert!(CaBundle::load(&empty, "AWS_CA_BUNDLE").is_err());

        let missing = garbage.with_file_name("missing.pem");
        let text = CaBundle::load(&missing, "ca_bundle in profile dev")
            .unwrap_err()
            .to_string();
        assert!(text.contains("missing.pem (no such file)"), "{text}");
        assert!(text.contains("ca_bundle in profile dev"), "{text}");

        assert!(CaBundle::load(&dir.0, "AWS_CA_BUNDLE").is_err());
    }

    /// A directory of test files, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("kms-seal-trust-{}-{test}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
