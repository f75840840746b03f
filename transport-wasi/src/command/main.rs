//! `kms-seal.wasm`: the `kms-seal` command line (`encrypt`, `decrypt`, `inspect`, `check`,
//! `rewrap`) as a WASI 0.2 command component: a thin host of [`kms_seal_cli::run`], the same
//! code as the native binary.
//!
//! ```text
//! wasmtime run -S http --env VAULT_SEAL_TYPE=awskms --env VAULT_AWSKMS_SEAL_KEY_ID=alias/vault \
//!     --env AWS_REGION=eu-west-1 --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY \
//!     kms-seal.wasm encrypt < plaintext > blob
//! ```
//!
//! Same arguments, output and one-line errors as the native tool; stdout stays empty on
//! failure. The configuration comes from the environment the host passes, the flags, and a
//! Vault config file (`--config`) in a directory the host pre-opened; `rewrap` replaces files
//! in pre-opened directories (temporary file, then rename). KMS is reached through the host's
//! `wasi:http` (`-S http`); credentials are static only.
//!
//! Like the plugin, the command is `no_std` on wasm32 (without the standard library it is about
//! 50 KB smaller): its I/O goes straight to WASI 0.2 (`wasi_io`), and it compiles the library's
//! transport, runtime, environment, seal and allocator source files itself rather than linking
//! the library, which carries the plugin's exports.

#![cfg_attr(target_arch = "wasm32", no_std)]
#![cfg_attr(target_arch = "wasm32", no_main)]
// Natively the binary only says that it is a wasm32-wasip2 component; the rest is compiled
// (and unit-tested) there but runs only on wasm32.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code, unused_imports))]

extern crate alloc;

#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../environment.rs"]
mod environment;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../runtime.rs"]
mod runtime;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../transport/mod.rs"]
mod transport;
mod wasi_io;
#[allow(
    dead_code,
    reason = "shared with the plugin library; not every item is used here"
)]
#[path = "../wasi_seal.rs"]
mod wasi_seal;
#[cfg(target_arch = "wasm32")]
#[path = "../wasm_rt.rs"]
mod wasm_rt;

use alloc::string::String;
use alloc::vec::Vec;

use kms_seal_cli::{DirEntry, FileError, Files, Host, HostSeal, StdinError};
use kms_seal_core::config::AwsKmsSealConfig;
use kms_seal_core::credentials::Credentials;
use zeroize::Zeroizing;

use environment::Environment;
use runtime::WasiRuntime;
use transport::WasiHttpTransport;
use wasi_seal::WasiSeal;

/// The entry point wasi-libc's start-up code (`wasi:cli/run`) calls; the result is the exit
/// status it passes to `wasi:cli/exit`.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "the C entry point needs an unmangled symbol")]
mod entry {
    #[unsafe(no_mangle)]
    extern "C" fn __main_void() -> i32 {
        let args = super::wasi_io::arguments();
        let mut host = super::WasiHost {
            env: super::Environment::from_host(),
        };
        kms_seal_cli::run(&mut host, args.iter().map(alloc::string::String::as_str))
    }
}

/// Natively there is nothing to run: the tool is a wasm32-wasip2 component.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "kms-seal (kms-seal-wasi) is a wasm32-wasip2 component: build it with \
         cargo build --profile release-small --target wasm32-wasip2 -p kms-seal-wasi"
    );
    // Usage class (WASI 0.2 hosts report every failure as 1).
    std::process::exit(kms_seal_cli::EXIT_USAGE);
}

/// The component's host: WASI 0.2 streams, pre-opened directories, the environment the host
/// passes, the monotonic clock and the seal over `wasi:http`.
struct WasiHost {
    env: Environment,
}

/// The files in the directories the host pre-opened.
struct PreopenedFiles;

impl Files for PreopenedFiles {
    fn read_file(&self, path: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
        wasi_io::read_file(path, limit)
    }

    fn is_dir(&self, path: &str) -> Result<bool, FileError> {
        wasi_io::is_dir(path)
    }

    fn list_files(&self, path: &str) -> Result<Vec<String>, FileError> {
        wasi_io::list_files(path)
    }

    fn entries(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        wasi_io::entries(path)
    }
}

impl Host for WasiHost {
    type Transport = WasiHttpTransport;
    type Credentials = Credentials;
    type Runtime = WasiRuntime;

    fn build_seal(&mut self, config: &AwsKmsSealConfig) -> Result<HostSeal<Self>, String> {
        WasiSeal::from_config(config, &self.env)
            .map(WasiSeal::into_seal)
            .map_err(|e| alloc::string::ToString::to_string(&e))
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.lookup(name)
    }

    fn files(&self) -> &dyn Files {
        &PreopenedFiles
    }

    fn read_stdin(&mut self, limit: u64) -> Result<Zeroizing<Vec<u8>>, StdinError> {
        wasi_io::read_stdin(limit).map_err(|e| match e {
            None => StdinError::TooLarge,
            Some(reason) => StdinError::Failed(reason),
        })
    }

    fn write_stdout(&mut self, bytes: &[u8]) -> Result<(), String> {
        wasi_io::write_stdout(bytes)
    }

    fn write_stderr(&mut self, text: &str) {
        wasi_io::write_stderr(text);
    }

    fn replace_file(&mut self, path: &str, contents: &[u8]) -> Result<(), String> {
        wasi_io::replace_file(path, contents)
    }

    fn monotonic_nanos(&self) -> u64 {
        wasi_io::monotonic_nanos()
    }

    fn version_note(&self) -> &'static str {
        "(wasm32-wasip2)"
    }
}
