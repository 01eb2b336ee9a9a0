//! `vidpipe local pump`: the local stand-in for Lambda's event sources. On AWS, an SQS event source mapping feeds
//! the bucket's ObjectCreated queue to the compositor, and an EventBridge rule feeds MediaConvert job events to the
//! notifier. Locally, the functions run under `cargo lambda watch`, and this pump reads the same queues on moto and
//! calls the functions through the Lambda Invoke API that `cargo lambda watch` serves.
//!
//! Delivery follows Lambda's rules: a queue batch is one invocation (`{"Records": [...]}`) whose failed messages
//! (`batchItemFailures`) stay in the queue; an EventBridge event is one invocation; a message whose invocation fails
//! is not deleted, so it comes back after the queue's visibility timeout.

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Why pumping stopped.
#[derive(Debug, thiserror::Error)]
pub enum PumpError {
    /// SQS failed.
    #[error("SQS {action} on {queue}: {message}")]
    Queue {
        /// What was tried.
        action: &'static str,
        /// The queue URL.
        queue: String,
        /// The SDK's message.
        message: String,
    },
}

/// How a queue's messages reach a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An SQS event source mapping: a batch per invocation, `batchItemFailures` honoured.
    SqsBatch,
    /// An EventBridge rule target: each message body is the event, one invocation each.
    EventBridge,
}

/// One queue feeding one function.
#[derive(Debug, Clone)]
pub struct Route {
    /// The queue's URL.
    pub queue_url: String,
    /// The queue's ARN (the `eventSourceARN` of the records).
    pub queue_arn: String,
    /// The function's name (`cargo lambda watch` serves each binary under its name).
    pub function: String,
    /// How messages are delivered.
    pub delivery: Delivery,
}

/// Reads queues and invokes functions.
#[derive(Debug, Clone)]
pub struct Pump {
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    invoke_url: String,
    region: String,
}

impl Pump {
    /// A pump calling the Invoke API at `invoke_url` (for example `http://127.0.0.1:9000`).
    pub fn new(sdk: &aws_config::SdkConfig, invoke_url: &str) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            http: reqwest::Client::new(),
            invoke_url: invoke_url.trim_end_matches('/').to_owned(),
            region: sdk
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
        }
    }

    /// Receives one batch from `route` (waiting up to `wait_seconds`) and delivers it; returns how many messages
    /// were received.
    pub async fn pump_once(&self, route: &Route, wait_seconds: i32) -> Result<usize, PumpError> {
        let queue_error = |action: &'static str| {
            let queue = route.queue_url.clone();
            move |e: &(dyn std::error::Error + 'static)| PumpError::Queue {
                action,
                queue,
                message: vidpipe_aws::error_message(e),
            }
        };
        let received = self
            .sqs
            .receive_message()
            .queue_url(&route.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| queue_error("receive")(&e))?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(0);
        }
        let delivered: Vec<&Message> = match route.delivery {
            Delivery::SqsBatch => self.deliver_batch(route, messages).await,
            Delivery::EventBridge => {
                let mut delivered = Vec::new();
                for message in messages {
                    let event: Value = serde_json::from_str(message.body().unwrap_or_default())
                        .unwrap_or(Value::Null);
                    if self.invoke(&route.function, &event).await.is_ok() {
                        delivered.push(message);
                    }
                }
                delivered
            }
        };
        for message in delivered {
            if let Some(handle) = message.receipt_handle() {
                self.sqs
                    .delete_message()
                    .queue_url(&route.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| queue_error("delete")(&e))?;
            }
        }
        Ok(messages.len())
    }

    /// Invokes the function with the batch as an SQS event; returns the messages it did not report as failed.
    async fn deliver_batch<'m>(&self, route: &Route, messages: &'m [Message]) -> Vec<&'m Message> {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": m.attributes().map(|a| a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), Value::from(v.as_str())))
                        .collect::<serde_json::Map<_, _>>()).unwrap_or_default(),
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": route.queue_arn,
                    "awsRegion": self.region,
                })
            })
            .collect();
        let Ok(answer) = self
            .invoke(&route.function, &json!({"Records": records}))
            .await
        else {
            return Vec::new();
        };
        let failed: HashSet<&str> = answer["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        messages
            .iter()
            .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
            .collect()
    }

    /// Calls the Invoke API; a transport error, a non-2xx answer or a function error (`X-Amz-Function-Error`) is
    /// a failed delivery, logged on stderr.
    async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, ()> {
        match crate::lambda_api::invoke(&self.http, &self.invoke_url, function, payload).await {
            Ok(answer) => {
                eprintln!("pump: {function} <- {} -> {answer}", summary(payload));
                Ok(answer)
            }
            Err(e) => {
                eprintln!("pump: {e}");
                Err(())
            }
        }
    }
}

/// A short description of what was delivered, for the log.
fn summary(payload: &Value) -> String {
    match payload["Records"].as_array() {
        Some(records) => format!("{} queued message(s)", records.len()),
        None => format!(
            "{} {}",
            payload["detail-type"].as_str().unwrap_or("event"),
            payload["detail"]["status"].as_str().unwrap_or_default()
        ),
    }
}
