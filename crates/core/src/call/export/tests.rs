use super::*;
use crate::call::composition::{ExportSettings, TrackSetting};
use crate::render::{Chunking, RenderRequest, Renderer};

const HD: Size = Size::new(1280, 720);

fn track(peer: &str, role: TrackRole, offset_ms: u64, duration_ms: u64) -> ExportTrack {
    ExportTrack {
        peer_id: PeerId::parse("peer_id", peer).unwrap(),
        role,
        uri: format!(
            "s3://calls/rooms/r/c/tracks/{peer}/{}/t.webm",
            role.as_str()
        ),
        offset_ms,
        duration_ms,
        size: HD,
    }
}

fn state(layout: Layout, timeline: Vec<TimelineEvent>) -> CompositionState {
    CompositionState {
        layout,
        timeline,
        tracks: Vec::new(),
        export: ExportSettings {
            resolution: "1920x1080".into(),
            fps: 30,
        },
    }
}

fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
    Rect {
        x,
        y,
        width,
        height,
    }
}

fn shown(layout: &ExportLayout, t: u64) -> Vec<(usize, Rect)> {
    layout
        .at(t)
        .unwrap()
        .tiles
        .iter()
        .map(|tile| (tile.track, tile.rect))
        .collect()
}

fn pin(t: u64, peer: &str) -> TimelineEvent {
    TimelineEvent::Pin {
        t,
        peer_id: peer.into(),
    }
}

#[test]
fn a_picture_keeps_its_aspect_centred_in_its_tile_on_even_pixels() {
    let cell = rect(960, 0, 960, 1080);
    assert_eq!(fit(cell, HD), rect(960, 270, 960, 540));
    // Portrait in landscape: full height, centred across.
    assert_eq!(
        fit(rect(0, 0, 1920, 1080), Size::new(720, 1280)),
        rect(656, 0, 606, 1080)
    );
    // An odd scale rounds down to even sizes that stay inside the tile.
    let r = fit(rect(0, 0, 640, 360), Size::new(641, 479));
    assert!(
        [r.width, r.height, r.x, r.y]
            .iter()
            .all(|v| v.is_multiple_of(2))
    );
    assert!(r.x + r.width <= 640 && r.y + r.height <= 360);
}

#[test]
fn grid_puts_every_visible_peer_in_a_tile_and_a_late_peer_appears_when_its_track_starts() {
    let tracks = [
        track("peer-a", TrackRole::Av, 0, 10_000),
        track("peer-b", TrackRole::Av, 0, 10_000),
        track("peer-c", TrackRole::Av, 4_000, 6_000),
    ];
    let layout = export_layout(&state(Layout::Grid, vec![]), &tracks).unwrap();
    assert_eq!(layout.duration_ms, 10_000);
    assert_eq!(
        layout
            .intervals
            .iter()
            .map(|i| (i.start_ms, i.end_ms))
            .collect::<Vec<_>>(),
        [(0, 4_000), (4_000, 10_000)]
    );
    // Two peers: two columns of 960x1080, each picture 960x540 in the middle.
    assert_eq!(
        shown(&layout, 3_999),
        [(0, rect(0, 270, 960, 540)), (1, rect(960, 270, 960, 540))]
    );
    // Three: two columns, two rows, the last row centred.
    assert_eq!(
        shown(&layout, 4_000),
        [
            (0, rect(0, 0, 960, 540)),
            (1, rect(960, 0, 960, 540)),
            (2, rect(480, 540, 960, 540)),
        ]
    );
    assert_eq!(layout.at(4_000).unwrap().main, None);
}

#[test]
fn a_peer_without_a_running_track_is_not_shown_and_a_rejoining_peer_comes_back() {
    let tracks = [
        track("peer-a", TrackRole::Av, 0, 9_000),
        track("peer-b", TrackRole::Av, 0, 3_000),
        track("peer-b", TrackRole::Av, 6_000, 3_000),
    ];
    let layout = export_layout(&state(Layout::Grid, vec![]), &tracks).unwrap();
    assert_eq!(shown(&layout, 1_000).len(), 2);
    assert_eq!(shown(&layout, 4_000), [(0, rect(0, 0, 1920, 1080))]);
    assert_eq!(
        shown(&layout, 7_000),
        [(0, rect(0, 270, 960, 540)), (2, rect(960, 270, 960, 540))]
    );
}

