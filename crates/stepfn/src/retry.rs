//! Retry and Catch: the retriers and catchers of Task, Parallel and Map states, loaded from a definition.

use serde_json::{Map, Value};

use crate::definition::{
    check_fields, object, positive_integer, positive_integer_or, reference_path_or_null, string,
};
use crate::error::{DefinitionError, names};
use crate::path::Path;

/// One `Retry` entry.
#[derive(Debug)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: f64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<f64>,
    pub(crate) full_jitter: bool,
}

/// One `Catch` entry.
#[derive(Debug)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: Option<Path>,
}

/// Reads a `Retry` or `Catch` array: each entry an object with only `fields`, and an `ErrorEquals` where
/// `States.ALL` may stand only alone and last; `read` reads the rest of an entry from its fields and location.
fn entries<T>(
    value: Option<&Value>,
    location: &str,
    fields: &[&str],
    read: impl Fn(&Map<String, Value>, &str, Vec<String>) -> Result<T, DefinitionError>,
) -> Result<Vec<T>, DefinitionError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| DefinitionError::invalid(location, "must be an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("{location}[{i}]");
            let map = object(item, &here)?;
            check_fields(map, &here, fields)?;
            read(map, &here, error_equals(map, &here, i + 1 == items.len())?)
        })
        .collect()
}

pub(crate) fn retriers(
    value: Option<&Value>,
    location: &str,
) -> Result<Vec<Retrier>, DefinitionError> {
    const FIELDS: &[&str] = &[
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    ];
    entries(value, location, FIELDS, |map, here, error_equals| {
        let number = |key: &str, default: f64, minimum: f64| -> Result<f64, DefinitionError> {
            match map.get(key) {
                None => Ok(default),
                Some(value) => value
                    .as_f64()
                    .filter(|number| *number >= minimum)
                    .ok_or_else(|| {
                        DefinitionError::invalid(
                            &format!("{here}.{key}"),
                            format!("must be a number >= {minimum}"),
                        )
                    }),
            }
        };
        let full_jitter = match map.get("JitterStrategy").map(|value| value.as_str()) {
            None | Some(Some("NONE")) => false,
            Some(Some("FULL")) => true,
            Some(_) => {
                return Err(DefinitionError::invalid(
                    &format!("{here}.JitterStrategy"),
                    "must be FULL or NONE",
                ));
            }
        };
        Ok(Retrier {
            error_equals,
            interval_seconds: positive_integer_or(
                map.get("IntervalSeconds"),
                1,
                &format!("{here}.IntervalSeconds"),
            )? as f64,
            max_attempts: match map.get("MaxAttempts") {
                None => 3,
                Some(value) => value.as_u64().ok_or_else(|| {
                    DefinitionError::invalid(
                        &format!("{here}.MaxAttempts"),
                        "must be a non-negative integer",
                    )
                })?,
            },
            backoff_rate: number("BackoffRate", 2.0, 1.0)?,
            max_delay_seconds: map
                .get("MaxDelaySeconds")
                .map(|value| {
                    positive_integer(value, &format!("{here}.MaxDelaySeconds")).map(|v| v as f64)
                })
                .transpose()?,
            full_jitter,
        })
    })
}

pub(crate) fn catchers(
    value: Option<&Value>,
    location: &str,
) -> Result<Vec<Catcher>, DefinitionError> {
    const FIELDS: &[&str] = &["ErrorEquals", "Next", "ResultPath", "Comment"];
    entries(value, location, FIELDS, |map, here, error_equals| {
        Ok(Catcher {
            error_equals,
            next: string(map.get("Next"), &format!("{here}.Next"))?.to_owned(),
            result_path: match map.get("ResultPath") {
                None => Some(Path::root()),
                Some(value) => reference_path_or_null(value, &format!("{here}.ResultPath"))?,
            },
        })
    })
}

fn error_equals(
    map: &Map<String, Value>,
    location: &str,
    last: bool,
) -> Result<Vec<String>, DefinitionError> {
    let names_list: Vec<String> = map
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| {
            DefinitionError::invalid(location, "ErrorEquals must be a non-empty array of strings")
        })?;
    if names_list.iter().any(|name| name == names::ALL) && (names_list.len() > 1 || !last) {
        return Err(DefinitionError::invalid(
            location,
            "States.ALL must appear alone, in the last retrier or catcher",
        ));
    }
    Ok(names_list)
}
