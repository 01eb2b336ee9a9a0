use serde_json::json;

use super::*;
use crate::job::{
    AccelerationSettings, AudioDescription, H264Settings, OutputGroup, VideoCodec,
    VideoCodecSettings, VideoDescription,
};
use crate::jobevent::JobStateDetail;

fn video(width: i32, height: i32, h264: H264Settings) -> Output {
    Output {
        video_description: Some(VideoDescription {
            width: Some(width),
            height: Some(height),
            codec_settings: Some(VideoCodecSettings {
                codec: Some(VideoCodec::H264),
                h264_settings: Some(h264),
                frame_capture_settings: None,
            }),
            ..Default::default()
        }),
        audio_descriptions: Some(vec![AudioDescription::default()]),
        ..Default::default()
    }
}

fn audio_only() -> Output {
    Output {
        audio_descriptions: Some(vec![AudioDescription::default()]),
        ..Default::default()
    }
}

fn fps(numerator: i32, denominator: i32) -> H264Settings {
    H264Settings {
        framerate_control: Some(H264FramerateControl::Specified),
        framerate_numerator: Some(numerator),
        framerate_denominator: Some(denominator),
        ..Default::default()
    }
}

fn job(outputs: Vec<Output>) -> CreateJobRequest {
    serde_json::from_value(json!({"Role": "r", "Settings": {}})).map_or_else(
        |e| panic!("{e}"),
        |mut job: CreateJobRequest| {
            job.settings.output_groups = Some(vec![OutputGroup {
                outputs: Some(outputs),
                ..Default::default()
            }]);
            job
        },
    )
}

#[test]
fn resolution_classes_follow_the_smaller_side() {
    assert_eq!(Resolution::of(854, 480), Resolution::Sd);
    assert_eq!(Resolution::of(1280, 719), Resolution::Sd);
    assert_eq!(Resolution::of(1280, 720), Resolution::Hd);
    assert_eq!(Resolution::of(1920, 1080), Resolution::Hd);
    assert_eq!(Resolution::of(1080, 1920), Resolution::Hd, "portrait HD");
    assert_eq!(Resolution::of(2560, 1440), Resolution::Uhd);
}

#[test]
fn a_minute_of_1080p30_on_the_basic_tier_costs_a_cent_and_a_half() {
    let rate = job_rate(&job(vec![video(1920, 1080, fps(30, 1))]), None);
    assert_eq!(
        rate,
        JobRate {
            micro_usd_per_minute: 15_000,
            outputs: 1
        }
    );
    let cost = rate.cost(60_000);
    assert_eq!(cost.micro_usd, 15_000);
    assert_eq!(cost.output_seconds, 60);
    assert_eq!(cost.basis, CostBasis::MediaConvertOnDemand);
    assert_eq!(
        cost.to_json(),
        json!({"estimated_usd": 0.015, "output_minutes": 1.0, "basis": "mediaconvert-on-demand"})
    );
}

#[test]
fn seconds_round_up_with_a_ten_second_minimum() {
    assert_eq!(billed_seconds(0), 10);
    assert_eq!(billed_seconds(9_001), 10);
    assert_eq!(billed_seconds(10_001), 11);
    // 720p at 60 fps: $0.03 a minute; 61.2 s is billed as 62 s.
    let rate = job_rate(&job(vec![video(1280, 720, fps(60, 1))]), None);
    assert_eq!(rate.cost(61_200).micro_usd, 31_000);
    // SD: 5 s is billed as 10 s, 10/60 of $0.0075.
    let sd = job_rate(&job(vec![video(640, 360, fps(30, 1))]), None);
    assert_eq!(sd.cost(5_000).micro_usd, 1_250);
}

#[test]
fn a_rate_following_the_source_uses_the_probed_rate() {
    let follows = H264Settings {
        framerate_control: Some(H264FramerateControl::InitializeFromSource),
        ..Default::default()
    };
    let j = job(vec![video(1920, 1080, follows)]);
    let at = |r| job_rate(&j, r).micro_usd_per_minute;
    assert_eq!(at(Some(FrameRate::per_second(60))), 30_000);
    assert_eq!(at(Some(FrameRate::per_second(30))), 15_000);
    // 29.97 is not above 30; an unknown rate, or a browser WebM's millisecond clock (1000/1), counts as 30.
    assert_eq!(
        at(Some(FrameRate {
            numerator: 30_000,
            denominator: 1_001
        })),
        15_000
    );
    assert_eq!(at(None), 15_000);
    assert_eq!(at(Some(FrameRate::per_second(1000))), 15_000);
}

#[test]
fn a_ladder_sums_its_outputs_and_audio_only_has_its_own_rate() {
    // The playback shape: 1080p, 720p and 480p renditions, an audio-only rendition.
    let ladder = job(vec![
        video(1920, 1080, fps(30, 1)),
        video(1280, 720, fps(30, 1)),
        video(854, 480, fps(30, 1)),
        audio_only(),
    ]);
    let rate = job_rate(&ladder, None);
    assert_eq!(rate.micro_usd_per_minute, 15_000 + 15_000 + 7_500 + 3_600);
    assert_eq!(rate.outputs, 4);
    // 90 s: 1.5 minutes of each output, 6 output minutes.
    let cost = rate.cost(90_000);
    assert_eq!(cost.micro_usd, 61_650);
    assert_eq!(cost.output_seconds, 360);
}

