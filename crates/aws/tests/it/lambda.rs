//! The ffmpeg backend's cancellation (`LambdaTranscoder::cancel_job`): a job in chunks is its execution of the
//! transcode state machine, on moto's Step Functions; a job run whole is marked canceled in the table, on moto's
//! DynamoDB.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use vidpipe_aws::dynamo::DynamoCanceledJobs;
use vidpipe_aws::lambda::{CANCEL_MARK_SECONDS, LambdaTranscoder};
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_core::ports::{
    CancelOutcome, CanceledJobs, RenderExecutions, TranscodeError, Transcoder,
};
use vidpipe_testkit::moto::{MotoServer, create_state_machine};
use vidpipe_testkit::unique_name;

/// A transcode state machine on moto (whose executions run until stopped), and its executions.
async fn transcode_machine(sdk: &aws_config::SdkConfig) -> StepFunctionsRenders {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let definition =
        r#"{"StartAt":"Chunks","States":{"Chunks":{"Type":"Wait","Seconds":600,"End":true}}}"#;
    let machine = create_state_machine(&sfn, "transcode", definition).await;
    StepFunctionsRenders::new(sfn, machine)
}

fn transcoder(sdk: &aws_config::SdkConfig) -> LambdaTranscoder {
    LambdaTranscoder::new(aws_sdk_lambda::Client::new(sdk), "vidpipe-transcoder")
}

#[tokio::test]
async fn a_job_in_chunks_is_canceled_by_stopping_its_execution_and_a_job_without_one_runs_to_its_end()
 {
    let sdk = MotoServer::shared().sdk_config().await;
    let executions = transcode_machine(&sdk).await;
    let job_id = "vidpipe-stream-1-g2";
    let started = executions
        .start(job_id, &serde_json::json!({"job_id": job_id}))
        .await
        .unwrap();
    let lambda = transcoder(&sdk).with_chunked_jobs(executions);

    assert_eq!(
        lambda.cancel_job(job_id).await.unwrap(),
        CancelOutcome::Canceled
    );
    let described = aws_sdk_sfn::Client::new(&sdk)
        .describe_execution()
        .execution_arn(&started.execution_arn)
        .send()
        .await
        .unwrap();
    // (moto does not keep the error a stop names, JOB_CANCELED.)
    assert_eq!(*described.status(), ExecutionStatus::Aborted);

    // Stopped once: a second cancellation finds it ended.
    assert_eq!(
        lambda.cancel_job(job_id).await.unwrap(),
        CancelOutcome::AlreadyFinished
    );
    // A job run whole has no execution.
    assert_eq!(
        lambda.cancel_job("vidpipe-stream-9-g1").await.unwrap(),
        CancelOutcome::AlreadyFinished
    );
    // Without the state machine, as before: nothing to stop.
    assert_eq!(
        transcoder(&sdk).cancel_job(job_id).await.unwrap(),
        CancelOutcome::AlreadyFinished
    );
}

#[tokio::test]
async fn a_cancellation_step_functions_cannot_answer_is_unavailable() {
    let sdk = MotoServer::shared().sdk_config().await;
    // Nothing listens on this port once the listener is dropped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = sdk
        .to_builder()
        .endpoint_url(format!("http://{closed}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let executions = StepFunctionsRenders::new(
        aws_sdk_sfn::Client::new(&unreachable),
        "arn:aws:states:us-east-1:123456789012:stateMachine:vidpipe-transcode",
    );
    let error = transcoder(&sdk)
        .with_chunked_jobs(executions)
        .cancel_job("vidpipe-stream-1-g2")
        .await
        .unwrap_err();
    assert!(matches!(error, TranscodeError::Unavailable(_)), "{error}");
}

#[tokio::test]
async fn a_job_without_a_running_execution_is_marked_canceled_for_its_run_to_see() {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique_name("marks");
    vidpipe_aws::provision::create_table(&ddb, &table)
        .await
        .unwrap();
    let marks = DynamoCanceledJobs::new(ddb.clone(), &table);
    let lambda = transcoder(&sdk)
        .with_chunked_jobs(transcode_machine(&sdk).await)
        .with_cancel_marks(marks.clone());
    let job_id = "vidpipe-stream-9-g1";
    assert!(!marks.is_canceled(job_id).await.unwrap());
    let before = vidpipe_core::clock::now_ms() / 1000;
    assert_eq!(
        lambda.cancel_job(job_id).await.unwrap(),
        CancelOutcome::Canceled
    );
    assert!(marks.is_canceled(job_id).await.unwrap());
    assert!(!marks.is_canceled("vidpipe-stream-9-g2").await.unwrap());
    // The mark expires (the table's TTL) a day later: past any run of the job, Lambda's retries included.
    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("JOB#{job_id}")))
        .key("sk", AttributeValue::S("CANCELED".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expires_at: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(
        (before + CANCEL_MARK_SECONDS..=before + CANCEL_MARK_SECONDS + 5).contains(&expires_at)
    );
    // A second cancellation marks it again: the same item.
    assert_eq!(
        lambda.cancel_job(job_id).await.unwrap(),
        CancelOutcome::Canceled
    );
}
