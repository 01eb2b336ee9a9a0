//! CMAF groups' manifests: the tracks' child playlists are read back, and the main HLS playlist (audio as
//! `EXT-X-MEDIA` renditions) and the DASH MPD (a `SegmentList` with a `SegmentTimeline` per track) are written from them.

use std::fmt::Write as _;

use crate::probe::FrameRate;

/// The HLS rendition group of a CMAF group's audio tracks.
pub const AUDIO_GROUP_ID: &str = "program_audio";

/// The segments listed by a child playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSegments {
    /// The init segment (`EXT-X-MAP`).
    pub init: String,
    /// Each media segment and its duration in seconds.
    pub segments: Vec<(String, f64)>,
}

/// Reads the init segment and the segments of an fMP4 child playlist.
pub fn read_child_playlist(text: &str) -> Option<TrackSegments> {
    let mut init = None;
    let mut segments = Vec::new();
    let mut duration = None;
    for line in text.lines().map(str::trim) {
        if let Some(map) = line.strip_prefix("#EXT-X-MAP:") {
            init = map
                .split_once("URI=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(uri, _)| uri.to_string());
        } else if let Some(extinf) = line.strip_prefix("#EXTINF:") {
            duration = extinf.split(',').next().and_then(|d| d.parse::<f64>().ok());
        } else if !line.is_empty() && !line.starts_with('#') {
            segments.push((line.to_string(), duration.take()?));
        }
    }
    Some(TrackSegments {
        init: init?,
        segments,
    })
}

/// What a track carries, as the manifests describe it.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackMedia {
    /// Video of this size and frame rate.
    Video {
        /// Width and height in pixels.
        size: (u32, u32),
        /// Frame rate.
        rate: FrameRate,
    },
    /// Audio with this sample rate and channel count.
    Audio {
        /// Hz.
        sample_rate: u32,
        /// Channels.
        channels: u32,
    },
}

/// One track of a CMAF group.
#[derive(Debug, Clone, PartialEq)]
pub struct CmafTrack {
    /// Child playlist file name.
    pub playlist: String,
    /// Its segments.
    pub segments: TrackSegments,
    /// Video or audio, and its properties.
    pub media: TrackMedia,
    /// RFC 6381 codec string (`avc1.64001f`, `mp4a.40.2`).
    pub codecs: String,
    /// Average bits per second.
    pub bandwidth: i64,
}

impl CmafTrack {
    fn is_video(&self) -> bool {
        matches!(self.media, TrackMedia::Video { .. })
    }

    fn name(&self) -> &str {
        self.playlist
            .strip_suffix(".m3u8")
            .unwrap_or(&self.playlist)
    }
}

/// The main HLS playlist: each video track as a variant stream with the audio tracks as one `EXT-X-MEDIA`
/// rendition group (or, without video, each audio track as a variant).
pub fn main_playlist(tracks: &[CmafTrack]) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let audio: Vec<&CmafTrack> = tracks.iter().filter(|t| !t.is_video()).collect();
    let video: Vec<&CmafTrack> = tracks.iter().filter(|t| t.is_video()).collect();
    if video.is_empty() {
        for track in audio {
            writeln!(
                text,
                "#EXT-X-STREAM-INF:BANDWIDTH={0},AVERAGE-BANDWIDTH={0},CODECS=\"{1}\"\n{2}",
                track.bandwidth, track.codecs, track.playlist
            )
            .expect("writing to a String");
        }
        return text;
    }
    for (i, track) in audio.iter().enumerate() {
        let channels = match track.media {
            TrackMedia::Audio { channels, .. } => channels,
            TrackMedia::Video { .. } => 0,
        };
        writeln!(
            text,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP_ID}\",NAME=\"{}\",AUTOSELECT=YES,DEFAULT={},\
             CHANNELS=\"{channels}\",URI=\"{}\"",
            track.name(),
            if i == 0 { "YES" } else { "NO" },
            track.playlist
        )
        .expect("writing to a String");
    }
    let audio_bandwidth = audio.iter().map(|t| t.bandwidth).max().unwrap_or(0);
    let audio_codecs = audio.first().map(|t| t.codecs.as_str());
    for track in video {
        let TrackMedia::Video { size, rate } = track.media else {
            continue;
        };
        let bandwidth = track.bandwidth + audio_bandwidth;
        let codecs = match audio_codecs {
            Some(audio) => format!("{},{audio}", track.codecs),
            None => track.codecs.clone(),
        };
        write!(
            text,
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={bandwidth},RESOLUTION={}x{},\
             FRAME-RATE={:.3},CODECS=\"{codecs}\"",
            size.0,
            size.1,
            rate.fps()
        )
        .expect("writing to a String");
        if audio_codecs.is_some() {
            write!(text, ",AUDIO=\"{AUDIO_GROUP_ID}\"").expect("writing to a String");
        }
        writeln!(text, "\n{}", track.playlist).expect("writing to a String");
    }
    text
}

