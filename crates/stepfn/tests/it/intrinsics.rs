//! Intrinsic functions, reproducing "Intrinsic functions for JSONPath states in Step Functions"
//! (docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html).

use crate::common::{Tasks, failure, output, run};
use serde_json::{Value, json};
use vidpipe_stepfn::{DefinitionError, StateMachine};

/// A Pass state whose Parameters are `parameters`, run on `input`.
async fn pass(parameters: Value, input: Value) -> vidpipe_stepfn::Execution {
    let definition = json!({
        "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "Parameters": parameters, "End": true}}
    });
    run(&definition.to_string(), &Tasks::new(), input).await
}

async fn evaluate(expression: &str, input: Value) -> Value {
    output(&pass(json!({"value.$": expression}), input).await)["value"].clone()
}

#[tokio::test]
async fn array_intrinsics_examples() {
    assert_eq!(
        output(
            &pass(
                json!({"BuildId.$": "States.Array($.Id)"}),
                json!({"Id": 123456})
            )
            .await
        ),
        &json!({"BuildId": [123456]})
    );
    let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5, "index": 5});
    assert_eq!(
        evaluate("States.ArrayPartition($.inputArray,4)", nine.clone()).await,
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    );
    assert_eq!(
        evaluate(
            "States.ArrayContains($.inputArray, $.lookingFor)",
            nine.clone()
        )
        .await,
        json!(true)
    );
    assert_eq!(
        evaluate("States.ArrayRange(1, 9, 2)", json!({})).await,
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        evaluate("States.ArrayGetItem($.inputArray, $.index)", nine.clone()).await,
        json!(6)
    );
    assert_eq!(
        evaluate("States.ArrayLength($.inputArray)", nine).await,
        json!(9)
    );
    assert_eq!(
        evaluate(
            "States.ArrayUnique($.inputArray)",
            json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
        )
        .await,
        json!([1, 2, 3, 4])
    );
    // Descending ranges and non-integer arguments, which the page says are rounded.
    assert_eq!(
        evaluate("States.ArrayRange(9, 1, -4)", json!({})).await,
        json!([9, 5, 1])
    );
    assert_eq!(
        evaluate("States.ArrayRange(1, 3.4, 1)", json!({})).await,
        json!([1, 2, 3])
    );
}

