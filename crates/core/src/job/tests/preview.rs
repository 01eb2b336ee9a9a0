//! The preview builder.

use super::*;

#[test]
fn hls_preview_has_4s_segments_auto_gop_and_a_poster() {
    let destination = "s3://bucket/previews/p1/".parse().unwrap();
    let job = preview_job(
        &ctx(),
        &screen(),
        &destination,
        "p1",
        &PreviewOptions::default(),
    )
    .unwrap();
    let groups = job.settings.output_groups.as_ref().unwrap();
    let hls = groups[0]
        .output_group_settings
        .as_ref()
        .unwrap()
        .hls_group_settings
        .as_ref()
        .unwrap();
    assert_eq!(hls.segment_length, Some(4));
    assert_eq!(
        hls.destination.as_deref(),
        Some("s3://bucket/previews/p1/index")
    );
    let rendition = &groups[0].outputs.as_ref().unwrap()[0];
    let h264 = h264_of(rendition);
    assert_eq!(
        (h264.gop_size_units, h264.gop_size, h264.gop_closed_cadence),
        (Some(H264GopSizeUnits::Auto), None, None)
    );
    assert!(rendition.audio_descriptions.is_some());
    let video = rendition.video_description.as_ref().unwrap();
    assert_eq!((video.width, video.height), (Some(1280), Some(720)));
    let poster = &groups[1].outputs.as_ref().unwrap()[0];
    let capture = poster
        .video_description
        .as_ref()
        .unwrap()
        .codec_settings
        .as_ref()
        .unwrap();
    assert_eq!(capture.codec, Some(VideoCodec::FrameCapture));
    assert_eq!(
        capture
            .frame_capture_settings
            .as_ref()
            .unwrap()
            .max_captures,
        Some(1)
    );
    assert_eq!(
        file_destination(&Job::poster_first(&job)),
        "s3://bucket/previews/p1/poster"
    );
}

#[test]
fn cmaf_preview_puts_audio_in_its_own_output() {
    let destination = "s3://bucket/previews/p1/".parse().unwrap();
    let options = PreviewOptions {
        format: PreviewFormat::Cmaf,
        ..Default::default()
    };
    let job = preview_job(&ctx(), &screen(), &destination, "p1", &options).unwrap();
    let group = &job.settings.output_groups.as_ref().unwrap()[0];
    let cmaf = group
        .output_group_settings
        .as_ref()
        .unwrap()
        .cmaf_group_settings
        .as_ref()
        .unwrap();
    assert_eq!(cmaf.segment_length, Some(4));
    let outs = group.outputs.as_ref().unwrap();
    assert_eq!(outs.len(), 2);
    assert!(outs[0].audio_descriptions.is_none() && outs[0].video_description.is_some());
    assert!(outs[1].audio_descriptions.is_some() && outs[1].video_description.is_none());
    let err = preview_job(
        &ctx(),
        &screen(),
        &"s3://bucket/previews/p1".parse().unwrap(),
        "p1",
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, JobError::InvalidOutput(_)));
}

/// Test helper: the same job with the poster group first, to read its destination with `file_destination`.
struct Job;

impl Job {
    fn poster_first(job: &CreateJobRequest) -> CreateJobRequest {
        let mut job = job.clone();
        job.settings.output_groups.as_mut().unwrap().reverse();
        job
    }
}
