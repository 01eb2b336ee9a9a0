//! Each target's check on inputs mutated from its own seeds (one to three [`mutate::Mutation`]s each).
//!
//! `VIDPIPE_FUZZ_CASES` sets the number of inputs per target (256 by default: the whole binary stays well under a
//! minute on two cores); `VIDPIPE_FUZZ_SEED` the random seed (fixed by default, so a test run is repeatable; a
//! number, or `random`). `scripts/fuzz.sh` runs these with more cases when cargo-fuzz is not available.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestError, TestRunner};
use vidpipe_fuzzcheck::TARGETS;

use crate::common::seeds;
use crate::mutate::{self, Mutation};

const DEFAULT_CASES: u32 = 256;
const DEFAULT_SEED: u64 = 13;

fn config() -> Config {
    let cases = std::env::var("VIDPIPE_FUZZ_CASES")
        .ok()
        .map(|v| v.parse().expect("VIDPIPE_FUZZ_CASES is a number"))
        .unwrap_or(DEFAULT_CASES);
    let rng_seed = match std::env::var("VIDPIPE_FUZZ_SEED").ok().as_deref() {
        None => RngSeed::Fixed(DEFAULT_SEED),
        Some("random") => RngSeed::Random,
        Some(n) => RngSeed::Fixed(
            n.parse()
                .expect("VIDPIPE_FUZZ_SEED is a number or `random`"),
        ),
    };
    Config {
        cases,
        rng_seed,
        // A failure becomes a seed file in fuzz/corpus (see docs/fuzzing.md), not a proptest-regressions file.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `target`'s check on mutated seeds; on a failure, shows the shrunk input to save as a regression seed.
fn mutated(target: &str) {
    let check = TARGETS
        .iter()
        .find(|t| t.name == target)
        .expect("a target")
        .check;
    let seeds: Vec<Vec<u8>> = seeds(target).into_iter().map(|s| s.data).collect();
    let input = |(seed, mutations): &(usize, Vec<Mutation>)| {
        mutations.iter().fold(seeds[*seed].clone(), |input, m| {
            mutate::apply(&input, m, &seeds)
        })
    };
    let strategy = (
        0..seeds.len(),
        prop::collection::vec(mutate::mutation(), 1..4),
    );
    let result = TestRunner::new(config()).run(&strategy, |case| {
        check(&input(&case));
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            let bytes = input(&case);
            let shown = match std::str::from_utf8(&bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => format!("(not UTF-8) {bytes:?}"),
            };
            panic!(
                "{target}: {reason}\nsave this input as fuzz/corpus/{target}/regression-<what>:\n{shown}"
            )
        }
        Err(e) => panic!("{target}: {e}"),
    }
}

#[test]
fn compositor_event() {
    mutated("compositor_event");
}

#[test]
fn s3_key() {
    mutated("s3_key");
}

#[test]
fn notifier_event() {
    mutated("notifier_event");
}

#[test]
fn presign_http() {
    mutated("presign_http");
}

#[test]
fn render_request() {
    mutated("render_request");
}

#[test]
fn asl_definition() {
    mutated("asl_definition");
}

#[test]
fn engine_plan() {
    mutated("engine_plan");
}

#[test]
fn webhook_signature() {
    mutated("webhook_signature");
}

#[test]
fn every_target_has_a_mutation_test() {
    let source = include_str!("mutations.rs");
    for target in TARGETS {
        assert!(
            source.contains(&format!("fn {}() {{", target.name)),
            "no mutation test for {}",
            target.name
        );
    }
}
