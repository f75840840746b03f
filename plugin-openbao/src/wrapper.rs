//! `pb.Wrapper`: the seal instances this process serves and what each call does with them.
//!
//! SetConfig reads the stanza with the one configuration loader
//! ([`kms_seal_cli::config::from_settings`]) and builds the native seal
//! ([`kms_seal_ureq::native::build_seal`]) without calling KMS, so that a KMS outage leaves
//! OpenBao sealed and retrying instead of failing its start. Encrypt and Decrypt are the
//! native seal's; they block (ureq), so the server runs them on blocking threads.
//!
//! Every error is one line for OpenBao's log saying what to do next, with no secret,
//! plaintext or data key in it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use kms_seal_cli::config::from_settings;
use kms_seal_core::envelope::BlobInfo;
use kms_seal_core::seal::{ErrorKind, SealError};
use kms_seal_ureq::cli::StdFiles;
use kms_seal_ureq::credentials::EnvLookup;
use kms_seal_ureq::native::{BuiltSeal, NativeSeal, build_seal};
use tonic::Status;

use crate::log::{Level, log};
use crate::proto::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, KeyIdRequest, KeyIdResponse,
    RpcOptions, SetConfigRequest, SetConfigResponse, TypeRequest, TypeResponse, WrapperConfig,
};

/// What `Type` answers; OpenBao stores it in `core/seal-config` and checks it at every start.
pub const WRAPPER_TYPE: &str = "awskms";

/// The seal instances, by wrapper id.
pub struct Wrappers {
    env: EnvLookup,
    instances: Mutex<HashMap<String, Arc<Instance>>>,
}

/// One configured seal.
struct Instance {
    seal: NativeSeal,
    /// The configured key id (the alias or id of the stanza), for messages.
    configured_key: String,
    endpoint: String,
}

impl Wrappers {
    /// No instances yet; configurations read the environment through `env`.
    pub fn new(env: EnvLookup) -> Self {
        Wrappers {
            env,
            instances: Mutex::new(HashMap::new()),
        }
    }

    /// SetConfig: a new instance from the stanza in `options.with_config_map`. Never calls
    /// KMS. Unknown parameters are logged as warnings, as Vault ignores them.
    ///
    /// # Errors
    /// [`Status::unknown`] with the loader's or builder's message naming the parameter to fix.
    pub fn set_config(&self, request: SetConfigRequest) -> Result<SetConfigResponse, Status> {
        let options = request.options.unwrap_or_default();
        let mut settings: Vec<(&str, &str)> = options
            .with_config_map
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if options.with_disallow_env_vars
            && !options.with_config_map.contains_key("disallow_env_vars")
        {
            settings.push(("disallow_env_vars", "true"));
        }
        let env = self.env.clone();
        let lookup = |name: &str| env.get(name);
        let config = from_settings(&settings, &lookup, Some(&StdFiles))
            .map_err(|e| failure("SetConfig", &format!("seal \"awskms\": {e}")))?;
        for name in &config.unknown_parameters {
            log(
                Level::Warn,
                &format!(
                    "ignoring unknown seal \"awskms\" parameter `{name}`: remove it or fix its spelling"
                ),
                &[],
            );
        }
        let BuiltSeal { seal, region } = build_seal(&config, self.env.clone())
            .map_err(|e| failure("SetConfig", &format!("seal \"awskms\": {e}")))?;
        let endpoint = seal.settings().endpoint.url();
        let key_id = seal.settings().key_id.clone();
        let wrapper_id = new_wrapper_id()?;
        log(
            Level::Info,
            "configured awskms seal",
            &[
                ("wrapper_id", &wrapper_id),
                ("key_id", &key_id),
                ("region", &region.name),
                ("region_source", &region.source.to_string()),
                ("endpoint", &endpoint),
            ],
        );
        let metadata = BTreeMap::from([
            ("region".to_owned(), region.name.clone()),
            ("key_id".to_owned(), key_id.clone()),
            ("endpoint".to_owned(), endpoint.clone()),
        ]);
        let instance = Instance {
            seal,
            configured_key: key_id,
            endpoint,
        };
        self.lock().insert(wrapper_id.clone(), Arc::new(instance));
        Ok(SetConfigResponse {
            wrapper_id,
            wrapper_config: Some(WrapperConfig { metadata }),
        })
    }