#[tokio::test]
async fn encoding_and_hash_examples() {
    assert_eq!(
        evaluate(
            "States.Base64Encode($.input)",
            json!({"input": "Data to encode"})
        )
        .await,
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    // The page shows "Decoded data" as the result of decoding "RGF0YSB0byBlbmNvZGU=", which is the encoding of
    // "Data to encode": the round trip is what Base64 gives.
    assert_eq!(
        evaluate(
            "States.Base64Decode($.base64)",
            json!({"base64": "RGF0YSB0byBlbmNvZGU="})
        )
        .await,
        json!("Data to encode")
    );
    // The page prints the SHA-1 of "input data" with one digit missing; this is the full digest.
    assert_eq!(
        evaluate(
            "States.Hash($.Data, $.Algorithm)",
            json!({"Data": "input data", "Algorithm": "SHA-1"})
        )
        .await,
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    for (algorithm, digest) in [
        ("MD5", "900150983cd24fb0d6963f7d28e17f72"),
        (
            "SHA-256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "SHA-384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ] {
        assert_eq!(
            evaluate(&format!("States.Hash('abc', '{algorithm}')"), json!({})).await,
            json!(digest),
            "{algorithm}"
        );
    }
}

#[tokio::test]
async fn json_intrinsics_examples() {
    assert_eq!(
        evaluate(
            "States.JsonMerge($.json1, $.json2, false)",
            json!({
                "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}
            })
        )
        .await,
        json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
    );
    assert_eq!(
        evaluate(
            "States.StringToJson($.escapedJsonString)",
            json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
        )
        .await,
        json!({"foo": "bar"})
    );
    assert_eq!(
        evaluate(
            "States.JsonToString($.unescapedJson)",
            json!({"unescapedJson": {"foo": "bar"}})
        )
        .await,
        json!("{\"foo\":\"bar\"}")
    );
}

#[tokio::test]
async fn math_string_uuid_and_format_examples() {
    assert_eq!(
        evaluate(
            "States.MathAdd($.value1, $.step)",
            json!({"value1": 111, "step": -1})
        )
        .await,
        json!(110)
    );
    let random = evaluate(
        "States.MathRandom($.start, $.end)",
        json!({"start": 1, "end": 999}),
    )
    .await
    .as_i64()
    .unwrap();
    assert!((1..999).contains(&random), "{random}");
    // The same seed gives the same number.
    assert_eq!(
        evaluate("States.MathRandom(1, 999, 42)", json!({})).await,
        evaluate("States.MathRandom(1, 999, 42)", json!({})).await
    );
    assert_eq!(
        evaluate(
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "1,2,3,4,5", "splitter": ","})
        )
        .await,
        json!(["1", "2", "3", "4", "5"])
    );
    assert_eq!(
        evaluate(
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
        )
        .await,
        json!(["This", "is", "a", "test", "string"])
    );
    let uuid = evaluate("States.UUID()", json!({})).await;
    let uuid = uuid::Uuid::parse_str(uuid.as_str().unwrap()).unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
    assert_eq!(
        evaluate(
            "States.Format('Hello, my name is {}.', $.name)",
            input.clone()
        )
        .await,
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        evaluate("States.Format($.template, $.name)", input).await,
        json!("Hello, my name is Arnav.")
    );
}

/// "Reserved characters in intrinsic functions": `\'`, `\{`, `\}` and `\\` stand for the character itself.
#[tokio::test]
async fn escapes_and_nested_calls() {
    assert_eq!(
        evaluate(
            r"States.Format('it\'s \{literal\} {} \\ {}', $.a, 2)",
            json!({"a": "x"})
        )
        .await,
        json!(r"it's {literal} x \ 2")
    );
    // Nested calls, after the page's nine-level `myArn` example (which passes two values to three `{}`).
    assert_eq!(
        evaluate(
            "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.Arn, '/'), 2), '.'), 1))",
            json!({"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.2"})
        )
        .await,
        json!("1.0")
    );
    // A bracketed path argument containing ',' and ')'.
    assert_eq!(
        evaluate(
            "States.Array($['a,b)'], 1.5, true, null)",
            json!({"a,b)": "odd"})
        )
        .await,
        json!(["odd", 1.5, true, null])
    );
    // Intrinsics in ResultSelector and in a Fail state's CausePath.
    let definition = json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "count",
                "ResultSelector": {"count.$": "States.ArrayLength($.items)"},
                "Next": "Stop"
            },
            "Stop": {"Type": "Fail", "Error": "Counted", "CausePath": "States.Format('{} items', $.count)"}
        }
    });
    let tasks = Tasks::new().on("count", |_| Ok(json!({"items": [1, 2, 3]})));
    let execution = run(&definition.to_string(), &tasks, json!({})).await;
    assert_eq!(failure(&execution).error, "Counted");
    assert_eq!(failure(&execution).cause, "3 items");
}

#[tokio::test]
async fn bad_arguments_fail_with_intrinsic_failure() {
    for (expression, input) in [
        ("States.ArrayGetItem($.a, 5)", json!({"a": [1]})),
        ("States.StringToJson($.s)", json!({"s": "{not json"})),
        ("States.JsonMerge($.a, $.a, true)", json!({"a": {}})),
        ("States.MathAdd($.a, 1)", json!({"a": "one"})),
        ("States.ArrayRange(1, 5000, 1)", json!({})),
        (
            "States.ArrayRange(-9223372036854775808, 9223372036854775807, 1)",
            json!({}),
        ),
        ("States.Hash('x', 'SHA-3')", json!({})),
        ("States.Format('{} {}', 1)", json!({})),
    ] {
        let execution = pass(json!({"value.$": expression}), input).await;
        assert_eq!(
            failure(&execution).error,
            "States.IntrinsicFailure",
            "{expression}"
        );
    }
}

#[test]
fn malformed_calls_are_refused_at_load_time() {
    for (expression, message) in [
        ("States.Nope($.a)", "not an intrinsic function"),
        ("States.ArrayLength()", "takes 1 arguments"),
        ("States.Format('{', $.a)", "must be escaped"),
        ("States.Format('a\\b')", "backslash"),
        ("States.Array($.a", "expected ',' or ')'"),
        ("States.Array(foo)", "is not a string"),
        ("States.Array($..a)", "deep scan"),
    ] {
        let definition = json!({
            "StartAt": "Compute",
            "States": {"Compute": {"Type": "Pass", "Parameters": {"v.$": expression}, "End": true}}
        });
        let error = StateMachine::from_value(&definition).unwrap_err();
        assert!(
            matches!(error, DefinitionError::Invalid { .. }) && error.to_string().contains(message),
            "{expression}: {error}"
        );
    }
}
