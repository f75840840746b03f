#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_seal_openbao::fuzzing::wrapper_requests(data));
