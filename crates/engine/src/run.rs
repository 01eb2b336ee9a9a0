//! Running a job end to end: parse, probe the inputs, render with ffmpeg into a temporary folder, store the outputs
//! only when everything succeeded, and report the lifecycle as MediaConvert does.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use vidpipe_core::job::{CreateJobRequest, MediaInfo};
use vidpipe_core::s3uri::S3Uri;

use crate::cmaf::{self, CmafTrack, TrackMedia};
use crate::lifecycle::{
    Identity, Job, JobFailure, JobPhase, JobStatus, OutputDetail, OutputGroupDetail, VideoDetails,
};
use crate::mp4;
use crate::plan::{self, GroupKind, GroupPlan, Media, MediaMap, OutputPlan, RenditionKind};
use crate::probe::{self, ProbeResponse};
use crate::storage::{Location, Storage, StorageError};
use crate::tools::Tools;
use crate::wire;

/// Receives a job's state changes while it runs.
pub trait JobObserver: Send {
    /// The job's status or percent complete changed.
    fn job_changed(&mut self, job: &Job);
    /// An EventBridge "MediaConvert Job State Change" event was emitted.
    fn event(&mut self, event: &Value);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct IgnoreUpdates;

impl JobObserver for IgnoreUpdates {
    fn job_changed(&mut self, _job: &Job) {}
    fn event(&mut self, _event: &Value) {}
}

/// Runs MediaConvert jobs and Probe requests locally.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    tools: Tools,
    storage: Storage,
    identity: Identity,
    status_update_interval: Option<Duration>,
}

/// MediaConvert's default interval between STATUS_UPDATE events.
const DEFAULT_STATUS_UPDATE_INTERVAL: Duration = Duration::from_secs(60);

