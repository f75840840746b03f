#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_seal_tests::fuzzing::sigv4_differential(data));