#[test]
fn speaker_shows_the_pinned_peer_large_and_the_others_in_a_strip() {
    let tracks = [
        track("peer-a", TrackRole::Av, 500, 9_500),
        track("peer-b", TrackRole::Av, 0, 10_000),
        track("peer-c", TrackRole::Av, 0, 10_000),
    ];
    let layout =
        export_layout(&state(Layout::Speaker, vec![pin(5_000, "peer-c")]), &tracks).unwrap();
    // Before any pin, the peer whose track started first (ties by id): peer-b, alone until peer-a joins.
    assert_eq!(layout.at(0).unwrap().main, Some(1));
    // Main tile 1920x864 (the strip is 216 high); strip cells a quarter of the width, centred.
    assert_eq!(
        shown(&layout, 1_000),
        [
            (1, rect(192, 0, 1536, 864)),
            (0, rect(480 + 48, 864, 384, 216)),
            (2, rect(960 + 48, 864, 384, 216)),
        ]
    );
    assert_eq!(layout.at(5_000).unwrap().main, Some(2));
    assert_eq!(shown(&layout, 5_000)[0], (2, rect(192, 0, 1536, 864)));
}

#[test]
fn pin_shows_the_pinned_peer_alone_and_layout_events_change_the_arrangement() {
    let tracks = [
        track("peer-a", TrackRole::Av, 0, 10_000),
        track("peer-b", TrackRole::Av, 0, 10_000),
    ];
    let timeline = vec![
        pin(2_000, "peer-b"),
        TimelineEvent::Layout {
            t: 2_000,
            layout: Layout::Pin,
        },
        TimelineEvent::Layout {
            t: 6_000,
            layout: Layout::Grid,
        },
        // After the end: ignored.
        TimelineEvent::Layout {
            t: 20_000,
            layout: Layout::Pin,
        },
    ];
    let layout = export_layout(&state(Layout::Grid, timeline), &tracks).unwrap();
    assert_eq!(
        layout
            .intervals
            .iter()
            .map(|i| (i.start_ms, i.layout))
            .collect::<Vec<_>>(),
        [
            (0, Layout::Grid),
            (2_000, Layout::Pin),
            (6_000, Layout::Grid)
        ]
    );
    assert_eq!(shown(&layout, 3_000), [(1, rect(0, 0, 1920, 1080))]);
    assert_eq!(layout.intervals.last().unwrap().end_ms, 10_000);
}

#[test]
fn a_screenshare_takes_the_main_tile_while_it_runs_in_every_layout() {
    let mut tracks = vec![
        track("peer-a", TrackRole::Av, 0, 10_000),
        track("peer-b", TrackRole::Av, 0, 10_000),
        track("peer-b", TrackRole::Screenshare, 3_000, 4_000),
    ];
    tracks[2].size = Size::new(1920, 1080);
    for layout in [Layout::Grid, Layout::Speaker] {
        let export = export_layout(&state(layout, vec![]), &tracks).unwrap();
        assert_eq!(export.at(3_000).unwrap().main, Some(2));
        assert_eq!(
            shown(&export, 3_000),
            [
                (2, rect(192, 0, 1536, 864)),
                (0, rect(480 + 48, 864, 384, 216)),
                (1, rect(960 + 48, 864, 384, 216)),
            ]
        );
        assert_ne!(export.at(7_000).unwrap().main, Some(2));
    }
    let pinned = export_layout(&state(Layout::Pin, vec![pin(0, "peer-a")]), &tracks).unwrap();
    assert_eq!(shown(&pinned, 2_999), [(0, rect(0, 0, 1920, 1080))]);
    assert_eq!(shown(&pinned, 3_000), [(2, rect(0, 0, 1920, 1080))]);
    assert_eq!(shown(&pinned, 7_000), [(0, rect(0, 0, 1920, 1080))]);
}

#[test]
fn an_event_that_changes_nothing_makes_no_interval_and_an_empty_call_is_refused() {
    let tracks = [track("peer-a", TrackRole::Av, 0, 4_000)];
    // A pin in grid changes no tile.
    let layout = export_layout(&state(Layout::Grid, vec![pin(1_000, "peer-a")]), &tracks).unwrap();
    assert_eq!(layout.intervals.len(), 1);
    assert_eq!(
        export_layout(&state(Layout::Grid, vec![]), &[]),
        Err(ExportError::NoMedia)
    );
}

