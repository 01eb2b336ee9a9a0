//! Input and output processing, reproducing the worked examples of the AWS Step Functions Developer Guide.

use crate::common::{Tasks, failure, output, run};
use serde_json::{Value, json};
use vidpipe_stepfn::{EventKind, TaskError};

const HELLO: &str = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction";

/// The tutorial's Lambda function: `"Hello, " + event.who + "!"`.
fn hello_tasks() -> Tasks {
    Tasks::new().on(HELLO, |input| {
        Ok(json!(format!(
            "Hello, {}!",
            input["who"].as_str().unwrap_or_default()
        )))
    })
}

/// A one-Task machine calling HelloFunction, with the given extra fields on the Task state.
fn hello_machine(fields: Value) -> String {
    let mut state = json!({"Type": "Task", "Resource": HELLO, "End": true});
    state
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    json!({"StartAt": "HelloWorld", "States": {"HelloWorld": state}}).to_string()
}

/// "InputPath, ResultPath and OutputPath Examples"
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-example.html).
#[tokio::test]
async fn input_path_result_path_and_output_path_example() {
    let tasks = hello_tasks();
    let execution = run(
        include_str!("../definitions/hello-input-output.asl.json"),
        &tasks,
        json!({
            "comment": "An input comment.",
            "data": {"val1": 23, "val2": 17},
            "extra": "foo",
            "lambda": {"who": "AWS Step Functions"}
        }),
    )
    .await;
    // "The Lambda function receives only the JSON object {"who": "AWS Step Functions"} as input."
    assert_eq!(
        tasks.calls(),
        vec![(HELLO.to_owned(), json!({"who": "AWS Step Functions"}))]
    );
    assert_eq!(
        output(&execution),
        &json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"})
    );
}

/// "Specifying state output using ResultPath in Step Functions"
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html): replace, discard, include, update.
#[tokio::test]
async fn result_path_examples() {
    let input = json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    });
    let cases = [
        (json!({}), json!("Hello, AWS Step Functions!")),
        (
            json!({"ResultPath": "$"}),
            json!("Hello, AWS Step Functions!"),
        ),
        (json!({"ResultPath": null}), input.clone()),
        (
            json!({"ResultPath": "$.taskresult"}),
            json!({
                "comment": "This is a test of the input and output of a Task state.",
                "details": "Default example",
                "who": "AWS Step Functions",
                "taskresult": "Hello, AWS Step Functions!"
            }),
        ),
        // The page's output text says "Default behavior example" where its input says "Default example";
        // the value is copied from the input, so it stays "Default example".
        (
            json!({"ResultPath": "$.comment"}),
            json!({
                "comment": "Hello, AWS Step Functions!",
                "details": "Default example",
                "who": "AWS Step Functions"
            }),
        ),
    ];
    for (fields, expected) in cases {
        let execution = run(
            &hello_machine(fields.clone()),
            &hello_tasks(),
            input.clone(),
        )
        .await;
        assert_eq!(output(&execution), &expected, "with {fields}");
    }

    let execution = run(
        &hello_machine(json!({"ResultPath": "$.strings.lambdaresult"})),
        &hello_tasks(),
        json!({
            "comment": "An input comment.",
            "strings": {"string1": "foo", "string2": "bar", "string3": "baz"},
            "who": "AWS Step Functions"
        }),
    )
    .await;
    assert_eq!(
        output(&execution),
        &json!({
            "comment": "An input comment.",
            "strings": {
                "string1": "foo",
                "string2": "bar",
                "string3": "baz",
                "lambdaresult": "Hello, AWS Step Functions!"
            },
            "who": "AWS Step Functions"
        })
    );
}