impl Engine {
    /// An engine reading and writing through `storage`, with ffmpeg and ffprobe on `PATH`, saying it runs in moto's
    /// account in `us-east-1` ([`Tools::default`], [`Identity::default`]).
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            ..Self::default()
        }
    }

    /// An engine reading and writing through `storage`, with its tools ([`Tools::from_env`]) and identity
    /// ([`Identity::from_env`]) from the variables in `var`.
    pub fn from_env(storage: Storage, var: impl Fn(&str) -> Option<String>) -> Self {
        Self::new(storage)
            .with_tools(Tools::from_env(&var))
            .with_identity(Identity::from_env(&var))
    }

    /// The same engine with other tool paths.
    pub fn with_tools(mut self, tools: Tools) -> Self {
        self.tools = tools;
        self
    }

    /// The same engine with another account and region in its ARNs and events.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// The account and region in its job ARNs and events.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The same engine sending STATUS_UPDATE events at `interval`, whatever the job's StatusUpdateInterval says
    /// (for tests and the CLI).
    pub fn with_status_update_interval(mut self, interval: Duration) -> Self {
        self.status_update_interval = Some(interval);
        self
    }

    /// Answers a Probe request for `uris` in MediaConvert's response shape. A file that cannot be read fails the
    /// whole request with a 1010-style error.
    pub async fn probe(&self, uris: &[String]) -> Result<ProbeResponse, JobFailure> {
        let work = tempfile::tempdir().map_err(JobFailure::transcode)?;
        let mut probe_results = Vec::new();
        for uri in uris {
            probe_results.push(self.fetch_and_probe(uri, work.path()).await?.facts.probe);
        }
        Ok(ProbeResponse { probe_results })
    }

    /// What the job builders need to know of the file at `uri` (vidpipe's [`MediaInfo`]): a file that cannot be read,
    /// or that has no video to build a job on, fails with a 1010-style error.
    pub async fn media_info(&self, uri: &S3Uri) -> Result<MediaInfo, JobFailure> {
        let uri = uri.to_string();
        let response = self.probe(std::slice::from_ref(&uri)).await?;
        response
            .probe_results
            .first()
            .ok_or_else(|| "no probe result".to_owned())
            .and_then(|result| result.media_info())
            .map_err(|why| JobFailure::input_access(&uri, why))
    }

    async fn fetch_and_probe(&self, uri: &str, work: &Path) -> Result<Media, JobFailure> {
        let access = |e: StorageError| JobFailure::input_access(uri, e);
        let location = Location::parse(uri).map_err(access)?;
        let info = self.storage.head(&location).await.map_err(access)?;
        let path = self.storage.fetch(&location, work).await.map_err(access)?;
        let facts = probe::probe_file(&self.tools, &path, &info, uri)
            .await
            .map_err(|e| JobFailure::input_access(uri, e))?;
        Ok(Media { path, facts })
    }

    /// Runs a CreateJob request (PascalCase, or the SDK's camelCase wire form) to COMPLETE or ERROR, reporting
    /// every state change to `observer`. Returns the final job.
    pub async fn run(&self, request: &Value, observer: &mut dyn JobObserver) -> Job {
        self.run_job(None, request, observer).await
    }

    /// [`Engine::run`], with the job id `job_id` (chosen by the submitter) instead of a new one.
    pub async fn run_as(
        &self,
        job_id: &str,
        request: &Value,
        observer: &mut dyn JobObserver,
    ) -> Job {
        self.run_job(Some(job_id), request, observer).await
    }

    async fn run_job(
        &self,
        job_id: Option<&str>,
        request: &Value,
        observer: &mut dyn JobObserver,
    ) -> Job {
        let normalized = wire::to_pascal_case(request);
        let user_metadata: BTreeMap<String, String> =
            serde_json::from_value(normalized["UserMetadata"].clone()).unwrap_or_default();
        let identity = self.identity.clone();
        let mut job = match job_id {
            Some(id) => Job::submitted_as(id.to_owned(), identity, user_metadata),
            None => Job::submitted(identity, user_metadata),
        };
        observer.job_changed(&job);
        job.status = JobStatus::Progressing;
        job.current_phase = Some(JobPhase::Probing);
        job.job_percent_complete = Some(0);
        observer.job_changed(&job);
        if let Some(event) = job.event(false) {
            observer.event(&event);
        }
        match self.execute(&normalized, &mut job, observer).await {
            Ok(details) => {
                job.status = JobStatus::Complete;
                job.current_phase = None;
                job.job_percent_complete = Some(100);
                job.output_group_details = details;
            }
            Err(error) => {
                tracing::warn!(job = %job.id, code = error.code, message = %error.message, "job failed");
                job.status = JobStatus::Error;
                job.error_code = Some(error.code);
                job.error_message = Some(error.message);
            }
        }
        observer.job_changed(&job);
        if let Some(event) = job.event(false) {
            observer.event(&event);
        }
        job
    }

    async fn execute(
        &self,
        request: &Value,
        job: &mut Job,
        observer: &mut dyn JobObserver,
    ) -> Result<Vec<OutputGroupDetail>, JobFailure> {
        let request = read_request(request)?;
        let work = tempfile::tempdir().map_err(JobFailure::transcode)?;
        let mut media = MediaMap::new();
        for (uri, field) in plan::media_uris(&request)? {
            tracing::debug!(%uri, %field, "reading input");
            if let std::collections::hash_map::Entry::Vacant(slot) = media.entry(uri) {
                let fetched = self.fetch_and_probe(slot.key(), work.path()).await?;
                slot.insert(fetched);
            }
        }
        let plan = plan::plan(&request, &media, &work.path().join("out"))?;
        for group in &plan.groups {
            tokio::fs::create_dir_all(&group.local_dir)
                .await
                .map_err(|e| {
                    JobFailure::transcode(format!(
                        "cannot create {}: {e}",
                        group.local_dir.display()
                    ))
                })?;
        }

        job.current_phase = Some(JobPhase::Transcoding);
        observer.job_changed(job);
        let interval = self.status_update_interval.unwrap_or_else(|| {
            request
                .status_update_interval
                .and_then(|i| i.as_str().trim_start_matches("SECONDS_").parse().ok())
                .map_or(DEFAULT_STATUS_UPDATE_INTERVAL, Duration::from_secs)
        });
        let mut last_update = Instant::now();
        let total = plan.duration.max(0.001);
        let mut on_progress = |written: Duration| {
            let percent = ((written.as_secs_f64() / total) * 100.0).clamp(0.0, 99.0) as u32;
            if job.job_percent_complete != Some(percent) {
                job.job_percent_complete = Some(percent);
                observer.job_changed(job);
            }
            if last_update.elapsed() >= interval {
                last_update = Instant::now();
                if let Some(event) = job.event(true) {
                    observer.event(&event);
                }
            }
        };
        self.tools
            .ffmpeg(&plan.args, &mut on_progress)
            .await
            .map_err(JobFailure::ffmpeg)?;

        job.current_phase = Some(JobPhase::Uploading);
        observer.job_changed(job);
        let mut details = Vec::new();
        for group in &plan.groups {
            details.push(self.finish_group(group).await?);
        }
        Ok(details)
    }

    /// The RFC 6381 CODECS attribute of a rendition (`avc1.PPCCLL`, `mp4a.40.2`), from ffprobe.
    async fn codecs_attribute(&self, path: &Path) -> Result<String, JobFailure> {
        let args = [
            "-show_entries",
            "stream=codec_name,profile,level",
            "-of",
            "json",
        ]
        .map(String::from);
        let mut args = args.to_vec();
        args.push(path.display().to_string());
        let out = self
            .tools
            .ffprobe(&args)
            .await
            .map_err(JobFailure::transcode)?;
        let json: Value = serde_json::from_str(&out).map_err(JobFailure::transcode)?;
        let mut codecs = Vec::new();
        for stream in json["streams"].as_array().into_iter().flatten() {
            match stream["codec_name"].as_str() {
                Some("h264") => {
                    let (profile, constraints) =
                        match stream["profile"].as_str().unwrap_or_default() {
                            "Constrained Baseline" => (0x42, 0xe0),
                            "Baseline" => (0x42, 0x00),
                            "Main" => (0x4d, 0x40),
                            _ => (0x64, 0x00),
                        };
                    let level = stream["level"].as_i64().unwrap_or(31);
                    codecs.push(format!("avc1.{profile:02x}{constraints:02x}{level:02x}"));
                }
                Some("aac") => codecs.push("mp4a.40.2".to_string()),
                _ => {}
            }
        }
        Ok(codecs.join(","))
    }

    /// Measures one rendered output for the COMPLETE event, collecting what the group's manifests list.
    async fn output_detail(
        &self,
        group: &GroupPlan,
        output: &OutputPlan,
        renditions: &mut Renditions,
    ) -> Result<OutputDetail, JobFailure> {
        let local = group.local_dir.join(&output.file_name);
        let (paths, duration_ms, size) = match output.kind {
            RenditionKind::File | RenditionKind::HlsVariant => {
                if let Some(include) = output.free_space_box {
                    set_free_space_box(&local, include).map_err(JobFailure::transcode)?;
                }
                let facts =
                    probe::probe_file(&self.tools, &local, &Default::default(), &output.file_name)
                        .await
                        .map_err(JobFailure::transcode)?;
                let size = facts.video.map(|(w, h, _)| (w, h));
                if output.kind == RenditionKind::HlsVariant {
                    renditions.variants.push(Variant {
                        playlist: output.file_name.clone(),
                        bandwidth: facts.probe.container.bit_rate,
                        size,
                        codecs: self.codecs_attribute(&local).await?,
                    });
                }
                (
                    vec![format!("{}{}", group.folder, output.file_name)],
                    (facts.duration * 1000.0).round() as u64,
                    size,
                )
            }
            RenditionKind::CmafTrack => {
                let track = self.cmaf_track(&group.local_dir, output).await?;
                let duration_ms = track
                    .segments
                    .segments
                    .iter()
                    .map(|(_, seconds)| seconds)
                    .sum::<f64>();
                renditions.cmaf_tracks.push(track);
                // CMAF outputs are listed by their manifests only (playlistFilePaths).
                (
                    Vec::new(),
                    (duration_ms * 1000.0).round() as u64,
                    output.size,
                )
            }
            RenditionKind::FrameCapture => {
                let prefix = output
                    .file_name
                    .rsplit_once('.')
                    .map_or(output.file_name.as_str(), |(p, _)| p);
                let mut names = local_files(&group.local_dir).await?;
                names.retain(|n| n.starts_with(prefix));
                let frames = names.len() as u64;
                let ms = frames * 1000 * output.rate.denominator.max(1) as u64
                    / output.rate.numerator.max(1) as u64;
                (
                    names
                        .iter()
                        .map(|n| format!("{}{n}", group.folder))
                        .collect(),
                    ms,
                    output.size,
                )
            }
        };
        Ok(OutputDetail {
            output_file_paths: paths,
            duration_in_ms: duration_ms,
            video_details: size.map(|(w, h)| VideoDetails {
                width_in_px: w,
                height_in_px: h,
                average_bitrate: None,
            }),
        })
    }

    /// Writes HLS main playlists, measures the outputs, and stores every file of the group.
    async fn finish_group(&self, group: &GroupPlan) -> Result<OutputGroupDetail, JobFailure> {
        let mut output_details = Vec::new();
        let mut renditions = Renditions::default();
        for output in &group.outputs {
            output_details.push(self.output_detail(group, output, &mut renditions).await?);
        }
        let Renditions {
            variants,
            cmaf_tracks,
        } = renditions;
        let mut playlist_file_paths = Vec::new();
        if group.kind == GroupKind::Cmaf {
            let main = group
                .main_playlist
                .clone()
                .expect("CMAF groups have a main playlist");
            self.finish_cmaf_manifests(group, &main, &cmaf_tracks, &output_details)
                .await?;
            if group.write_manifests {
                playlist_file_paths.push(format!("{}{main}", group.folder));
            }
            if let Some(mpd) = &group.dash_manifest {
                playlist_file_paths.push(format!("{}{mpd}", group.folder));
            }
        }
        if group.kind == GroupKind::Hls {
            for name in local_files(&group.local_dir)
                .await?
                .iter()
                .filter(|n| n.ends_with(".m3u8"))
            {
                if group.integer_durations {
                    integer_playlist_durations(&group.local_dir.join(name)).await?;
                }
            }
            let main = group
                .main_playlist
                .clone()
                .expect("HLS groups have a main playlist");
            if group.write_manifests {
                write_main_playlist(&group.local_dir.join(&main), &variants).await?;
                playlist_file_paths.push(format!("{}{main}", group.folder));
            } else {
                for name in local_files(&group.local_dir)
                    .await?
                    .iter()
                    .filter(|n| n.ends_with(".m3u8"))
                {
                    tokio::fs::remove_file(group.local_dir.join(name))
                        .await
                        .map_err(JobFailure::transcode)?;
                }
                for detail in &mut output_details {
                    detail.output_file_paths.clear();
                }
            }
        }
        for name in local_files(&group.local_dir).await? {
            let uri = format!("{}{name}", group.folder);
            let location = Location::parse(&uri).map_err(|e| JobFailure::output_write(&uri, e))?;
            self.storage
                .store(&group.local_dir.join(&name), &location)
                .await
                .map_err(|e| JobFailure::output_write(&uri, e))?;
        }
        Ok(OutputGroupDetail {
            group_type: group.kind.event_type().to_string(),
            output_details,
            playlist_file_paths,
        })
    }
}