    /// Type: always `awskms` for a known instance; never calls KMS.
    ///
    /// # Errors
    /// [`Status::not_found`] for an unknown wrapper id.
    pub fn wrapper_type(&self, request: &TypeRequest) -> Result<TypeResponse, Status> {
        self.instance(&request.wrapper_id)?;
        Ok(TypeResponse {
            r#type: WRAPPER_TYPE.to_owned(),
        })
    }

    /// KeyId: the key ARN the last Encrypt returned (the configured key id before the first).
    ///
    /// # Errors
    /// [`Status::not_found`] for an unknown wrapper id.
    pub fn key_id(&self, request: &KeyIdRequest) -> Result<KeyIdResponse, Status> {
        let instance = self.instance(&request.wrapper_id)?;
        Ok(KeyIdResponse {
            key_id: instance.seal.key_id(),
        })
    }

    /// Init and Finalize: nothing to do for a known instance (the first KMS call is the
    /// first Encrypt or Decrypt).
    ///
    /// # Errors
    /// [`Status::not_found`] for an unknown wrapper id.
    pub fn check_instance(&self, wrapper_id: &str) -> Result<(), Status> {
        self.instance(wrapper_id).map(drop)
    }

    /// Encrypt: seals the plaintext as an envelope (mechanism 1). Blocks on KMS.
    ///
    /// # Errors
    /// [`Status::not_found`] for an unknown wrapper id; [`Status::unknown`] saying what to fix
    /// when KMS fails.
    pub fn encrypt(&self, request: &EncryptRequest) -> Result<EncryptResponse, Status> {
        let instance = self.instance(&request.wrapper_id)?;
        let blob = instance
            .seal
            .encrypt(&request.plaintext, aad(&request.options))
            .map_err(|e| instance.seal_failure("Encrypt", &e))?;
        Ok(EncryptResponse {
            ciphertext: blob.encode(),
        })
    }

    /// Decrypt: opens a BlobInfo of mechanism 0 or 1. Blocks on KMS.
    ///
    /// # Errors
    /// [`Status::not_found`] for an unknown wrapper id; [`Status::unknown`] when the blob is
    /// malformed or KMS fails.
    pub fn decrypt(&self, request: &DecryptRequest) -> Result<DecryptResponse, Status> {
        let instance = self.instance(&request.wrapper_id)?;
        let blob = BlobInfo::decode(&request.ciphertext).map_err(|e| {
            failure(
                "Decrypt",
                &format!("the value to decrypt is not a seal-wrapped BlobInfo: {e}"),
            )
        })?;
        let plaintext = instance
            .seal
            .decrypt(&blob, aad(&request.options))
            .map_err(|e| instance.seal_failure("Decrypt", &e))?;
        Ok(DecryptResponse {
            plaintext: plaintext.to_vec(),
        })
    }