/// Same page, "Use ResultPath to include both error and input in a Catch": `{"foo": "bar"}` with
/// `"ResultPath": "$.error"` gives `{"foo": "bar", "error": {"Error": "Error here", ...}}`.
#[tokio::test]
async fn catch_result_path_keeps_the_input() {
    let definition = json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fails",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NextTask", "ResultPath": "$.error"}],
                "End": true
            },
            "NextTask": {"Type": "Pass", "End": true}
        }
    });
    let tasks = Tasks::new().on(
        "arn:aws:lambda:us-east-1:123456789012:function:fails",
        |_| Err(TaskError::new("Error here", "the function raised")),
    );
    let execution = run(&definition.to_string(), &tasks, json!({"foo": "bar"})).await;
    assert_eq!(
        output(&execution),
        &json!({"foo": "bar", "error": {"Error": "Error here", "Cause": "the function raised"}})
    );
}

/// "InputPath, Parameters and ResultSelector"
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html): the InputPath and the
/// Parameters examples.
#[tokio::test]
async fn input_path_and_parameters_examples() {
    let tasks = Tasks::new().on("echo", |input| Ok(input.clone()));
    let definition = json!({
        "StartAt": "Echo",
        "States": {"Echo": {"Type": "Task", "Resource": "echo", "InputPath": "$.dataset2", "End": true}}
    });
    let execution = run(
        &definition.to_string(),
        &tasks,
        json!({
            "comment": "Example for InputPath.",
            "dataset1": {"val1": 1, "val2": 2, "val3": 3},
            "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
        }),
    )
    .await;
    assert_eq!(
        output(&execution),
        &json!({"val1": "a", "val2": "b", "val3": "c"})
    );

    let definition = json!({
        "StartAt": "Echo",
        "States": {"Echo": {
            "Type": "Task",
            "Resource": "echo",
            "Parameters": {
                "comment": "Selecting what I care about.",
                "MyDetails": {
                    "size.$": "$.product.details.size",
                    "exists.$": "$.product.availability",
                    "StaticValue": "foo"
                }
            },
            "End": true
        }}
    });
    let execution = run(
        &definition.to_string(),
        &tasks,
        json!({
            "comment": "Example for Parameters.",
            "product": {
                "details": {"color": "blue", "size": "small", "material": "cotton"},
                "availability": "in stock",
                "sku": "2317",
                "cost": "$23"
            }
        }),
    )
    .await;
    assert_eq!(
        output(&execution),
        &json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
        })
    );
}

/// Same page, the ResultSelector example: an EMR createCluster.sync result reduced to two fields and merged into
/// the input at `$.EMROutput`.
#[tokio::test]
async fn result_selector_example() {
    let resource = "arn:aws:states:::elasticmapreduce:createCluster.sync";
    let tasks = Tasks::new().on(resource, |_| {
        Ok(json!({
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {
                "SdkHttpMetadata": {
                    "HttpHeaders": {
                        "Content-Length": "1112",
                        "Content-Type": "application/x-amz-JSON-1.1",
                        "Date": "Mon, 25 Nov 2019 19:41:29 GMT",
                        "x-amzn-RequestId": "1234-5678-9012"
                    },
                    "HttpStatusCode": 200
                },
                "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
                "ClusterId": "AKIAIOSFODNN7EXAMPLE"
            }
        }))
    });
    let definition = json!({
        "StartAt": "Create Cluster",
        "States": {
            "Create Cluster": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"Name": "cluster"},
                "ResultSelector": {
                    "ClusterId.$": "$.output.ClusterId",
                    "ResourceType.$": "$.resourceType"
                },
                "ResultPath": "$.EMROutput",
                "Next": "Next Step"
            },
            "Next Step": {"Type": "Succeed"}
        }
    });
    let execution = run(
        &definition.to_string(),
        &tasks,
        json!({"OtherDataFromInput": {}}),
    )
    .await;
    assert_eq!(
        output(&execution),
        &json!({
            "OtherDataFromInput": {},
            "EMROutput": {"ResourceType": "elasticmapreduce", "ClusterId": "AKIAIOSFODNN7EXAMPLE"}
        })
    );
}