impl Engine {
    /// Reads a CMAF track back: its segments from the child playlist, its codec, size and bandwidth from its init
    /// and media segments joined into one fragmented MP4.
    async fn cmaf_track(&self, dir: &Path, output: &OutputPlan) -> Result<CmafTrack, JobFailure> {
        let playlist = tokio::fs::read_to_string(dir.join(&output.file_name))
            .await
            .map_err(JobFailure::transcode)?;
        let segments = cmaf::read_child_playlist(&playlist).ok_or_else(|| {
            JobFailure::transcode(format!("{} lists no init segment", output.file_name))
        })?;
        let joined = tempfile::Builder::new()
            .suffix(".mp4")
            .tempfile()
            .map_err(JobFailure::transcode)?;
        let mut bytes = tokio::fs::read(dir.join(&segments.init))
            .await
            .map_err(JobFailure::transcode)?;
        for (segment, _) in &segments.segments {
            bytes.extend(
                tokio::fs::read(dir.join(segment))
                    .await
                    .map_err(JobFailure::transcode)?,
            );
        }
        tokio::fs::write(joined.path(), &bytes)
            .await
            .map_err(JobFailure::transcode)?;
        let facts = probe::probe_file(&self.tools, joined.path(), &Default::default(), "track.mp4")
            .await
            .map_err(JobFailure::transcode)?;
        let media = match output.size {
            Some(size) => TrackMedia::Video {
                size,
                rate: output.rate,
            },
            None => {
                let audio = facts
                    .probe
                    .container
                    .tracks
                    .iter()
                    .find_map(|t| t.audio_properties.as_ref());
                TrackMedia::Audio {
                    sample_rate: audio.map_or(0, |a| a.sample_rate.max(0) as u32),
                    channels: audio.map_or(0, |a| a.channels.max(0) as u32),
                }
            }
        };
        let duration: f64 = segments.segments.iter().map(|(_, s)| s).sum();
        let bandwidth = facts
            .probe
            .container
            .bit_rate
            .unwrap_or_else(|| (bytes.len() as f64 * 8.0 / duration.max(0.001)) as i64);
        Ok(CmafTrack {
            playlist: output.file_name.clone(),
            codecs: self.codecs_attribute(joined.path()).await?,
            segments,
            media,
            bandwidth,
        })
    }

