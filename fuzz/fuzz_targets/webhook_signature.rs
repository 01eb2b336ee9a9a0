#![no_main]
//! `webhook_signature`: the invariants of `vidpipe_fuzzcheck::webhook_signature` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::webhook_signature(data));
