#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_seal_core::fuzzing::envelope::envelope_decode(data));