#[test]
fn professional_features_move_the_whole_job_to_the_professional_tier() {
    let multi_pass = H264Settings {
        quality_tuning_level: Some(H264QualityTuningLevel::MultiPassHq),
        ..fps(30, 1)
    };
    let pro = job(vec![
        video(1920, 1080, multi_pass),
        video(640, 360, fps(30, 1)),
    ]);
    assert_eq!(tier(&pro), Tier::Professional);
    assert_eq!(job_rate(&pro, None).micro_usd_per_minute, 24_000 + 12_000);
    let mut accelerated = job(vec![video(1920, 1080, fps(30, 1))]);
    assert_eq!(tier(&accelerated), Tier::Basic);
    accelerated.acceleration_settings = Some(AccelerationSettings {
        mode: AccelerationMode::Preferred,
    });
    assert_eq!(tier(&accelerated), Tier::Professional);
}

#[test]
fn the_rate_travels_in_metadata_and_prices_the_complete_event() {
    let rate = JobRate {
        micro_usd_per_minute: 15_000,
        outputs: 1,
    };
    let mut metadata: std::collections::BTreeMap<String, String> = rate
        .metadata()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    metadata.insert("stream".into(), "s1".into());
    assert_eq!(JobRate::from_metadata(&metadata), Some(rate));
    let detail = |status: &str, metadata: &std::collections::BTreeMap<String, String>| {
        serde_json::from_value::<JobStateDetail>(json!({
            "timestamp": 1, "jobId": "j", "userMetadata": metadata, "status": status,
            "outputGroupDetails": [{"type": "FILE_GROUP", "outputDetails": [
                {"outputFilePaths": ["s3://b/s1_composited.mp4"], "durationInMs": 120_400}]}],
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let cost = detail("COMPLETE", &metadata).cost();
    // 121 billed seconds at $0.015 a minute.
    assert_eq!(
        cost.map(|c| (c.micro_usd, c.output_seconds)),
        Some((30_250, 121))
    );
    assert_eq!(detail("PROGRESSING", &metadata).cost(), None);
    // The ffmpeg backend on Lambda prices its own invocation.
    let mut on_lambda = metadata.clone();
    on_lambda.insert(METADATA_LAMBDA_COST.into(), "2764".into());
    assert_eq!(
        detail("COMPLETE", &on_lambda).cost(),
        Some(JobCost {
            micro_usd: 2_764,
            output_seconds: 0,
            basis: CostBasis::LambdaArm64
        })
    );
    metadata.remove(METADATA_RATE);
    assert_eq!(
        detail("COMPLETE", &metadata).cost(),
        None,
        "a job built without a rate"
    );
}

#[test]
fn sums_keep_micro_dollars_and_say_when_bases_differ() {
    let mc = JobRate {
        micro_usd_per_minute: 7_500,
        outputs: 1,
    }
    .cost(60_000);
    assert_eq!(mc.plus(mc).micro_usd, 15_000);
    assert_eq!(mc.plus(mc).basis, CostBasis::MediaConvertOnDemand);
    let reported = JobCost {
        micro_usd: 250_000,
        output_seconds: 0,
        basis: CostBasis::RendererReported,
    };
    assert_eq!(mc.plus(reported).basis, CostBasis::Mixed);
    for basis in [
        CostBasis::MediaConvertOnDemand,
        CostBasis::RendererReported,
        CostBasis::Mixed,
        CostBasis::LambdaArm64,
    ] {
        assert_eq!(CostBasis::parse(basis.as_str()), Some(basis));
    }
}

#[test]
fn lambda_bills_gigabyte_seconds_and_the_request() {
    // 60 s at 1769 MB: 103.65 GB-s at $0.0000133334, plus $0.0000002.
    assert_eq!(lambda_cost_micro_usd(60_000, 1_769), 1_382);
    assert_eq!(lambda_cost_micro_usd(60_000, 3_538), 2_764);
    assert_eq!(
        lambda_cost_micro_usd(0, 1_024),
        0,
        "a request alone rounds to zero"
    );
    // 120 CPU seconds spread over the 2 vCPUs of a 3538 MB function take a minute, and cost what 120 s at
    // 1769 MB would: the price of CPU time does not depend on the memory size.
    assert_eq!(lambda_duration_ms(120_000, 3_538), 60_000);
    assert_eq!(lambda_duration_ms(120_000, 1_769), 120_000);
    assert_eq!(
        lambda_cost_micro_usd(lambda_duration_ms(120_000, 3_538), 3_538),
        lambda_cost_micro_usd(lambda_duration_ms(120_000, 1_769), 1_769)
    );
}