/// "Context Object" (docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html): the Pass
/// state example reading the execution's start time and name, and the SQS example passing the execution ARN.
#[tokio::test]
async fn context_object_examples() {
    let definition = json!({
        "Comment": "Accessing context object in a state machine",
        "StartAt": "Get execution context data",
        "States": {
            "Get execution context data": {
                "Type": "Pass",
                "Parameters": {"startTime.$": "$$.Execution.StartTime", "execName.$": "$$.Execution.Name"},
                "ResultPath": "$.executionContext",
                "Next": "Order Flight Ticket Queue"
            },
            "Order Flight Ticket Queue": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {
                    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/flight-purchase",
                    "MessageBody": {"From": "YVR", "To": "SEA", "Execution.$": "$$.Execution.Id"}
                },
                "ResultPath": null,
                "End": true
            }
        }
    });
    let tasks = Tasks::new().on("arn:aws:states:::sqs:sendMessage", |_| {
        Ok(json!({"MessageId": "m"}))
    });
    let execution = run(&definition.to_string(), &tasks, json!({"key": "value"})).await;
    let result = output(&execution);
    assert_eq!(result["key"], "value");
    assert_eq!(result["executionContext"]["execName"], "test-execution");
    let start = result["executionContext"]["startTime"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(start, &time::format_description::well_known::Rfc3339).is_ok(),
        "StartTime {start} is ISO 8601"
    );
    let (_, message) = &tasks.calls()[0];
    assert_eq!(
        message["MessageBody"],
        json!({
            "From": "YVR",
            "To": "SEA",
            "Execution": "arn:aws:states:local:000000000000:execution:test-machine:test-execution"
        })
    );
}

fn shipment() -> Value {
    json!({
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": "R31", "dest-code": 9511, "quantity": 1344},
                {"prod": "S39", "dest-code": 9511, "quantity": 40},
                {"prod": "R31", "dest-code": 9833, "quantity": 12},
                {"prod": "R40", "dest-code": 9860, "quantity": 887},
                {"prod": "R40", "dest-code": 9511, "quantity": 1220}
            ]
        }
    })
}

const SHIP_VAL: &str = "arn:aws:lambda:us-east-1:123456789012:function:ship-val";

/// "Map" (docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-map-state.html), "Map State
/// Example": ship-val runs once per shipped item and the results replace `detail.shipped`.
#[tokio::test]
async fn map_state_example() {
    let tasks = Tasks::new().on(SHIP_VAL, |item| {
        Ok(json!({"prod": item["prod"], "valid": true}))
    });
    let execution = run(
        include_str!("../definitions/map-ship-val.asl.json"),
        &tasks,
        shipment(),
    )
    .await;
    let calls = tasks.calls();
    assert_eq!(calls.len(), 5);
    assert!(calls.contains(&(
        SHIP_VAL.to_owned(),
        json!({"prod": "R31", "dest-code": 9511, "quantity": 1344})
    )));
    assert_eq!(
        output(&execution),
        &json!({
            "ship-date": "2016-03-14T01:59:00Z",
            "detail": {
                "delivery-partner": "UQS",
                "shipped": [
                    {"prod": "R31", "valid": true},
                    {"prod": "S39", "valid": true},
                    {"prod": "R31", "valid": true},
                    {"prod": "R40", "valid": true},
                    {"prod": "R40", "valid": true}
                ]
            }
        })
    );
}

/// Same page, "Map State Example with Parameters", verbatim (`$.delivery-partner` in dot notation; statelint's
/// path grammar rejects the hyphen, so this definition is inline rather than a linted file).
#[tokio::test]
async fn map_state_example_with_parameters() {
    let definition = json!({
        "StartAt": "Validate-All",
        "States": {
            "Validate-All": {
                "Type": "Map",
                "InputPath": "$.detail",
                "ItemsPath": "$.shipped",
                "MaxConcurrency": 0,
                "ResultPath": "$.detail.shipped",
                "Parameters": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner"},
                "Iterator": {
                    "StartAt": "Validate",
                    "States": {"Validate": {"Type": "Task", "Resource": SHIP_VAL, "End": true}}
                },
                "End": true
            }
        }
    });
    let tasks = Tasks::new().on(SHIP_VAL, |input| Ok(input["parcel"]["quantity"].clone()));
    let execution = run(&definition.to_string(), &tasks, shipment()).await;
    assert!(tasks.calls().contains(&(
        SHIP_VAL.to_owned(),
        json!({"parcel": {"prod": "R31", "dest-code": 9511, "quantity": 1344}, "courier": "UQS"})
    )));
    assert_eq!(
        output(&execution)["detail"]["shipped"],
        json!([1344, 40, 12, 887, 1220])
    );
    assert_eq!(output(&execution)["ship-date"], "2016-03-14T01:59:00Z");
}

