//! Joining chunk MP4s in order without re-encoding the video (ffmpeg's concat demuxer with stream copy), with the
//! soundtrack muxed in and the index at the front of the file.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use vidpipe_core::render::{Chunk, Thumbnails};

use super::{AssembleError, Assembler, frames_to_ms, work_dir};
use crate::storage::{Location, StorageError};

/// One rendered chunk: its frame range in the plan and where its MP4 is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkFile {
    /// Index and frame range.
    pub chunk: Chunk,
    /// `s3://bucket/key` or a local path.
    pub uri: String,
}

/// What to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSpec {
    /// The chunks in order; they must cover `[0, total_frames)` with no gap or overlap.
    pub chunks: Vec<ChunkFile>,
    /// Width every chunk has, in pixels.
    pub width: u32,
    /// Height every chunk has, in pixels.
    pub height: u32,
    /// Frame rate every chunk has, in frames per second.
    pub fps: u32,
    /// Frames of the whole video.
    pub total_frames: u64,
    /// The mixed soundtrack (AAC, as [`Assembler::mix`] writes it), or none for a video without audio.
    pub soundtrack_uri: Option<String>,
    /// Where the joined MP4 goes.
    pub output_uri: String,
    /// Thumbnails of the joined video to write first, if any.
    pub thumbnails: Option<Thumbnails>,
    /// Whether an object already at `output_uri` is replaced: a transcoder job's output, which a stream's next
    /// generation rewrites as MediaConvert's would. A render's output is never replaced
    /// ([`AssembleError::OutputExists`]).
    pub replace: bool,
}

/// The joined video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// Video frames in the output (equal to the plan's).
    pub frames: u64,
    /// Length of the video in milliseconds.
    pub duration_ms: u64,
}

/// The properties of a chunk's video stream that the join compares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChunkStream {
    width: u64,
    height: u64,
    frame_rate: String,
    frames: u64,
    /// Properties every chunk must share with the first one, by name.
    shared: Vec<(&'static str, String)>,
}

impl ChunkStream {
    fn from_ffprobe(json: &Value) -> Option<Self> {
        let stream = json["streams"].as_array()?.first()?;
        let text = |key: &str| match &stream[key] {
            Value::String(s) => s.clone(),
            Value::Null => "none".to_string(),
            other => other.to_string(),
        };
        let number = |key: &str| text(key).parse::<u64>().unwrap_or(0);
        Some(Self {
            width: number("width"),
            height: number("height"),
            frame_rate: text("r_frame_rate"),
            frames: number("nb_read_packets"),
            shared: vec![
                ("codec", text("codec_name")),
                ("pixel format", text("pix_fmt")),
                ("profile", text("profile")),
                ("level", text("level")),
                ("time base", text("time_base")),
                ("codec parameters (extradata)", text("extradata_hash")),
            ],
        })
    }
}

/// `n/d` as a reduced fraction, or the text itself when it is not one.
fn reduced_rate(rate: &str) -> String {
    let parsed = rate
        .split_once('/')
        .and_then(|(n, d)| Some((n.parse::<u64>().ok()?, d.parse::<u64>().ok()?)));
    match parsed {
        Some((n, d)) if n > 0 && d > 0 => {
            let (mut a, mut b) = (n, d);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            format!("{}/{}", n / a, d / a)
        }
        _ => rate.to_string(),
    }
}

/// Quotes a path for a concat demuxer list (`'` closes the quote, an escaped `\'` adds a quote, `'` reopens).
fn concat_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl JoinSpec {
    /// Checks that the chunks are in order and cover `[0, total_frames)` exactly.
    fn check_plan(&self) -> Result<(), AssembleError> {
        let invalid = |message: String| Err(AssembleError::InvalidInput(message));
        if self.fps == 0 {
            return invalid("fps must be at least 1".into());
        }
        if self.chunks.is_empty() {
            return invalid("there are no chunks to join".into());
        }
        let mut next_frame = 0;
        for (position, file) in self.chunks.iter().enumerate() {
            let chunk = file.chunk;
            if chunk.index as usize != position {
                return invalid(format!(
                    "chunk at position {position} has index {}; chunks must be listed in index order from 0",
                    chunk.index
                ));
            }
            if chunk.start_frame != next_frame || chunk.end_frame <= chunk.start_frame {
                return invalid(format!(
                    "chunk {} covers frames [{}, {}) but the next frame to cover is {next_frame}",
                    chunk.index, chunk.start_frame, chunk.end_frame
                ));
            }
            next_frame = chunk.end_frame;
        }
        if next_frame != self.total_frames {
            return invalid(format!(
                "the chunks cover {next_frame} frames, the video has {}",
                self.total_frames
            ));
        }
        Ok(())
    }
}

