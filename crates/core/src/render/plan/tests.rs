use proptest::prelude::*;

use super::*;
use crate::render::tests::example_with;

fn spans(plan: &[Chunk]) -> Vec<(u64, u64)> {
    plan.iter().map(|c| (c.start_frame, c.end_frame)).collect()
}

fn limits(max_frames: u64, min_frames: u64) -> ChunkLimits {
    ChunkLimits {
        max_frames,
        min_frames,
    }
}

#[test]
fn the_issue_example_is_one_chunk_under_the_default_limit() {
    let request = RenderRequest::from_json(&example_with(|_| {}).to_string()).unwrap();
    let plan = request.plan().unwrap();
    assert_eq!(spans(&plan), vec![(0, 2985)]);
}

#[test]
fn a_scene_longer_than_the_limit_is_split_in_balanced_halves() {
    // 4 s + 95.5 s at 30 fps with 60 s chunks: no scene boundary lies where a cut may fall ([1185, 1800]), so
    // the long scene is split at the middle of the video.
    let request = RenderRequest::from_json(
        &example_with(|v| v["chunking"]["max_chunk_s"] = serde_json::json!(60)).to_string(),
    )
    .unwrap();
    assert_eq!(
        spans(&request.plan().unwrap()),
        vec![(0, 1493), (1493, 2985)]
    );
}

#[test]
fn cuts_prefer_scene_boundaries_and_split_scenes_only_when_forced() {
    // Seven 45 s scenes at 30 fps (1350 frames each), 60 s chunks: 6 chunks at least. The first three cuts fall
    // on scene boundaries; the last two cannot (a boundary there would make a neighbour longer than 60 s).
    let plan = plan_chunks(&[1350; 7], limits(1800, 300)).unwrap();
    assert_eq!(
        spans(&plan),
        vec![
            (0, 1350),
            (1350, 2700),
            (2700, 4050),
            (4050, 5850),
            (5850, 7650),
            (7650, 9450)
        ]
    );
    // Scenes that fit: every cut on a boundary.
    let plan = plan_chunks(&[600, 900, 300, 1200, 600], limits(1800, 300)).unwrap();
    assert_eq!(spans(&plan), vec![(0, 1800), (1800, 3600)]);
}

#[test]
fn there_is_no_tiny_tail() {
    // 1801 frames with 1800-frame chunks: two chunks of about 900, not 1800 + 1.
    let plan = plan_chunks(&[1801], limits(1800, 0)).unwrap();
    assert_eq!(spans(&plan), vec![(0, 901), (901, 1801)]);
}

#[test]
fn a_video_shorter_than_the_minimum_is_one_chunk() {
    let plan = plan_chunks(&[5, 4], limits(1800, 300)).unwrap();
    assert_eq!(spans(&plan), vec![(0, 9)]);
}

#[test]
fn a_chunk_spans_at_most_150_scenes() {
    // 400 one-second scenes fit one 1000 s chunk by length, but a MediaConvert job takes at most 150 inputs.
    let plan = plan_chunks(&[30; 400], limits(30_000, 300)).unwrap();
    assert_eq!(plan.len(), 3);
    assert!(
        plan.iter()
            .all(|c| c.start_frame % 30 == 0 && c.end_frame % 30 == 0)
    );
}

#[test]
fn limits_that_cannot_be_met_are_named() {
    let error = plan_chunks(&[1; 2000], limits(2000, 1000)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("scenes: the scenes are too short"),
        "{error}"
    );
    let error = plan_chunks(&[1001], limits(1, 0)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("chunking.max_chunk_s: 1001 frames"),
        "{error}"
    );
    let request = RenderRequest::from_json(
        &example_with(|v| {
            v["chunking"] = serde_json::json!({"max_chunk_s": 20, "min_chunk_s": 11})
        })
        .to_string(),
    )
    .unwrap();
    let error = request.plan().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("chunking.min_chunk_s: 11 s (330 frames) is more than half of max_chunk_s"),
        "{error}"
    );
}

