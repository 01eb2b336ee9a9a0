//! The ffmpeg backend's cancellation (`LambdaTranscoder::cancel_job`): a job in chunks is its execution of the
//! transcode state machine, on moto's Step Functions.

use aws_sdk_sfn::types::ExecutionStatus;
use vidpipe_aws::lambda::LambdaTranscoder;
use vidpipe_aws::stepfunctions::StepFunctionsRenders;
use vidpipe_core::ports::{CancelOutcome, RenderExecutions, TranscodeError, Transcoder};
use vidpipe_testkit::moto::{MotoServer, create_state_machine};

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
