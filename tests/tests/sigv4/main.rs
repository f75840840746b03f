//! SigV4 signing: the AWS test suite, differential tests against `aws-sigv4`, and the seal's
//! whole KMS request path signed again by `aws-sigv4`.
//!
//! One test binary per subject links the dependency graph once; `sigv4_alloc.rs` stays a
//! binary of its own because its counting `#[global_allocator]` would wrap every test here.

mod differential;
mod kms_oracle;
mod vectors;
