//! Signed webhooks: each domain event POSTed to `WEBHOOK_URL` with a `Vidpipe-Signature` header, with bounded
//! retries, and a final failure sent to a dead-letter SQS queue. Nothing is lost silently: when even the
//! dead-letter queue refuses the message, [`WebhookSender::deliver`] fails.

use std::time::Duration;

use vidpipe_core::error::Chain;
use vidpipe_core::notify::DomainEvent;
use vidpipe_core::ports::PublishError;
use vidpipe_core::webhook::{SIGNATURE_HEADER, signature_header};

/// Where and how webhooks go.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// `WEBHOOK_URL`.
    pub url: String,
    /// `WEBHOOK_SECRET`: the HMAC key. Never logged.
    pub secret: Vec<u8>,
    /// `WEBHOOK_DLQ_URL`: the SQS queue for final failures.
    pub dead_letter_queue_url: String,
    /// Attempts before giving up (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub first_backoff: Duration,
    /// Timeout of one attempt.
    pub attempt_timeout: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("dead_letter_queue_url", &self.dead_letter_queue_url)
            .field("max_attempts", &self.max_attempts)
            .field("first_backoff", &self.first_backoff)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

/// How a webhook delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookDelivery {
    /// The receiver answered 2xx.
    Delivered {
        /// Attempts made.
        attempts: u32,
    },
    /// Every attempt failed, or the receiver refused the event (4xx other than 429); the failure is on the
    /// dead-letter queue.
    DeadLettered {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: String,
    },
}

/// One attempt's failure: whether to try again, and what happened.
struct AttemptError {
    retry: bool,
    message: String,
}

/// The webhook's HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the webhook's HTTP client could not be built: {0}")]
pub struct WebhookError(#[source] reqwest::Error);

/// Sends domain events to one webhook.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    sqs: aws_sdk_sqs::Client,
    config: WebhookConfig,
}

impl WebhookSender {
    /// Sends to `config.url`, with `sqs` for the dead-letter queue.
    pub fn new(config: WebhookConfig, sqs: aws_sdk_sqs::Client) -> Result<Self, WebhookError> {
        let http = reqwest::Client::builder()
            .timeout(config.attempt_timeout)
            .build()
            .map_err(WebhookError)?;
        Ok(Self { http, sqs, config })
    }
    /// Sends `event`, retrying 5xx, 429 and network errors with a doubling backoff; a webhook that fails for good
    /// (or that the receiver refuses with another 4xx) goes to the dead-letter queue. An error only when the
    /// dead-letter queue refuses it too.
    pub async fn deliver(&self, event: &DomainEvent) -> Result<WebhookDelivery, PublishError> {
        let body = serde_json::to_vec(event)?;
        let max_attempts = self.config.max_attempts.max(1);
        let mut backoff = self.config.first_backoff;
        let mut attempts = 0;
        let error = loop {
            attempts += 1;
            match self.attempt(event, &body).await {
                Ok(()) => {
                    tracing::info!(event_id = %event.id, attempts, "webhook delivered");
                    return Ok(WebhookDelivery::Delivered { attempts });
                }
                Err(e) if e.retry && attempts < max_attempts => {
                    tracing::warn!(event_id = %event.id, attempts, error = %e.message, "webhook attempt failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                Err(e) => break e.message,
            }
        };
        tracing::error!(event_id = %event.id, attempts, error = %error, "webhook failed, sending it to the dead-letter queue");
        let message = serde_json::json!({
            "event": event, "url": self.config.url, "error": error, "attempts": attempts,
        });
        self.sqs
            .send_message()
            .queue_url(&self.config.dead_letter_queue_url)
            .message_body(message.to_string())
            .send()
            .await
            .map_err(|e| PublishError::DeadLetter {
                webhook: error.clone(),
                dead_letter: Box::new(e),
            })?;
        Ok(WebhookDelivery::DeadLettered { attempts, error })
    }

    async fn attempt(&self, event: &DomainEvent, body: &[u8]) -> Result<(), AttemptError> {
        let signature = signature_header(&self.config.secret, epoch_seconds(), body);
        let response = self
            .http
            .post(&self.config.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("Vidpipe-Event-Id", &event.id)
            .header("Vidpipe-Event-Type", event.event_type.as_str())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| AttemptError {
                retry: true,
                message: format!("request failed: {}", Chain(&e)),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(AttemptError {
            retry: status.is_server_error() || status.as_u16() == 429,
            message: format!("HTTP {}", status.as_u16()),
        })
    }
}

fn epoch_seconds() -> u64 {
    vidpipe_core::clock::now_ms() / 1000
}
