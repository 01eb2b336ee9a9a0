//! [`BusEvents`]: a job's MediaConvert-shaped events put on an EventBridge bus, in order, as the engine emits them.

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vidpipe_aws::eventbridge::EventBus;

use crate::lifecycle::Job;
use crate::run::JobObserver;

/// Puts the events a job emits on a bus. The engine reports to a synchronous [`JobObserver`], so each event is
/// queued and a background task puts them on the bus one after another (MediaConvert's order: PROGRESSING before
/// COMPLETE). Clones share the queue; [`BusEvents::delivered`] waits until every queued event was put.
#[derive(Clone)]
pub struct BusEvents {
    queue: mpsc::UnboundedSender<Value>,
    source: Option<&'static str>,
}

/// The task putting a [`BusEvents`]' events on the bus: it ends when every clone is dropped and the queue is empty,
/// answering how many events the bus refused.
pub type Delivery = JoinHandle<usize>;

impl BusEvents {
    /// Starts the task that puts events on `bus` (needs a Tokio runtime).
    pub fn start(bus: EventBus) -> (Self, Delivery) {
        let (queue, mut events) = mpsc::unbounded_channel::<Value>();
        let delivery = tokio::spawn(async move {
            let mut refused = 0;
            while let Some(event) = events.recv().await {
                if let Err(error) = bus.put_service_event(&event).await {
                    refused += 1;
                    tracing::error!(%error, job_id = %event["detail"]["jobId"],
                        status = %event["detail"]["status"], "could not put a job event on the bus");
                }
            }
            refused
        });
        (
            Self {
                queue,
                source: None,
            },
            delivery,
        )
    }

    /// The same queue, putting events under `source` instead of the engine's `aws.mediaconvert` (EventBridge
    /// refuses `aws.` sources from `PutEvents` on AWS).
    pub fn with_source(mut self, source: &'static str) -> Self {
        self.source = Some(source);
        self
    }

    /// Queues one event.
    pub fn send(&self, mut event: Value) {
        if let Some(source) = self.source {
            event["source"] = json!(source);
        }
        // The task ends only when every sender is gone, so a send cannot fail while `self` exists.
        let _ = self.queue.send(event);
    }

    /// The queue itself, for a producer of other events that takes a channel (the local Step Functions endpoint's
    /// status changes): they are put as they are, under their own source.
    pub fn into_queue(self) -> mpsc::UnboundedSender<Value> {
        self.queue
    }

    /// Waits until every event queued by `self` and its clones (all dropped by then) was put on the bus; answers
    /// how many the bus refused (each was logged). `delivery` is the task [`BusEvents::start`] returned.
    pub async fn delivered(self, delivery: Delivery) -> usize {
        drop(self);
        // A delivery task that panicked put nothing after the panic: count it as a refusal.
        delivery.await.unwrap_or(1)
    }
}

impl JobObserver for BusEvents {
    fn job_changed(&mut self, _job: &Job) {}

    fn event(&mut self, event: &Value) {
        self.send(event.clone());
    }
}
