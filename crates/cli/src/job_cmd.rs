//! `vidpipe job composite|single|chunk|preview`: builds a MediaConvert job and prints its CreateJob JSON
//! (PascalCase, as `aws mediaconvert create-job --cli-input-json` and Step Functions take it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use vidpipe_core::job::{
    CompositeOptions, CompositeOutput, CreateJobRequest, FrameRate, JobContext, JobError,
    MediaInfo, PreviewFormat, PreviewOptions, Recording, SingleOptions, Size, chunk_job,
    composite_job, pip::Corner, pip::PipLayout, preview_job, single_job,
};
use vidpipe_core::render::{Chunk, RenderRequest};
use vidpipe_core::s3uri::S3Uri;

/// Arguments of `vidpipe job`.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// IAM role MediaConvert assumes.
    #[arg(long, env = "MEDIACONVERT_ROLE_ARN", global = true)]
    role: Option<String>,
    /// Queue ARN (the Default queue when absent).
    #[arg(long, env = "MEDIACONVERT_QUEUE_ARN", global = true)]
    queue: Option<String>,
    #[command(subcommand)]
    kind: JobKindArgs,
}

#[derive(Debug, Subcommand)]
enum JobKindArgs {
    /// Screen plus camera picture-in-picture, to `{prefix}{stream}_composited.mp4` next to the screen recording.
    Composite(CompositeArgs),
    /// One recording to its stream's `{prefix}{stream}_composited.mp4`.
    Single(SingleArgs),
    /// Chunk N of a render request.
    Chunk(ChunkArgs),
    /// An HLS or CMAF preview with a poster.
    Preview(PreviewArgs),
}

/// Probe facts of one source given on the command line.
#[derive(Debug, Args)]
struct SourceFacts {
    /// Frame rate as `N` or `N/D` (default 30).
    #[arg(long, default_value = "30", value_parser = parse_rate)]
    fps: FrameRate,
}

#[derive(Debug, Args)]
struct CompositeArgs {
    /// Screen recording, `s3://bucket/{prefix}{stream}.mp4`.
    #[arg(long)]
    screen: S3Uri,
    /// Camera recording.
    #[arg(long)]
    camera: S3Uri,
    /// Screen size, e.g. 1920x1080.
    #[arg(long)]
    screen_size: Size,
    /// Camera size as displayed, e.g. 640x360 or 720x1280.
    #[arg(long)]
    camera_size: Size,
    /// Screen duration in milliseconds.
    #[arg(long, default_value_t = 3_600_000)]
    screen_duration_ms: u64,
    /// Camera duration in milliseconds.
    #[arg(long, default_value_t = 3_600_000)]
    camera_duration_ms: u64,
    /// The screen recording has no audio.
    #[arg(long)]
    screen_silent: bool,
    /// Camera corner: top-left, top-right, bottom-left, bottom-right.
    #[arg(long, default_value = "bottom-right")]
    corner: Corner,
    /// Camera width in percent of the frame width.
    #[arg(long, default_value_t = 15.0)]
    width_pct: f64,
    /// Margin in percent of the frame width.
    #[arg(long, default_value_t = 2.0)]
    margin_pct: f64,
    /// Camera start minus screen start, in milliseconds.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    offset_ms: i64,
    /// Maximum output width.
    #[arg(long, default_value_t = 1920)]
    max_width: u32,
    #[command(flatten)]
    facts: SourceFacts,
}

#[derive(Debug, Args)]
struct SingleArgs {
    /// The recording, `s3://bucket/{prefix}{stream}.mp4` or `..._camera.webm`.
    #[arg(long)]
    source: S3Uri,
    /// Its size as displayed.
    #[arg(long)]
    size: Size,
    /// It has no audio.
    #[arg(long)]
    silent: bool,
    /// Maximum output width.
    #[arg(long, default_value_t = 1920)]
    max_width: u32,
    #[command(flatten)]
    facts: SourceFacts,
}

