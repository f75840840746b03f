#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod envelope;
pub mod sigv4;
pub mod time;

#[cfg(feature = "alloc")]
pub mod config;
#[cfg(feature = "alloc")]
pub mod credentials;
#[cfg(feature = "alloc")]
pub mod http;
#[cfg(feature = "alloc")]
pub mod kms;
#[cfg(feature = "alloc")]
pub mod retry;
#[cfg(feature = "alloc")]
pub mod seal;

#[doc(hidden)]
pub mod fuzzing;