#[test]
fn the_request_has_a_tiled_scene_per_interval_and_the_unmuted_peers_sound_for_their_whole_tracks() {
    let tracks = [
        track("peer-a", TrackRole::Av, 0, 6_000),
        track("peer-b", TrackRole::Av, 1_010, 4_990),
        track("peer-c", TrackRole::Av, 0, 6_000),
        track("peer-a", TrackRole::Screenshare, 2_000, 2_000),
    ];
    let mut state = state(Layout::Grid, vec![]);
    state.tracks = vec![TrackSetting {
        peer_id: "peer-c".into(),
        muted: true,
    }];
    let layout = export_layout(&state, &tracks).unwrap();
    let target = ExportTarget {
        render_id: "export-1".into(),
        uri: "s3://calls/rooms/r/c/processed/exports/export-1.mp4".into(),
        chunking: Chunking::default(),
        renderer: Renderer::MediaConvert,
    };
    let request = export_request(&state, &tracks, &layout, &target).unwrap();
    assert_eq!(
        (
            request.output.width,
            request.output.height,
            request.output.fps
        ),
        (1920, 1080, 30)
    );
    assert_eq!(request.total_frames(), 180);
    // Intervals: [0, 1010) [1010, 2000) [2000, 4000) [4000, 6000); 1010 ms is frame 30 (1000 ms).
    assert_eq!(request.scene_frames(), [30, 30, 60, 60]);
    let late = &request.scenes[1].tiles.as_ref().unwrap()[1];
    assert_eq!(
        (late.video.as_str(), late.start_s),
        (tracks[1].uri.as_str(), 0.0)
    );
    let share = &request.scenes[2].tiles.as_ref().unwrap()[0];
    assert_eq!(
        (share.video.as_str(), share.start_s),
        (tracks[3].uri.as_str(), 0.0)
    );
    // peer-a's tile in the third scene starts 2 s into its track.
    let a = request.scenes[2]
        .tiles
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.video == tracks[0].uri);
    assert_eq!(a.unwrap().start_s, 2.0);
    // Sound: peer-a and peer-b (peer-c is muted, the screenshare silent).
    let sounds = request.scene_sounds();
    let sounds: Vec<(&str, u64, u64)> = sounds
        .iter()
        .map(|s| (s.video.as_str(), s.start_frame, s.frames))
        .collect();
    assert_eq!(
        sounds,
        [
            (tracks[0].uri.as_str(), 0, 180),
            (tracks[1].uri.as_str(), 30, 150)
        ]
    );
    // The wire form reads back as the same request.
    let json = serde_json::to_string(&request).unwrap();
    assert_eq!(RenderRequest::from_json(&json).unwrap(), request);
}

#[test]
fn a_calls_tracks_become_export_tracks_from_their_probes_and_an_unprobed_one_is_named() {
    use crate::call::{Call, CallTrack};
    use crate::job::{FrameRate, MediaInfo};
    let stored = |peer: &str, role, started_at, key: &str| CallTrack {
        track_id: key.into(),
        peer_id: PeerId::parse("peer_id", peer).unwrap(),
        role,
        started_at,
        uploader: "owner".into(),
        key: format!("rooms/r/c/tracks/{peer}/{key}.webm"),
        created_at_ms: 0,
    };
    let call = Call {
        recording_id: "c".into(),
        room_id: "r".into(),
        owner: "owner".into(),
        created_at_ms: 0,
        expires_at: 0,
        tracks: vec![
            stored("peer-a", TrackRole::Av, 1_000_500, "t-1"),
            stored("peer-b", TrackRole::Screenshare, 1_000_000, "t-2"),
        ],
        composition: None,
        preview: None,
        export: None,
    };
    let probe = |width, height, rotation| MediaInfo {
        width,
        height,
        duration_ms: Some(3_000),
        frame_rate: Some(FrameRate::per_second(30)),
        has_audio: true,
        rotation,
    };
    let mut media = BTreeMap::from([
        (
            "s3://calls/rooms/r/c/tracks/peer-a/t-1.webm".to_owned(),
            probe(1280, 720, 90),
        ),
        (
            "s3://calls/rooms/r/c/tracks/peer-b/t-2.webm".to_owned(),
            probe(1920, 1080, 0),
        ),
    ]);
    let uploaded = call.uploaded_tracks(|_| true);
    let tracks = export_tracks(&uploaded, "calls", &media).unwrap();
    assert_eq!(
        tracks
            .iter()
            .map(|t| (
                t.peer_id.as_str(),
                t.role,
                t.offset_ms,
                t.duration_ms,
                t.size
            ))
            .collect::<Vec<_>>(),
        [
            ("peer-a", TrackRole::Av, 500, 3_000, Size::new(720, 1280)),
            (
                "peer-b",
                TrackRole::Screenshare,
                0,
                3_000,
                Size::new(1920, 1080)
            ),
        ]
    );
    media.values_mut().next().unwrap().duration_ms = None;
    assert_eq!(
        export_tracks(&uploaded, "calls", &media),
        Err(ExportError::NotProbed(
            "s3://calls/rooms/r/c/tracks/peer-a/t-1.webm".into()
        ))
    );
}
