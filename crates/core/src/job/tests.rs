use super::*;

const REALISTIC: &str = include_str!("../../tests/fixtures/create_job_realistic.json");

#[test]
fn realistic_job_round_trips_without_losing_a_field() {
    let original: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    let job: CreateJobRequest = serde_json::from_str(REALISTIC).unwrap();
    let back = serde_json::to_value(&job).unwrap();
    assert_eq!(back, original);
    let overlay = &job.settings.inputs.as_ref().unwrap()[0]
        .video_overlays
        .as_ref()
        .unwrap()[0];
    assert_eq!(overlay.playback, Some(VideoOverlayPlayback::Once));
    assert_eq!(
        overlay.initial_position.as_ref().unwrap().unit,
        Some(VideoOverlayUnit::Pixels)
    );
}

#[test]
fn unknown_field_is_rejected_with_its_name() {
    let mut value: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    value["Settings"]["Inputs"][0]["VideoOverlays"][0]["InitialPosition"]["Scale"] = 3.into();
    let err = serde_json::from_value::<CreateJobRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `Scale`"), "{err}");
}

#[test]
fn wrong_enum_value_is_rejected_with_the_value() {
    let mut value: serde_json::Value = serde_json::from_str(REALISTIC).unwrap();
    value["Settings"]["Inputs"][0]["VideoOverlays"][0]["Playback"] = "LOOP".into();
    let err = serde_json::from_value::<CreateJobRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `LOOP`"), "{err}");
}

#[test]
fn absent_optional_members_are_left_out_of_the_json() {
    let job = CreateJobRequest {
        role: "arn:aws:iam::1:role/r".into(),
        settings: JobSettings::default(),
        queue: None,
        user_metadata: None,
        tags: None,
        client_request_token: None,
        status_update_interval: None,
        priority: None,
        acceleration_settings: None,
    };
    assert_eq!(
        serde_json::to_string(&job).unwrap(),
        r#"{"Role":"arn:aws:iam::1:role/r","Settings":{}}"#
    );
}

#[test]
fn enum_wire_strings_match_serde() {
    assert_eq!(VideoCodec::H264.as_str(), "H_264");
    assert_eq!(serde_json::to_value(VideoCodec::H264).unwrap(), "H_264");
    assert_eq!(
        serde_json::to_value(OutputGroupType::FileGroupSettings).unwrap(),
        "FILE_GROUP_SETTINGS"
    );
}