/// "ItemSelector (Map)" (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemselector.html): each
/// iteration receives `{"size": 10, "value": <item>}`.
#[tokio::test]
async fn item_selector_example() {
    let resize = "arn:aws:lambda:us-east-1:123456789012:function:resize";
    let tasks = Tasks::new().on(resize, |input| Ok(input.clone()));
    let items = json!([
        {"resize": "true", "format": "jpg"},
        {"resize": "false", "format": "png"},
        {"resize": "true", "format": "jpg"}
    ]);
    let execution = run(
        include_str!("../definitions/map-item-selector.asl.json"),
        &tasks,
        json!({"imageData": items}),
    )
    .await;
    assert_eq!(
        output(&execution)[0],
        json!({"size": 10, "value": {"resize": "true", "format": "jpg"}})
    );
    assert_eq!(output(&execution).as_array().unwrap().len(), 3);
}

/// "Context Object", "Context Object Data for Map States": Index and Value of each item.
#[tokio::test]
async fn map_context_object_example() {
    let execution = run(
        include_str!("../definitions/map-context.asl.json"),
        &Tasks::new(),
        json!([{"who": "bob"}, {"who": "meg"}, {"who": "joe"}]),
    )
    .await;
    assert_eq!(
        output(&execution),
        &json!([
            {"ContextIndex": 0, "ContextValue": {"who": "bob"}},
            {"ContextIndex": 1, "ContextValue": {"who": "meg"}},
            {"ContextIndex": 2, "ContextValue": {"who": "joe"}}
        ])
    );
}

/// "ItemsPath" (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemspath.html): only
/// ThingsPiratesSay is iterated.
#[tokio::test]
async fn items_path_example() {
    let pirates = json!([{"say": "Avast!"}, {"say": "Yar!"}, {"say": "Walk the Plank!"}]);
    let execution = run(
        include_str!("../definitions/map-pirates.asl.json"),
        &Tasks::new(),
        json!({
            "ThingsPiratesSay": pirates,
            "ThingsGiantsSay": [{"say": "Fee!"}, {"say": "Fi!"}, {"say": "Fo!"}, {"say": "Fum!"}]
        }),
    )
    .await;
    assert_eq!(output(&execution), &pirates);
}

/// "Choice" (docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-choice-state.html): the
/// example goes to ValueInTwenties for `{"type": "Private", "value": 22}`; the other inputs exercise the other
/// rules, the Default (a Fail state) and the documented failure when `$.type` is missing.
#[tokio::test]
async fn choice_state_example() {
    let function = |name: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
    let tasks = Tasks::new()
        .on(&function("Foo"), |_| Ok(json!("Foo")))
        .on(&function("Zero"), |_| Ok(json!("Zero")))
        .on(&function("Bar"), |_| Ok(json!("Bar")));
    let definition = include_str!("../definitions/choice.asl.json");
    for (input, expected) in [
        (json!({"type": "Private", "value": 22}), "Bar"),
        (json!({"type": "Private", "value": 0}), "Zero"),
        (json!({"type": "Public", "value": 22}), "Foo"),
    ] {
        let execution = run(definition, &tasks, input.clone()).await;
        assert_eq!(output(&execution), &json!(expected), "for {input}");
    }
    let execution = run(definition, &tasks, json!({"type": "Private", "value": 50})).await;
    assert_eq!(failure(&execution).cause, "No Matches!");
    let execution = run(definition, &tasks, json!({"value": 22})).await;
    assert_eq!(failure(&execution).error, "States.Runtime");
}

