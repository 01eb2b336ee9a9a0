//! [`EventBridgePublisher`]: domain events on the EventBridge bus, then (optionally) a signed webhook.
//!
//! Delivery is at least once: a retried invocation may publish an event again (same id), so receivers drop
//! duplicates by the event id.

use vidpipe_core::notify::DomainEvent;
use vidpipe_core::ports::{EventPublisher, PublishError};

use crate::eventbridge::EventBus;
use crate::webhook::{WebhookConfig, WebhookDelivery, WebhookError, WebhookSender};

/// The [`EventPublisher`] the notifier and the compositor use.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    bus: EventBus,
    webhook: Option<WebhookSender>,
}

impl EventBridgePublisher {
    /// Publishes to `bus` only.
    pub fn new(bus: EventBus) -> Self {
        Self { bus, webhook: None }
    }

    /// Also sends each event to a webhook, with `sqs` for its dead-letter queue.
    pub fn with_webhook(
        self,
        config: WebhookConfig,
        sqs: aws_sdk_sqs::Client,
    ) -> Result<Self, WebhookError> {
        Ok(Self {
            webhook: Some(WebhookSender::new(config, sqs)?),
            ..self
        })
    }

    /// Delivers `event` to the webhook only (none configured: `None`).
    pub async fn deliver_webhook(
        &self,
        event: &DomainEvent,
    ) -> Result<Option<WebhookDelivery>, PublishError> {
        match &self.webhook {
            Some(webhook) => webhook.deliver(event).await.map(Some),
            None => Ok(None),
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    /// Puts `event` on the bus, then delivers the webhook if one is configured.
    async fn publish(&self, event: &DomainEvent) -> Result<(), PublishError> {
        self.bus
            .publish(event)
            .await
            .map_err(|e| PublishError::Bus(Box::new(e)))?;
        tracing::info!(event_id = %event.id, event_type = event.event_type.as_str(), "event published");
        if let Some(webhook) = &self.webhook {
            webhook.deliver(event).await?;
        }
        Ok(())
    }
}
