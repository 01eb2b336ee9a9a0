//! Loading definitions: what is refused, with which error; the Choice operators; statelint on the test files.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Tasks, failure, output, run};
use serde_json::{Value, json};
use vidpipe_stepfn::{DefinitionError, IntrinsicError, PathError, StateMachine, Violation};

fn load(definition: Value) -> Result<StateMachine, DefinitionError> {
    StateMachine::from_value(&definition)
}

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state, "T": {"Type": "Succeed"}}})
}

#[test]
fn unsupported_features_are_refused_by_name() {
    let cases = [
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {"Type": "Succeed"}}}),
            "QueryLanguage \"JSONata\"",
        ),
        (
            one_state(json!({"Type": "Pass", "QueryLanguage": "JSONata", "End": true})),
            "QueryLanguage",
        ),
        (
            one_state(json!({"Type": "Pass", "Output": {"a": "{% 1 %}"}, "End": true})),
            "\"Output\"",
        ),
        (
            one_state(json!({"Type": "Pass", "Assign": {"x": 1}, "End": true})),
            "\"Assign\"",
        ),
        (
            one_state(json!({
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {}},
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Succeed"}}},
                "End": true
            })),
            "\"ItemReader\"",
        ),
        (
            one_state(json!({
                "Type": "Map",
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {}},
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Succeed"}}},
                "End": true
            })),
            "\"ResultWriter\"",
        ),
        (
            one_state(json!({
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "T",
                    "States": {"T": {"Type": "Succeed"}}
                },
                "End": true
            })),
            "the Distributed Map",
        ),
        (
            one_state(
                json!({"Type": "Task", "Resource": "r", "HeartbeatSeconds": 10, "End": true}),
            ),
            "\"HeartbeatSeconds\"",
        ),
        (
            one_state(json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "End": true
            })),
            "waitForTaskToken",
        ),
    ];
    for (definition, feature) in cases {
        match load(definition.clone()) {
            Err(error @ DefinitionError::Unsupported { .. }) => {
                assert!(error.to_string().contains(feature), "{error}");
                assert!(error.to_string().contains("not supported"), "{error}");
            }
            other => panic!("{definition} was not refused as unsupported: {other:?}"),
        }
    }
}

#[test]
fn invalid_definitions_are_refused_with_their_location() {
    let cases = [
        (
            one_state(json!({"Type": "Task", "Resource": "r", "Bogus": 1, "End": true})),
            "unknown field \"Bogus\"",
        ),
        (
            one_state(json!({"Type": "Pass", "Next": "Nowhere"})),
            "\"Nowhere\" does not exist",
        ),
        (
            one_state(json!({"Type": "Pass", "Next": "T", "End": true})),
            "exclusive",
        ),
        (
            one_state(json!({"Type": "Pass"})),
            "Next or \"End\": true is required",
        ),
        (
            one_state(json!({"Type": "Dance", "End": true})),
            "unknown state type",
        ),
        (
            one_state(json!({
                "Type": "Task",
                "Resource": "r",
                "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}],
                "End": true
            })),
            "States.ALL must appear alone",
        ),
        (
            one_state(
                json!({"Type": "Task", "Resource": "r", "ResultPath": "$.a[*]", "End": true}),
            ),
            "not a reference path",
        ),
        (
            one_state(json!({"Type": "Pass", "InputPath": "$..deep", "End": true})),
            "deep scan",
        ),
        (
            one_state(json!({"Type": "Pass", "Parameters": {"a": 1, "a.$": "$.b"}, "End": true})),
            "both",
        ),
        (
            one_state(json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true})),
            "exactly one",
        ),
        (
            one_state(json!({
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "NumericEquals": "one", "Next": "T"}]
            })),
            "not a valid value for NumericEquals",
        ),
        (
            one_state(json!({
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "StringEquals": "a", "BooleanEquals": true, "Next": "T"}]
            })),
            "exactly one comparison",
        ),
        (
            one_state(json!({
                "Type": "Choice",
                "Choices": [{"Not": {"Variable": "$.x", "IsNull": true, "Next": "T"}, "Next": "T"}]
            })),
            "only top-level choice rules have Next",
        ),
        (
            json!({"StartAt": "S", "States": {"S": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "T"}}}
            ], "Next": "T"}, "T": {"Type": "Succeed"}}}),
            "does not exist in this scope",
        ),
    ];
    for (definition, message) in cases {
        match load(definition.clone()) {
            Err(error @ DefinitionError::Invalid { .. }) => {
                assert!(error.to_string().contains(message), "{error}");
                assert!(error.to_string().starts_with("definition"), "{error}");
            }
            other => panic!("{definition} was not refused as invalid: {other:?}"),
        }
    }
    assert!(matches!(
        StateMachine::from_json("{"),
        Err(DefinitionError::Json(_))
    ));
}

/// One Choice rule (`rule` plus `"Next": "Yes"`) decided on `input`: true, false, or the error name.
async fn decide(rule: Value, input: Value) -> Result<bool, String> {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let definition = json!({
        "StartAt": "Decide",
        "States": {
            "Decide": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}
        }
    });
    let execution = run(&definition.to_string(), &Tasks::new(), input).await;
    match &execution.outcome {
        vidpipe_stepfn::Outcome::Succeeded { output: value } => Ok(value == &json!(true)),
        vidpipe_stepfn::Outcome::Failed { error } => Err(error.error.clone()),
    }
}

