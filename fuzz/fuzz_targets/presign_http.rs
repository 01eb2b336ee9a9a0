#![no_main]
//! `presign_http`: the invariants of `vidpipe_fuzzcheck::presign_http` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::presign_http(data));
