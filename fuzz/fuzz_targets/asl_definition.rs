#![no_main]
//! `asl_definition`: the invariants of `vidpipe_fuzzcheck::asl_definition` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::asl_definition(data));
