//! What the compositor is invoked with, read by shape into `aws_lambda_events`' types:
//!
//! - an S3 event notification ([`S3Event`], several records);
//! - an EventBridge "Object Created" event ([`EventBridgeEvent`], `source: aws.s3`);
//! - an SQS event ([`SqsEvent`]) whose message bodies are either of the above, or S3's `s3:TestEvent`;
//! - S3's `s3:TestEvent` itself;
//! - the partner timer's `{"partner_timeout": {"stream": "..."}}`;
//! - the sweeper's schedule, `{"sweep": {}}`;
//! - an EventBridge "MediaConvert Job State Change" event (`source: aws.mediaconvert`), for the ERROR of a stream job
//!   that failed on its inputs and names the recording to make the output from alone.
//!
//! S3 notification keys are form-urlencoded, and `aws_lambda_events` does not decode them (`url_decoded_key` is
//! only filled when the JSON carries it): AWS writes `+` for a space and `%XX` for the rest, and moto also encodes
//! `/` as `%2F`, so `+` becomes a space, then percent-escapes are decoded as UTF-8. EventBridge events carry the key
//! as is.
//!
//! One tolerance beyond the typed shapes: moto's S3 records leave out `userIdentity` and `requestParameters`, and
//! hand-written events often leave out `eventTime` too, all of which [`S3EventRecord`] requires and none of which the
//! compositor reads. A record that does not deserialize as [`S3EventRecord`] is read as `BareS3Record`: the same
//! types for the bucket and the object, without the envelope fields.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::{S3Bucket, S3Event, S3EventRecord, S3Object};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde::Deserialize;
use serde_json::Value;
use vidpipe_core::jobevent::{JOB_EVENT_SOURCES, JobStateChange};

/// An object that was created, with its key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    /// The bucket.
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
    /// Size in bytes (0 when the event does not say).
    pub size: u64,
    /// The ETag, without quotes.
    pub etag: String,
}

/// An event or record the compositor cannot read: rejected and logged, never retried (a retry cannot fix it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct Malformed(pub String);

/// One SQS message: its id (for `batchItemFailures`) and what its body holds.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessage {
    /// The SQS `messageId`.
    pub message_id: String,
    /// The body, read as an invocation of its own (never a nested queue event).
    pub body: Result<Invocation, Malformed>,
}

/// One invocation, by shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Objects created (S3 notification records or one EventBridge event). Each record is read on its own, so one
    /// bad record does not hide the others; records of other event types (`ObjectRemoved:*`) are left out.
    Objects(Vec<Result<ObjectCreated, Malformed>>),
    /// SQS messages.
    Queue(Vec<QueueMessage>),
    /// S3's `s3:TestEvent`, sent when notifications are configured: nothing to do.
    TestEvent,
    /// The scheduled sweep for streams left waiting.
    Sweep,
    /// A MediaConvert job changed state (the compositor acts only on an input failure that names a fallback).
    JobStateChange(Box<JobStateChange>),
    /// The partner timer fired for a stream.
    PartnerTimeout {
        /// The stream name, as the timer was started with.
        stream: String,
    },
}

/// Decodes an S3 notification key: `+` is a space, then `%XX` escapes, as UTF-8.
pub fn decode_key(raw: &str) -> Result<String, Malformed> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| Malformed(format!("key {raw:?} does not decode to UTF-8")))
}

/// The partner timer's input.
#[derive(Deserialize)]
struct PartnerTimeout {
    stream: String,
}

/// An S3 notification record without the envelope fields [`S3EventRecord`] requires (moto's, hand-written ones).
#[derive(Deserialize)]
struct BareS3Record {
    #[serde(rename = "eventName", default)]
    event_name: Option<String>,
    #[serde(default)]
    s3: Option<BareS3Entity>,
}

/// The `s3` part of a [`BareS3Record`].
#[derive(Deserialize)]
struct BareS3Entity {
    #[serde(default)]
    bucket: Option<S3Bucket>,
    #[serde(default)]
    object: Option<S3Object>,
}

/// The `detail` of an EventBridge "Object Created" event.
#[derive(Deserialize)]
struct ObjectCreatedDetail {
    #[serde(default)]
    bucket: Option<DetailBucket>,
    #[serde(default)]
    object: Option<DetailObject>,
}

/// `detail.bucket`.
#[derive(Deserialize)]
struct DetailBucket {
    name: Option<String>,
}

/// `detail.object`: AWS writes `etag`, moto `eTag`.
#[derive(Deserialize)]
struct DetailObject {
    key: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, alias = "eTag")]
    etag: Option<String>,
}

fn etag(value: Option<&str>) -> String {
    value.unwrap_or_default().trim_matches('"').to_owned()
}

