//! A caller's render is confined to the caller's space: every rule refused by the named field, before anything is
//! read, probed or written.

use std::sync::Mutex;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use vidpipe_chunker::{RenderLimits, handle};
use vidpipe_core::job::{FrameRate, MediaInfo};
use vidpipe_core::keys::{asset_prefix, render_prefix};
use vidpipe_core::render::Renderer;
use vidpipe_core::render::ports::{
    FetchError, HeaderReader, PutError, RequestReader, RequestWriter, VideoProbeError, VideoProber,
};
use vidpipe_core::render::scope::RenderScope;
use vidpipe_core::s3uri::S3Uri;

const BUCKET: &str = "media";
const OWNER: &str = "jwt:user-1";
const RENDERER: &str = "arn:aws:lambda:us-east-1:123456789012:function:allowed";

/// Every call the chunker makes to the outside, in order; reads answer as a 400x200 PNG or a 10 s video.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn note(&self, what: &str, uri: &S3Uri) {
        self.0.lock().unwrap().push(format!("{what} {uri}"));
    }

    fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl RequestReader for Recorder {
    async fn fetch(&self, uri: &S3Uri, _limit: u64) -> Result<Vec<u8>, FetchError> {
        self.note("fetch", uri);
        Err(FetchError::NotFound(uri.clone()))
    }
}

impl HeaderReader for Recorder {
    async fn fetch_header(&self, uri: &S3Uri, len: u64) -> Result<Vec<u8>, FetchError> {
        self.note("header", uri);
        let mut header = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        header.extend_from_slice(&400u32.to_be_bytes());
        header.extend_from_slice(&200u32.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        header.truncate(len as usize);
        Ok(header)
    }
}

impl RequestWriter for Recorder {
    async fn put(&self, uri: &S3Uri, _json: Vec<u8>) -> Result<(), PutError> {
        self.note("put", uri);
        Ok(())
    }
}

impl VideoProber for Recorder {
    async fn probe(&self, uri: &S3Uri) -> Result<MediaInfo, VideoProbeError> {
        self.note("probe", uri);
        Ok(MediaInfo {
            width: 1280,
            height: 720,
            duration_ms: Some(10_000),
            frame_rate: Some(FrameRate::per_second(30)),
            has_audio: false,
            rotation: 0,
        })
    }
}

fn scope() -> RenderScope {
    RenderScope {
        bucket: Some(BUCKET.into()),
        key_prefix: "videos/".into(),
        shared_assets_prefix: Some("videos/shared/".into()),
        renderer_arns: vec![RENDERER.into()],
        export_renderer: None,
    }
}

fn asset(name: &str) -> String {
    format!("s3://{BUCKET}/{}{name}", asset_prefix("videos/", OWNER))
}

/// The API's task input for `OWNER`'s render `r-1`: own assets, a shared one, the server-chosen output.
fn owned_input() -> Value {
    json!({
        "owner": OWNER,
        "render_id": "r-1",
        "execution": "r-1",
        "request": {
            "render_id": "r-1",
            "output": {"uri": format!("s3://{BUCKET}/{}output.mp4", render_prefix("videos/", OWNER, "r-1")),
                       "width": 640, "height": 360, "fps": 30},
            "scenes": [
                {"id": "a", "duration_s": 2.0, "image": asset("a1/title.png")},
                {"id": "b", "duration_s": 2.0, "video": asset("a2/clip.mp4"),
                 "overlay": {"image": format!("s3://{BUCKET}/videos/shared/logo.png"), "x": "right", "y": "top", "scale": 0.2}}
            ],
            "soundtrack": {"music": asset("a3/bed.mp3")}
        }
    })
}

async fn run(input: Value) -> (Result<Value, (String, String)>, Vec<String>) {
    let recorder = Recorder::default();
    let result = handle(
        LambdaEvent::new(input, Context::default()),
        &recorder,
        &recorder,
        &RenderLimits::default(),
        &scope(),
    )
    .await
    .map(|plan| serde_json::to_value(plan).unwrap())
    .map_err(|e| (e.error_type, e.error_message));
    (result, recorder.calls())
}

#[tokio::test]
async fn a_callers_own_render_is_planned_in_its_render_folder() {
    let (plan, calls) = run(owned_input()).await;
    let plan = plan.unwrap();
    // The owner travels in the plan, for the states after it.
    assert_eq!(plan["owner"], OWNER);
    let folder = format!("s3://{BUCKET}/videos/renders/jwt%3Auser-1/r-1/");
    assert_eq!(
        plan["chunks"][0]["output_uri"],
        format!("{folder}work/r-1/chunks/00000.mp4")
    );
    assert_eq!(
        plan["soundtrack_uri"],
        format!("{folder}work/r-1/soundtrack.m4a")
    );
    assert_eq!(
        calls.len(),
        2,
        "the video and the overlay probed: {calls:?}"
    );
}

#[tokio::test]
async fn every_confinement_rule_is_refused_by_its_field_before_anything_is_read_or_written() {
    let other_owner = format!(
        "s3://{BUCKET}/{}a2/clip.mp4",
        asset_prefix("videos/", "jwt:user-2")
    );
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, &str, Edit)> = vec![
        (
            "scenes[1].video",
            "not one of your assets",
            Box::new(move |v| v["request"]["scenes"][1]["video"] = other_owner.clone().into()),
        ),
        (
            "soundtrack.music",
            "not in the bucket `media`",
            Box::new(|v| v["request"]["soundtrack"]["music"] = "s3://other-bucket/bed.mp3".into()),
        ),
        (
            "scenes[0].image",
            "`..` key segment",
            Box::new(|v| {
                v["request"]["scenes"][0]["image"] =
                    asset("../../jwt%3Auser-2/a1/title.png").into();
            }),
        ),
        (
            "scenes[1].overlay.image",
            "control character",
            Box::new(|v| {
                v["request"]["scenes"][1]["overlay"]["image"] =
                    format!("s3://{BUCKET}/videos/shared/lo\u{7}go.png").into();
            }),
        ),
        (
            "output.uri",
            "chosen by the server",
            Box::new(|v| {
                v["request"]["output"]["uri"] =
                    format!("s3://{BUCKET}/videos/stream-1_composited.mp4").into();
            }),
        ),
        (
            "renderer.lambda",
            "RENDERER_ARNS",
            Box::new(|v| {
                v["request"]["renderer"] =
                    json!({"lambda": "arn:aws:lambda:us-east-1:123456789012:function:other"});
            }),
        ),
        (
            "render_id",
            "is not the render's",
            Box::new(|v| v["render_id"] = "r-2".into()),
        ),
    ];
    for (field, reason, edit) in cases {
        let mut input = owned_input();
        edit(&mut input);
        let (result, calls) = run(input).await;
        let (error, message) = result.expect_err(field);
        assert_eq!(error, "InvalidRenderRequest", "{field}: {message}");
        assert!(
            message.contains(&format!("{field}: ")) && message.contains(reason),
            "{field}: {message}"
        );
        assert_eq!(
            calls,
            Vec::<String>::new(),
            "{field}: nothing read or written"
        );
    }
}

