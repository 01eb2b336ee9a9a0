#![no_main]
//! `engine_plan`: the invariants of `vidpipe_fuzzcheck::engine_plan` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::engine_plan(data));
