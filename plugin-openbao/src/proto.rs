//! The protobuf messages of the services the plugin serves, written by hand with the field
//! numbers of go-kms-wrapping's `plugin/pb/plugin.proto` and the types proto (as embedded in
//! OpenBao 2.7.2), go-plugin's `grpc_controller.proto` and `grpc.health.v1`.
//!
//! A `BlobInfo` travels as the raw bytes of its encoding (the `ciphertext` fields below): on
//! the wire an embedded message and a `bytes` field are the same, and kms-seal-core's one
//! `BlobInfo` reader and writer then handle it, unknown fields and all.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroize;

/// `pb.RPCOptions`: the options every wrapper call carries.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct RpcOptions {
    /// `with_key_id`: unused by seals (always empty).
    #[prost(string, tag = "10")]
    pub with_key_id: String,
    /// `with_aad`: additional authenticated data for the envelope's AES-GCM.
    #[prost(bytes = "vec", tag = "20")]
    pub with_aad: Vec<u8>,
    /// `with_config_map`: the `seal "awskms"` stanza's parameters as strings (SetConfig only).
    /// May hold secrets: never printed.
    #[prost(btree_map = "string, string", tag = "30")]
    pub with_config_map: BTreeMap<String, String>,
    /// `with_disallow_env_vars`: ignore the environment's AWS variables.
    #[prost(bool, tag = "90")]
    pub with_disallow_env_vars: bool,
}

impl RpcOptions {
    /// Options carrying only a configuration map, as SetConfig sends them. (The struct
    /// wipes itself on drop, so struct-update syntax cannot build it.)
    pub fn with_config_map(map: BTreeMap<String, String>) -> Self {
        let mut options = RpcOptions::default();
        options.with_config_map = map;
        options
    }

    /// Overwrites the configuration map's values (they may hold `secret_key` or
    /// `session_token`) with zeros. Done on drop.
    pub fn wipe(&mut self) {
        for value in self.with_config_map.values_mut() {
            value.zeroize();
        }
    }
}

impl Drop for RpcOptions {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for RpcOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcOptions")
            .field("with_key_id", &self.with_key_id)
            .field("with_aad_len", &self.with_aad.len())
            .field("with_config_map_keys", &self.with_config_map.keys())
            .field("with_disallow_env_vars", &self.with_disallow_env_vars)
            .finish()
    }
}

/// `pb.SetConfigRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SetConfigRequest {
    /// The options, with the configuration map.
    #[prost(message, optional, tag = "20")]
    pub options: Option<RpcOptions>,
}

/// `wrapping.WrapperConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WrapperConfig {
    /// Shown in the server's start-up banner: no secrets.
    #[prost(btree_map = "string, string", tag = "10")]
    pub metadata: BTreeMap<String, String>,
}

/// `pb.SetConfigResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SetConfigResponse {
    /// The new instance; every later call names it.
    #[prost(string, tag = "1")]
    pub wrapper_id: String,
    /// What the server may show about the instance.
    #[prost(message, optional, tag = "10")]
    pub wrapper_config: Option<WrapperConfig>,
}

/// `pb.TypeRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeRequest {
    /// The instance.
    #[prost(string, tag = "1")]
    pub wrapper_id: String,
}

/// `pb.TypeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeResponse {
    /// The wrapper type, `awskms`.
    #[prost(string, tag = "10")]
    pub r#type: String,
}

/// `pb.KeyIdRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyIdRequest {
    /// The instance.
    #[prost(string, tag = "1")]
    pub wrapper_id: String,
}

/// `pb.KeyIdResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyIdResponse {
    /// The current key ARN.
    #[prost(string, tag = "10")]
    pub key_id: String,
}

/// `pb.EncryptRequest`.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct EncryptRequest {
    /// The instance.
    #[prost(string, tag = "1")]
    pub wrapper_id: String,
    /// What to seal. Never printed.
    #[prost(bytes = "vec", tag = "10")]
    pub plaintext: Vec<u8>,
    /// The options (AAD).
    #[prost(message, optional, tag = "20")]
    pub options: Option<RpcOptions>,
}

impl EncryptRequest {
    /// Overwrites the plaintext with zeros. Done on drop, so the plugin's copy of a value it
    /// sealed does not stay in freed memory.
    pub fn wipe(&mut self) {
        self.plaintext.zeroize();
    }
}

impl Drop for EncryptRequest {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for EncryptRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("wrapper_id", &self.wrapper_id)
            .field("plaintext_len", &self.plaintext.len())
            .field("options", &self.options)
            .finish()
    }
}

/// `pb.EncryptResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EncryptResponse {
    /// The encoded `wrapping.BlobInfo` message.
    #[prost(bytes = "vec", tag = "10")]
    pub ciphertext: Vec<u8>,
}

/// `pb.DecryptRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DecryptRequest {
    /// The instance.
    #[prost(string, tag = "1")]
    pub wrapper_id: String,
    /// The encoded `wrapping.BlobInfo` message.
    #[prost(bytes = "vec", tag = "10")]
    pub ciphertext: Vec<u8>,
    /// The options (AAD).
    #[prost(message, optional, tag = "20")]
    pub options: Option<RpcOptions>,
}

/// `pb.DecryptResponse`.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct DecryptResponse {
    /// The opened value. Never printed.
    #[prost(bytes = "vec", tag = "10")]
    pub plaintext: Vec<u8>,
}

impl DecryptResponse {
    /// Overwrites the plaintext with zeros. Done on drop, once the message has been encoded
    /// for the wire.
    pub fn wipe(&mut self) {
        self.plaintext.zeroize();
    }
}

impl Drop for DecryptResponse {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for DecryptResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptResponse")
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// `pb.InitRequest` and `pb.FinalizeRequest` (same fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct LifecycleRequest {
    /// The instance.
    #[prost(string, tag = "1")]
    pub wrapper_id: String,
    /// The options (empty).
    #[prost(message, optional, tag = "20")]
    pub options: Option<RpcOptions>,
}

/// An empty message: `pb.InitResponse`, `pb.FinalizeResponse`, `plugin.Empty`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HealthCheckRequest {
    /// The service asked about (go-plugin asks about `plugin`).
    #[prost(string, tag = "1")]
    pub service: String,
}

/// `grpc.health.v1.HealthCheckResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HealthCheckResponse {
    /// [`SERVING`].
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// `grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING`.
pub const SERVING: i32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wipes_plaintexts_and_configuration_values() {
        let mut request = EncryptRequest {
            wrapper_id: "w".into(),
            plaintext: b"root key".to_vec(),
            options: None,
        };
        request.wipe();
        assert!(request.plaintext.is_empty());
        let mut response = DecryptResponse {
            plaintext: b"root key".to_vec(),
        };
        response.wipe();
        assert!(response.plaintext.is_empty());
        let mut options = RpcOptions::with_config_map(BTreeMap::from([(
            "secret_key".to_owned(),
            "hunter2".to_owned(),
        )]));
        options.wipe();
        assert_eq!(options.with_config_map["secret_key"], "");
        assert_eq!(options.with_config_map.len(), 1);
    }
}
