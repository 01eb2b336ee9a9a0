//! Chunk planning time for the largest request: 10,000 scenes. Run: `cargo bench -p vidpipe-core --bench plan`.

use criterion::{Criterion, criterion_group, criterion_main};
use vidpipe_core::render::RenderRequest;
use vidpipe_core::render::plan::{ChunkLimits, plan_chunks};

/// 10,000 scenes of 0.5 to 20 s (a fixed pseudo-random sequence) scaled to 23 hours (a request may last 24), at
/// 1080p30 with 120 s chunks.
fn request() -> RenderRequest {
    RenderRequest::from_json(&request_json()).expect("the benchmark request is valid")
}

/// The request's JSON text.
fn request_json() -> String {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut durations: Vec<f64> = (0..10_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            0.5 + (seed % 1950) as f64 / 100.0
        })
        .collect();
    let scale = 23.0 * 3600.0 / durations.iter().sum::<f64>();
    durations
        .iter_mut()
        .for_each(|d| *d = (*d * scale * 30.0).round().max(1.0) / 30.0);
    let scenes: Vec<serde_json::Value> = durations
        .iter()
        .enumerate()
        .map(|(i, d)| serde_json::json!({"id": format!("s{i}"), "duration_s": d, "image": "s3://vidpipe-bench/a/title.png"}))
        .collect();
    let json = serde_json::json!({
        "render_id": "bench",
        "output": {"uri": "s3://vidpipe-bench/renders/bench.mp4", "width": 1920, "height": 1080, "fps": 30},
        "scenes": scenes,
        "chunking": {"max_chunk_s": 120, "min_chunk_s": 10, "max_concurrency": 40}
    });
    json.to_string()
}

fn plan(c: &mut Criterion) {
    let request = request();
    let chunks = request.plan().expect("the benchmark request plans");
    println!(
        "10,000 scenes, {} frames -> {} chunks",
        request.total_frames(),
        chunks.len()
    );
    c.bench_function("plan 10,000 scenes (request.plan)", |b| {
        b.iter(|| request.plan())
    });
    let json = request_json();
    c.bench_function("parse, validate and plan 10,000 scenes", |b| {
        b.iter(|| RenderRequest::from_json(&json).and_then(|r| r.plan()))
    });
    let scene_frames = request.scene_frames();
    let limits = ChunkLimits::of(&request).expect("valid limits");
    c.bench_function("plan 10,000 scenes (plan_chunks only)", |b| {
        b.iter(|| plan_chunks(&scene_frames, limits))
    });
}

criterion_group!(benches, plan);
criterion_main!(benches);