/// The created object a record names, from its event name, bucket and object; `None` for other event types.
fn created(
    event_name: Option<&str>,
    bucket: Option<&S3Bucket>,
    object: Option<&S3Object>,
) -> Option<Result<ObjectCreated, Malformed>> {
    let name = event_name.unwrap_or_default();
    if !name.starts_with("ObjectCreated:") {
        return name
            .is_empty()
            .then(|| Err(Malformed("S3 record without eventName".into())));
    }
    let read = || -> Result<ObjectCreated, Malformed> {
        let bucket = bucket
            .and_then(|b| b.name.as_deref())
            .ok_or_else(|| Malformed("S3 record without s3.bucket.name".into()))?;
        let object = object.ok_or_else(|| Malformed("S3 record without s3.object.key".into()))?;
        let raw_key = object
            .key
            .as_deref()
            .ok_or_else(|| Malformed("S3 record without s3.object.key".into()))?;
        Ok(ObjectCreated {
            bucket: bucket.to_owned(),
            key: decode_key(raw_key)?,
            size: object.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            etag: etag(object.e_tag.as_deref()),
        })
    };
    Some(read())
}

fn typed_s3_record(record: &S3EventRecord) -> Option<Result<ObjectCreated, Malformed>> {
    created(
        record.event_name.as_deref(),
        Some(&record.s3.bucket),
        Some(&record.s3.object),
    )
}

/// One record of an S3 notification that is not a whole [`S3Event`]: typed if it can be, bare otherwise.
fn s3_record(record: &Value) -> Option<Result<ObjectCreated, Malformed>> {
    if let Ok(typed) = S3EventRecord::deserialize(record) {
        return typed_s3_record(&typed);
    }
    match BareS3Record::deserialize(record) {
        Ok(bare) => {
            let s3 = bare.s3.as_ref();
            created(
                bare.event_name.as_deref(),
                s3.and_then(|s| s.bucket.as_ref()),
                s3.and_then(|s| s.object.as_ref()),
            )
        }
        Err(e) => Some(Err(Malformed(format!("S3 record does not read: {e}")))),
    }
}

/// The records of an S3 notification: all typed when the event is a whole [`S3Event`] (AWS's and `sam local
/// generate-event`'s shapes), else one by one.
fn s3_records(event: &Value, records: &[Value]) -> Vec<Result<ObjectCreated, Malformed>> {
    match S3Event::deserialize(event) {
        Ok(typed) => typed.records.iter().filter_map(typed_s3_record).collect(),
        Err(_) => records.iter().filter_map(s3_record).collect(),
    }
}

fn eventbridge_object(event: &Value) -> Result<Invocation, Malformed> {
    let event = EventBridgeEvent::<Value>::deserialize(event)
        .map_err(|e| Malformed(format!("EventBridge event does not read: {e}")))?;
    if event.detail_type != "Object Created" {
        return Err(Malformed(format!(
            "unexpected S3 event detail-type {:?}",
            event.detail_type
        )));
    }
    let detail = ObjectCreatedDetail::deserialize(&event.detail)
        .map_err(|e| Malformed(format!("Object Created detail does not read: {e}")))?;
    let bucket = detail
        .bucket
        .and_then(|b| b.name)
        .ok_or_else(|| Malformed("Object Created event without detail.bucket.name".into()))?;
    let object = detail.object;
    let key = object
        .as_ref()
        .and_then(|o| o.key.clone())
        .ok_or_else(|| Malformed("Object Created event without detail.object.key".into()))?;
    Ok(Invocation::Objects(vec![Ok(ObjectCreated {
        bucket,
        key,
        size: object.as_ref().and_then(|o| o.size).unwrap_or(0),
        etag: etag(object.as_ref().and_then(|o| o.etag.as_deref())),
    })]))
}

fn job_state_change(event: &Value) -> Result<Invocation, Malformed> {
    JobStateChange::from_eventbridge(event.clone())
        .map(|change| Invocation::JobStateChange(Box::new(change)))
        .map_err(|e| Malformed(e.to_string()))
}

fn queue_message(message: &SqsMessage) -> QueueMessage {
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| Malformed("SQS record without a body".into()))
        .and_then(|body| {
            serde_json::from_str::<Value>(body)
                .map_err(|e| Malformed(format!("SQS body is not JSON: {e}")))
        })
        .and_then(|body| read(&body, true));
    QueueMessage {
        message_id: message.message_id.clone().unwrap_or_default(),
        body,
    }
}

fn queue(event: &Value) -> Result<Invocation, Malformed> {
    let event = SqsEvent::deserialize(event)
        .map_err(|e| Malformed(format!("SQS event does not read: {e}")))?;
    Ok(Invocation::Queue(
        event.records.iter().map(queue_message).collect(),
    ))
}

