//! Shared by the presign tests: API Gateway v2 events built from the `events/presign` fixtures.

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::path::PathBuf;

/// Path of a fixture under `events/presign`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/presign")
        .join(name)
}

/// A fixture as JSON.
pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path(name)).expect("fixture exists"))
        .expect("fixture is JSON")
}

/// A request from a fixture, with its body, path (and the path's placeholder `RECORDING_ID`) replaced as asked.
pub fn request_from(mut event: Value) -> Request {
    lambda_http::request::from_str(&event.take().to_string()).expect("a valid API Gateway v2 event")
}

/// Event builder over a fixture.
pub struct Event(pub Value);

impl Event {
    /// Starts from `events/presign/{name}`.
    pub fn fixture(name: &str) -> Self {
        Self(fixture(name))
    }

    /// Replaces the JSON body.
    pub fn body(mut self, body: &str) -> Self {
        self.0["body"] = Value::String(body.to_owned());
        self
    }

    /// Replaces the path (raw and context).
    pub fn path(mut self, path: &str) -> Self {
        self.0["rawPath"] = Value::String(path.to_owned());
        self.0["requestContext"]["http"]["path"] = Value::String(path.to_owned());
        self
    }

    /// Replaces `RECORDING_ID` in the path.
    pub fn id(self, id: &str) -> Self {
        let path = self.0["rawPath"]
            .as_str()
            .unwrap()
            .replace("RECORDING_ID", id);
        self.path(&path)
    }

    /// Sets the method.
    pub fn method(mut self, method: &str) -> Self {
        self.0["requestContext"]["http"]["method"] = Value::String(method.to_owned());
        self
    }

    /// Sets the query string.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let map: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        self.0["rawQueryString"] = Value::String(
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        );
        self.0["queryStringParameters"] = Value::Object(map);
        self
    }

    /// Sets the JWT authorizer's `sub`, or removes the authorizer.
    pub fn subject(mut self, sub: Option<&str>) -> Self {
        match sub {
            Some(sub) => {
                self.0["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] =
                    Value::String(sub.into())
            }
            None => {
                self.0["requestContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("authorizer");
            }
        }
        self
    }

    /// Sets a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = Value::String(value.to_owned());
        self
    }

    /// The request.
    pub fn request(self) -> Request {
        request_from(self.0)
    }
}

/// A response's status and JSON body.
pub fn parts(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: &[u8] = response.body().as_ref();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).expect("JSON body")
    };
    (status, json)
}
