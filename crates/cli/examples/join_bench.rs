//! Join time for a 10-minute 1080p30 render: ten 60 s chunk MP4s (encoded as chunk jobs are: H.264, closed GOPs of
//! 2 s, no B-frames, video only) and a 600 s AAC soundtrack, joined by the assembler from local files, as a ratio
//! of real time. Chunk generation is not timed.
//!
//! Run: `cargo run -p vidpipe-cli --example join_bench [MINUTES]` (default 10).

use std::time::Instant;

use vidpipe_core::render::Chunk;
use vidpipe_engine::assemble::{ChunkFile, JoinSpec};
use vidpipe_engine::{Assembler, Storage};
use vidpipe_testkit::media;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const FPS: u32 = 30;
const CHUNK_SECONDS: u64 = 60;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::main]
async fn main() {
    let minutes: u64 = std::env::args()
        .nth(1)
        .map_or(10, |m| m.parse().expect("minutes"));
    let dir = tempfile::tempdir().expect("temp dir");
    let chunk_frames = CHUNK_SECONDS * u64::from(FPS);
    let mut chunks = Vec::new();
    for index in 0..minutes {
        let path = dir.path().join(format!("{index:05}.mp4"));
        let source = format!("testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}");
        media::ffmpeg(&strings(&[
            "-f",
            "lavfi",
            "-i",
            &source,
            "-frames:v",
            &chunk_frames.to_string(),
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "0",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            &path.display().to_string(),
        ]));
        let start_frame = index * chunk_frames;
        chunks.push(ChunkFile {
            chunk: Chunk {
                index: index as u32,
                start_frame,
                end_frame: start_frame + chunk_frames,
            },
            uri: path.display().to_string(),
        });
        eprintln!("chunk {index} written");
    }
    let seconds = minutes * CHUNK_SECONDS;
    let soundtrack = dir.path().join("soundtrack.m4a");
    media::ffmpeg(&strings(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:sample_rate=48000:duration={seconds}"),
        "-ac",
        "2",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        &soundtrack.display().to_string(),
    ]));
    let spec = JoinSpec {
        chunks,
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        total_frames: minutes * chunk_frames,
        soundtrack_uri: Some(soundtrack.display().to_string()),
        output_uri: dir.path().join("out/render.mp4").display().to_string(),
    };
    let started = Instant::now();
    let joined = Assembler::new(Storage::local())
        .join(&spec)
        .await
        .expect("join");
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{minutes} min {WIDTH}x{HEIGHT} {FPS} fps ({} frames, {} chunks): join {elapsed:.2} s, {:.4} of real time \
         ({:.0}x faster than real time)",
        joined.frames,
        minutes,
        elapsed / seconds as f64,
        seconds as f64 / elapsed
    );
}