    /// Writes a CMAF group's main HLS playlist and DASH manifest, or removes the child playlists when the HLS
    /// manifest is disabled.
    async fn finish_cmaf_manifests(
        &self,
        group: &GroupPlan,
        main: &str,
        tracks: &[CmafTrack],
        details: &[OutputDetail],
    ) -> Result<(), JobFailure> {
        // The presentation lasts as long as the video (AAC frames may run a little past it).
        let has_video = details.iter().any(|d| d.video_details.is_some());
        let write = |name: String, text: String| async move {
            tokio::fs::write(group.local_dir.join(name), text)
                .await
                .map_err(JobFailure::transcode)
        };
        if let Some(mpd) = &group.dash_manifest {
            let duration = details
                .iter()
                .filter(|d| !has_video || d.video_details.is_some())
                .map(|d| d.duration_in_ms)
                .max()
                .unwrap_or(0) as f64
                / 1000.0;
            let segment_length = group.segment_length.unwrap_or(10);
            write(mpd.clone(), cmaf::mpd(tracks, duration, segment_length)).await?;
        }
        if group.write_manifests {
            if group.integer_durations {
                for track in tracks {
                    integer_playlist_durations(&group.local_dir.join(&track.playlist)).await?;
                }
            }
            write(main.to_string(), cmaf::main_playlist(tracks)).await
        } else {
            for track in tracks {
                tokio::fs::remove_file(group.local_dir.join(&track.playlist))
                    .await
                    .map_err(JobFailure::transcode)?;
            }
            Ok(())
        }
    }
}

