#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_seal_tests::fuzzing::snapshot_tar_differential(data));
