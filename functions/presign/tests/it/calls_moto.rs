//! The call routes on moto's DynamoDB: requests that race over one composition version, over one token, and over
//! one call's previews, over one call's export.

use std::sync::Arc;

use serde_json::Value;

use vidpipe_testkit::moto::{MotoServer, sdk_config_at};
use vidpipe_testkit::serial::SerialProxy;

use crate::common::Event;
use crate::local_s3::{Stack, moto_stack};

const STATE: &str = r#"{"layout":"grid","timeline":[{"t":0,"type":"pin","peer_id":"peer-1"}],"tracks":[{"peer_id":"peer-1","muted":false}],"export":{"resolution":"1280x720","fps":30}}"#;

/// The API on moto, its DynamoDB calls through a [`SerialProxy`] (DynamoDB serializes the writes to one item, moto
/// does not: without it, these races would measure moto).
async fn call_stack() -> Arc<Stack> {
    call_stack_with(&[]).await
}

/// [`call_stack`] on a configuration with `overrides`.
async fn call_stack_with(overrides: &[(&str, &str)]) -> Arc<Stack> {
    let provisioned = moto_stack(&[]).await;
    let proxy = SerialProxy::start(MotoServer::shared().endpoint());
    let ddb =
        aws_sdk_dynamodb::Client::new(&sdk_config_at(proxy.endpoint(), "testing", "testing").await);
    let stack = Stack::new(
        overrides,
        provisioned.s3.clone(),
        provisioned.bucket.clone(),
        ddb,
        provisioned.table.clone(),
    );
    let (status, body) = stack
        .call(Event::fixture("post-uploads-track.json").subject(Some("alice")))
        .await;
    assert_eq!(status, 201, "{body}");
    Arc::new(stack)
}

async fn token(stack: &Stack) -> String {
    let event = Event::fixture("post-composition-token.json").subject(Some("alice"));
    let (status, minted) = stack.call(event).await;
    assert_eq!(status, 201, "{minted}");
    minted["token"].as_str().unwrap().to_owned()
}

fn put(token: &str, if_match: Option<&str>) -> Event {
    let mut event = Event::fixture("put-composition.json")
        .subject(Some("alice"))
        .body(STATE)
        .header("x-composition-token", token);
    let headers = event.0["headers"].as_object_mut().unwrap();
    match if_match {
        Some(value) => headers.insert("if-match".into(), Value::String(value.into())),
        None => headers.remove("if-match"),
    };
    event
}

