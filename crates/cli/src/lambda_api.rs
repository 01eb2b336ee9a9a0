//! The Lambda Invoke API as `cargo lambda watch` serves it (`POST /2015-03-31/functions/{name}/invocations`): how
//! the queue pump and the local Step Functions endpoint call the functions.

use serde_json::Value;

/// Why an invocation gave no result.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The request did not get an answer (the server is not running, the connection broke).
    #[error("invoking {function}: {message}")]
    Transport {
        /// The function.
        function: String,
        /// What failed.
        message: String,
    },
    /// The server refused the invocation (no such function: 404).
    #[error("{function} answered {status}: {body}")]
    Status {
        /// The function.
        function: String,
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// The function ran and failed (`X-Amz-Function-Error`): its error type and message.
    #[error("{function} failed: {error_type}: {message}")]
    Function {
        /// The function.
        function: String,
        /// The error type (what a state machine's `Retry`/`Catch` matches).
        error_type: String,
        /// The error message.
        message: String,
    },
}

/// Invokes `function` at `invoke_url` (for example `http://127.0.0.1:9000`) with `payload`; returns its answer.
pub async fn invoke(
    http: &reqwest::Client,
    invoke_url: &str,
    function: &str,
    payload: &Value,
) -> Result<Value, InvokeError> {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        invoke_url.trim_end_matches('/')
    );
    let transport = |e: reqwest::Error| InvokeError::Transport {
        function: function.to_owned(),
        message: e.to_string(),
    };
    let response = http
        .post(&url)
        .json(payload)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let body = response.text().await.map_err(transport)?;
    if function_error {
        let error: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        return Err(InvokeError::Function {
            function: function.to_owned(),
            error_type: error["errorType"]
                .as_str()
                .unwrap_or("Unhandled")
                .to_owned(),
            message: error["errorMessage"].as_str().unwrap_or(&body).to_owned(),
        });
    }
    if !status.is_success() {
        return Err(InvokeError::Status {
            function: function.to_owned(),
            status: status.as_u16(),
            body,
        });
    }
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}
