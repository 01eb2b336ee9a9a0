//! Every seed through every check: a target's own seeds, and every other target's (an S3 event is also garbage to
//! the HTTP API, an ASL definition garbage to the planner).

use std::panic::{AssertUnwindSafe, catch_unwind};

use vidpipe_fuzzcheck::TARGETS;

use crate::common::{corpus_dir, seeds};

/// Largest seed: seeds stay small, so libFuzzer mutates them quickly and the repository stays light. The largest
/// is the shipped render flow (`statemachines/render.asl.json`, 23 KB with its reporting states), which must be
/// its seed as it is.
const MAX_SEED_BYTES: usize = 32 * 1024;

#[test]
fn every_target_has_small_seeds_and_every_corpus_folder_is_a_target() {
    for target in TARGETS {
        let seeds = seeds(target.name);
        assert!(!seeds.is_empty(), "{} has no seeds", target.name);
        for seed in seeds {
            assert!(
                seed.data.len() <= MAX_SEED_BYTES,
                "{} is too large",
                seed.name
            );
        }
    }
    for entry in std::fs::read_dir(corpus_dir()).expect("fuzz/corpus") {
        let name = entry.expect("a corpus folder").file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|t| t.name == name),
            "fuzz/corpus/{name} belongs to no target"
        );
    }
}

#[test]
fn every_seed_keeps_every_invariant() {
    let all: Vec<_> = TARGETS.iter().flat_map(|t| seeds(t.name)).collect();
    let mut failures = Vec::new();
    for target in TARGETS {
        for seed in &all {
            // Each failure is collected, so one run names every seed that breaks an invariant.
            if catch_unwind(AssertUnwindSafe(|| (target.check)(&seed.data))).is_err() {
                failures.push(format!("{} on {}", target.name, seed.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "invariants broken:\n{}",
        failures.join("\n")
    );
}

/// Seeds copied from shipped files (the state machines, the golden jobs) are those files as they are now: a seed
/// that lags behind its source fuzzes a definition or a job nobody runs any more.
#[test]
fn seeds_named_after_a_shipped_file_are_that_file() {
    let root = corpus_dir().join("../..");
    let sources = [
        ("asl_definition", "statemachines"),
        ("engine_plan", "crates/core/tests/golden"),
    ];
    let mut stale = Vec::new();
    for (target, folder) in sources {
        for seed in seeds(target) {
            let file_name = seed.name.trim_start_matches(&format!("{target}/"));
            let source = format!("{folder}/{file_name}");
            if let Ok(shipped) = std::fs::read(root.join(&source))
                && shipped != seed.data
            {
                stale.push(format!(
                    "fuzz/corpus/{} differs from {source}: copy it again",
                    seed.name
                ));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}
