#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_seal_tests::vault_config::vault_config(data));
