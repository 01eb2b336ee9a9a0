//! The local Step Functions endpoint through the real `aws-sdk-sfn` client, on a free loopback port.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use vidpipe_stepfn::{Endpoint, StateMachine, TaskError};

use crate::common::Tasks;

const MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:double";

/// Doubles `$.n` in a Task, or first waits `$.wait` seconds when the input has it.
const DEFINITION: &str = r#"{
  "StartAt": "Pause",
  "States": {
    "Pause": {"Type": "Choice", "Choices": [{"Variable": "$.wait", "IsPresent": true, "Next": "Wait"}],
              "Default": "Double"},
    "Wait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Double"},
    "Double": {"Type": "Task", "Resource": "double", "ResultPath": "$.doubled", "End": true}
  }
}"#;

async fn client() -> aws_sdk_sfn::Client {
    client_and_events(None).await
}

/// A client of an endpoint that sends its status change events to `events`, when given.
async fn client_and_events(
    events: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
) -> aws_sdk_sfn::Client {
    let tasks = Tasks::new().on("double", |input: &Value| match input["n"].as_i64() {
        Some(n) => Ok(json!(n * 2)),
        None => Err(TaskError::new("Double.NotANumber", input.to_string())),
    });
    let mut endpoint = Endpoint::new()
        .register(MACHINE, StateMachine::from_json(DEFINITION).unwrap(), tasks)
        .unwrap();
    if let Some(events) = events {
        endpoint = endpoint.with_status_changes(events);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(endpoint.serve(listener));
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_sfn::Client::new(&sdk)
}

async fn settled(
    client: &aws_sdk_sfn::Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..200 {
        let described = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        if described.status() != &ExecutionStatus::Running {
            return described;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{arn} still runs after 2 s");
}

#[tokio::test]
async fn executions_run_to_their_end_and_report_as_step_functions_does() {
    let client = client().await;
    let started = client
        .start_execution()
        .state_machine_arn(MACHINE)
        .name("first")
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:000000000000:execution:double:first"
    );
    let described = settled(&client, arn).await;
    assert_eq!(described.status(), &ExecutionStatus::Succeeded);
    assert_eq!(described.name(), Some("first"));
    assert_eq!(described.state_machine_arn(), MACHINE);
    let output: Value = serde_json::from_str(described.output().unwrap()).unwrap();
    assert_eq!(output, json!({"n": 21, "doubled": 42}));
    assert!(described.stop_date().unwrap() >= described.start_date());

    let failed = client
        .start_execution()
        .state_machine_arn(MACHINE)
        .input("{}")
        .send()
        .await
        .unwrap();
    let described = settled(&client, failed.execution_arn()).await;
    assert_eq!(described.status(), &ExecutionStatus::Failed);
    assert_eq!(described.error(), Some("Double.NotANumber"));
    // Without a name the execution gets a UUID, as on AWS.
    assert_eq!(described.name().unwrap().len(), 36);

    let history = client
        .get_execution_history()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    let types: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
    assert_eq!(
        types,
        [
            &HistoryEventType::ExecutionStarted,
            &HistoryEventType::ChoiceStateEntered,
            &HistoryEventType::ChoiceStateExited,
            &HistoryEventType::TaskStateEntered,
            &HistoryEventType::TaskScheduled,
            &HistoryEventType::TaskSucceeded,
            &HistoryEventType::TaskStateExited,
            &HistoryEventType::ExecutionSucceeded,
        ]
    );
    let ids: Vec<i64> = history.events().iter().map(|e| e.id()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<i64>>());
    let started_details = history.events()[0]
        .execution_started_event_details()
        .unwrap();
    assert_eq!(started_details.input(), Some(r#"{"n":21}"#));
    let page = client
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .max_results(3)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.events()[0].r#type(),
        &HistoryEventType::ExecutionSucceeded
    );
    assert_eq!(page.events().len(), 3);
    let rest = client
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.events().len(), 5);
    assert_eq!(
        rest.events()[4].r#type(),
        &HistoryEventType::ExecutionStarted
    );
}

#[tokio::test]
async fn a_running_execution_is_stopped_restarted_idempotently_and_listed_newest_first() {
    let client = client().await;
    let start = |name: &'static str, input: &'static str| {
        client
            .start_execution()
            .state_machine_arn(MACHINE)
            .name(name)
            .input(input)
            .send()
    };
    let waiting = start("waiting", r#"{"n": 1, "wait": 60}"#).await.unwrap();
    // The same name and input while it runs is the same start; another input is a conflict.
    let again = start("waiting", r#"{"wait": 60, "n": 1}"#).await.unwrap();
    assert_eq!(again.execution_arn(), waiting.execution_arn());
    assert_eq!(again.start_date(), waiting.start_date());
    let conflict = start("waiting", r#"{"n": 2, "wait": 60}"#)
        .await
        .unwrap_err();
    assert!(
        conflict
            .as_service_error()
            .unwrap()
            .is_execution_already_exists(),
        "{conflict:?}"
    );

    let arn = waiting.execution_arn();
    let described = client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Running);
    assert!(described.stop_date().is_none());
    let stopped = client
        .stop_execution()
        .execution_arn(arn)
        .error("User.Canceled")
        .cause("the user canceled")
        .send()
        .await
        .unwrap();
    let described = client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Aborted);
    assert_eq!(described.stop_date(), Some(stopped.stop_date()));
    assert_eq!(described.error(), Some("User.Canceled"));
    let history = client
        .get_execution_history()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    let last = history.events().last().unwrap();
    assert_eq!(last.r#type(), &HistoryEventType::ExecutionAborted);
    assert_eq!(
        last.execution_aborted_event_details().unwrap().cause(),
        Some("the user canceled")
    );
    // A closed execution's name is taken, whatever the input.
    let reused = start("waiting", r#"{"n": 1, "wait": 60}"#)
        .await
        .unwrap_err();
    assert!(
        reused
            .as_service_error()
            .unwrap()
            .is_execution_already_exists()
    );

    let done = start("done", r#"{"n": 3}"#).await.unwrap();
    settled(&client, done.execution_arn()).await;
    let listed = client
        .list_executions()
        .state_machine_arn(MACHINE)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["done", "waiting"]);
    let aborted = client
        .list_executions()
        .state_machine_arn(MACHINE)
        .status_filter(ExecutionStatus::Aborted)
        .send()
        .await
        .unwrap();
    assert_eq!(aborted.executions().len(), 1);
    assert_eq!(aborted.executions()[0].status(), &ExecutionStatus::Aborted);
    let first_page = client
        .list_executions()
        .state_machine_arn(MACHINE)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first_page.executions()[0].name(), "done");
    let second_page = client
        .list_executions()
        .state_machine_arn(MACHINE)
        .next_token(first_page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second_page.executions()[0].name(), "waiting");
    assert!(second_page.next_token().is_none());
}

#[tokio::test]
async fn bad_requests_get_the_errors_step_functions_names() {
    let client = client().await;
    let missing = client
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:000000000000:execution:double:nobody")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .as_service_error()
            .unwrap()
            .is_execution_does_not_exist(),
        "{missing:?}"
    );
    let malformed = client
        .describe_execution()
        .execution_arn("double")
        .send()
        .await
        .unwrap_err();
    assert!(
        malformed.as_service_error().unwrap().is_invalid_arn(),
        "{malformed:?}"
    );
    let unknown = client
        .start_execution()
        .state_machine_arn("arn:aws:states:us-east-1:000000000000:stateMachine:other")
        .send()
        .await
        .unwrap_err();
    assert!(
        unknown
            .as_service_error()
            .unwrap()
            .is_state_machine_does_not_exist(),
        "{unknown:?}"
    );
    let bad_name = client
        .start_execution()
        .state_machine_arn(MACHINE)
        .name("a b")
        .send()
        .await
        .unwrap_err();
    assert!(
        bad_name.as_service_error().unwrap().is_invalid_name(),
        "{bad_name:?}"
    );
    let bad_input = client
        .start_execution()
        .state_machine_arn(MACHINE)
        .input("{")
        .send()
        .await
        .unwrap_err();
    assert!(
        bad_input
            .as_service_error()
            .unwrap()
            .is_invalid_execution_input(),
        "{bad_input:?}"
    );
    let stop_missing = client
        .stop_execution()
        .execution_arn("arn:aws:states:us-east-1:000000000000:execution:double:nobody")
        .send()
        .await
        .unwrap_err();
    assert!(
        stop_missing
            .as_service_error()
            .unwrap()
            .is_execution_does_not_exist()
    );
    let listed = client
        .list_executions()
        .state_machine_arn(MACHINE)
        .send()
        .await
        .unwrap();
    assert!(
        listed.executions().is_empty(),
        "refused starts start nothing"
    );
}

#[tokio::test]
async fn every_status_change_is_an_execution_status_change_event() {
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let client = client_and_events(Some(sender)).await;
    let start = |name: &'static str, input: &'static str| {
        client
            .start_execution()
            .state_machine_arn(MACHINE)
            .name(name)
            .input(input)
            .send()
    };
    let done = start("done", r#"{"n": 4}"#).await.unwrap();
    settled(&client, done.execution_arn()).await;
    let waiting = start("stopped", r#"{"n": 1, "wait": 60}"#).await.unwrap();
    client
        .stop_execution()
        .execution_arn(waiting.execution_arn())
        .error("canceled")
        .cause("canceled by its owner")
        .send()
        .await
        .unwrap();
    let mut received = Vec::new();
    while received.len() < 4 {
        let event = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .expect("a status change within 2 s")
            .unwrap();
        received.push(event);
    }
    let statuses: Vec<(&str, &str)> = received
        .iter()
        .map(|e| {
            (
                e["detail"]["name"].as_str().unwrap(),
                e["detail"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("done", "RUNNING"),
            ("done", "SUCCEEDED"),
            ("stopped", "RUNNING"),
            ("stopped", "ABORTED")
        ]
    );
    for event in &received {
        assert_eq!(event["source"], "aws.states");
        assert_eq!(
            event["detail-type"],
            "Step Functions Execution Status Change"
        );
        assert_eq!(event["region"], "us-east-1");
        assert_eq!(event["account"], "000000000000");
        assert_eq!(event["detail"]["stateMachineArn"], MACHINE);
        assert_eq!(event["resources"], json!([event["detail"]["executionArn"]]));
        assert!(event["detail"]["startDate"].as_i64().unwrap() > 1_700_000_000_000);
    }
    assert_eq!(received[1]["detail"]["output"], r#"{"doubled":8,"n":4}"#);
    let aborted = &received[3]["detail"];
    assert_eq!(
        (&aborted["error"], &aborted["cause"]),
        (&json!("canceled"), &json!("canceled by its owner"))
    );
    assert!(aborted["stopDate"].as_i64().unwrap() >= aborted["startDate"].as_i64().unwrap());
}
