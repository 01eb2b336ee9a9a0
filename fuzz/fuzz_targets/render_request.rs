#![no_main]
//! `render_request`: the invariants of `vidpipe_fuzzcheck::render_request` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::render_request(data));
