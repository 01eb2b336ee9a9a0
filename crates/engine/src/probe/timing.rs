//! Timing read from a file's packets, for recordings whose container does not state it.
//!
//! A browser's MediaRecorder writes WebM as a live stream: no duration in the header, usually no cues, and no frame
//! rate (ffprobe then reports the timestamp resolution, `1000/1`, or nothing). Its MP4 is fragmented, with a mean
//! rate such as `89250/2993` beside a guessed `30/1`. Reading every packet's timestamp (demuxing only, no decoding:
//! a 4 s recording takes a few milliseconds, an hour well under a second per hundred MB) gives both.

use std::collections::BTreeMap;

use super::FrameRate;

/// The ffprobe arguments that list every packet's stream, timestamps and duration as CSV.
pub(crate) fn packet_args(path: &str) -> Vec<String> {
    [
        "-show_entries",
        "packet=stream_index,pts_time,dts_time,duration_time",
        "-of",
        "csv=p=0",
        path,
    ]
    .map(String::from)
    .to_vec()
}

/// When each stream's packets start and end.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PacketTiming {
    streams: BTreeMap<usize, StreamTiming>,
}

/// One stream's packets.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StreamTiming {
    /// Presentation times in seconds, in presentation order.
    times: Vec<f64>,
    /// The end of the last packet whose duration is known (its time plus its duration).
    stated_end: Option<f64>,
}

impl StreamTiming {
    /// The first presentation time.
    pub(crate) fn first(&self) -> Option<f64> {
        self.times.first().copied()
    }

    /// The typical gap between consecutive packets, in seconds: the mean of the middle half of the gaps. Capture
    /// timestamps jitter, often alternately early and late, so a single middle gap can be a late one; the long
    /// gaps of a static screen and the short ones after a stall fall outside the middle half.
    fn typical_interval(&self) -> Option<f64> {
        let mut gaps: Vec<f64> = self
            .times
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|g| *g > 0.0)
            .collect();
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_by(f64::total_cmp);
        let quarter = gaps.len() / 4;
        let middle = &gaps[quarter..gaps.len() - quarter];
        Some(middle.iter().sum::<f64>() / middle.len() as f64)
    }

    /// Where the stream ends: after its last packet, whose duration is the stated one or, when the container
    /// states none (MediaRecorder's WebM video), the typical gap.
    pub(crate) fn end(&self) -> Option<f64> {
        let last = *self.times.last()?;
        let implied = last + self.typical_interval().unwrap_or(0.0);
        Some(self.stated_end.map_or(implied, |end| end.max(last)))
    }

    /// The rate the stream was recorded at: the typical gap between frames, as a rate, taken to the nearest
    /// capture rate (5, 10, 12, 15, 20, 24, 25, 30, 50, 60 or 120 fps). `None` for fewer than two frames.
    ///
    /// Not the mean over the whole file: a variable-rate recording (a browser's screen capture sends frames only
    /// when the picture changes, a camera drops frames under load) runs at its capture rate most of the time. And
    /// always a capture rate: a browser stamps frames with the wall clock, so the measured rate wanders with the
    /// load (18 fps in one recording, 17 in the next of the same 15-to-60 fps canvas), and a rate such as 17 fps
    /// makes no whole number of frames of most scene lengths, so a render's chunk of it came out a frame long.
    pub(crate) fn nominal_rate(&self) -> Option<FrameRate> {
        let fps = 1.0 / self.typical_interval()?;
        CAPTURE_RATES
            .iter()
            .map(|&numerator| FrameRate {
                numerator,
                denominator: 1,
            })
            .min_by(|a, b| (a.fps() - fps).abs().total_cmp(&(b.fps() - fps).abs()))
    }
}

/// Rates capture devices and browsers record at (browsers stamp frames with the wall clock, so never 29.97).
const CAPTURE_RATES: [i32; 11] = [5, 10, 12, 15, 20, 24, 25, 30, 50, 60, 120];

