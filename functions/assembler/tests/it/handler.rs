//! The assembler handler on its sample events and on a whole mix-then-assemble run through a real (moto) S3, with
//! the error types a state machine catches.

use std::path::{Path, PathBuf};

use aws_sdk_s3 as s3;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use vidpipe_assembler::{AssemblerRequest, handle};
use vidpipe_engine::{Assembler, Storage};
use vidpipe_testkit::audio;
use vidpipe_testkit::media::{self, Picture, VideoSpec, write_mp4};
use vidpipe_testkit::{moto::MotoServer, unique_name};

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/assembler")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

async fn s3_client() -> s3::Client {
    vidpipe_aws::s3::client(&MotoServer::shared().sdk_config().await, true)
}

async fn assembler() -> Assembler {
    Assembler::new(Storage::with_s3(s3_client().await))
}

async fn call(payload: Value, assembler: &Assembler) -> Result<Value, Diagnostic> {
    handle(LambdaEvent::new(payload, Context::default()), assembler)
        .await
        .map(|response| serde_json::to_value(response).unwrap())
}

async fn put_file(client: &s3::Client, bucket: &str, key: &str, file: &Path) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(s3::primitives::ByteStream::from_path(file).await.unwrap())
        .send()
        .await
        .unwrap();
}

async fn exists(client: &s3::Client, bucket: &str, key: &str) -> bool {
    client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// A chunk MP4 of frames `[start, end)` of a 320x240 frame-counter source at 30 fps.
fn render_chunk(source: &Path, start: u64, end: u64, out: &Path) {
    media::ffmpeg(&strings(&[
        "-i",
        &source.display().to_string(),
        "-vf",
        &format!("trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS"),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-bf",
        "0",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
        &out.display().to_string(),
    ]));
}

#[test]
fn every_sample_event_is_a_valid_request() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/assembler");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["assemble.json", "mix-no-soundtrack.json", "mix.json"]
    );
    for name in names {
        let request: AssemblerRequest =
            serde_json::from_value(event(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let action = event(&name)["action"].as_str().unwrap().to_string();
        assert_eq!(
            matches!(request, AssemblerRequest::Mix(_)),
            action == "mix",
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_sample_events_run_against_s3() {
    let client = s3_client().await;
    // The sample events name this bucket; each test binary has its own moto server.
    client
        .create_bucket()
        .bucket("vidpipe-renders")
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, hz) in [("vo.mp3", 440), ("bed.mp3", 1000)] {
        let file = dir.path().join(name);
        media::ffmpeg(&strings(&[
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency={hz}:sample_rate=44100"),
            "-t",
            "2",
            "-c:a",
            "libmp3lame",
            &file.display().to_string(),
        ]));
        put_file(&client, "vidpipe-renders", &format!("assets/{name}"), &file).await;
    }
    let assembler = assembler().await;

    let mixed = call(event("mix.json"), &assembler).await.unwrap();
    assert_eq!(
        mixed,
        json!({"soundtrack_uri": "s3://vidpipe-renders/renders/promo-42/soundtrack.m4a", "duration_ms": 99500})
    );
    let local = dir.path().join("soundtrack.m4a");
    let object = client
        .get_object()
        .bucket("vidpipe-renders")
        .key("renders/promo-42/soundtrack.m4a")
        .send()
        .await
        .unwrap();
    std::fs::write(&local, object.body.collect().await.unwrap().into_bytes()).unwrap();
    let info = media::probe(&local);
    assert!((info.duration - 99.5).abs() < 0.001, "{info:?}");
    // The 2 s music is looped under the 2 s voice-over all the way to the fade.
    assert!(media::mean_volume_db(&local, 90.0, 5.0) > -45.0);

    let silent = call(event("mix-no-soundtrack.json"), &assembler)
        .await
        .unwrap();
    assert_eq!(
        silent,
        json!({"soundtrack_uri": null, "duration_ms": 99500})
    );

    // The chunks of the sample plan were never rendered here.
    let error = call(event("assemble.json"), &assembler).await.unwrap_err();
    assert_eq!(error.error_type, "ChunkMissing", "{}", error.error_message);
    assert!(
        error.error_message.contains("chunk 0")
            && error
                .error_message
                .contains("renders/promo-42/chunks/00000.mp4"),
        "{}",
        error.error_message
    );
    assert!(!exists(&client, "vidpipe-renders", "renders/promo-42.mp4").await);
}

#[tokio::test]
async fn mix_then_assemble_through_s3() {
    let client = s3_client().await;
    let bucket = unique_name("assembler");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let source = dir.path().join("source.mp4");
    write_mp4(
        &source,
        &VideoSpec::new(Picture::FrameCounter, 320, 240, 30, 2.0),
    );
    let mut chunks = Vec::new();
    for (index, (start, end)) in [(0u64, 25u64), (25, 60)].into_iter().enumerate() {
        let file = dir.path().join(format!("{index}.mp4"));
        render_chunk(&source, start, end, &file);
        let key = format!("renders/r1/chunks/{index:05}.mp4");
        put_file(&client, &bucket, &key, &file).await;
        chunks.push(
            json!({"index": index, "start_frame": start, "end_frame": end,
                           "output_uri": format!("s3://{bucket}/{key}")}),
        );
    }
    let voiceover = dir.path().join("vo.wav");
    media::write_tone_wav(&voiceover, 440, 3.0);
    put_file(&client, &bucket, "assets/vo.wav", &voiceover).await;
    let assembler = assembler().await;

    let mixed = call(
        json!({"action": "mix", "render_id": "r1", "soundtrack": {"voiceover": format!("s3://{bucket}/assets/vo.wav")},
               "total_frames": 60, "fps": 30, "output_uri": format!("s3://{bucket}/renders/r1/soundtrack.m4a")}),
        &assembler,
    )
    .await
    .unwrap();
    assert_eq!(mixed["duration_ms"], 2000);

    let output = json!({"uri": format!("s3://{bucket}/renders/r1.mp4"), "width": 320, "height": 240, "fps": 30});
    let request = json!({"action": "assemble", "render_id": "r1", "output": output, "total_frames": 60,
                         "chunks": chunks, "soundtrack_uri": mixed["soundtrack_uri"]});
    let assembled = call(request.clone(), &assembler).await.unwrap();
    assert_eq!(
        assembled,
        json!({"output_uri": format!("s3://{bucket}/renders/r1.mp4"), "frames": 60, "duration_ms": 2000})
    );
    let local = dir.path().join("r1.mp4");
    let object = client
        .get_object()
        .bucket(&bucket)
        .key("renders/r1.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("video/mp4"));
    std::fs::write(&local, object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(media::video_frame_count(&local), 60);
    let audio = media::probe(&local);
    assert_eq!(audio.audio().map(|a| a.codec.as_str()), Some("aac"));
    for (index, expected) in [(24, 24), (25, 25), (59, 59)] {
        let frame = media::Frame::at_index(&local, index);
        assert_eq!(media::read_frame_counter(&frame), expected);
    }

    // A chunk of the wrong size fails with the type a Catch matches, and nothing new is written.
    let odd = dir.path().join("odd.mp4");
    media::ffmpeg(&strings(&[
        "-i",
        &dir.path().join("1.mp4").display().to_string(),
        "-vf",
        "scale=160:120",
        "-c:v",
        "libx264",
        "-bf",
        "0",
        &odd.display().to_string(),
    ]));
    put_file(&client, &bucket, "renders/r1/chunks/00001.mp4", &odd).await;
    let mut request = request;
    request["output"]["uri"] = json!(format!("s3://{bucket}/renders/r1-again.mp4"));
    let error = call(request.clone(), &assembler).await.unwrap_err();
    assert_eq!(error.error_type, "ChunkMismatch", "{}", error.error_message);
    assert!(
        error
            .error_message
            .contains("size is 160x120, expected 320x240")
    );
    assert!(!exists(&client, &bucket, "renders/r1-again.mp4").await);
}

#[tokio::test]
async fn the_mix_hears_the_video_scenes_of_a_stored_request() {
    let client = s3_client().await;
    let bucket = unique_name("scenes");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A 1 s still, then 1 s of a clip with a 660 Hz tone at half volume, then 1 s of a clip without audio.
    let (toned, silent) = (dir.path().join("toned.mp4"), dir.path().join("silent.mp4"));
    write_mp4(
        &toned,
        &VideoSpec::new(Picture::Solid("red".into()), 64, 48, 30, 1.0).with_tone(660),
    );
    write_mp4(
        &silent,
        &VideoSpec::new(Picture::Solid("blue".into()), 64, 48, 30, 1.0),
    );
    put_file(&client, &bucket, "assets/toned.mp4", &toned).await;
    put_file(&client, &bucket, "assets/silent.mp4", &silent).await;
    let uri = |key: &str| format!("s3://{bucket}/{key}");
    let request = json!({
        "render_id": "scenes",
        "output": {"uri": uri("renders/scenes.mp4"), "width": 64, "height": 48, "fps": 30},
        "scenes": [
            {"id": "still", "duration_s": 1.0, "image": uri("assets/still.png")},
            {"id": "toned", "duration_s": 1.0, "video": uri("assets/toned.mp4"), "volume": 0.5},
            {"id": "silent", "duration_s": 1.0, "video": uri("assets/silent.mp4")}
        ]
    });
    let stored = dir.path().join("request.json");
    std::fs::write(&stored, request.to_string()).unwrap();
    put_file(&client, &bucket, "renders/scenes/request.json", &stored).await;
    let assembler = assembler().await;

    let mixed = call(
        json!({"action": "mix", "render_id": "scenes", "soundtrack": null, "total_frames": 90, "fps": 30,
               "output_uri": uri("renders/scenes/soundtrack.m4a"), "request": null,
               "request_uri": uri("renders/scenes/request.json")}),
        &assembler,
    )
    .await
    .unwrap();
    assert_eq!(
        mixed,
        json!({"soundtrack_uri": uri("renders/scenes/soundtrack.m4a"), "duration_ms": 3000})
    );
    let local = dir.path().join("soundtrack.m4a");
    let object = client
        .get_object()
        .bucket(&bucket)
        .key("renders/scenes/soundtrack.m4a")
        .send()
        .await
        .unwrap();
    std::fs::write(&local, object.body.collect().await.unwrap().into_bytes()).unwrap();
    let samples = audio::decode_mono(&local);
    let tone = |from: f64, to: f64| {
        let at = |s: f64| (s * f64::from(audio::RATE)) as usize;
        audio::fit_tone(&samples, at(from)..at(to), 660.0).amplitude
    };
    // ffmpeg's sine is 0.125 full scale; at volume 0.5, 0.0625.
    assert!(
        (tone(1.05, 1.95) - 0.0625).abs() < 0.004,
        "{}",
        tone(1.05, 1.95)
    );
    assert!(tone(0.05, 0.95) < 0.001 && tone(2.05, 2.95) < 0.001);

    // Muted, the only video with audio leaves nothing to mix: no soundtrack, nothing written.
    let mut muted = request.clone();
    muted["scenes"][1]["volume"] = json!(0);
    let mixed = call(
        json!({"action": "mix", "render_id": "scenes", "soundtrack": null, "total_frames": 90, "fps": 30,
               "output_uri": uri("renders/muted/soundtrack.m4a"), "request": muted}),
        &assembler,
    )
    .await
    .unwrap();
    assert_eq!(mixed, json!({"soundtrack_uri": null, "duration_ms": 3000}));
    assert!(!exists(&client, &bucket, "renders/muted/soundtrack.m4a").await);
}

#[tokio::test]
async fn bad_events_are_invalid_input() {
    let assembler = Assembler::new(Storage::local());
    let mut unknown_field = event("mix.json");
    unknown_field["volume"] = json!(1);
    let mut bad_volume = event("mix.json");
    bad_volume["soundtrack"]["music_volume"] = json!(3.0);
    let mut gap = event("assemble.json");
    gap["chunks"][1]["start_frame"] = json!(1500);
    for payload in [
        json!({"action": "render"}),
        json!({"render_id": "r"}),
        unknown_field,
        bad_volume,
        gap,
    ] {
        let error = call(payload.clone(), &assembler).await.unwrap_err();
        assert_eq!(
            error.error_type, "InvalidInput",
            "{payload}: {}",
            error.error_message
        );
    }
}
