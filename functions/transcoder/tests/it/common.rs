//! What the transcoder's tests share: a bucket and a bus on moto, with the bus's job events captured on a queue.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use vidpipe_core::jobevent::TRANSCODER_SOURCE;
use vidpipe_testkit::moto::{BusCapture, MotoServer};
use vidpipe_testkit::unique_name;

/// A bucket and a bus on the shared moto server.
pub struct Stack {
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub events: BusCapture,
}

impl Stack {
    /// A fresh bucket, and a fresh bus whose transcoder events go to a queue.
    pub async fn new() -> Self {
        let sdk = MotoServer::shared().sdk_config().await;
        let s3 = vidpipe_aws::s3::client(&sdk, true);
        let bucket = unique_name("transcoder");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let events = BusCapture::create(&sdk, TRANSCODER_SOURCE).await;
        Self {
            sdk,
            s3,
            bucket,
            events,
        }
    }

    /// `s3://{bucket}/`.
    pub fn root(&self) -> String {
        format!("s3://{}/", self.bucket)
    }

    /// Uploads the file `file` as `key`.
    pub async fn upload(&self, file: &Path, key: &str) {
        vidpipe_testkit::s3::upload_file(&self.s3, &self.bucket, file, key).await;
    }

    /// Downloads every object under `prefix` into `into`, each at its key (without `prefix`) as a path; answers the
    /// local folder, ending in `/`.
    pub async fn download(&self, prefix: &str, into: &Path) -> String {
        vidpipe_testkit::s3::download_folder(&self.s3, &self.bucket, prefix, into).await;
        format!("{}/", into.display())
    }

    /// The keys of the objects under `prefix`, in order.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        vidpipe_testkit::s3::keys(&self.s3, &self.bucket, prefix).await
    }

    /// The events of the jobs `job_ids`, each job's in order, once every one has ended (COMPLETE or ERROR);
    /// panics after `timeout`, with `context` (the watch's log).
    pub async fn job_events(
        &self,
        job_ids: &[String],
        timeout: Duration,
        context: impl Fn() -> String,
    ) -> Vec<Vec<Value>> {
        let mut seen: Vec<Value> = Vec::new();
        let deadline = Instant::now() + timeout;
        loop {
            seen.extend(self.events.drain().await);
            seen.sort_by_key(|e| e["detail"]["timestamp"].as_u64());
            let per_job: Vec<Vec<Value>> = job_ids
                .iter()
                .map(|id| {
                    seen.iter()
                        .filter(|e| e["detail"]["jobId"] == id.as_str())
                        .cloned()
                        .collect()
                })
                .collect();
            let ended = |events: &Vec<Value>| {
                events
                    .iter()
                    .any(|e| matches!(e["detail"]["status"].as_str(), Some("COMPLETE" | "ERROR")))
            };
            if per_job.iter().all(ended) {
                return per_job;
            }
            assert!(
                Instant::now() < deadline,
                "jobs {job_ids:?} did not end within {timeout:?}; events {seen:?}\n{}",
                context()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
