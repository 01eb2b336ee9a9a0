#![no_main]
//! `s3_key`: the invariants of `vidpipe_fuzzcheck::s3_key` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::s3_key(data));
