//! MediaConvert: vidpipe's job model as SDK calls (`CreateJob`), `Probe` results as [`MediaInfo`], and
//! [`MediaConvertTranscoder`], the compositor's [`Transcoder`].
//!
//! The same [`CreateJobRequest`] is what Step Functions' `mediaconvert:createJob` takes as PascalCase JSON and
//! what [`create_job`] turns into an `aws-sdk-mediaconvert` request, so a job can be submitted either way.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_mediaconvert as sdk;
use sdk::types as t;
use vidpipe_core::error::{Cause, Chain};
use vidpipe_core::job::{self as m, CreateJobRequest, FrameRate, MediaInfo};
use vidpipe_core::jobevent::is_stream_job;
use vidpipe_core::ports::{CancelOutcome, JobCanceller, TranscodeError, Transcoder};
use vidpipe_core::s3uri::S3Uri;

/// Errors of the MediaConvert adapter.
#[derive(Debug, thiserror::Error)]
pub enum MediaConvertError {
    /// The `CreateJob` call failed.
    #[error("MediaConvert CreateJob failed: {}", Chain(.0.as_ref()))]
    CreateJob(#[source] Cause),
    /// The `Probe` call failed.
    #[error("MediaConvert Probe of {uri} failed: {}", Chain(.source.as_ref()))]
    Probe {
        /// The probed file.
        uri: S3Uri,
        /// The SDK's error.
        #[source]
        source: Cause,
    },
    /// Probe answered without the facts a job needs.
    #[error("MediaConvert Probe of {uri} has no usable {missing}")]
    ProbeIncomplete {
        /// The probed file.
        uri: S3Uri,
        /// What is missing.
        missing: &'static str,
    },
    /// Probe refused the file itself (malformed, corrupt, not found, not media): retrying cannot help.
    #[error("MediaConvert Probe of {uri} rejected the file: {}", Chain(.source.as_ref()))]
    ProbeRejected {
        /// The probed file.
        uri: S3Uri,
        /// The SDK's error.
        #[source]
        source: Cause,
    },
    /// `CreateJob` answered without a job id.
    #[error("MediaConvert CreateJob answered without a job id")]
    NoJobId,
    /// The `CancelJob` call failed.
    #[error("MediaConvert CancelJob of {job_id} failed: {}", Chain(.source.as_ref()))]
    CancelJob {
        /// The job.
        job_id: String,
        /// The SDK's error.
        #[source]
        source: Cause,
    },
    /// The `ListJobs` call failed.
    #[error("MediaConvert ListJobs failed: {}", Chain(.0.as_ref()))]
    ListJobs(#[source] Cause),
}

impl MediaConvertError {
    /// Whether the error is about the input file itself (so no retry can succeed), as opposed to the service or
    /// the network.
    pub fn is_unusable_input(&self) -> bool {
        matches!(
            self,
            Self::ProbeRejected { .. } | Self::ProbeIncomplete { .. }
        )
    }
}

/// Cancels job `job_id`. A job that already finished (MediaConvert answers Conflict or BadRequest) or does not
/// exist is [`CancelOutcome::AlreadyFinished`], not an error.
pub async fn cancel_job(
    client: &sdk::Client,
    job_id: &str,
) -> Result<CancelOutcome, MediaConvertError> {
    match client.cancel_job().id(job_id).send().await {
        Ok(_) => Ok(CancelOutcome::Canceled),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_conflict_exception()
                    || s.is_bad_request_exception()
                    || s.is_not_found_exception()
            }) =>
        {
            Ok(CancelOutcome::AlreadyFinished)
        }
        Err(e) => Err(MediaConvertError::CancelJob {
            job_id: job_id.to_owned(),
            source: Box::new(e),
        }),
    }
}

