#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aunsorm_log::fuzzing::note(data));