impl PacketTiming {
    /// Parses `packet_args`' output: `stream_index,pts_time,dts_time,duration_time` per line (`N/A` where unknown;
    /// ffprobe may add empty fields at the end).
    pub(crate) fn parse(csv: &str) -> Self {
        let mut streams: BTreeMap<usize, StreamTiming> = BTreeMap::new();
        for line in csv.lines() {
            let mut fields = line.split(',');
            let (Some(index), Some(pts), Some(dts), duration) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(index) = index.trim().parse::<usize>() else {
                continue;
            };
            let seconds = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            let Some(time) = seconds(pts).or_else(|| seconds(dts)) else {
                continue;
            };
            let stream = streams.entry(index).or_default();
            stream.times.push(time);
            if let Some(d) = duration.and_then(seconds).filter(|d| *d > 0.0) {
                stream.stated_end = Some(stream.stated_end.map_or(time + d, |e| e.max(time + d)));
            }
        }
        for stream in streams.values_mut() {
            stream.times.sort_by(f64::total_cmp);
        }
        Self { streams }
    }

    /// The packets of the stream with ffprobe's `index`.
    pub(crate) fn stream(&self, index: usize) -> Option<&StreamTiming> {
        self.streams.get(&index)
    }

    /// The file's length: from its earliest packet to the end of its latest stream.
    pub(crate) fn duration(&self) -> Option<f64> {
        let start = self
            .streams
            .values()
            .filter_map(StreamTiming::first)
            .min_by(f64::total_cmp)?;
        let end = self
            .streams
            .values()
            .filter_map(StreamTiming::end)
            .max_by(f64::total_cmp)?;
        Some(end - start).filter(|d| *d > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of ffprobe's listing of a MediaRecorder WebM: Opus packets with durations, VP8 without, video
    /// starting late.
    const WEBM: &str = "1,0.000000,0.000000,0.020000\n\
                        0,0.662000,0.662000,N/A,\n\
                        1,0.020000,0.020000,0.020000\n\
                        0,0.695000,0.695000,N/A,\n\
                        0,0.729000,0.729000,N/A\n\
                        0,0.762000,0.762000,N/A\n\
                        1,0.780000,0.780000,0.020000\n\
                        garbage\n\
                        0,N/A,0.795000,N/A\n";

    #[test]
    fn a_webm_without_durations_lasts_from_its_first_packet_to_its_last_frame_end() {
        let timing = PacketTiming::parse(WEBM);
        let video = timing.stream(0).unwrap();
        assert_eq!(video.first(), Some(0.662));
        // The last frame (read from its dts) lasts the typical gap, 33 ms.
        assert!((video.end().unwrap() - 0.828).abs() < 1e-6, "{video:?}");
        assert!((timing.duration().unwrap() - 0.828).abs() < 1e-6);
        let audio = timing.stream(1).unwrap();
        assert!((audio.end().unwrap() - 0.8).abs() < 1e-9);
    }

    #[test]
    fn a_jittery_capture_rate_snaps_to_the_common_rate_near_it() {
        let times: Vec<String> = (0..60)
            .map(|i| {
                let jitter = [0.004, -0.003, 0.002, -0.004][i % 4];
                format!(
                    "0,{:.6},{:.6},N/A",
                    i as f64 / 30.0 + jitter,
                    i as f64 / 30.0
                )
            })
            .collect();
        let timing = PacketTiming::parse(&times.join("\n"));
        assert_eq!(
            timing.stream(0).unwrap().nominal_rate(),
            Some(FrameRate {
                numerator: 30,
                denominator: 1
            })
        );
    }

    #[test]
    fn a_wandering_rate_is_taken_to_the_nearest_capture_rate() {
        let at = |gap: f64| {
            let lines: Vec<String> = (0..10)
                .map(|i| format!("0,{:.6},N/A,N/A", i as f64 * gap))
                .collect();
            PacketTiming::parse(&lines.join("\n"))
                .stream(0)
                .unwrap()
                .nominal_rate()
                .unwrap()
        };
        assert_eq!(at(1.0 / 17.0).numerator, 15);
        assert_eq!(at(1.0 / 18.0).numerator, 20);
        assert_eq!(at(1.0 / 37.0).numerator, 30);
        assert_eq!(at(0.001).numerator, 120);
        assert_eq!(at(4.0).numerator, 5);
        assert!((0..10).all(|i| at(1.0 / (10.0 + i as f64 * 5.0)).denominator == 1));
    }

    #[test]
    fn one_frame_has_no_rate_and_no_packets_no_duration() {
        let timing = PacketTiming::parse("0,0.000000,0.000000,0.040000\n");
        assert_eq!(timing.stream(0).unwrap().nominal_rate(), None);
        assert_eq!(timing.duration(), Some(0.04));
        assert_eq!(PacketTiming::parse("").duration(), None);
    }
}
