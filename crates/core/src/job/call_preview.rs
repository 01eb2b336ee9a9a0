//! Builder: a call recording's preview of one peer's tracks of one role, on the recording's time.
//!
//! One job per peer and role, not one per recording: a job's inputs are concatenated into one timeline that all
//! its outputs share, so each peer's padded timeline needs a job of its own (they run in parallel, and one peer's
//! unreadable track fails only its own preview).

use super::composite::Recording;
use super::encoding::{aac_stereo, output_size};
use super::preview::{CmafManifests, cmaf_group_at, segmented_video_at, source_input};
use super::*;
use crate::call::{CallId, PeerId, TrackRole};
use crate::s3uri::S3Uri;

/// Segment length of call previews, in seconds. 2 s rather than 4: scrubbing a call lands within 2 s of the
/// asked time, and at the fixed 30 fps a segment is exactly 60 frames, so every boundary is on a frame.
pub const CALL_PREVIEW_SEGMENT_SECONDS: i32 = 2;

/// The frame rate of every call preview. One fixed rate for all peers makes segment N the same frames, hence the
/// same span of recording time, in every peer's preview (browser recordings state no rate of their own).
pub const CALL_PREVIEW_RATE: FrameRate = FrameRate::per_second(30);

/// Maximum width of a peer's preview: a tile of the composer's grid.
pub const PEER_PREVIEW_MAX_WIDTH: u32 = 640;

/// Maximum width of a screenshare's preview: it takes the main tile, and its text should stay legible.
pub const SCREENSHARE_PREVIEW_MAX_WIDTH: u32 = 1280;

/// `UserMetadata` key of a call preview job: the call recording's id.
pub const METADATA_RECORDING_ID: &str = "recording_id";
/// `UserMetadata` key of a call preview job: the peer.
pub const METADATA_PEER_ID: &str = "peer_id";
/// `UserMetadata` key of a call preview job: the track role (`av`, `screenshare`).
pub const METADATA_ROLE: &str = "role";
/// `UserMetadata` key of a call preview job: the previews' generation it was submitted for (added by the
/// compositor, which submits it: `call::preview::PreviewState::generation`).
pub const METADATA_PREVIEW_GENERATION: &str = "generation";

/// One of the peer's tracks: the recording and its start after the call's time zero.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewTrack {
    /// The track's file and probe results.
    pub recording: Recording,
    /// Its `started_at` minus the call's time zero, in milliseconds.
    pub offset_ms: u64,
}

/// What one call preview job makes.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPreview<'a> {
    /// The call's folder, `s3://bucket/{prefix}rooms/{room_id}/{recording_id}/` (`keys::call_prefix` in the bucket;
    /// ending in `/`). The preview's objects there classify as nothing (`keys::classify_key`), so they start no job.
    pub call_folder: &'a S3Uri,
    /// The call recording.
    pub recording_id: &'a CallId,
    /// The peer.
    pub peer_id: &'a PeerId,
    /// Which of the peer's tracks: camera and microphone, or screenshare.
    pub role: TrackRole,
    /// The peer's tracks of that role, in any order; they may not overlap.
    pub tracks: &'a [PreviewTrack],
}

/// The manifests' base (a CMAF `Destination`) of a preview: `{call folder}preview/peers/{peer_id}/av` or
/// `{call folder}preview/screenshare/{peer_id}/video`, so the playlist is `av.m3u8` or `video.m3u8`.
pub fn call_preview_base(call_folder: &S3Uri, peer_id: &PeerId, role: TrackRole) -> String {
    format!(
        "{call_folder}{}{}",
        call_preview_folder(peer_id, role),
        call_preview_stem(role)
    )
}

/// The folder of a peer's preview of `role`, relative to the call's folder: `preview/peers/{peer_id}/` or
/// `preview/screenshare/{peer_id}/`.
pub fn call_preview_folder(peer_id: &PeerId, role: TrackRole) -> String {
    let peer = peer_id.as_str();
    match role {
        TrackRole::Av => format!("preview/peers/{peer}/"),
        TrackRole::Screenshare => format!("preview/screenshare/{peer}/"),
    }
}

/// The stem of a preview's files: `av` (`av.m3u8`, `av_video.m3u8`, `av_audio.m3u8`) or `video`.
pub fn call_preview_stem(role: TrackRole) -> &'static str {
    match role {
        TrackRole::Av => "av",
        TrackRole::Screenshare => "video",
    }
}

