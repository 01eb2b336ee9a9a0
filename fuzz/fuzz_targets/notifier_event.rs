#![no_main]
//! `notifier_event`: the invariants of `vidpipe_fuzzcheck::notifier_event` (docs/fuzzing.md).

libfuzzer_sys::fuzz_target!(|data: &[u8]| vidpipe_fuzzcheck::notifier_event(data));