#[derive(Debug, Args)]
struct ChunkArgs {
    /// The render request (JSON file).
    #[arg(long)]
    request: PathBuf,
    /// Chunk index.
    #[arg(long)]
    chunk: u32,
    /// The chunk plan (JSON: a list of chunks, or an object with a `chunks` list).
    #[arg(long, conflicts_with = "frames", required_unless_present = "frames")]
    plan: Option<PathBuf>,
    /// The chunk's frames as `START..END` (end exclusive), instead of a plan.
    #[arg(long)]
    frames: Option<String>,
    /// Probe results by source URI (JSON object of media info); overlay images need theirs.
    #[arg(long)]
    media: Option<PathBuf>,
    /// Where the chunk goes (`s3://…mp4`); default: its place in the work folder of an execution named after the
    /// request's `render_id`.
    #[arg(long)]
    destination: Option<S3Uri>,
}

#[derive(Debug, Args)]
struct PreviewArgs {
    /// The recording.
    #[arg(long)]
    source: S3Uri,
    /// Its size as displayed.
    #[arg(long)]
    size: Size,
    /// It has no audio.
    #[arg(long)]
    silent: bool,
    /// Folder of the preview, `s3://bucket/prefix/`.
    #[arg(long)]
    destination: S3Uri,
    /// Preview id.
    #[arg(long)]
    id: String,
    /// hls or cmaf.
    #[arg(long, default_value = "hls")]
    format: PreviewFormat,
    /// Maximum width.
    #[arg(long, default_value_t = 1280)]
    max_width: u32,
    #[command(flatten)]
    facts: SourceFacts,
}

