//! The interpreter's history in the shapes `GetExecutionHistory` answers with: AWS event types
//! (`ExecutionStarted`, `TaskStateEntered`, `TaskScheduled`, `MapIterationStarted`, ...) and their
//! `...EventDetails`, with inputs and outputs as JSON strings.
//!
//! Events Step Functions has no type for (a retry scheduled, an error caught, a Wait started) are left out, and
//! the rest renumbered, so ids stay consecutive as on AWS; `previousEventId` is the event before.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::history::{EventKind, HistoryEvent};

/// The events in AWS's shapes; `include_data: false` leaves inputs, outputs and parameters out, as
/// `includeExecutionData: false` does.
pub(crate) fn aws_events(events: &[HistoryEvent], include_data: bool) -> Vec<Value> {
    events
        .iter()
        .filter_map(|event| Some((event, shape(&event.kind)?)))
        .enumerate()
        .map(|(index, (event, (kind, key, mut details)))| {
            if !include_data {
                for field in ["input", "output", "parameters"] {
                    details.remove(field);
                }
            }
            let mut value = json!({
                "id": index + 1,
                "previousEventId": index,
                "timestamp": epoch_seconds(&event.timestamp),
                "type": kind,
            });
            value[key] = Value::Object(details);
            value
        })
        .collect()
}

/// A history timestamp (RFC 3339) as the protocol's epoch seconds.
fn epoch_seconds(timestamp: &str) -> f64 {
    OffsetDateTime::parse(timestamp, &Rfc3339).map_or(0.0, seconds)
}

/// A time as the AWS JSON protocol writes it: epoch seconds, fractional.
pub(crate) fn seconds(time: OffsetDateTime) -> f64 {
    // Milliseconds, as Step Functions reports them; i128 -> f64 loses nothing at this scale.
    (time.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}

fn text(value: &Value) -> String {
    value.to_string()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `resourceType` and `resource` as Step Functions reports a Task's resource: `lambda`/`invoke` for the Lambda
/// integration or a function ARN, `mediaconvert`/`createJob.sync` for a service integration.
fn resource_parts(resource: &str) -> (String, String) {
    if let Some(integration) = resource.strip_prefix("arn:aws:states:::")
        && let Some((service, action)) = integration.split_once(':')
    {
        return (service.to_owned(), action.to_owned());
    }
    if resource.starts_with("arn:aws:lambda:") {
        return ("lambda".to_owned(), "invoke".to_owned());
    }
    ("local".to_owned(), resource.to_owned())
}

/// An event's AWS type, the name of its details field and the details; `None` for events AWS has no type for.
fn shape(kind: &EventKind) -> Option<(String, &'static str, Map<String, Value>)> {
    let details = match kind {
        EventKind::ExecutionStarted { input } => (
            "ExecutionStarted".to_owned(),
            "executionStartedEventDetails",
            json!({"input": text(input), "inputDetails": {"truncated": false},
                   "roleArn": "arn:aws:iam::000000000000:role/local"}),
        ),
        EventKind::ExecutionSucceeded { output } => (
            "ExecutionSucceeded".to_owned(),
            "executionSucceededEventDetails",
            json!({"output": text(output), "outputDetails": {"truncated": false}}),
        ),
        EventKind::ExecutionFailed { error, cause } => (
            "ExecutionFailed".to_owned(),
            "executionFailedEventDetails",
            json!({"error": error, "cause": cause}),
        ),
        EventKind::ExecutionAborted { error, cause } => (
            "ExecutionAborted".to_owned(),
            "executionAbortedEventDetails",
            json!({"error": error, "cause": cause}),
        ),
        EventKind::StateEntered {
            state,
            state_type,
            input,
        } => (
            format!("{state_type}StateEntered"),
            "stateEnteredEventDetails",
            json!({"name": state, "input": text(input), "inputDetails": {"truncated": false}}),
        ),
        EventKind::StateExited {
            state,
            state_type,
            output,
        } => (
            format!("{state_type}StateExited"),
            "stateExitedEventDetails",
            json!({"name": state, "output": text(output), "outputDetails": {"truncated": false}}),
        ),
        EventKind::TaskScheduled {
            resource, input, ..
        } => {
            let (resource_type, resource) = resource_parts(resource);
            (
                "TaskScheduled".to_owned(),
                "taskScheduledEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "region": "local",
                       "parameters": text(input)}),
            )
        }
        EventKind::TaskSucceeded {
            resource, output, ..
        } => {
            let (resource_type, resource) = resource_parts(resource);
            (
                "TaskSucceeded".to_owned(),
                "taskSucceededEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "output": text(output),
                       "outputDetails": {"truncated": false}}),
            )
        }
        EventKind::TaskFailed {
            resource,
            error,
            cause,
            ..
        } => {
            let (resource_type, resource) = resource_parts(resource);
            (
                "TaskFailed".to_owned(),
                "taskFailedEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "error": error, "cause": cause}),
            )
        }
        EventKind::TaskTimedOut { resource, .. } => {
            let (resource_type, resource) = resource_parts(resource);
            (
                "TaskTimedOut".to_owned(),
                "taskTimedOutEventDetails",
                json!({"resourceType": resource_type, "resource": resource, "error": "States.Timeout"}),
            )
        }
        EventKind::MapIterationStarted { state, index } => (
            "MapIterationStarted".to_owned(),
            "mapIterationStartedEventDetails",
            json!({"name": state, "index": index}),
        ),
        EventKind::MapIterationSucceeded { state, index } => (
            "MapIterationSucceeded".to_owned(),
            "mapIterationSucceededEventDetails",
            json!({"name": state, "index": index}),
        ),
        EventKind::MapIterationFailed { state, index, .. } => (
            "MapIterationFailed".to_owned(),
            "mapIterationFailedEventDetails",
            json!({"name": state, "index": index}),
        ),
        EventKind::RetryScheduled { .. }
        | EventKind::ErrorCaught { .. }
        | EventKind::WaitStarted { .. } => return None,
    };
    let (kind, key, details) = details;
    Some((kind, key, object(details)))
}