/// Every comparison operator of the Choice state, its `...Path` form, and And/Or/Not.
#[tokio::test]
async fn choice_operators() {
    let input = json!({
        "s": "log-2024.txt", "t": "b", "n": 5, "m": 5.0, "b": true, "nothing": null,
        "ts": "2001-01-01T12:00:00Z", "later": "2001-01-01T13:00:00+01:00", "other": "b",
        "lower": "2001-01-01t12:00:00z"
    });
    let cases = [
        (json!({"Variable": "$.t", "StringEquals": "b"}), true),
        (
            json!({"Variable": "$.t", "StringEqualsPath": "$.other"}),
            true,
        ),
        (json!({"Variable": "$.t", "StringLessThan": "c"}), true),
        (json!({"Variable": "$.t", "StringGreaterThan": "c"}), false),
        (
            json!({"Variable": "$.t", "StringLessThanEquals": "b"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "StringGreaterThanEqualsPath": "$.other"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringMatches": "log-*.txt"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringMatches": "log-*.csv"}),
            false,
        ),
        (json!({"Variable": "$.n", "NumericEquals": 5}), true),
        (json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}), true),
        (json!({"Variable": "$.n", "NumericLessThan": 5}), false),
        (json!({"Variable": "$.n", "NumericGreaterThan": 4.5}), true),
        (json!({"Variable": "$.n", "NumericLessThanEquals": 5}), true),
        (
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 6}),
            false,
        ),
        (json!({"Variable": "$.t", "NumericEquals": 5}), false),
        (json!({"Variable": "$.b", "BooleanEquals": true}), true),
        (json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}), true),
        (
            json!({"Variable": "$.ts", "TimestampEquals": "2001-01-01T12:00:00Z"}),
            true,
        ),
        // 13:00 at +01:00 is 12:00 UTC.
        (
            json!({"Variable": "$.ts", "TimestampEqualsPath": "$.later"}),
            true,
        ),
        (
            json!({"Variable": "$.ts", "TimestampLessThan": "2001-01-01T12:00:01Z"}),
            true,
        ),
        (
            json!({"Variable": "$.ts", "TimestampGreaterThan": "2001-01-01T12:00:01Z"}),
            false,
        ),
        (
            json!({"Variable": "$.ts", "TimestampLessThanEquals": "2001-01-01T12:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.ts", "TimestampGreaterThanEquals": "2002-01-01T00:00:00Z"}),
            false,
        ),
        (json!({"Variable": "$.nothing", "IsNull": true}), true),
        (json!({"Variable": "$.missing", "IsPresent": false}), true),
        (json!({"Variable": "$.n", "IsPresent": true}), true),
        (json!({"Variable": "$.n", "IsNumeric": true}), true),
        (json!({"Variable": "$.n", "IsString": true}), false),
        (json!({"Variable": "$.b", "IsBoolean": true}), true),
        (json!({"Variable": "$.ts", "IsTimestamp": true}), true),
        (json!({"Variable": "$.t", "IsTimestamp": false}), true),
        (json!({"Variable": "$.lower", "IsTimestamp": false}), true),
        (
            json!({"And": [
                {"Variable": "$.missing", "IsPresent": true},
                {"Variable": "$.missing", "StringEquals": "x"}
            ]}),
            false,
        ),
        (
            json!({"Or": [
                {"Variable": "$.n", "NumericEquals": 1},
                {"Not": {"Variable": "$.t", "StringEquals": "a"}}
            ]}),
            true,
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(
            decide(rule.clone(), input.clone()).await,
            Ok(expected),
            "{rule}"
        );
    }
    // A comparison on a missing Variable fails the execution, as the Choice page documents.
    assert_eq!(
        decide(json!({"Variable": "$.missing", "StringEquals": "x"}), input).await,
        Err("States.Runtime".to_owned())
    );
}

/// The test definitions in `tests/definitions` pass statelint, the AWS state machine linter.
#[test]
fn definition_files_pass_statelint() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/definitions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/statelint");
    let statelint = if venv.exists() {
        venv
    } else {
        PathBuf::from("statelint")
    };
    let result = Command::new(&statelint)
        .args(&files)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "statelint could not run ({error}): run scripts/setup.sh to install it into .venv"
            )
        });
    assert!(
        result.status.success(),
        "statelint rejects the definitions: {}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    // Each file also loads here.
    for file in &files {
        StateMachine::from_json(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    }
}

#[tokio::test]
async fn succeed_applies_input_and_output_paths() {
    let definition = json!({
        "StartAt": "Done",
        "States": {"Done": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}
    });
    let execution = run(
        &definition.to_string(),
        &Tasks::new(),
        json!({"a": {"b": 3}}),
    )
    .await;
    assert_eq!(output(&execution), &json!(3));
    let execution = run(&definition.to_string(), &Tasks::new(), json!({"a": {}})).await;
    assert_eq!(failure(&execution).error, "States.Runtime");
}

#[test]
fn a_path_or_call_that_does_not_parse_is_kept_as_the_cause() {
    let definition = json!({"StartAt": "P", "States": {"P": {
        "Type": "Pass", "InputPath": "$..a", "End": true}}});
    let error = StateMachine::from_value(&definition).unwrap_err();
    let DefinitionError::Invalid {
        location,
        violation: Violation::Path(PathError::Syntax { path, .. }),
    } = &error
    else {
        panic!("not a path error: {error:?}");
    };
    assert_eq!(location, "definition.States.P.InputPath");
    assert_eq!(path, "$..a");
    assert!(std::error::Error::source(&error).is_some());

    let definition = json!({"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($..a)"}, "End": true}}});
    let error = StateMachine::from_value(&definition).unwrap_err();
    assert!(
        matches!(
            &error,
            DefinitionError::Invalid {
                violation: Violation::Intrinsic(IntrinsicError::Path(PathError::Syntax { .. })),
                ..
            }
        ),
        "{error:?}"
    );
}