/// `PT{seconds}S` with millisecond precision.
fn iso_duration(seconds: f64) -> String {
    format!("PT{seconds:.3}S")
}

/// The DASH manifest (static, main profile): one adaptation set for the video tracks and one for the audio tracks,
/// so a player switches between the renditions of a ladder (it only switches within a set); each track a
/// representation with a `SegmentList` of its segments and their exact durations in a `SegmentTimeline`
/// (milliseconds).
pub fn mpd(tracks: &[CmafTrack], duration: f64, segment_length: u32) -> String {
    let mut text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
         profiles=\"urn:mpeg:dash:profile:isoff-main:2011\" minBufferTime=\"{}\" \
         mediaPresentationDuration=\"{}\">\n  <Period id=\"0\" start=\"PT0S\">\n",
        iso_duration(f64::from(segment_length)),
        iso_duration(duration)
    );
    let sets = [
        (
            "video",
            tracks.iter().filter(|t| t.is_video()).collect::<Vec<_>>(),
        ),
        ("audio", tracks.iter().filter(|t| !t.is_video()).collect()),
    ];
    for (id, (kind, members)) in sets.iter().filter(|(_, m)| !m.is_empty()).enumerate() {
        writeln!(
            text,
            "    <AdaptationSet id=\"{id}\" contentType=\"{kind}\" mimeType=\"{kind}/mp4\" \
             segmentAlignment=\"true\" startWithSAP=\"1\">"
        )
        .expect("writing to a String");
        for track in members {
            representation(&mut text, track);
        }
        text.push_str("    </AdaptationSet>\n");
    }
    text.push_str("  </Period>\n</MPD>\n");
    text
}