/// The id of the job whose `UserMetadata` makes it `stream`'s `generation`, among the jobs created at or after
/// `created_after_ms`: `ListJobs` newest first, page by page, until the jobs are older than that.
pub async fn find_stream_job(
    client: &sdk::Client,
    stream: &str,
    generation: u64,
    created_after_ms: u64,
) -> Result<Option<String>, MediaConvertError> {
    let mut next_token = None;
    loop {
        let page = client
            .list_jobs()
            .order(t::Order::Descending)
            .max_results(20)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| MediaConvertError::ListJobs(Box::new(e)))?;
        for job in page.jobs() {
            let created_ms = job
                .created_at()
                .and_then(|t| t.to_millis().ok())
                .unwrap_or(i64::MAX);
            if created_ms < i64::try_from(created_after_ms).unwrap_or(i64::MAX) {
                return Ok(None);
            }
            let metadata: BTreeMap<String, String> = job
                .user_metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            if is_stream_job(&metadata, stream, generation) {
                return Ok(job.id().map(str::to_owned));
            }
        }
        match page.next_token() {
            Some(token) => next_token = Some(token.to_owned()),
            None => return Ok(None),
        }
    }
}

/// The `create_job` call for `job`, ready to `send()`.
pub fn create_job(
    client: &sdk::Client,
    job: &m::CreateJobRequest,
) -> sdk::operation::create_job::builders::CreateJobFluentBuilder {
    client
        .create_job()
        .role(&job.role)
        .settings(job_settings(&job.settings))
        .set_queue(job.queue.clone())
        .set_user_metadata(job.user_metadata.as_ref().map(to_hash_map))
        .set_tags(job.tags.as_ref().map(to_hash_map))
        .set_client_request_token(job.client_request_token.clone())
        .set_status_update_interval(job.status_update_interval.map(|v| en(v.as_str())))
        .set_priority(job.priority)
        .set_acceleration_settings(job.acceleration_settings.as_ref().map(|a| {
            t::AccelerationSettings::builder()
                .mode(en(a.mode.as_str()))
                .build()
        }))
}

/// Submits `job` and returns the new job's id.
pub async fn submit_job(
    client: &sdk::Client,
    job: &m::CreateJobRequest,
) -> Result<String, MediaConvertError> {
    let output = create_job(client, job)
        .send()
        .await
        .map_err(|e| MediaConvertError::CreateJob(Box::new(e)))?;
    let id = output
        .job()
        .and_then(|j| j.id())
        .ok_or(MediaConvertError::NoJobId)?;
    tracing::info!(job_id = id, "submitted MediaConvert job");
    Ok(id.to_owned())
}

/// AWS Elemental MediaConvert as the compositor's [`Transcoder`].
#[derive(Debug, Clone)]
pub struct MediaConvertTranscoder(pub sdk::Client);

/// A MediaConvert failure, sorted: the recording's own fault, or the service's.
fn transcode_error(error: MediaConvertError) -> TranscodeError {
    if error.is_unusable_input() {
        TranscodeError::Unusable(Box::new(error))
    } else {
        TranscodeError::Unavailable(Box::new(error))
    }
}

impl JobCanceller for MediaConvertTranscoder {
    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        cancel_job(&self.0, job_id).await.map_err(transcode_error)
    }
}

impl Transcoder for MediaConvertTranscoder {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, TranscodeError> {
        probe(&self.0, uri).await.map_err(transcode_error)
    }

    async fn create_job(&self, job: &CreateJobRequest) -> Result<String, TranscodeError> {
        submit_job(&self.0, job).await.map_err(transcode_error)
    }

    async fn find_job(
        &self,
        stream: &str,
        generation: u64,
        created_after_ms: u64,
    ) -> Result<Option<String>, TranscodeError> {
        find_stream_job(&self.0, stream, generation, created_after_ms)
            .await
            .map_err(transcode_error)
    }

    async fn cancel_job(&self, job_id: &str) -> Result<CancelOutcome, TranscodeError> {
        cancel_job(&self.0, job_id).await.map_err(transcode_error)
    }
}

/// Probes `uri` with MediaConvert's `Probe` and returns what the builders need.
pub async fn probe(client: &sdk::Client, uri: &S3Uri) -> Result<MediaInfo, MediaConvertError> {
    let output = client
        .probe()
        .input_files(
            t::ProbeInputFile::builder()
                .file_url(uri.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            let rejected = e.as_service_error().is_some_and(|s| {
                s.is_bad_request_exception()
                    || s.is_not_found_exception()
                    || s.is_unprocessable_entity_exception()
            });
            let (uri, source): (S3Uri, Cause) = (uri.clone(), Box::new(e));
            if rejected {
                MediaConvertError::ProbeRejected { uri, source }
            } else {
                MediaConvertError::Probe { uri, source }
            }
        })?;
    let result = output
        .probe_results()
        .first()
        .ok_or(MediaConvertError::ProbeIncomplete {
            uri: uri.clone(),
            missing: "probe result",
        })?;
    media_info(uri, result)
}

