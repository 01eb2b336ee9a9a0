//! Overlay animations of a render's chunk job: the jobs core builds for a zoom and a slide, run on the engine, with
//! the overlay's place and size measured in every frame (`vidpipe_testkit::fidelity::motion`).

use vidpipe_testkit::fidelity::motion;
use vidpipe_testkit::media::Frame;

use super::path;
use crate::common::{assert_complete, run_local};

#[tokio::test]
async fn zoom_and_slide_place_and_size_the_overlay_in_every_frame_across_a_chunk_boundary() {
    let dir = tempfile::tempdir().unwrap();
    motion::write_sources(dir.path());
    let mut frames = Vec::new();
    // The jobs as MediaConvert gets them, with the bucket mapped to the test's folder.
    for chunk in motion::chunk_jobs(&path(dir.path(), "")) {
        let (job, _) = run_local(&chunk.job).await;
        assert_complete(&job);
        let chunk_frames = Frame::all(&dir.path().join(&chunk.key));
        assert_eq!(chunk_frames.len() as u64, chunk.frames);
        frames.extend(chunk_frames);
    }
    motion::assert_frames(&frames);
}