/// "InputPath, ResultPath and OutputPath Examples", the applicant verification Parallel with
/// `arn:aws:states:::lambda:invoke` (with the identity branch reading `$.data.identity`; the page repeats
/// `$.data.address` for both by mistake). The optimised integration wraps each function's output in `Payload`.
#[tokio::test]
async fn parallel_lambda_invoke_example() {
    let identity = "arn:aws:lambda:us-east-2:111122223333:function:check-identity:$LATEST";
    let address = "arn:aws:lambda:us-east-2:111122223333:function:check-address:$LATEST";
    let tasks = Tasks::new()
        .on(identity, |input| {
            Ok(json!({"approved": input["email"] == "jdoe@example.com"}))
        })
        .on(address, |input| {
            Ok(json!({"approved": input["zip"] == "43219"}))
        });
    let execution = run(
        include_str!("../definitions/verify-info.asl.json"),
        &tasks,
        json!({"data": {
            "firstname": "Jane",
            "lastname": "Doe",
            "identity": {"email": "jdoe@example.com", "ssn": "123-45-6789"},
            "address": {"street": "123 Main St", "city": "Columbus", "state": "OH", "zip": "43219"}
        }}),
    )
    .await;
    let results = output(&execution).as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(result["Payload"], json!({"approved": true}));
        assert_eq!(result["StatusCode"], 200);
        assert_eq!(result["SdkHttpMetadata"]["HttpStatusCode"], 200);
    }
    let mut calls = tasks.calls();
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        calls[0],
        (
            address.to_owned(),
            json!({"street": "123 Main St", "city": "Columbus", "state": "OH", "zip": "43219"})
        )
    );
    assert_eq!(
        calls[1],
        (
            identity.to_owned(),
            json!({"email": "jdoe@example.com", "ssn": "123-45-6789"})
        )
    );
}

/// InputPath and OutputPath `null` give `{}`; a Pass state's Result replaces its input at ResultPath.
#[tokio::test]
async fn null_paths_and_pass_results() {
    let definition = json!({
        "StartAt": "Nothing",
        "States": {
            "Nothing": {"Type": "Pass", "InputPath": null, "ResultPath": "$.seen", "Next": "Fixed"},
            "Fixed": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.fixed", "Next": "Drop"},
            "Drop": {"Type": "Pass", "OutputPath": null, "Next": "Last"},
            "Last": {"Type": "Pass", "Result": "done", "ResultPath": "$.status", "End": true}
        }
    });
    let execution = run(&definition.to_string(), &Tasks::new(), json!({"a": 1})).await;
    assert_eq!(output(&execution), &json!({"status": "done"}));
    let exits: Vec<&Value> = execution
        .history
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StateExited { output, .. } => Some(output),
            _ => None,
        })
        .collect();
    assert_eq!(exits[0], &json!({"a": 1, "seen": {}}));
    assert_eq!(exits[1], &json!({"a": 1, "seen": {}, "fixed": {"x": 1}}));
}