/// The CreateJob request that `normalized` (the PascalCase form) holds, or the invalid-settings failure a job that
/// does not fit the model ends with.
pub(crate) fn read_request(normalized: &Value) -> Result<CreateJobRequest, JobFailure> {
    serde_json::from_value(normalized.clone())
        .map_err(|e| JobFailure::invalid_setting("CreateJobRequest", e))
}

/// Leaves exactly one `free` box right after `moov` (INCLUDE) or none (EXCLUDE).
fn set_free_space_box(path: &Path, include: bool) -> std::io::Result<()> {
    let types = mp4::box_types(path)?;
    let after_moov = types.windows(2).any(|w| w[0] == "moov" && w[1] == "free");
    if include && after_moov {
        return Ok(());
    }
    mp4::remove_free_box(path)?;
    if include {
        mp4::append_free_box(path)?;
    }
    Ok(())
}

async fn local_files(dir: &Path) -> Result<Vec<String>, JobFailure> {
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(JobFailure::transcode)?;
    while let Some(entry) = entries.next_entry().await.map_err(JobFailure::transcode)? {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Rewrites `#EXTINF:` durations as whole seconds (ManifestDurationFormat INTEGER).
async fn integer_playlist_durations(path: &Path) -> Result<(), JobFailure> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(JobFailure::transcode)?;
    let rewritten: Vec<String> = text
        .lines()
        .map(|line| {
            match line
                .strip_prefix("#EXTINF:")
                .and_then(|rest| rest.split_once(','))
            {
                Some((seconds, title)) => {
                    let whole = seconds.parse::<f64>().map_or(0, |s| s.round() as u64);
                    format!("#EXTINF:{whole},{title}")
                }
                None => line.to_string(),
            }
        })
        .collect();
    tokio::fs::write(path, rewritten.join("\n") + "\n")
        .await
        .map_err(JobFailure::transcode)
}

/// What a group's outputs give its manifests: HLS variants, CMAF tracks.
#[derive(Default)]
struct Renditions {
    variants: Vec<Variant>,
    cmaf_tracks: Vec<CmafTrack>,
}

/// One HLS variant as the main playlist lists it.
struct Variant {
    /// The child playlist's file name.
    playlist: String,
    /// Bits per second.
    bandwidth: Option<i64>,
    /// Picture size.
    size: Option<(u32, u32)>,
    /// The CODECS attribute (RFC 6381).
    codecs: String,
}

/// Writes the HLS main playlist listing every variant with its bandwidth and resolution.
async fn write_main_playlist(path: &Path, variants: &[Variant]) -> Result<(), JobFailure> {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for Variant {
        playlist: name,
        bandwidth: bit_rate,
        size,
        codecs,
    } in variants
    {
        let bandwidth = bit_rate.unwrap_or(1);
        text.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={bandwidth}"
        ));
        if let Some((w, h)) = size {
            text.push_str(&format!(",RESOLUTION={w}x{h}"));
        }
        text.push_str(&format!(",CODECS=\"{codecs}\""));
        text.push_str(&format!("\n{name}\n"));
    }
    tokio::fs::write(path, text)
        .await
        .map_err(JobFailure::transcode)
}
