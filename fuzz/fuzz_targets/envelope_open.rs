#![no_main]
libfuzzer_sys::fuzz_target!(|input: kms_seal_fuzz::OpenInput| {
    kms_seal_core::fuzzing::envelope::envelope_open(&input.to_bytes())
});