/// A path in Parameters that matches nothing fails the execution with States.Runtime, which `States.ALL` does
/// not catch.
#[tokio::test]
async fn missing_parameter_path_is_a_runtime_error() {
    let definition = json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "echo",
                "Parameters": {"x.$": "$.missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    });
    let tasks = Tasks::new().on("echo", |input| Ok(input.clone()));
    let execution = run(&definition.to_string(), &tasks, json!({"a": 1})).await;
    let error = failure(&execution);
    assert_eq!(error.error, "States.Runtime");
    assert!(error.cause.contains("$.missing"), "{}", error.cause);
    assert!(tasks.calls().is_empty());
}

/// The history records each step in order.
#[tokio::test]
async fn history_records_states_and_tasks() {
    let execution = run(
        &hello_machine(json!({})),
        &hello_tasks(),
        json!({"who": "you"}),
    )
    .await;
    let kinds: Vec<&str> = execution
        .history
        .iter()
        .map(|event| match &event.kind {
            EventKind::ExecutionStarted { .. } => "ExecutionStarted",
            EventKind::StateEntered { .. } => "StateEntered",
            EventKind::TaskScheduled { .. } => "TaskScheduled",
            EventKind::TaskSucceeded { .. } => "TaskSucceeded",
            EventKind::StateExited { .. } => "StateExited",
            EventKind::ExecutionSucceeded { .. } => "ExecutionSucceeded",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "StateEntered",
            "TaskScheduled",
            "TaskSucceeded",
            "StateExited",
            "ExecutionSucceeded"
        ]
    );
    assert!(
        execution
            .history
            .iter()
            .enumerate()
            .all(|(i, event)| event.id == i + 1)
    );
    let json = serde_json::to_value(&execution.history[1]).unwrap();
    assert_eq!(json["type"], "StateEntered");
    assert_eq!(json["state"], "HelloWorld");
}

/// An execution serializes to JSON for the command line: status, output or error, and the history.
#[tokio::test]
async fn executions_serialize_for_the_command_line() {
    let execution = run(
        &hello_machine(json!({})),
        &hello_tasks(),
        json!({"who": "json"}),
    )
    .await;
    let value = serde_json::to_value(&execution).unwrap();
    assert_eq!(
        value["outcome"],
        json!({"status": "SUCCEEDED", "output": "Hello, json!"})
    );
    assert_eq!(
        value["history"].as_array().unwrap().len(),
        execution.history.len()
    );

    let failing = Tasks::new().on(HELLO, |_| Err(TaskError::new("Nope", "no greeting")));
    let execution = run(&hello_machine(json!({})), &failing, json!({})).await;
    assert_eq!(
        serde_json::to_value(&execution.outcome).unwrap(),
        json!({"status": "FAILED", "error": {"Error": "Nope", "Cause": "no greeting"}})
    );
}

/// "Pass" (docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-pass-state.html): the Result is
/// placed at `$.coords`.
#[tokio::test]
async fn pass_state_example() {
    let definition = json!({
        "StartAt": "No-op",
        "States": {
            "No-op": {
                "Type": "Pass",
                "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
                "ResultPath": "$.coords",
                "Next": "End"
            },
            "End": {"Type": "Succeed"}
        }
    });
    let execution = run(
        &definition.to_string(),
        &Tasks::new(),
        json!({"georefOf": "Home"}),
    )
    .await;
    assert_eq!(
        output(&execution),
        &json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
    );
}

/// "Parallel" (docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-parallel-state.html):
/// FunWithMath on `[3, 2]` gives `[5, 1]`. The page's tasks are activities, which the interpreter refuses, so
/// they are Lambda functions here.
#[tokio::test]
async fn parallel_state_example() {
    let add = "arn:aws:lambda:us-east-1:123456789012:function:Add";
    let subtract = "arn:aws:lambda:us-east-1:123456789012:function:Subtract";
    let definition = json!({
        "Comment": "Parallel Example.",
        "StartAt": "FunWithMath",
        "States": {
            "FunWithMath": {
                "Type": "Parallel",
                "End": true,
                "Branches": [
                    {"StartAt": "Add", "States": {"Add": {"Type": "Task", "Resource": add, "End": true}}},
                    {"StartAt": "Subtract", "States": {"Subtract": {"Type": "Task", "Resource": subtract, "End": true}}}
                ]
            }
        }
    });
    let number = |value: &Value, i: usize| value[i].as_i64().unwrap_or_default();
    let tasks = Tasks::new()
        .on(add, move |input| {
            Ok(json!(number(input, 0) + number(input, 1)))
        })
        .on(subtract, move |input| {
            Ok(json!(number(input, 0) - number(input, 1)))
        });
    let execution = run(&definition.to_string(), &tasks, json!([3, 2])).await;
    assert_eq!(output(&execution), &json!([5, 1]));
}