    fn instance(&self, wrapper_id: &str) -> Result<Arc<Instance>, Status> {
        self.lock().get(wrapper_id).cloned().ok_or_else(|| {
            log(
                Level::Error,
                "call for an unknown wrapper instance",
                &[("wrapper_id", wrapper_id)],
            );
            Status::not_found(format!(
                "no awskms seal instance {wrapper_id:?} in this plugin process; OpenBao must call SetConfig first"
            ))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Instance>>> {
        // The map is only inserted into and read: a panic elsewhere cannot leave it half-written.
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Instance {
    /// One line naming the operation, the key, the endpoint and what to do, from the seal's
    /// error (whose text already says what to change and holds no secret).
    fn seal_failure(&self, operation: &str, error: &SealError) -> Status {
        let permission = match operation {
            "Encrypt" => "kms:Encrypt",
            _ => "kms:Decrypt",
        };
        let hint = match error.kind() {
            ErrorKind::Transport => format!("; is {} reachable from this host?", self.endpoint),
            ErrorKind::Kms
                if error
                    .service_error()
                    .and_then(|e| e.code())
                    .is_some_and(|c| c.starts_with("AccessDenied")) =>
            {
                format!(
                    "; grant {permission} on {} to these credentials",
                    self.configured_key
                )
            }
            _ => String::new(),
        };
        failure(
            operation,
            &format!(
                "awskms seal {operation} with kms key {} at {} failed: {error}{hint}",
                self.configured_key, self.endpoint
            ),
        )
    }
}

/// The AAD option: `None` when empty (AES-GCM treats both alike, as Go's wrapper does).
fn aad(options: &Option<RpcOptions>) -> Option<&[u8]> {
    options
        .as_ref()
        .map(|o| o.with_aad.as_slice())
        .filter(|a| !a.is_empty())
}

/// Logs the failure and makes the status OpenBao shows verbatim (code Unknown), on one line.
fn failure(operation: &str, message: &str) -> Status {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    log(Level::Error, &line, &[("operation", operation)]);
    Status::unknown(line)
}

/// 16 random bytes in hex.
fn new_wrapper_id() -> Result<String, Status> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        failure(
            "SetConfig",
            &format!("no randomness for a wrapper id: {e}; check /dev/urandom"),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> SetConfigRequest {
        SetConfigRequest {
            options: Some(RpcOptions::with_config_map(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )),
        }
    }

    fn wrappers() -> Wrappers {
        Wrappers::new(EnvLookup::from_pairs([(
            "AWS_EC2_METADATA_DISABLED",
            "true",
        )]))
    }

    #[test]
    fn set_config_makes_an_instance_without_calling_kms() {
        let w = wrappers();
        let response = w
            .set_config(settings(&[
                ("kms_key_id", "alias/vault"),
                ("region", "eu-west-1"),
                ("endpoint", "http://127.0.0.1:1"),
                ("access_key", "AKIDEXAMPLE"),
                ("secret_key", "very-secret"),
            ]))
            .expect("config");
        assert_eq!(response.wrapper_id.len(), 32);
        let metadata = response.wrapper_config.expect("config").metadata;
        assert_eq!(
            metadata.keys().collect::<Vec<_>>(),
            ["endpoint", "key_id", "region"]
        );
        assert_eq!(metadata["region"], "eu-west-1");
        assert_eq!(metadata["key_id"], "alias/vault");
        assert_eq!(metadata["endpoint"], "http://127.0.0.1:1/");
        assert!(!format!("{metadata:?}").contains("very-secret"));
        let t = w
            .wrapper_type(&TypeRequest {
                wrapper_id: response.wrapper_id.clone(),
            })
            .expect("type");
        assert_eq!(t.r#type, "awskms");
        let k = w
            .key_id(&KeyIdRequest {
                wrapper_id: response.wrapper_id,
            })
            .expect("key id");
        assert_eq!(k.key_id, "alias/vault");
    }

    #[test]
    fn unknown_instance_is_not_found() {
        let w = wrappers();
        let e = w
            .wrapper_type(&TypeRequest {
                wrapper_id: "nope".into(),
            })
            .expect_err("unknown");
        assert_eq!(e.code(), tonic::Code::NotFound);
    }

    #[test]
    fn missing_key_id_says_which_parameter() {
        let e = wrappers()
            .set_config(settings(&[("region", "eu-west-1")]))
            .expect_err("no key");
        assert_eq!(e.code(), tonic::Code::Unknown);
        assert!(e.message().contains("kms_key_id"), "{}", e.message());
        assert!(!e.message().contains('\n'));
    }

    #[test]
    fn unreachable_kms_names_the_endpoint() {
        let w = wrappers();
        let id = w
            .set_config(settings(&[
                ("kms_key_id", "alias/vault"),
                ("endpoint", "http://127.0.0.1:9"),
                ("access_key", "AKIDEXAMPLE"),
                ("secret_key", "very-secret"),
            ]))
            .expect("config")
            .wrapper_id;
        let e = w
            .encrypt(&EncryptRequest {
                wrapper_id: id,
                plaintext: b"top secret plaintext".to_vec(),
                options: None,
            })
            .expect_err("nothing listens on port 9");
        assert_eq!(e.code(), tonic::Code::Unknown);
        let m = e.message();
        assert!(m.contains("http://127.0.0.1:9/"), "{m}");
        assert!(m.contains("alias/vault"), "{m}");
        assert!(
            !m.contains("very-secret") && !m.contains("top secret"),
            "{m}"
        );
        assert!(!m.contains('\n'), "{m}");
    }
}
