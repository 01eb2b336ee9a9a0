#![no_main]
//! `compositor_event`: the invariants of `vidpipe_fuzzcheck::compositor_event` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::compositor_event(data));
