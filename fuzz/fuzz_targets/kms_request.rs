#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_seal_core::fuzzing::kms::kms_request(data));
