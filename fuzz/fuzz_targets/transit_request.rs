#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aunsorm_server::fuzzing::transit_request(data));
