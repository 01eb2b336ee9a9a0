//! What the compositor is invoked with, read from its JSON by shape:
//!
//! - an S3 event notification (`{"Records": [{"eventSource": "aws:s3", ...}]}`, several records);
//! - an EventBridge "Object Created" event (`source: aws.s3`);
//! - an SQS event whose message bodies are either of the above, or S3's `s3:TestEvent`;
//! - S3's `s3:TestEvent` itself;
//! - the partner timer's `{"partner_timeout": {"stream": "..."}}`.
//!
//! S3 notification keys are form-urlencoded (AWS: `+` for a space, `%XX` for the rest; moto also encodes `/` as
//! `%2F`): `+` becomes a space, then percent-escapes are decoded as UTF-8. EventBridge events carry the key as is.

use serde_json::Value;

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

/// An event or record the compositor cannot read: rejected and logged, never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct Malformed(pub String);

/// One SQS message: its id (for `batchItemFailures`) and what its body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The SQS `messageId`.
    pub message_id: String,
    /// The body, read as an invocation of its own (never a nested queue event).
    pub body: Result<Invocation, Malformed>,
}

/// One invocation, by shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Objects created (S3 notification records or one EventBridge event). Each record is read on its own, so one
    /// bad record does not hide the others; records of other event types (`ObjectRemoved:*`) are left out.
    Objects(Vec<Result<ObjectCreated, Malformed>>),
    /// SQS messages.
    Queue(Vec<QueueMessage>),
    /// S3's `s3:TestEvent`, sent when notifications are configured: nothing to do.
    TestEvent,
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

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, field| v.get(field))
        .and_then(Value::as_str)
}

fn size(value: Option<&Value>) -> u64 {
    value.and_then(Value::as_u64).unwrap_or(0)
}

fn etag(value: Option<&str>) -> String {
    value.unwrap_or_default().trim_matches('"').to_owned()
}

fn s3_record(record: &Value) -> Option<Result<ObjectCreated, Malformed>> {
    let name = record
        .get("eventName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !name.starts_with("ObjectCreated:") {
        return (name.is_empty()).then(|| Err(Malformed("S3 record without eventName".into())));
    }
    let object = || -> Result<ObjectCreated, Malformed> {
        let bucket = text(record, &["s3", "bucket", "name"])
            .ok_or_else(|| Malformed("S3 record without s3.bucket.name".into()))?;
        let raw_key = text(record, &["s3", "object", "key"])
            .ok_or_else(|| Malformed("S3 record without s3.object.key".into()))?;
        let object = &record["s3"]["object"];
        Ok(ObjectCreated {
            bucket: bucket.to_owned(),
            key: decode_key(raw_key)?,
            size: size(object.get("size")),
            etag: etag(object.get("eTag").and_then(Value::as_str)),
        })
    };
    Some(object())
}

fn eventbridge_object(event: &Value) -> Result<ObjectCreated, Malformed> {
    let detail = &event["detail"];
    let bucket = text(detail, &["bucket", "name"])
        .ok_or_else(|| Malformed("Object Created event without detail.bucket.name".into()))?;
    let key = text(detail, &["object", "key"])
        .ok_or_else(|| Malformed("Object Created event without detail.object.key".into()))?;
    Ok(ObjectCreated {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: size(detail["object"].get("size")),
        etag: etag(detail["object"].get("etag").and_then(Value::as_str)),
    })
}

fn read(event: &Value, nested: bool) -> Result<Invocation, Malformed> {
    if let Some(timeout) = event.get("partner_timeout") {
        let stream = text(timeout, &["stream"])
            .ok_or_else(|| Malformed("partner_timeout without a string stream".into()))?;
        return Ok(Invocation::PartnerTimeout {
            stream: stream.to_owned(),
        });
    }
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Invocation::TestEvent);
    }
    if event.get("source").and_then(Value::as_str) == Some("aws.s3") {
        return match event.get("detail-type").and_then(Value::as_str) {
            Some("Object Created") => Ok(Invocation::Objects(vec![eventbridge_object(event)])),
            other => Err(Malformed(format!(
                "unexpected S3 event detail-type {other:?}"
            ))),
        };
    }
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return Err(Malformed(
            "not an S3, SQS, EventBridge or partner-timeout event".into(),
        ));
    };
    let source = |r: &Value| {
        r.get("eventSource")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match records.first().and_then(source).as_deref() {
        Some("aws:sqs") if !nested => Ok(Invocation::Queue(
            records
                .iter()
                .map(|r| QueueMessage {
                    message_id: text(r, &["messageId"]).unwrap_or_default().to_owned(),
                    body: text(r, &["body"])
                        .ok_or_else(|| Malformed("SQS record without a body".into()))
                        .and_then(|body| {
                            serde_json::from_str(body)
                                .map_err(|e| Malformed(format!("SQS body is not JSON: {e}")))
                        })
                        .and_then(|body: Value| read(&body, true)),
                })
                .collect(),
        )),
        Some("aws:s3") | None if !records.is_empty() => Ok(Invocation::Objects(
            records.iter().filter_map(s3_record).collect(),
        )),
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
}
