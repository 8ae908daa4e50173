#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aunsorm_server::fuzzing::bearer_token(data));
