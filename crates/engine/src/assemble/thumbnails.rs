//! Thumbnails of a joined video: still JPEGs at the middles of equal spans of it, written to a folder as
//! `thumb_0001.jpg`, ... (`vidpipe_core::render::thumbnail_name`). They are taken from the joined file the
//! assembler already holds, so they cost one short decode each (ffmpeg seeks to the keyframe before the time and
//! decodes from there), not a second pass over the video or a MediaConvert job.

use std::path::Path;

use vidpipe_core::render::{THUMBNAIL_WIDTH, Thumbnails, thumbnail_name};

use super::{AssembleError, Assembler};

/// The times (seconds) of `count` thumbnails of a video `duration_ms` long: the middle of each of `count` equal
/// spans, so none is the first frame (often black in a call) or past the end.
fn thumbnail_times(duration_ms: u64, count: u32) -> Vec<f64> {
    let count = count.max(1);
    (0..count)
        .map(|i| duration_ms as f64 / 1000.0 * (f64::from(i) + 0.5) / f64::from(count))
        .collect()
}

/// ffmpeg's arguments for one JPEG of `input` at `at_s`, `width` wide with the aspect kept (even height).
fn thumbnail_args(input: &Path, at_s: f64, width: u32, output: &Path) -> Vec<String> {
    vec![
        "-ss".into(),
        format!("{at_s:.3}"),
        "-i".into(),
        input.display().to_string(),
        "-frames:v".into(),
        "1".into(),
        "-vf".into(),
        format!("scale={width}:-2"),
        "-q:v".into(),
        "3".into(),
        "-f".into(),
        "image2".into(),
        output.display().to_string(),
    ]
}

impl Assembler {
    /// Writes `thumbnails.count` thumbnails of the local `video` (`duration_ms` long, `video_width` wide) into
    /// `thumbnails.uri`, overwriting any there (a retried assembly writes the same pictures).
    pub(super) async fn write_thumbnails(
        &self,
        video: &Path,
        duration_ms: u64,
        video_width: u32,
        thumbnails: &Thumbnails,
        work: &Path,
    ) -> Result<(), AssembleError> {
        let width = THUMBNAIL_WIDTH.min(video_width);
        for (i, at_s) in thumbnail_times(duration_ms, thumbnails.count)
            .into_iter()
            .enumerate()
        {
            let name = thumbnail_name(u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1));
            let file = work.join(&name);
            self.ffmpeg(&thumbnail_args(video, at_s, width, &file))
                .await?;
            self.store(&file, &format!("{}{name}", thumbnails.uri))
                .await?;
        }
        tracing::info!(folder = %thumbnails.uri, count = thumbnails.count, "thumbnails written");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_at_the_middles_of_equal_spans() {
        assert_eq!(thumbnail_times(10_000, 5), [1.0, 3.0, 5.0, 7.0, 9.0]);
        assert_eq!(thumbnail_times(3_000, 1), [1.5]);
        assert_eq!(thumbnail_times(3_000, 0), [1.5]);
    }
}