impl Assembler {
    /// Joins the chunks of `spec` in order without re-encoding the video, muxes in the soundtrack (stream copy
    /// too), and writes an MP4 with its index at the front (`+faststart`) to `spec.output_uri`, after its
    /// thumbnails, if `spec.thumbnails` asks for them.
    ///
    /// Before joining, every chunk must exist ([`AssembleError::ChunkMissing`]) and match
    /// ([`AssembleError::ChunkMismatch`]): the plan's size, frame rate and frame count, and the first chunk's codec,
    /// profile, level, pixel format, time base and codec parameters. After joining, the video must have the
    /// plan's frame count ([`AssembleError::FrameCountMismatch`]). The output is written only where nothing is yet
    /// ([`AssembleError::OutputExists`]: a conditional write, so of two renders to one output only one ever writes
    /// it), unless `spec.replace`. Nothing is written on failure. Only the first video stream of each chunk is used.
    pub async fn join(&self, spec: &JoinSpec) -> Result<Joined, AssembleError> {
        spec.check_plan()?;
        let mut chunk_locations = Vec::with_capacity(spec.chunks.len());
        for file in &spec.chunks {
            let missing = || AssembleError::ChunkMissing {
                index: file.chunk.index,
                uri: file.uri.clone(),
            };
            let location = Location::parse(&file.uri).map_err(AssembleError::storage)?;
            match self.storage.head(&location).await {
                Err(StorageError::NotFound(_)) => return Err(missing()),
                Err(other) => return Err(AssembleError::storage(other)),
                Ok(_) => chunk_locations.push(location),
            }
        }

        let work = work_dir()?;
        let soundtrack = match &spec.soundtrack_uri {
            Some(uri) => {
                let path = self.fetch_source(uri, work.path()).await?;
                if !self.has_audio(&path).await? {
                    return Err(AssembleError::InvalidInput(format!(
                        "soundtrack [{uri}] has no audio stream"
                    )));
                }
                Some(path)
            }
            None => None,
        };

        let mut list = String::from("ffconcat version 1.0\n");
        let mut first: Option<ChunkStream> = None;
        for (file, location) in spec.chunks.iter().zip(&chunk_locations) {
            let path = self
                .storage
                .fetch(location, work.path())
                .await
                .map_err(|e| match e {
                    StorageError::NotFound(_) => AssembleError::ChunkMissing {
                        index: file.chunk.index,
                        uri: file.uri.clone(),
                    },
                    other => AssembleError::storage(other),
                })?;
            let path = std::path::absolute(&path).map_err(|source| {
                AssembleError::StorageFailed(StorageError::Io {
                    uri: file.uri.clone(),
                    source,
                })
            })?;
            let stream = self.check_chunk(spec, file, &path, first.as_ref()).await?;
            first.get_or_insert(stream);
            let frames = file.chunk.end_frame - file.chunk.start_frame;
            let seconds = frames as f64 / f64::from(spec.fps);
            writeln!(list, "file {}\nduration {seconds:.9}", concat_quote(&path))
                .expect("writing to a String cannot fail");
        }
        let list_path = work.path().join("chunks.ffconcat");
        tokio::fs::write(&list_path, list).await.map_err(|source| {
            AssembleError::StorageFailed(StorageError::Io {
                uri: list_path.display().to_string(),
                source,
            })
        })?;

        let joined = work.path().join("joined.mp4");
        self.ffmpeg(&join_args(&list_path, soundtrack.as_deref(), &joined))
            .await?;
        let frames = self.video_packets(&joined).await?;
        if frames != spec.total_frames {
            return Err(AssembleError::FrameCountMismatch {
                expected: spec.total_frames,
                found: frames,
            });
        }
        let duration_ms = frames_to_ms(frames, spec.fps);
        // Before the video: once the video is written a retry stops at `OutputExists`, so thumbnails written after
        // it would be lost to a failed upload.
        if let Some(thumbnails) = &spec.thumbnails {
            self.write_thumbnails(&joined, duration_ms, spec.width, thumbnails, work.path())
                .await?;
        }
        if spec.replace {
            self.store(&joined, &spec.output_uri).await?;
        } else {
            self.store_new(&joined, &spec.output_uri).await?;
        }
        tracing::info!(output = %spec.output_uri, frames, duration_ms, chunks = spec.chunks.len(), "joined chunks");
        Ok(Joined {
            frames,
            duration_ms,
        })
    }

    /// Probes one chunk and compares it with the plan and with the first chunk (`first`, none for the first).
    async fn check_chunk(
        &self,
        spec: &JoinSpec,
        file: &ChunkFile,
        path: &Path,
        first: Option<&ChunkStream>,
    ) -> Result<ChunkStream, AssembleError> {
        let json = self
            .probe_json(
                path,
                &[
                    "-select_streams",
                    "v:0",
                    "-count_packets",
                    "-show_data_hash",
                    "MD5",
                    "-show_entries",
                    "stream=codec_name,profile,level,pix_fmt,width,height,r_frame_rate,time_base,\
                     nb_read_packets,extradata_hash",
                ],
            )
            .await;
        let mismatch = |property: &'static str, expected: String, found: String| {
            AssembleError::ChunkMismatch {
                index: file.chunk.index,
                uri: file.uri.clone(),
                property,
                expected,
                found,
            }
        };
        let stream = match json {
            Ok(json) => ChunkStream::from_ffprobe(&json),
            Err(AssembleError::MediaFailed(error)) => {
                return Err(mismatch(
                    "media",
                    "an MP4 with a video stream".into(),
                    format!("unreadable ({error})"),
                ));
            }
            Err(other) => return Err(other),
        }
        .ok_or_else(|| mismatch("video stream", "one".into(), "none".into()))?;

