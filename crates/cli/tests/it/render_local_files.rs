//! `vidpipe render` of a request whose sources and output are local files: no moto, no table, no bus (the
//! process gets no AWS endpoint and no credentials), the render flow this binary carries, and the output written
//! next to the request, never over an existing file.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use vidpipe_testkit::media::{
    self, Frame, Picture, VideoSpec, colour_close, mean_volume_db, write_mp4, write_png,
};

const WIDTH: u32 = 160;
const HEIGHT: u32 = 90;
const FPS: u32 = 10;

/// `vidpipe render request.json` run from `dir`, with nothing of AWS in its environment.
fn render(dir: &Path, request: &Value) -> Output {
    std::fs::write(dir.join("request.json"), request.to_string()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_vidpipe"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_")
            || matches!(
                name.as_str(),
                "TABLE_NAME" | "EVENT_BUS_NAME" | "WEBHOOK_URL"
            )
        {
            command.env_remove(name);
        }
    }
    let output = command
        .current_dir(dir.parent().unwrap())
        .arg("render")
        .arg(Path::new(dir.file_name().unwrap()).join("request.json"))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

#[test]
fn a_request_of_local_files_renders_to_a_local_file_without_any_aws_service() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("assets")).unwrap();
    write_png(&project.join("assets/title.png"), "green", WIDTH, HEIGHT);
    write_mp4(
        &project.join("assets/clip.mp4"),
        &VideoSpec::new(Picture::Solid("blue".into()), WIDTH, HEIGHT, FPS, 3.0).with_tone(880),
    );
    let request = json!({
        "render_id": "local-1",
        "output": {"uri": "out/video.mp4", "width": WIDTH, "height": HEIGHT, "fps": FPS},
        "scenes": [
            {"id": "title", "duration_s": 2, "image": "assets/title.png"},
            {"id": "clip", "duration_s": 2, "video": "assets/clip.mp4"}
        ],
        "chunking": {"max_chunk_s": 1, "min_chunk_s": 0.5, "max_concurrency": 2}
    });
    std::fs::create_dir_all(project.join("out")).unwrap();

    let output = render(&project, &request);
    assert!(output.status.success(), "vidpipe render failed");
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    let video = project.join("out/video.mp4").canonicalize().unwrap();
    assert_eq!(
        outcome["output"]["output_uri"],
        json!(video.display().to_string()),
        "{outcome}"
    );
    assert_eq!(media::video_frame_count(&video), 40);
    let title = Frame::at_time(&video, 1.0).pixel(WIDTH / 2, HEIGHT / 2);
    let clip = Frame::at_time(&video, 3.0).pixel(WIDTH / 2, HEIGHT / 2);
    assert!(
        colour_close(title, [0, 128, 0], 40),
        "the title at 1 s: {title:?}"
    );
    assert!(
        colour_close(clip, [0, 0, 255], 40),
        "the clip at 3 s: {clip:?}"
    );
    assert!(
        mean_volume_db(&video, 2.3, 1.4) > -30.0,
        "the clip's own tone in its scene"
    );
    assert!(
        mean_volume_db(&video, 0.2, 1.6) < -60.0,
        "silence under the title"
    );
    assert!(
        !project.join("out/work").exists(),
        "the work folder is removed once the output is written"
    );

    // A second run never overwrites the output: refused before anything runs.
    let before = std::fs::read(&video).unwrap();
    let again = render(&project, &request);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "the reason is given"
    );
    assert_eq!(std::fs::read(&video).unwrap(), before);
}

#[test]
fn a_local_render_names_the_source_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    write_png(&project.join("title.png"), "green", WIDTH, HEIGHT);
    let scenes = |image: &str| {
        json!({
            "render_id": "local-2",
            "output": {"uri": "video.mp4", "width": WIDTH, "height": HEIGHT, "fps": FPS},
            "scenes": [{"id": "a", "duration_s": 1, "image": "title.png"}, {"id": "b", "duration_s": 1, "image": image}]
        })
    };
    for (image, says) in [
        ("missing.png", "scenes[1].image"),
        ("s3://bucket/title.png", "is in S3"),
    ] {
        let output = render(&project, &scenes(image));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{image}");
        assert!(stderr.contains(says), "{image}: {stderr}");
        assert!(!project.join("video.mp4").exists());
    }
}
