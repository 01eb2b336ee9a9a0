//! The video scenes' own sound and the placed sounds as one track the length of the video: each piece's audio cut
//! from its source at its start, at its volume, added in at its first sample (pieces that overlap, as a call's
//! peers do, are summed); silence everywhere else, and for a source without an audio track.
//!
//! The track is built piece by piece (one ffmpeg run per audible scene, each writing raw samples) rather than in one
//! filter graph, so a request of thousands of scenes needs neither thousands of inputs in one process nor the
//! memory to buffer them; the raw track is 384 KB a second (48 kHz stereo 32-bit float) on the work disk.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::mix::{MixSpec, SAMPLE_RATE};
use super::{AssembleError, Assembler};
use crate::storage::StorageError;

/// Bytes of one sample frame of the raw track: two channels of 32-bit float.
const FRAME_BYTES: u64 = 8;

/// The scenes' sound track: raw `f32le`, 48 kHz stereo, exactly the video's length.
#[derive(Debug)]
pub(super) struct SceneTrack {
    /// The raw file.
    pub path: PathBuf,
    /// Scenes whose sound is in it.
    pub heard: usize,
}

fn io_error(path: &Path, source: std::io::Error) -> AssembleError {
    AssembleError::StorageFailed(StorageError::Io {
        uri: path.display().to_string(),
        source,
    })
}

impl Assembler {
    /// The track of `spec.scenes` in `work`, or `None` when no scene's video has audio (or there is no scene).
    pub(super) async fn scene_track(
        &self,
        spec: &MixSpec,
        work: &Path,
    ) -> Result<Option<SceneTrack>, AssembleError> {
        // Each video is fetched and probed once, however many scenes use it.
        let mut sources: HashMap<&str, Option<PathBuf>> = HashMap::new();
        for scene in &spec.scenes {
            if !sources.contains_key(scene.video.as_str()) {
                let path = self.fetch_source(&scene.video, work).await?;
                let audible = self.has_audio(&path).await?.then_some(path);
                if audible.is_none() {
                    tracing::info!(video = %scene.video, "scene video has no audio: its scenes are silent");
                }
                sources.insert(&scene.video, audible);
            }
        }
        if sources.values().all(Option::is_none) {
            return Ok(None);
        }
        let path = work.join("scenes.f32");
        // Silence the video's length (a sparse file), into which each piece is added.
        File::create(&path)
            .and_then(|track| track.set_len(spec.samples() * FRAME_BYTES))
            .map_err(|e| io_error(&path, e))?;
        let piece = work.join("scene-piece.f32");
        let mut heard = 0;
        for scene in &spec.scenes {
            let Some(Some(source)) = sources.get(scene.video.as_str()) else {
                continue;
            };
            let first = spec.sample_at(scene.start_frame);
            let samples = spec.sample_at(scene.start_frame + scene.frames) - first;
            self.cut_scene_sound(source, scene.start_s, scene.volume, samples, &piece)
                .await?;
            add(&path, &piece, first, samples)?;
            heard += 1;
        }
        Ok(Some(SceneTrack { path, heard }))
    }

    /// Writes `samples` raw samples of `source`'s first audio track from `start_s`, at `volume`, to `piece`
    /// (padded with silence where the audio ends sooner).
    async fn cut_scene_sound(
        &self,
        source: &Path,
        start_s: f64,
        volume: f64,
        samples: u64,
        piece: &Path,
    ) -> Result<(), AssembleError> {
        let seconds = samples as f64 / SAMPLE_RATE as f64;
        let args = [
            "-ss".into(),
            format!("{start_s:.6}"),
            "-t".into(),
            format!("{:.6}", seconds + 0.1),
            "-i".into(),
            source.display().to_string(),
            "-map".into(),
            "0:a:0".into(),
            "-af".into(),
            format!(
                "aresample={SAMPLE_RATE},aformat=sample_fmts=flt:channel_layouts=stereo,\
                 volume={volume}:precision=float,apad=whole_len={samples},atrim=end_sample={samples}"
            ),
            "-c:a".into(),
            "pcm_f32le".into(),
            "-f".into(),
            "f32le".into(),
            piece.display().to_string(),
        ];
        self.ffmpeg(&args).await
    }
}

/// Samples mixed at a time by [`add`]: 1 MiB of each file.
const BLOCK_SAMPLES: u64 = 131_072;

/// Adds `piece` into `track` from sample `first`, exactly `samples` long (a shorter piece is silence after its
/// end): overlapping pieces (two peers talking at once) are summed, as a mixer does; the track is already as long
/// as the video, silent where no piece is. Read and written a block at a time, so a piece of hours needs no more
/// memory than one block.
fn add(track_path: &Path, piece: &Path, first: u64, samples: u64) -> Result<(), AssembleError> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut reader = File::open(piece).map_err(|e| io_error(piece, e))?;
    let mut track = OpenOptions::new()
        .read(true)
        .write(true)
        .open(track_path)
        .map_err(|e| io_error(track_path, e))?;
    let mut done = 0;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    while done < samples {
        let block = BLOCK_SAMPLES.min(samples - done);
        let bytes = (block * FRAME_BYTES) as usize;
        ours.resize(bytes, 0);
        theirs.clear();
        (&mut reader)
            .take(bytes as u64)
            .read_to_end(&mut theirs)
            .map_err(|e| io_error(piece, e))?;
        theirs.resize(bytes, 0);
        let at = SeekFrom::Start((first + done) * FRAME_BYTES);
        track.seek(at).map_err(|e| io_error(track_path, e))?;
        track
            .read_exact(&mut ours)
            .map_err(|e| io_error(track_path, e))?;
        for (a, b) in ours.chunks_exact_mut(4).zip(theirs.chunks_exact(4)) {
            let sum = f32::from_le_bytes([a[0], a[1], a[2], a[3]])
                + f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            a.copy_from_slice(&sum.to_le_bytes());
        }
        track.seek(at).map_err(|e| io_error(track_path, e))?;
        track
            .write_all(&ours)
            .map_err(|e| io_error(track_path, e))?;
        done += block;
    }
    Ok(())
}