        let planned_size = format!("{}x{}", spec.width, spec.height);
        let size = format!("{}x{}", stream.width, stream.height);
        if size != planned_size {
            return Err(mismatch("size", planned_size, size));
        }
        let planned_rate = format!("{}/1", spec.fps);
        if reduced_rate(&stream.frame_rate) != planned_rate {
            return Err(mismatch("frame rate", planned_rate, stream.frame_rate));
        }
        let planned_frames = file.chunk.end_frame - file.chunk.start_frame;
        if stream.frames != planned_frames {
            return Err(mismatch(
                "frames",
                planned_frames.to_string(),
                stream.frames.to_string(),
            ));
        }
        if let Some(first) = first {
            for ((property, expected), (_, found)) in first.shared.iter().zip(&stream.shared) {
                if expected != found {
                    return Err(mismatch(
                        property,
                        format!("{expected} (as chunk 0)"),
                        found.clone(),
                    ));
                }
            }
        }
        Ok(stream)
    }

    /// The number of packets (frames) in the first video stream of `file`, read from the container.
    async fn video_packets(&self, file: &Path) -> Result<u64, AssembleError> {
        let json = self
            .probe_json(
                file,
                &[
                    "-select_streams",
                    "v:0",
                    "-count_packets",
                    "-show_entries",
                    "stream=nb_read_packets",
                ],
            )
            .await?;
        let packets = &json["streams"][0]["nb_read_packets"];
        Ok(packets
            .as_str()
            .and_then(|p| p.parse().ok())
            .or_else(|| packets.as_u64())
            .unwrap_or(0))
    }
}

/// ffmpeg arguments joining the chunks in `list` (a concat demuxer list) with `soundtrack` into `output`.
///
/// `-auto_convert 0` keeps the concat demuxer from inserting `h264_mp4toannexb`, which would add parameter sets to
/// every keyframe: the video packets stay byte-identical to the chunks'.
fn join_args(list: &Path, soundtrack: Option<&Path>, output: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-i"]
        .map(String::from)
        .to_vec();
    args.push(list.display().to_string());
    if let Some(soundtrack) = soundtrack {
        args.extend(["-i".into(), soundtrack.display().to_string()]);
    }
    args.extend(["-map", "0:v:0"].map(String::from));
    if soundtrack.is_some() {
        args.extend(["-map", "1:a:0"].map(String::from));
    }
    args.extend(
        [
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            "-map_metadata",
            "-1",
            "-f",
            "mp4",
        ]
        .map(String::from),
    );
    args.push(output.display().to_string());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ranges: &[(u32, u64, u64)], total_frames: u64) -> JoinSpec {
        JoinSpec {
            chunks: ranges
                .iter()
                .map(|&(index, start_frame, end_frame)| ChunkFile {
                    chunk: Chunk {
                        index,
                        start_frame,
                        end_frame,
                    },
                    uri: format!("c{index}.mp4"),
                })
                .collect(),
            width: 320,
            height: 240,
            fps: 30,
            total_frames,
            soundtrack_uri: None,
            output_uri: "out.mp4".into(),
            thumbnails: None,
            replace: false,
        }
    }

    #[test]
    fn a_plan_must_cover_the_video_in_order() {
        assert!(spec(&[(0, 0, 30), (1, 30, 75)], 75).check_plan().is_ok());
        for (ranges, total) in [
            (vec![], 0),
            (vec![(0, 0, 30), (1, 31, 75)], 75),
            (vec![(0, 0, 30), (1, 29, 75)], 75),
            (vec![(1, 0, 30), (0, 30, 75)], 75),
            (vec![(0, 0, 30), (1, 30, 75)], 76),
            (vec![(0, 0, 0), (1, 0, 75)], 75),
        ] {
            let error = spec(&ranges, total).check_plan().unwrap_err();
            assert_eq!(error.error_type(), "InvalidInput", "{ranges:?} {total}");
        }
    }

    #[test]
    fn frame_rates_compare_reduced() {
        assert_eq!(reduced_rate("60/2"), "30/1");
        assert_eq!(reduced_rate("30000/1001"), "30000/1001");
        assert_eq!(reduced_rate("0/0"), "0/0");
    }

    #[test]
    fn concat_paths_are_quoted() {
        assert_eq!(concat_quote(Path::new("/a/it's.mp4")), r"'/a/it'\''s.mp4'");
    }
}