/// One track's `Representation`, with its segment list.
fn representation(text: &mut String, track: &CmafTrack) {
    let properties = match track.media {
        TrackMedia::Video { size, rate } => format!(
            " width=\"{}\" height=\"{}\" frameRate=\"{}/{}\"",
            size.0, size.1, rate.numerator, rate.denominator
        ),
        TrackMedia::Audio { sample_rate, .. } => format!(" audioSamplingRate=\"{sample_rate}\""),
    };
    writeln!(
        text,
        "      <Representation id=\"{}\" bandwidth=\"{}\" codecs=\"{}\"{properties}>",
        xml_escape(track.name()),
        track.bandwidth,
        track.codecs
    )
    .expect("writing to a String");
    if let TrackMedia::Audio { channels, .. } = track.media {
        writeln!(
            text,
            "        <AudioChannelConfiguration \
             schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"{channels}\"/>"
        )
        .expect("writing to a String");
    }
    writeln!(
        text,
        "        <SegmentList timescale=\"1000\">\n          <Initialization sourceURL=\"{}\"/>\n          \
         <SegmentTimeline>",
        xml_escape(&track.segments.init)
    )
    .expect("writing to a String");
    let mut start_ms = 0u64;
    for (_, seconds) in &track.segments.segments {
        let ms = (seconds * 1000.0).round() as u64;
        writeln!(text, "            <S t=\"{start_ms}\" d=\"{ms}\"/>")
            .expect("writing to a String");
        start_ms += ms;
    }
    text.push_str("          </SegmentTimeline>\n");
    for (segment, _) in &track.segments.segments {
        writeln!(
            text,
            "          <SegmentURL media=\"{}\"/>",
            xml_escape(segment)
        )
        .expect("writing to a String");
    }
    text.push_str("        </SegmentList>\n      </Representation>\n");
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"p_video_init.cmfv\"\n\
        #EXTINF:2.000000,\np_video_00001.cmfv\n#EXTINF:1.000000,\np_video_00002.cmfv\n#EXT-X-ENDLIST\n";

    fn tracks() -> Vec<CmafTrack> {
        let video = read_child_playlist(CHILD).unwrap();
        let mut audio = video.clone();
        audio.init = "p_audio_init.cmfa".into();
        vec![
            CmafTrack {
                playlist: "p_video.m3u8".into(),
                segments: video,
                media: TrackMedia::Video {
                    size: (320, 180),
                    rate: FrameRate {
                        numerator: 10,
                        denominator: 1,
                    },
                },
                codecs: "avc1.64000d".into(),
                bandwidth: 300_000,
            },
            CmafTrack {
                playlist: "p_audio.m3u8".into(),
                segments: audio,
                media: TrackMedia::Audio {
                    sample_rate: 48_000,
                    channels: 2,
                },
                codecs: "mp4a.40.2".into(),
                bandwidth: 128_000,
            },
        ]
    }

    #[test]
    fn child_playlists_are_read_back() {
        let segments = read_child_playlist(CHILD).unwrap();
        assert_eq!(segments.init, "p_video_init.cmfv");
        assert_eq!(
            segments.segments,
            [
                ("p_video_00001.cmfv".to_string(), 2.0),
                ("p_video_00002.cmfv".to_string(), 1.0)
            ]
        );
        assert!(read_child_playlist("#EXTM3U\nx.cmfv\n").is_none());
    }

    #[test]
    fn the_main_playlist_puts_audio_in_a_rendition_group() {
        let text = main_playlist(&tracks());
        assert!(text.contains(
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"program_audio\",NAME=\"p_audio\",AUTOSELECT=YES,DEFAULT=YES,\
             CHANNELS=\"2\",URI=\"p_audio.m3u8\""
        ), "{text}");
        assert!(text.contains(
            "#EXT-X-STREAM-INF:BANDWIDTH=428000,AVERAGE-BANDWIDTH=428000,RESOLUTION=320x180,FRAME-RATE=10.000,\
             CODECS=\"avc1.64000d,mp4a.40.2\",AUDIO=\"program_audio\"\np_video.m3u8\n"
        ), "{text}");
    }

    #[test]
    fn the_mpd_lists_every_segment_with_its_duration() {
        let text = mpd(&tracks(), 3.0, 2);
        assert!(text.contains("mediaPresentationDuration=\"PT3.000S\""));
        assert!(text.contains("<S t=\"0\" d=\"2000\"/>\n            <S t=\"2000\" d=\"1000\"/>"));
        assert!(text.contains("<Initialization sourceURL=\"p_audio_init.cmfa\"/>"));
        assert!(text.contains("width=\"320\" height=\"180\" frameRate=\"10/1\""));
        assert_eq!(text.matches("<SegmentURL").count(), 4);
    }

    #[test]
    fn the_renditions_of_a_ladder_share_one_video_adaptation_set() {
        let mut tracks = tracks();
        let mut smaller = tracks[0].clone();
        smaller.playlist = "p_180p.m3u8".into();
        tracks.insert(1, smaller);
        let text = mpd(&tracks, 3.0, 2);
        assert_eq!(text.matches("<AdaptationSet ").count(), 2, "{text}");
        let video_set = &text[text.find("contentType=\"video\"").unwrap()
            ..text.find("contentType=\"audio\"").unwrap()];
        assert_eq!(video_set.matches("<Representation ").count(), 2, "{text}");
    }
}