fn read(event: &Value, nested: bool) -> Result<Invocation, Malformed> {
    if event.get("sweep").is_some_and(Value::is_object) {
        return Ok(Invocation::Sweep);
    }
    if let Some(timeout) = event.get("partner_timeout") {
        let timeout = PartnerTimeout::deserialize(timeout)
            .map_err(|_| Malformed("partner_timeout without a string stream".into()))?;
        return Ok(Invocation::PartnerTimeout {
            stream: timeout.stream,
        });
    }
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Invocation::TestEvent);
    }
    match event.get("source").and_then(Value::as_str) {
        Some("aws.s3") => return eventbridge_object(event),
        Some(source) if JOB_EVENT_SOURCES.contains(&source) => return job_state_change(event),
        _ => {}
    }
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return Err(Malformed(
            "not an S3, SQS, EventBridge or partner-timeout event".into(),
        ));
    };
    let source = records
        .first()
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str);
    match source {
        Some("aws:sqs") if !nested => queue(event),
        Some("aws:s3") | None if !records.is_empty() => {
            Ok(Invocation::Objects(s3_records(event, records)))
        }
        other => Err(Malformed(format!("unexpected records from {other:?}"))),
    }
}

impl Invocation {
    /// Reads an invocation's JSON.
    pub fn from_json(event: &Value) -> Result<Self, Malformed> {
        read(event, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_decode_as_form_urlencoded() {
        assert_eq!(decode_key("a+b%20c%2Fd").unwrap(), "a b c/d");
        assert_eq!(decode_key("r%C3%A9sum%C3%A9.mp4").unwrap(), "résumé.mp4");
        assert_eq!(decode_key("v/s1_camera.webm").unwrap(), "v/s1_camera.webm");
        assert_eq!(decode_key("100%25").unwrap(), "100%");
        assert!(decode_key("%FF%FE").is_err());
    }

    #[test]
    fn other_s3_event_types_are_left_out_and_bad_records_named() {
        let event = json!({"Records": [
            {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete",
             "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}},
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}},
        ]});
        let Invocation::Objects(records) = Invocation::from_json(&event).unwrap() else {
            panic!("objects")
        };
        assert_eq!(records.len(), 1);
        assert!(records[0].as_ref().unwrap_err().0.contains("s3.object.key"));
    }

    #[test]
    fn the_sweepers_schedule_reads_as_a_sweep() {
        assert_eq!(
            Invocation::from_json(&json!({"sweep": {}})),
            Ok(Invocation::Sweep)
        );
        assert!(Invocation::from_json(&json!({"sweep": "now"})).is_err());
    }

    #[test]
    fn unknown_shapes_are_malformed() {
        for bad in [
            json!({}),
            json!([1, 2]),
            json!({"Records": []}),
            json!({"Records": [{"eventSource": "aws:kinesis"}]}),
            json!({"partner_timeout": {"stream": 5}}),
            json!({"source": "aws.s3", "detail-type": "Object Deleted", "detail": {}}),
        ] {
            assert!(Invocation::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_queue_inside_a_queue_body_is_malformed() {
        let inner =
            json!({"Records": [{"eventSource": "aws:sqs", "messageId": "x", "body": "{}"}]});
        let event = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": inner.to_string()}]});
        let Invocation::Queue(messages) = Invocation::from_json(&event).unwrap() else {
            panic!("queue")
        };
        assert!(messages[0].body.is_err());
    }

    /// moto's record (no `userIdentity`, no `requestParameters`) does not deserialize as `S3EventRecord`; the bare
    /// reading gives what the typed one gives for AWS's full record of the same object.
    #[test]
    fn motos_records_fall_back_to_the_bare_shape_with_the_same_result() {
        let s3 = json!({"s3SchemaVersion": "1.0", "configurationId": "c",
            "bucket": {"name": "b", "arn": "arn:aws:s3:::b"},
            "object": {"key": "videos%2Fodd+name%2B%C3%A9.mp4", "size": 7, "eTag": "\"e1\""}});
        let moto = json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-21T20:03:35.835Z", "eventName": "ObjectCreated:Put", "s3": s3});
        assert!(
            S3EventRecord::deserialize(&moto).is_err(),
            "moto's shape needs the fallback"
        );
        let mut aws = moto.clone();
        aws["userIdentity"] = json!({"principalId": "EXAMPLE"});
        aws["requestParameters"] = json!({"sourceIPAddress": "127.0.0.1"});
        assert!(S3EventRecord::deserialize(&aws).is_ok());
        let read = |record: &Value| Invocation::from_json(&json!({"Records": [record]})).unwrap();
        let expected = Invocation::Objects(vec![Ok(ObjectCreated {
            bucket: "b".into(),
            key: "videos/odd name+é.mp4".into(),
            size: 7,
            etag: "e1".into(),
        })]);
        assert_eq!(read(&moto), expected);
        assert_eq!(read(&aws), expected);
    }

    #[test]
    fn motos_eventbridge_etag_is_read_too() {
        let event = json!({"source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k", "size": 3, "eTag": "e2"}}});
        let Invocation::Objects(objects) = Invocation::from_json(&event).unwrap() else {
            panic!("objects")
        };
        assert_eq!(objects[0].as_ref().unwrap().etag, "e2");
    }
}
