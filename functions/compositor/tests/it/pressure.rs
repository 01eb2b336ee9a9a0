//! Exactly once under pressure: 100 streams, each receiving a random interleaving of duplicated and reordered
//! screen and camera events, all delivered concurrently to the compositor on moto's DynamoDB and S3. Every stream
//! gets exactly one submitted job: its composite. The stack has a moto server of its own
//! (`MotoServer::dedicated`), so the other tests of this binary do not add to its load, and reaches it through a
//! [`SerialProxy`] for DynamoDB: DynamoDB serializes the conditional writes to one item, moto does not, and on a
//! loaded machine (the full suite beside three other builds) one run ended with a stream without exactly one job,
//! which a race inside moto can cause and which the serial proxy rules out.

use std::collections::HashMap;

use vidpipe_compositor::TransientError;
use vidpipe_testkit::moto::MotoServer;
use vidpipe_testkit::serial::SerialProxy;

use crate::common::{PREFIX, Stack};
use vidpipe_core::pairing::OutputKind;
use vidpipe_core::stream_status::StreamStatus;

const STREAMS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_interleavings_of_duplicated_events_give_one_job_per_stream() {
    let moto = MotoServer::dedicated().endpoint();
    let proxy = SerialProxy::start(moto);
    let stack = Stack::at(moto, proxy.endpoint()).await;
    let seed = std::env::var("PRESSURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("PRESSURE_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);

    let mut events = Vec::new();
    for i in 0..STREAMS {
        let stream = format!("p{i}");
        let screen_key = format!("{PREFIX}{stream}.mp4");
        let camera_key = format!("{PREFIX}{stream}_camera.webm");
        let screen = stack.event(&screen_key, &stack.put(&screen_key, None).await);
        let camera = stack.event(&camera_key, &stack.put(&camera_key, None).await);
        let mut deliveries = Vec::new();
        for _ in 0..rng.usize(1..=3) {
            deliveries.push(screen.clone());
        }
        for _ in 0..rng.usize(1..=3) {
            deliveries.push(camera.clone());
        }
        rng.shuffle(&mut deliveries);
        for (order, event) in deliveries.into_iter().enumerate() {
            // A small, random delay per delivery, growing with its place in the stream's order.
            let delay_ms = order as u64 * rng.u64(0..4);
            events.push((delay_ms, event));
        }
    }
    rng.shuffle(&mut events);
    let total = events.len();

    let mut tasks = tokio::task::JoinSet::new();
    for (delay_ms, event) in events {
        let compositor = stack.compositor.clone();
        tasks.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            // A delivery that meets another handler's live claim fails and is delivered again, as Lambda and SQS
            // do; by then the holder has recorded its job.
            let mut redeliveries = 0;
            loop {
                match compositor.handle(event.clone()).await {
                    Err(TransientError::ClaimHeld { .. }) if redeliveries < 50 => {
                        redeliveries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    answer => return (answer, redeliveries),
                }
            }
        });
    }
    let (answers, redeliveries): (Vec<_>, Vec<usize>) = tasks.join_all().await.into_iter().unzip();
    println!(
        "redeliveries after a live claim: {}",
        redeliveries.iter().sum::<usize>()
    );
    assert_eq!(answers.len(), total);
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for answer in &answers {
        let answer = answer
            .as_ref()
            .expect("no delivery fails against a healthy moto");
        let record = &answer["records"][0];
        let outcome = format!(
            "{} {}",
            record["outcome"].as_str().expect("an outcome"),
            record["reason"].as_str().unwrap_or_default()
        );
        *outcomes.entry(outcome).or_default() += 1;
    }
    println!("outcomes: {outcomes:?}");

    let mut per_stream: HashMap<String, usize> = HashMap::new();
    for job in stack.transcoder.jobs() {
        let metadata = job.user_metadata.unwrap();
        assert_eq!(metadata["kind"], "composite");
        assert_eq!(metadata["generation"], "1");
        *per_stream.entry(metadata["stream"].clone()).or_default() += 1;
    }
    for i in 0..STREAMS {
        let stream = format!("p{i}");
        assert_eq!(per_stream.get(&stream), Some(&1), "{stream} (seed {seed})");
        let state = stack.state(&stream).await;
        assert_eq!(state.status, Some(StreamStatus::Processing), "{stream}");
        assert_eq!(state.generation, 1);
        assert_eq!(state.job_kind, Some(OutputKind::Composite));
        assert!(
            state.claim.is_none(),
            "{stream}: the winner's claim is cleared"
        );
    }
    // Every CreateJob call carried its stream's deterministic token. moto does not serialize conditional writes of
    // concurrent requests (DynamoDB does), so on moto a lost race may, rarely, reach CreateJob twice; the token then
    // gives the same job, as MediaConvert does.
    let calls = stack
        .transcoder
        .create_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    println!(
        "{total} deliveries, {} jobs, {calls} CreateJob calls",
        per_stream.len()
    );
}
