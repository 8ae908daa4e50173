#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aunsorm_kms::fuzzing::unseal_share(data));