/// Why `vidpipe job` failed.
#[derive(Debug, thiserror::Error)]
pub enum JobCmdError {
    /// No role given.
    #[error("no MediaConvert role: pass --role or set MEDIACONVERT_ROLE_ARN")]
    NoRole,
    /// A file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Bad arguments.
    #[error("{0}")]
    Arguments(String),
    /// The builder refused.
    #[error(transparent)]
    Job(#[from] JobError),
}

/// Builds the job and returns its pretty-printed CreateJob JSON.
pub fn run(args: &JobArgs) -> Result<String, JobCmdError> {
    let context = JobContext {
        role: args.role.clone().ok_or(JobCmdError::NoRole)?,
        queue: args.queue.clone(),
    };
    let job = build(&context, &args.kind)?;
    serde_json::to_string_pretty(&job).map_err(|e| JobCmdError::Arguments(e.to_string()))
}

fn build(context: &JobContext, kind: &JobKindArgs) -> Result<CreateJobRequest, JobCmdError> {
    Ok(match kind {
        JobKindArgs::Composite(a) => {
            let output = CompositeOutput::for_recording(&a.screen)?;
            let screen = recording(
                &a.screen,
                a.screen_size,
                a.screen_duration_ms,
                !a.screen_silent,
                &a.facts,
            );
            let camera = recording(
                &a.camera,
                a.camera_size,
                a.camera_duration_ms,
                true,
                &a.facts,
            );
            let options = CompositeOptions {
                layout: PipLayout {
                    corner: a.corner,
                    width_pct: a.width_pct,
                    margin_pct: a.margin_pct,
                },
                max_width: a.max_width,
                camera_offset_ms: a.offset_ms,
            };
            composite_job(context, &output, &screen, &camera, &options)?
        }
        JobKindArgs::Single(a) => {
            let output = CompositeOutput::for_recording(&a.source)?;
            let source = recording(&a.source, a.size, 0, !a.silent, &a.facts);
            single_job(
                context,
                &output,
                &source,
                &SingleOptions {
                    max_width: a.max_width,
                },
            )?
        }
        JobKindArgs::Chunk(a) => {
            let request =
                RenderRequest::from_json(&read(&a.request)?).map_err(|e| JobCmdError::File {
                    path: a.request.clone(),
                    message: e.to_string(),
                })?;
            let chunk = match (&a.plan, &a.frames) {
                (Some(plan), _) => chunk_from_plan(plan, a.chunk)?,
                (None, Some(frames)) => chunk_from_frames(frames, a.chunk)?,
                (None, None) => {
                    return Err(JobCmdError::Arguments("pass --plan or --frames".into()));
                }
            };
            let media: BTreeMap<String, MediaInfo> = match &a.media {
                Some(path) => parse_file(path)?,
                None => BTreeMap::new(),
            };
            let destination = match &a.destination {
                Some(destination) => destination.clone(),
                None => request
                    .work_folder(&request.render_id)
                    .map_err(|e| JobCmdError::File {
                        path: a.request.clone(),
                        message: e.to_string(),
                    })?
                    .chunk(chunk.index),
            };
            chunk_job(context, &request, &chunk, &destination, &media)?
        }
        JobKindArgs::Preview(a) => {
            let source = recording(&a.source, a.size, 0, !a.silent, &a.facts);
            let options = PreviewOptions {
                format: a.format,
                max_width: a.max_width,
            };
            preview_job(context, &source, &a.destination, &a.id, &options)?
        }
    })
}

fn recording(
    uri: &S3Uri,
    size: Size,
    duration_ms: u64,
    has_audio: bool,
    facts: &SourceFacts,
) -> Recording {
    let media = MediaInfo {
        width: size.width,
        height: size.height,
        duration_ms: Some(duration_ms),
        frame_rate: Some(facts.fps),
        has_audio,
        rotation: 0,
    };
    Recording {
        uri: uri.clone(),
        media,
    }
}

fn read(path: &Path) -> Result<String, JobCmdError> {
    std::fs::read_to_string(path).map_err(|e| JobCmdError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn parse_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, JobCmdError> {
    serde_json::from_str(&read(path)?).map_err(|e| JobCmdError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Chunk `index` of a plan file: a list of chunks, or an object with a `chunks` list.
fn chunk_from_plan(path: &Path, index: u32) -> Result<Chunk, JobCmdError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Plan {
        List(Vec<Chunk>),
        Object { chunks: Vec<Chunk> },
    }
    let chunks = match parse_file::<Plan>(path)? {
        Plan::List(chunks) | Plan::Object { chunks } => chunks,
    };
    chunks
        .into_iter()
        .find(|c| c.index == index)
        .ok_or_else(|| JobCmdError::File {
            path: path.to_owned(),
            message: format!("the plan has no chunk {index}"),
        })
}

/// A chunk from `START..END`.
fn chunk_from_frames(frames: &str, index: u32) -> Result<Chunk, JobCmdError> {
    let parsed = frames
        .split_once("..")
        .and_then(|(start, end)| Some((start.trim().parse().ok()?, end.trim().parse().ok()?)));
    let (start_frame, end_frame) = parsed
        .ok_or_else(|| JobCmdError::Arguments(format!("--frames `{frames}` is not START..END")))?;
    Ok(Chunk {
        index,
        start_frame,
        end_frame,
    })
}

/// A frame rate from `N` or `N/D`.
fn parse_rate(s: &str) -> Result<FrameRate, String> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let rate = match (n.trim().parse(), d.trim().parse()) {
        (Ok(numerator), Ok(denominator)) => FrameRate {
            numerator,
            denominator,
        },
        _ => return Err(format!("`{s}` is not a frame rate like 30 or 30000/1001")),
    };
    if rate.is_valid() {
        Ok(rate)
    } else {
        Err(format!("`{s}` is not a positive frame rate"))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The same shape as `vidpipe job ...` in main.rs.
    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: TestCommand,
    }

    #[derive(Debug, clap::Subcommand)]
    enum TestCommand {
        Job(JobArgs),
    }

    fn run_args(args: &[&str]) -> Result<serde_json::Value, JobCmdError> {
        let mut argv = vec![
            "vidpipe",
            "job",
            "--role",
            "arn:aws:iam::123456789012:role/mc",
        ];
        argv.extend_from_slice(args);
        let cli =
            TestCli::try_parse_from(argv).map_err(|e| JobCmdError::Arguments(e.to_string()))?;
        let TestCommand::Job(job) = cli.command;
        run(&job).map(|json| serde_json::from_str(&json).unwrap())
    }

    #[test]
    fn composite_prints_the_builders_job() {
        let json = run_args(&[
            "composite",
            "--screen",
            "s3://bucket/streams/s1.mp4",
            "--camera",
            "s3://bucket/streams/s1_camera.webm",
            "--screen-size",
            "1920x1080",
            "--camera-size",
            "720x1280",
            "--corner",
            "top-left",
            "--width-pct",
            "20",
            "--offset-ms",
            "-1000",
        ])
        .unwrap();
        let expected = composite_job(
            &JobContext {
                role: "arn:aws:iam::123456789012:role/mc".into(),
                queue: None,
            },
            &CompositeOutput::new("bucket", "streams/", "s1").unwrap(),
            &recording(
                &"s3://bucket/streams/s1.mp4".parse().unwrap(),
                Size::new(1920, 1080),
                3_600_000,
                true,
                &SourceFacts {
                    fps: FrameRate::per_second(30),
                },
            ),
            &recording(
                &"s3://bucket/streams/s1_camera.webm".parse().unwrap(),
                Size::new(720, 1280),
                3_600_000,
                true,
                &SourceFacts {
                    fps: FrameRate::per_second(30),
                },
            ),
            &CompositeOptions {
                layout: PipLayout {
                    corner: Corner::TopLeft,
                    width_pct: 20.0,
                    margin_pct: 2.0,
                },
                max_width: 1920,
                camera_offset_ms: -1000,
            },
        )
        .unwrap();
        assert_eq!(json, serde_json::to_value(expected).unwrap());
        let overlay = &json["Settings"]["Inputs"][0]["VideoOverlays"][0];
        assert_eq!(overlay["InitialPosition"]["XPosition"], 38);
        assert_eq!(
            overlay["Input"]["InputClippings"][0]["StartTimecode"],
            "00:00:01:00"
        );
    }

    #[test]
    fn single_and_preview_print_jobs() {
        let json = run_args(&[
            "single",
            "--source",
            "s3://bucket/streams/s1_camera.webm",
            "--size",
            "640x360",
        ])
        .unwrap();
        assert_eq!(
            json["Settings"]["OutputGroups"][0]["OutputGroupSettings"]["FileGroupSettings"]["Destination"],
            "s3://bucket/streams/s1_composited"
        );
        let json = run_args(&[
            "preview",
            "--source",
            "s3://bucket/streams/s1.mp4",
            "--size",
            "1920x1080",
            "--destination",
            "s3://bucket/previews/p1/",
            "--id",
            "p1",
            "--format",
            "cmaf",
        ])
        .unwrap();
        assert_eq!(
            json["Settings"]["OutputGroups"][0]["OutputGroupSettings"]["Type"],
            "CMAF_GROUP_SETTINGS"
        );
    }

    #[test]
    fn chunk_reads_the_request_and_the_plan() {
        let dir = std::env::temp_dir().join(format!("vidpipe-job-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let request = dir.join("request.json");
        std::fs::write(
            &request,
            r#"{"render_id":"r1","output":{"uri":"s3://bucket/r/r1.mp4","width":1280,"height":720,"fps":25},
               "scenes":[{"id":"a","duration_s":2,"image":"s3://bucket/a.png"},{"id":"b","duration_s":3,"video":"s3://bucket/b.mp4"}]}"#,
        )
        .unwrap();
        let plan = dir.join("plan.json");
        std::fs::write(&plan, r#"{"chunks":[{"index":0,"start_frame":0,"end_frame":60},{"index":1,"start_frame":60,"end_frame":125}]}"#).unwrap();
        let request = request.to_str().unwrap();
        let json = run_args(&[
            "chunk",
            "--request",
            request,
            "--chunk",
            "1",
            "--plan",
            plan.to_str().unwrap(),
        ])
        .unwrap();
        let clip = &json["Settings"]["Inputs"][0]["InputClippings"][0];
        assert_eq!(
            (clip["StartTimecode"].as_str(), clip["EndTimecode"].as_str()),
            (Some("00:00:00:10"), Some("00:00:02:24"))
        );
        let same = run_args(&[
            "chunk",
            "--request",
            request,
            "--chunk",
            "1",
            "--frames",
            "60..125",
        ])
        .unwrap();
        assert_eq!(json, same);
        let err = run_args(&[
            "chunk",
            "--request",
            request,
            "--chunk",
            "5",
            "--plan",
            plan.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("no chunk 5"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_arguments_are_named_errors() {
        let err = run_args(&[
            "single",
            "--source",
            "s3://bucket/streams/s1_composited.mp4",
            "--size",
            "640x360",
        ])
        .unwrap_err();
        assert!(
            matches!(err, JobCmdError::Job(JobError::InvalidStreamName { .. })),
            "{err}"
        );
        assert!(
            run_args(&[
                "single",
                "--source",
                "s3://bucket/s1.mp4",
                "--size",
                "640by360"
            ])
            .is_err()
        );
        assert_eq!(
            parse_rate("30000/1001"),
            Ok(FrameRate {
                numerator: 30000,
                denominator: 1001
            })
        );
        assert!(parse_rate("0").is_err());
    }
}
