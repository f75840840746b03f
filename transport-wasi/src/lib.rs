//! kms-seal for WebAssembly hosts: a [`Transport`](kms_seal_core::http::Transport) over
//! `wasi:http`, the WASI clock, random source and environment, and the two components built
//! from this crate for `wasm32-wasip2`:
//!
//! - **`kms_seal_plugin.wasm`** (this library as a `cdylib`): exports the `kms-seal:seal`
//!   interface of `wit/seal.wit` (`configure`, `set-credentials`, `encrypt`, `decrypt`,
//!   `key-id`, `is-up-to-date`, errors as the `seal-error` variant). On wasm32 the library is `no_std`,
//!   so the component imports only `wasi:http`, `wasi:clocks`, `wasi:random`,
//!   `wasi:cli/environment` and the `wasi:io` types they use.
//! - **`kms-seal.wasm`** (the `kms-seal` binary): the native CLI's `encrypt`, `decrypt`,
//!   `inspect` and `check` commands, for `wasmtime run -S http`.
//!
//! Credentials come from the static settings or the `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables, and in the plugin from the host
//! at any time (`set-credentials`, [`handed_credentials`]): a WASM host has no instance
//! metadata, profile files or web identity tokens to offer. Plain `http://` endpoints are
//! accepted only on loopback, as in the native transport.
//!
//! Build both with
//! `cargo build --profile release-small --target wasm32-wasip2 -p kms-seal-wasi`; see the
//! crate README for running them.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod environment;
pub mod handed_credentials;
pub mod runtime;
pub mod transport;
pub mod wasi_seal;

mod plugin;

#[cfg(target_arch = "wasm32")]
mod wasm_rt;
