#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aunsorm_crypto::fuzzing::raw_public_key(data));