/// [`MediaInfo`] from one probe result: the first video track's size, rate and rotation, whether any audio track
/// exists, and the container's duration (or the video track's; none when neither is stated, as for a browser's
/// WebM, whose header has none: the builders do not need it).
pub fn media_info(uri: &S3Uri, result: &t::ProbeResult) -> Result<MediaInfo, MediaConvertError> {
    let incomplete = |missing| MediaConvertError::ProbeIncomplete {
        uri: uri.clone(),
        missing,
    };
    let container = result.container().ok_or_else(|| incomplete("container"))?;
    let tracks = container.tracks();
    let video_track = tracks
        .iter()
        .find(|track| track.track_type() == Some(&t::TrackType::Video))
        .ok_or_else(|| incomplete("video track"))?;
    let video = video_track
        .video_properties()
        .ok_or_else(|| incomplete("video properties"))?;
    let dimension = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0);
    let (width, height) = match (dimension(video.width()), dimension(video.height())) {
        (Some(w), Some(h)) => (w, h),
        _ => return Err(incomplete("video width and height")),
    };
    let frame_rate = video.frame_rate().and_then(|r| {
        let rate = FrameRate {
            numerator: u32::try_from(r.numerator()?).ok()?,
            denominator: u32::try_from(r.denominator()?).ok()?,
        };
        rate.is_recording_rate().then_some(rate)
    });
    let stated = |d: Option<f64>| d.filter(|d| d.is_finite() && *d > 0.0);
    let duration_ms = stated(container.duration())
        .or(stated(video_track.duration()))
        .map(|s| (s * 1000.0).round() as u64);
    Ok(MediaInfo {
        width,
        height,
        duration_ms,
        frame_rate,
        has_audio: tracks
            .iter()
            .any(|track| track.track_type() == Some(&t::TrackType::Audio)),
        rotation: video.rotation().map_or(0, |r| r.rem_euclid(360) as u16),
    })
}

/// An SDK enum from a model enum's wire string.
fn en<T: for<'a> From<&'a str>>(wire: &'static str) -> T {
    T::from(wire)
}