#[tokio::test]
async fn an_operators_render_keeps_to_the_bucket_and_the_renderer_list() {
    let mut input = owned_input();
    for field in ["owner", "render_id", "execution"] {
        input.as_object_mut().unwrap().remove(field);
    }
    input["request"]["output"]["uri"] = format!("s3://{BUCKET}/anywhere/promo.mp4").into();
    let (plan, _) = run(input.clone()).await;
    assert_eq!(
        plan.unwrap()["chunks"][0]["output_uri"],
        format!("s3://{BUCKET}/anywhere/work/r-1/chunks/00000.mp4"),
        "without an execution the render id names the work folder"
    );
    let mut elsewhere = input.clone();
    elsewhere["request"]["output"]["uri"] = "s3://other-bucket/promo.mp4".into();
    let mut climbing = input;
    climbing["request"]["scenes"][0]["image"] = format!("s3://{BUCKET}/a/../b.png").into();
    for (input, field) in [(elsewhere, "output.uri: "), (climbing, "scenes[0].image: ")] {
        let (result, calls) = run(input).await;
        let (_, message) = result.unwrap_err();
        assert!(message.contains(field), "{message}");
        assert!(calls.is_empty(), "{calls:?}");
    }
}

/// The state machine's input of a call's export `e-1`: two peers' tracks (peer-2 1.5 s late), a grid.
fn export_input() -> Value {
    let track = |id: &str, peer: &str, offset_ms: u64| {
        json!({"track_id": id, "peer_id": peer, "role": "av", "offset_ms": offset_ms,
               "key": format!("videos/rooms/room-1/rec-1/tracks/{peer}/av/{id}.webm")})
    };
    json!({
        "render_id": "e-1",
        "execution": "e-1",
        "export": {
            "export_id": "e-1", "room_id": "room-1", "recording_id": "rec-1", "composition_version": 2,
            "state": {"layout": "grid", "timeline": [], "tracks": [{"peer_id": "peer-2", "muted": true}],
                      "export": {"resolution": "1280x720", "fps": 30}},
            "tracks": [track("t-1", "peer-1", 0), track("t-2", "peer-2", 1_500)]
        }
    })
}

