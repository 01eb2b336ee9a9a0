//! The video scenes' own sound as one track the length of the video: each scene's audio cut from its video at the
//! scene's start, at its volume, placed at the scene's first sample; silence everywhere else, and for a scene whose
//! video has no audio track.
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
        let track = File::create(&path).map_err(|e| io_error(&path, e))?;
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
            place(&track, &path, &piece, first, samples)?;
            heard += 1;
        }
        track
            .set_len(spec.samples() * FRAME_BYTES)
            .map_err(|e| io_error(&path, e))?;
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

/// Appends `piece` to `track` at sample `first`, exactly `samples` long: silence before it (the file is extended
/// with zeros), and the piece cut or padded with silence to its length.
fn place(
    track: &File,
    track_path: &Path,
    piece: &Path,
    first: u64,
    samples: u64,
) -> Result<(), AssembleError> {
    let start = first * FRAME_BYTES;
    track.set_len(start).map_err(|e| io_error(track_path, e))?;
    let mut reader = File::open(piece).map_err(|e| io_error(piece, e))?;
    let mut writer = OpenOptions::new()
        .append(true)
        .open(track_path)
        .map_err(|e| io_error(track_path, e))?;
    let length = samples * FRAME_BYTES;
    std::io::copy(&mut std::io::Read::take(&mut reader, length), &mut writer)
        .map_err(|e| io_error(track_path, e))?;
    track
        .set_len(start + length)
        .map_err(|e| io_error(track_path, e))?;
    Ok(())
}