#[test]
fn concurrency_is_capped_for_the_map() {
    let request = RenderRequest::from_json(
        &example_with(|v| v["chunking"]["max_concurrency"] = serde_json::json!(500)).to_string(),
    )
    .unwrap();
    assert_eq!(request.map_concurrency(), MAX_MAP_CONCURRENCY);
}

/// Scenes of mixed lengths: long clips, short stills, and sometimes hundreds of very short scenes.
fn scenes() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        prop::collection::vec(1u64..5_000, 1..40),
        prop::collection::vec(1u64..300, 1..120),
        prop::collection::vec(1u64..40, 100..600),
    ]
}

fn chunk_limits() -> impl Strategy<Value = ChunkLimits> {
    (1u64..4_000)
        .prop_flat_map(|max| (Just(max), 0..=max.div_ceil(2)))
        .prop_map(|(max, min)| limits(max, min))
}

/// Scenes overlapping `[start, end)`.
fn scenes_in(boundaries: &[u64], start: u64, end: u64) -> usize {
    boundaries
        .windows(2)
        .filter(|w| w[0] < end && w[1] > start)
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn plans_keep_every_rule(scenes in scenes(), limits in chunk_limits()) {
        let boundaries: Vec<u64> = std::iter::once(0)
            .chain(scenes.iter().scan(0, |end, f| { *end += f; Some(*end) }))
            .collect();
        let total = *boundaries.last().unwrap();
        let plan = match plan_chunks(&scenes, limits) {
            Ok(plan) => plan,
            Err(error) => {
                // Only too many chunks, or more scenes than one chunk may hold, fail; each is named.
                let message = error.to_string();
                if total.div_ceil(limits.max_frames) > MAX_CHUNKS {
                    prop_assert!(message.contains("chunking.max_chunk_s:"), "{message}");
                } else {
                    prop_assert!(scenes.len() > MAX_INPUTS_PER_JOB, "{message}");
                    prop_assert!(message.starts_with("invalid render request: scenes:"), "{message}");
                }
                return Ok(());
            }
        };
        let count = plan.len() as u64;
        // Exact cover, in order, integer frames.
        prop_assert_eq!(plan[0].start_frame, 0);
        prop_assert_eq!(plan[plan.len() - 1].end_frame, total);
        for (i, pair) in plan.windows(2).enumerate() {
            prop_assert_eq!(pair[0].end_frame, pair[1].start_frame);
            prop_assert_eq!(pair[0].index as usize, i);
        }
        prop_assert!(count <= MAX_CHUNKS);
        // Fewest chunks the length limit allows, unless the scene-count limit needs more.
        if scenes.len() <= MAX_INPUTS_PER_JOB {
            prop_assert_eq!(count, total.div_ceil(limits.max_frames));
        }
        for chunk in &plan {
            let frames = chunk.end_frame - chunk.start_frame;
            // Max, and the MediaConvert inputs limit.
            prop_assert!(frames >= 1 && frames <= limits.max_frames);
            prop_assert!(scenes_in(&boundaries, chunk.start_frame, chunk.end_frame) <= MAX_INPUTS_PER_JOB);
            if count > 1 {
                // Min, and balance: at least half the mean length.
                prop_assert!(frames >= limits.min_frames, "{frames} < min {}", limits.min_frames);
                prop_assert!(frames * 2 * count >= total, "{frames} is less than half the mean");
            }
        }
        // A cut inside a scene: no scene boundary between its neighbouring cuts could replace it without
        // breaking a rule for one of the two chunks it separates.
        let floor = limits.floor_frames(total, count);
        let fits = |start: u64, end: u64| {
            end - start <= limits.max_frames
                && end - start >= floor
                && scenes_in(&boundaries, start, end) <= MAX_INPUTS_PER_JOB
        };
        for pair in plan.windows(2) {
            let (before, cut, after) = (pair[0].start_frame, pair[0].end_frame, pair[1].end_frame);
            if boundaries.binary_search(&cut).is_err() {
                for &b in boundaries.iter().filter(|&&b| before < b && b < after) {
                    prop_assert!(!(fits(before, b) && fits(b, after)), "cut {cut} could be on boundary {b}");
                }
            }
        }
    }
}