/// The preview of one peer's tracks of one role: fMP4 (CMAF) segments of [`CALL_PREVIEW_SEGMENT_SECONDS`] at
/// [`CALL_PREVIEW_RATE`], H.264 (and AAC for `av`), under [`call_preview_base`]: the HLS playlist `av.m3u8`
/// (`video.m3u8`), which names `av_video.m3u8` and `av_audio.m3u8` (`video_video.m3u8`).
///
/// The output starts at the call's time zero: before each track, and between two tracks, a `VideoGenerator`
/// input (black and silent) fills the time the peer had no track, in whole frames at the preview's rate. The
/// inputs are concatenated, so segment N of every peer covers `[2N, 2N + 2)` seconds of recording time (to the
/// frame: offsets are rounded to 1/30 s). A track followed by another needs its probed duration.
pub fn call_preview_job(
    context: &JobContext,
    preview: &CallPreview<'_>,
) -> Result<CreateJobRequest, JobError> {
    if !preview.call_folder.key().ends_with('/') {
        return Err(JobError::InvalidOutput(format!(
            "call folder {} must end with `/`",
            preview.call_folder
        )));
    }
    let mut tracks: Vec<&PreviewTrack> = preview.tracks.iter().collect();
    tracks.sort_by_key(|t| t.offset_ms);
    let first = tracks
        .first()
        .ok_or_else(|| JobError::InvalidOption("a preview needs at least one track".into()))?;
    for track in &tracks {
        check_media("track", &track.recording.media)?;
    }
    let max_width = match preview.role {
        TrackRole::Av => PEER_PREVIEW_MAX_WIDTH,
        TrackRole::Screenshare => SCREENSHARE_PREVIEW_MAX_WIDTH,
    };
    let size = output_size(first.recording.media.display_size(), max_width)?;
    let inputs = padded_inputs(&tracks, size)?;
    let audio = (preview.role == TrackRole::Av).then(|| vec![aac_stereo()]);
    let manifests = CmafManifests {
        destination: call_preview_base(preview.call_folder, preview.peer_id, preview.role),
        segment_length: CALL_PREVIEW_SEGMENT_SECONDS,
        // The composer plays HLS; a DASH manifest nobody reads would only be more files to sign.
        dash: false,
    };
    let rendition = no_b_frames(segmented_video_at(size, Some(CALL_PREVIEW_RATE)));
    let group = cmaf_group_at(&manifests, vec![("_video".into(), rendition)], audio);
    let settings = JobSettings {
        inputs: Some(inputs),
        timecode_config: Some(TimecodeConfig {
            source: Some(TimecodeSource::Zerobased),
            ..Default::default()
        }),
        output_groups: Some(vec![group]),
    };
    let metadata = BTreeMap::from([
        (
            METADATA_RECORDING_ID.to_owned(),
            preview.recording_id.as_str().to_owned(),
        ),
        (
            METADATA_PEER_ID.to_owned(),
            preview.peer_id.as_str().to_owned(),
        ),
        (METADATA_ROLE.to_owned(), preview.role.as_str().to_owned()),
    ]);
    Ok(finish(
        context,
        JobKind::CallPreview,
        settings,
        metadata,
        Some(CALL_PREVIEW_RATE),
    ))
}

/// The job's inputs: a gap before each track that starts after the previous one ended (or after time zero), then
/// the track. Positions are whole frames at [`CALL_PREVIEW_RATE`].
fn padded_inputs(tracks: &[&PreviewTrack], size: Size) -> Result<Vec<Input>, JobError> {
    let rate = CALL_PREVIEW_RATE;
    let mut inputs = Vec::new();
    // The frame at which the previous track ended: the output's length so far.
    let mut end_frame = 0u64;
    for (i, track) in tracks.iter().enumerate() {
        let start_frame = rate.frame_at_ms(track.offset_ms);
        if start_frame < end_frame {
            return Err(JobError::InvalidOption(format!(
                "track {} starts at {} ms, before the previous track of this peer ends",
                track.recording.uri, track.offset_ms
            )));
        }
        if start_frame > end_frame {
            inputs.push(gap(rate.ms_of_frames(start_frame - end_frame), size)?);
        }
        inputs.push(source_input(&track.recording));
        if i + 1 < tracks.len() {
            let duration =
                track
                    .recording
                    .media
                    .duration_ms
                    .ok_or_else(|| JobError::InvalidMedia {
                        source_name: track.recording.uri.to_string(),
                        reason:
                            "its duration is unknown, and a later track must be placed after it"
                                .into(),
                    })?;
            end_frame = start_frame + rate.frame_at_ms(duration);
        }
    }
    Ok(inputs)
}

/// The rendition without B-frames. With them, the first frame shown is not the first stored, and a packager that
/// writes no edit list (ffmpeg's HLS muxer) presents every segment two frames late; without them each segment's
/// first frame is shown at its boundary wherever it is packaged, and a browser decoding several peers at once has
/// less to reorder.
fn no_b_frames(mut video: VideoDescription) -> VideoDescription {
    if let Some(h264) = video
        .codec_settings
        .as_mut()
        .and_then(|c| c.h264_settings.as_mut())
    {
        h264.number_b_frames_between_reference_frames = Some(0);
    }
    video
}

/// A black, silent input of `ms` milliseconds at the preview's size and rate.
fn gap(ms: u64, size: Size) -> Result<Input, JobError> {
    let duration = i32::try_from(ms)
        .ok()
        .filter(|d| *d <= 86_400_000)
        .ok_or(JobError::DurationOutOfRange(ms))?;
    Ok(Input {
        video_generator: Some(InputVideoGenerator {
            duration: Some(duration),
            width: Some(size.width as i32),
            height: Some(size.height as i32),
            framerate_numerator: Some(CALL_PREVIEW_RATE.numerator as i32),
            framerate_denominator: Some(CALL_PREVIEW_RATE.denominator as i32),
            sample_rate: Some(48_000),
            channels: Some(2),
            image_input: None,
        }),
        ..Default::default()
    })
}
