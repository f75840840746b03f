//! The envelope and stored values: golden vectors from an independent implementation,
//! property tests of every message and of AES-GCM, and bit flips of sealed values.

mod bitflip;
mod golden;
mod properties;
