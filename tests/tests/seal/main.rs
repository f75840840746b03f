//! The sans-IO seal in process: against the in-memory mock KMS, on whole stored values
//! (`multiwrapvalue:1`), the KMS JSON messages it writes and reads, and the committed fuzz
//! corpora replayed through the fuzzing entries.

mod fuzz_corpora;
mod kms_json_reader;
mod kms_messages;
mod mock;
mod values;