#[tokio::test]
async fn a_calls_export_is_laid_out_from_its_probed_tracks_into_its_folder() {
    let (plan, calls) = run(export_input()).await;
    let plan = plan.unwrap();
    let folder = "s3://media/videos/rooms/room-1/rec-1/";
    // Each track is probed once: for the layout, and its result kept for the chunks.
    assert_eq!(
        calls,
        [
            format!("probe {folder}tracks/peer-1/av/t-1.webm"),
            format!("probe {folder}tracks/peer-2/av/t-2.webm"),
        ]
    );
    assert_eq!(plan["render_id"], "e-1");
    assert_eq!(plan["owner"], Value::Null);
    assert_eq!(
        plan["output"],
        json!({"uri": format!("{folder}processed/exports/e-1.mp4"), "width": 1280, "height": 720, "fps": 30,
               "thumbnails": {"uri": format!("{folder}processed/thumbnails/e-1/"), "count": 5}})
    );
    // Until the late peer's 10 s track ends.
    assert_eq!(plan["total_frames"], 345);
    let request = &plan["request"];
    let scenes = request["scenes"].as_array().unwrap();
    let shown: Vec<usize> = scenes
        .iter()
        .map(|s| s["tiles"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        shown,
        [1, 2, 1],
        "peer-1, both, then the late peer until its track ends"
    );
    assert_eq!(
        request["sounds"],
        json!([{"source": format!("{folder}tracks/peer-1/av/t-1.webm"), "at_s": 0.0, "start_s": 0.0,
                "duration_s": 10.0}]),
        "the muted peer is not heard"
    );
    assert_eq!(
        plan["chunks"][0]["output_uri"],
        format!("{folder}processed/exports/work/e-1/chunks/00000.mp4")
    );
}

#[tokio::test]
async fn an_export_naming_anything_but_the_calls_tracks_is_refused_before_anything_is_read() {
    let mut cases = Vec::new();
    for key in [
        "videos/rooms/room-2/rec-1/tracks/peer-1/av/t-1.webm",
        "videos/rooms/room-1/rec-1/tracks/peer-1/av/../../../../../../assets/jwt%3Auser-2/a/x.webm",
        "videos/rooms/room-1/rec-1/tracks/peer-1/av/t-1%2F..webm",
        "videos/assets/jwt%3Auser-1/a2/clip.mp4",
        "other/rooms/room-1/rec-1/tracks/peer-1/av/t-1.webm",
    ] {
        let mut input = export_input();
        input["export"]["tracks"][0]["key"] = key.into();
        cases.push((input, format!("`{key}` is not a track of this call")));
    }
    let mut both = export_input();
    both["request_uri"] = "s3://media/videos/x.json".into();
    cases.push((both, "exactly one of".into()));
    let mut id = export_input();
    id["render_id"] = "e-2".into();
    cases.push((id, "render_id".into()));
    for (input, expected) in cases {
        let (result, calls) = run(input).await;
        let (error_type, message) = result.unwrap_err();
        assert_eq!(error_type, "InvalidRenderRequest", "{message}");
        assert!(message.contains(&expected), "{message} lacks {expected}");
        if expected != "render_id" {
            assert!(calls.is_empty(), "{calls:?}");
        }
    }
}

#[tokio::test]
async fn an_export_is_rendered_by_the_configured_export_renderer_with_its_request_by_reference() {
    let recorder = Recorder::default();
    let scope = RenderScope {
        export_renderer: Some(RENDERER.into()),
        ..scope()
    };
    let plan = handle(
        LambdaEvent::new(export_input(), Context::default()),
        &recorder,
        &recorder,
        &RenderLimits::default(),
        &scope,
    )
    .await
    .unwrap();
    assert_eq!(plan.renderer, Renderer::Lambda(RENDERER.into()));
    // A function renders each chunk from the stored request and probe results.
    let work = "s3://media/videos/rooms/room-1/rec-1/processed/exports/work/e-1/";
    assert_eq!(plan.request_uri, Some(format!("{work}request.json")));
    assert_eq!(plan.media_uri, Some(format!("{work}media.json")));
    assert!(
        recorder
            .calls()
            .contains(&format!("put {work}request.json"))
    );
}
