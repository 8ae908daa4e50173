#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aunsorm_crypto::fuzzing::private_key(data));