/// Sends every event at once; the statuses, sorted.
async fn race(stack: &Arc<Stack>, events: Vec<Event>) -> Vec<u16> {
    let tasks: Vec<_> = events
        .into_iter()
        .map(|event| {
            let stack = Arc::clone(stack);
            tokio::spawn(async move { stack.call(event).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    statuses
}

#[tokio::test]
async fn two_saves_over_one_version_at_once_give_one_200_and_one_412_on_moto() {
    let stack = call_stack().await;
    let first = token(&stack).await;
    let (status, saved) = stack.call(put(&first, None)).await;
    assert_eq!(
        (status, saved["version"].as_u64()),
        (200, Some(1)),
        "{saved}"
    );
    let (a, b) = (token(&stack).await, token(&stack).await);
    let statuses = race(&stack, vec![put(&a, Some("\"1\"")), put(&b, Some("\"1\""))]).await;
    assert_eq!(statuses, [200, 412]);
    let event = Event::fixture("get-recording.json")
        .subject(Some("alice"))
        .path("/recordings/rec-123");
    let (status, got) = stack.call(event).await;
    assert_eq!(
        (status, got["composition"]["version"].as_u64()),
        (200, Some(2)),
        "{got}"
    );
}

#[tokio::test]
async fn of_twenty_uses_of_one_token_at_once_exactly_one_saves_on_moto() {
    let stack = call_stack().await;
    let token = token(&stack).await;
    let statuses = race(&stack, (0..20).map(|_| put(&token, None)).collect()).await;
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 401), "{statuses:?}");
    let (status, replay) = stack.call(put(&token, None)).await;
    assert_eq!(
        (status, replay["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );
}

fn post_preview(token: &str) -> Event {
    Event::fixture("post-preview.json")
        .subject(Some("alice"))
        .header("x-composition-token", token)
}

#[tokio::test]
async fn two_preview_requests_at_once_start_one_generation_and_write_its_request_on_moto() {
    use vidpipe_core::ports::{CallTracks, RecordingStore};
    let stack = call_stack().await;
    let call = stack.app.calls.get_call("rec-123").await.unwrap().unwrap();
    let track = &call.tracks[0].track_id;
    stack
        .app
        .recordings
        .mark_uploaded(track, 1024, "etag")
        .await
        .unwrap();
    let (a, b) = (preview_token(&stack).await, preview_token(&stack).await);
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .map(|token| {
            let stack = Arc::clone(&stack);
            tokio::spawn(async move { stack.call(post_preview(&token)).await })
        })
        .collect();
    let mut started = Vec::new();
    for task in tasks {
        let (status, answer) = task.await.unwrap();
        assert_eq!(
            (status, answer["generation"].as_u64()),
            (202, Some(1)),
            "{answer}"
        );
        started.push(answer["started"].as_bool().unwrap());
    }
    started.sort_unstable();
    assert_eq!(started, [false, true], "one request starts the previews");
    // The request object the compositor's ObjectCreated event comes from, in the call's folder (this stack's package
    // files are in memory; the local stack's end-to-end test writes it to S3).
    let uri = format!(
        "s3://{}/videos/rooms/room-456/rec-123/preview/requests/1.json",
        stack.bucket
    );
    let body = stack
        .app
        .playback
        .files
        .get(&uri)
        .expect("the request object");
    let request: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (
            request["recording_id"].as_str(),
            request["generation"].as_u64()
        ),
        (Some("rec-123"), Some(1))
    );
}

async fn preview_token(stack: &Stack) -> String {
    scoped_token(stack, "preview:read").await
}

async fn scoped_token(stack: &Stack, scope: &str) -> String {
    let event = Event::fixture("post-composition-token.json")
        .subject(Some("alice"))
        .body(&format!(r#"{{"scope": ["{scope}"]}}"#));
    let (status, minted) = stack.call(event).await;
    assert_eq!(status, 201, "{minted}");
    minted["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn ten_export_requests_at_once_start_one_export_on_moto() {
    use vidpipe_core::ports::{CallTracks, RecordingStore};
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:vidpipe-render";
    let stack = call_stack_with(&[("RENDER_STATE_MACHINE_ARN", arn)]).await;
    let (status, saved) = stack.call(put(&token(&stack).await, None)).await;
    assert_eq!(status, 200, "{saved}");
    let call = stack.app.calls.get_call("rec-123").await.unwrap().unwrap();
    let track = &call.tracks[0].track_id;
    let recordings = &stack.app.recordings;
    recordings.mark_uploaded(track, 1024, "etag").await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(scoped_token(&stack, "export:create").await);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let stack = Arc::clone(&stack);
            let event = Event::fixture("post-export.json")
                .subject(Some("alice"))
                .header("x-composition-token", &token);
            tokio::spawn(async move { stack.call(event).await })
        })
        .collect();
    let (mut started, mut ids) = (0, Vec::new());
    for task in tasks {
        let (status, answer) = task.await.unwrap();
        assert_eq!(status, 202, "{answer}");
        started += usize::from(answer["started"] == true);
        ids.push(answer["export_id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(
        (started, ids.len()),
        (1, 1),
        "one export, started once: {ids:?}"
    );
    let executions = stack.app.renders.executions.started();
    assert_eq!(executions.keys().collect::<Vec<_>>(), [&ids[0]]);
    let stored = stack.app.calls.get_call("rec-123").await.unwrap().unwrap();
    assert_eq!(stored.export.unwrap().export.export_id, ids[0]);
}