/// The EventBridge event Step Functions puts on the default bus when an execution's status changes ("Step
/// Functions Execution Status Change", source `aws.states`): dates in epoch milliseconds, input and output as JSON
/// strings, the region and account from the execution's ARN.
pub(crate) fn status_change(change: &StatusChange<'_>) -> Value {
    let millis = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    let parts: Vec<&str> = change.execution_arn.split(':').collect();
    let (region, account) = (parts.get(3).copied(), parts.get(4).copied());
    let now = OffsetDateTime::now_utc();
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": account,
        "time": now.replace_nanosecond(0).unwrap_or(now).format(&Rfc3339).unwrap_or_default(),
        "region": region,
        "resources": [change.execution_arn],
        "detail": {
            "executionArn": change.execution_arn,
            "stateMachineArn": change.state_machine_arn,
            "name": change.name,
            "status": change.status,
            "startDate": millis(change.started),
            "stopDate": change.stopped.map(millis),
            "input": change.input.to_string(),
            "inputDetails": {"included": true},
            "output": change.output.map(Value::to_string),
            "outputDetails": change.output.map(|_| json!({"included": true})),
            "error": change.error.map(|(error, _)| error),
            "cause": change.error.map(|(_, cause)| cause),
        },
    })
}

/// What a status change event says about an execution.
pub(crate) struct StatusChange<'a> {
    pub execution_arn: &'a str,
    pub state_machine_arn: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub started: OffsetDateTime,
    pub stopped: Option<OffsetDateTime>,
    pub input: &'a Value,
    pub output: Option<&'a Value>,
    pub error: Option<(&'a str, &'a str)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: usize, kind: EventKind) -> HistoryEvent {
        HistoryEvent {
            id,
            timestamp: "2030-01-01T00:00:01.500Z".to_owned(),
            kind,
        }
    }

    #[test]
    fn events_without_an_aws_type_are_left_out_and_the_rest_renumbered() {
        let events = [
            event(
                1,
                EventKind::ExecutionStarted {
                    input: json!({"a": 1}),
                },
            ),
            event(
                2,
                EventKind::RetryScheduled {
                    state: "Plan".into(),
                    error: "E".into(),
                    attempt: 1,
                    delay_seconds: 1.0,
                },
            ),
            event(
                3,
                EventKind::TaskScheduled {
                    state: "Plan".into(),
                    resource: "arn:aws:states:::mediaconvert:createJob.sync".into(),
                    input: json!({"Role": "r"}),
                },
            ),
        ];
        let shaped = aws_events(&events, true);
        assert_eq!(shaped.len(), 2);
        assert_eq!(shaped[0]["type"], "ExecutionStarted");
        assert_eq!(
            shaped[0]["executionStartedEventDetails"]["input"],
            r#"{"a":1}"#
        );
        assert_eq!(shaped[0]["timestamp"], 1_893_456_001.5);
        assert_eq!(shaped[1]["id"], 2);
        assert_eq!(shaped[1]["previousEventId"], 1);
        let task = &shaped[1]["taskScheduledEventDetails"];
        assert_eq!(task["resourceType"], "mediaconvert");
        assert_eq!(task["resource"], "createJob.sync");
        let without_data = aws_events(&events, false);
        assert!(
            without_data[0]["executionStartedEventDetails"]
                .get("input")
                .is_none()
        );
    }
}