fn to_hash_map(map: &std::collections::BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn list<A, B>(items: &Option<Vec<A>>, convert: impl Fn(&A) -> B) -> Option<Vec<B>> {
    items
        .as_ref()
        .map(|items| items.iter().map(convert).collect())
}

fn job_settings(s: &m::JobSettings) -> t::JobSettings {
    t::JobSettings::builder()
        .set_inputs(list(&s.inputs, input))
        .set_timecode_config(s.timecode_config.as_ref().map(|c| {
            t::TimecodeConfig::builder()
                .set_source(c.source.map(|v| en(v.as_str())))
                .set_start(c.start.clone())
                .set_anchor(c.anchor.clone())
                .build()
        }))
        .set_output_groups(list(&s.output_groups, output_group))
        .build()
}

fn input(i: &m::Input) -> t::Input {
    t::Input::builder()
        .set_file_input(i.file_input.clone())
        .set_video_generator(i.video_generator.as_ref().map(|g| {
            t::InputVideoGenerator::builder()
                .set_duration(g.duration)
                .set_width(g.width)
                .set_height(g.height)
                .set_framerate_numerator(g.framerate_numerator)
                .set_framerate_denominator(g.framerate_denominator)
                .set_sample_rate(g.sample_rate)
                .set_channels(g.channels)
                .set_image_input(g.image_input.clone())
                .build()
        }))
        .set_input_clippings(list(&i.input_clippings, |c| {
            t::InputClipping::builder()
                .set_start_timecode(c.start_timecode.clone())
                .set_end_timecode(c.end_timecode.clone())
                .build()
        }))
        .set_timecode_source(i.timecode_source.map(|v| en(v.as_str())))
        .set_timecode_start(i.timecode_start.clone())
        .set_audio_selectors(i.audio_selectors.as_ref().map(|selectors| {
            selectors
                .iter()
                .map(|(name, s)| (name.clone(), audio_selector(s)))
                .collect()
        }))
        .set_video_selector(i.video_selector.as_ref().map(|v| {
            t::VideoSelector::builder()
                .set_rotate(v.rotate.map(|r| en(r.as_str())))
                .set_pad_video(v.pad_video.map(|p| en(p.as_str())))
                .build()
        }))
        .set_image_inserter(i.image_inserter.as_ref().map(image_inserter))
        .set_video_overlays(list(&i.video_overlays, video_overlay))
        .build()
}

fn audio_selector(s: &m::AudioSelector) -> t::AudioSelector {
    t::AudioSelector::builder()
        .set_default_selection(s.default_selection.map(|v| en(v.as_str())))
        .set_external_audio_file_input(s.external_audio_file_input.clone())
        .set_selector_type(s.selector_type.map(|v| en(v.as_str())))
        .set_tracks(s.tracks.clone())
        .set_offset(s.offset)
        .build()
}

fn image_inserter(i: &m::ImageInserter) -> t::ImageInserter {
    t::ImageInserter::builder()
        .set_insertable_images(list(&i.insertable_images, |image| {
            t::InsertableImage::builder()
                .set_image_inserter_input(image.image_inserter_input.clone())
                .set_image_x(image.image_x)
                .set_image_y(image.image_y)
                .set_width(image.width)
                .set_height(image.height)
                .set_layer(image.layer)
                .set_opacity(image.opacity)
                .set_start_time(image.start_time.clone())
                .set_duration(image.duration)
                .set_fade_in(image.fade_in)
                .set_fade_out(image.fade_out)
                .build()
        }))
        .build()
}

fn video_overlay(o: &m::VideoOverlay) -> t::VideoOverlay {
    t::VideoOverlay::builder()
        .set_input(o.input.as_ref().map(|i| {
            t::VideoOverlayInput::builder()
                .set_file_input(i.file_input.clone())
                .set_input_clippings(list(&i.input_clippings, |c| {
                    t::VideoOverlayInputClipping::builder()
                        .set_start_timecode(c.start_timecode.clone())
                        .set_end_timecode(c.end_timecode.clone())
                        .build()
                }))
                .set_timecode_source(i.timecode_source.map(|v| en(v.as_str())))
                .set_timecode_start(i.timecode_start.clone())
                .build()
        }))
        .set_start_timecode(o.start_timecode.clone())
        .set_end_timecode(o.end_timecode.clone())
        .set_initial_position(o.initial_position.as_ref().map(overlay_position))
        .set_playback(o.playback.map(|v| en(v.as_str())))
        .set_transitions(list(&o.transitions, |tr| {
            t::VideoOverlayTransition::builder()
                .set_start_timecode(tr.start_timecode.clone())
                .set_end_timecode(tr.end_timecode.clone())
                .set_end_position(tr.end_position.as_ref().map(overlay_position))
                .build()
        }))
        .set_crop(o.crop.as_ref().map(|c| {
            t::VideoOverlayCrop::builder()
                .set_x(c.x)
                .set_y(c.y)
                .set_width(c.width)
                .set_height(c.height)
                .set_unit(c.unit.map(|v| en(v.as_str())))
                .build()
        }))
        .build()
}

fn overlay_position(p: &m::VideoOverlayPosition) -> t::VideoOverlayPosition {
    t::VideoOverlayPosition::builder()
        .set_x_position(p.x_position)
        .set_y_position(p.y_position)
        .set_width(p.width)
        .set_height(p.height)
        .set_unit(p.unit.map(|v| en(v.as_str())))
        .set_opacity(p.opacity)
        .build()
}

fn output_group(g: &m::OutputGroup) -> t::OutputGroup {
    t::OutputGroup::builder()
        .set_name(g.name.clone())
        .set_custom_name(g.custom_name.clone())
        .set_output_group_settings(g.output_group_settings.as_ref().map(output_group_settings))
        .set_outputs(list(&g.outputs, output))
        .build()
}

fn output_group_settings(s: &m::OutputGroupSettings) -> t::OutputGroupSettings {
    t::OutputGroupSettings::builder()
        .set_type(s.group_type.map(|v| en(v.as_str())))
        .set_file_group_settings(s.file_group_settings.as_ref().map(|f| {
            t::FileGroupSettings::builder()
                .set_destination(f.destination.clone())
                .build()
        }))
        .set_hls_group_settings(s.hls_group_settings.as_ref().map(|h| {
            t::HlsGroupSettings::builder()
                .set_destination(h.destination.clone())
                .set_segment_length(h.segment_length)
                .set_min_segment_length(h.min_segment_length)
                .set_segment_length_control(h.segment_length_control.map(|v| en(v.as_str())))
                .set_segment_control(h.segment_control.map(|v| en(v.as_str())))
                .set_directory_structure(h.directory_structure.map(|v| en(v.as_str())))
                .set_manifest_duration_format(h.manifest_duration_format.map(|v| en(v.as_str())))
                .set_output_selection(h.output_selection.map(|v| en(v.as_str())))
                .set_codec_specification(h.codec_specification.map(|v| en(v.as_str())))
                .build()
        }))
        .set_cmaf_group_settings(s.cmaf_group_settings.as_ref().map(|c| {
            t::CmafGroupSettings::builder()
                .set_destination(c.destination.clone())
                .set_segment_length(c.segment_length)
                .set_fragment_length(c.fragment_length)
                .set_segment_length_control(c.segment_length_control.map(|v| en(v.as_str())))
                .set_segment_control(c.segment_control.map(|v| en(v.as_str())))
                .set_write_hls_manifest(c.write_hls_manifest.map(|v| en(v.as_str())))
                .set_write_dash_manifest(c.write_dash_manifest.map(|v| en(v.as_str())))
                .set_manifest_duration_format(c.manifest_duration_format.map(|v| en(v.as_str())))
                .set_codec_specification(c.codec_specification.map(|v| en(v.as_str())))
                .build()
        }))
        .build()
}

fn output(o: &m::Output) -> t::Output {
    t::Output::builder()
        .set_name_modifier(o.name_modifier.clone())
        .set_extension(o.extension.clone())
        .set_container_settings(o.container_settings.as_ref().map(container_settings))
        .set_video_description(o.video_description.as_ref().map(video_description))
        .set_audio_descriptions(list(&o.audio_descriptions, audio_description))
        .build()
}

fn container_settings(c: &m::ContainerSettings) -> t::ContainerSettings {
    t::ContainerSettings::builder()
        .set_container(c.container.map(|v| en(v.as_str())))
        .set_mp4_settings(c.mp4_settings.as_ref().map(|s| {
            t::Mp4Settings::builder()
                .set_moov_placement(s.moov_placement.map(|v| en(v.as_str())))
                .set_cslg_atom(s.cslg_atom.map(|v| en(v.as_str())))
                .set_ctts_version(s.ctts_version)
                .set_free_space_box(s.free_space_box.map(|v| en(v.as_str())))
                .set_audio_duration(s.audio_duration.map(|v| en(v.as_str())))
                .set_mp4_major_brand(s.mp4_major_brand.clone())
                .build()
        }))
        .set_m2ts_settings(c.m2ts_settings.as_ref().map(|s| {
            t::M2tsSettings::builder()
                .set_audio_duration(s.audio_duration.map(|v| en(v.as_str())))
                .set_rate_mode(s.rate_mode.map(|v| en(v.as_str())))
                .set_pat_interval(s.pat_interval)
                .set_pmt_interval(s.pmt_interval)
                .build()
        }))
        .set_m3u8_settings(c.m3u8_settings.as_ref().map(|s| {
            t::M3u8Settings::builder()
                .set_audio_duration(s.audio_duration.map(|v| en(v.as_str())))
                .set_pat_interval(s.pat_interval)
                .set_pmt_interval(s.pmt_interval)
                .build()
        }))
        .set_cmfc_settings(c.cmfc_settings.as_ref().map(|s| {
            t::CmfcSettings::builder()
                .set_audio_duration(s.audio_duration.map(|v| en(v.as_str())))
                .set_i_frame_only_manifest(s.i_frame_only_manifest.map(|v| en(v.as_str())))
                .build()
        }))
        .build()
}

fn video_description(v: &m::VideoDescription) -> t::VideoDescription {
    t::VideoDescription::builder()
        .set_width(v.width)
        .set_height(v.height)
        .set_scaling_behavior(v.scaling_behavior.map(|s| en(s.as_str())))
        .set_sharpness(v.sharpness)
        .set_anti_alias(v.anti_alias.map(|s| en(s.as_str())))
        .set_color_metadata(v.color_metadata.map(|s| en(s.as_str())))
        .set_timecode_insertion(v.timecode_insertion.map(|s| en(s.as_str())))
        .set_codec_settings(v.codec_settings.as_ref().map(|c| {
            t::VideoCodecSettings::builder()
                .set_codec(c.codec.map(|s| en(s.as_str())))
                .set_h264_settings(c.h264_settings.as_ref().map(h264_settings))
                .set_frame_capture_settings(c.frame_capture_settings.as_ref().map(|f| {
                    t::FrameCaptureSettings::builder()
                        .set_framerate_numerator(f.framerate_numerator)
                        .set_framerate_denominator(f.framerate_denominator)
                        .set_max_captures(f.max_captures)
                        .set_quality(f.quality)
                        .build()
                }))
                .build()
        }))
        .set_video_preprocessors(v.video_preprocessors.as_ref().map(|p| {
            t::VideoPreprocessor::builder()
                .set_image_inserter(p.image_inserter.as_ref().map(image_inserter))
                .build()
        }))
        .build()
}

fn h264_settings(h: &m::H264Settings) -> t::H264Settings {
    t::H264Settings::builder()
        .set_rate_control_mode(h.rate_control_mode.map(|v| en(v.as_str())))
        .set_bitrate(h.bitrate)
        .set_max_bitrate(h.max_bitrate)
        .set_qvbr_settings(h.qvbr_settings.as_ref().map(|q| {
            t::H264QvbrSettings::builder()
                .set_qvbr_quality_level(q.qvbr_quality_level)
                .set_qvbr_quality_level_fine_tune(q.qvbr_quality_level_fine_tune)
                .set_max_average_bitrate(q.max_average_bitrate)
                .build()
        }))
        .set_codec_profile(h.codec_profile.map(|v| en(v.as_str())))
        .set_codec_level(h.codec_level.map(|v| en(v.as_str())))
        .set_interlace_mode(h.interlace_mode.map(|v| en(v.as_str())))
        .set_gop_size(h.gop_size)
        .set_gop_size_units(h.gop_size_units.map(|v| en(v.as_str())))
        .set_gop_closed_cadence(h.gop_closed_cadence)
        .set_gop_b_reference(h.gop_b_reference.map(|v| en(v.as_str())))
        .set_number_b_frames_between_reference_frames(h.number_b_frames_between_reference_frames)
        .set_number_reference_frames(h.number_reference_frames)
        .set_min_i_interval(h.min_i_interval)
        .set_scene_change_detect(h.scene_change_detect.map(|v| en(v.as_str())))
        .set_quality_tuning_level(h.quality_tuning_level.map(|v| en(v.as_str())))
        .set_framerate_control(h.framerate_control.map(|v| en(v.as_str())))
        .set_framerate_conversion_algorithm(
            h.framerate_conversion_algorithm.map(|v| en(v.as_str())),
        )
        .set_framerate_numerator(h.framerate_numerator)
        .set_framerate_denominator(h.framerate_denominator)
        .set_par_control(h.par_control.map(|v| en(v.as_str())))
        .set_par_numerator(h.par_numerator)
        .set_par_denominator(h.par_denominator)
        .set_entropy_encoding(h.entropy_encoding.map(|v| en(v.as_str())))
        .set_adaptive_quantization(h.adaptive_quantization.map(|v| en(v.as_str())))
        .set_hrd_buffer_size(h.hrd_buffer_size)
        .build()
}

fn audio_description(a: &m::AudioDescription) -> t::AudioDescription {
    t::AudioDescription::builder()
        .set_audio_source_name(a.audio_source_name.clone())
        .set_codec_settings(a.codec_settings.as_ref().map(|c| {
            t::AudioCodecSettings::builder()
                .set_codec(c.codec.map(|v| en(v.as_str())))
                .set_aac_settings(c.aac_settings.as_ref().map(|s| {
                    t::AacSettings::builder()
                        .set_bitrate(s.bitrate)
                        .set_coding_mode(s.coding_mode.map(|v| en(v.as_str())))
                        .set_sample_rate(s.sample_rate)
                        .set_codec_profile(s.codec_profile.map(|v| en(v.as_str())))
                        .set_rate_control_mode(s.rate_control_mode.map(|v| en(v.as_str())))
                        .set_raw_format(s.raw_format.map(|v| en(v.as_str())))
                        .set_specification(s.specification.map(|v| en(v.as_str())))
                        .build()
                }))
                .build()
        }))
        .build()
}
