//! Loading an Amazon States Language definition: every field is checked, and anything the interpreter does not
//! implement is refused with a named error.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::choice::{ChoiceRule, parse_timestamp};
use crate::error::DefinitionError;
use crate::intrinsic::Call;
use crate::path::Path;
use crate::retry::{Catcher, Retrier, catchers, retriers};
use crate::template::Template;

/// A loaded state machine (the top level, a Parallel branch or a Map's item processor).
#[derive(Debug)]
pub struct StateMachine {
    pub(crate) start_at: String,
    pub(crate) states: HashMap<String, State>,
    pub(crate) timeout_seconds: Option<u64>,
}

/// One state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) name: String,
    /// `None` is `"InputPath": null`: the state sees `{}`.
    pub(crate) input_path: Option<Path>,
    /// `None` is `"OutputPath": null`: the state outputs `{}`.
    pub(crate) output_path: Option<Path>,
    pub(crate) transition: Transition,
    pub(crate) kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Transition {
    Next(String),
    End,
    /// Choice, Succeed and Fail decide by themselves.
    None,
}

/// Fields shared by the states that produce a result.
#[derive(Debug)]
pub(crate) struct ResultHandling {
    pub(crate) result_selector: Option<Template>,
    /// `None` is `"ResultPath": null`: the result is discarded.
    pub(crate) result_path: Option<Path>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Task {
        resource: String,
        parameters: Option<Template>,
        timeout: Option<IntegerSource>,
        result: ResultHandling,
    },
    Pass {
        result_value: Option<Value>,
        parameters: Option<Template>,
        result_path: Option<Path>,
    },
    Choice {
        choices: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel {
        branches: Vec<Arc<StateMachine>>,
        parameters: Option<Template>,
        result: ResultHandling,
    },
    Map {
        processor: Arc<StateMachine>,
        items_path: Path,
        item_selector: Option<Template>,
        max_concurrency: IntegerSource,
        result: ResultHandling,
    },
}

impl Kind {
    /// The state's `Type`, as Step Functions names it in history event types (`TaskStateEntered`).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Task { .. } => "Task",
            Self::Pass { .. } => "Pass",
            Self::Choice { .. } => "Choice",
            Self::Wait(_) => "Wait",
            Self::Succeed => "Succeed",
            Self::Fail { .. } => "Fail",
            Self::Parallel { .. } => "Parallel",
            Self::Map { .. } => "Map",
        }
    }
}

/// A non-negative integer given literally or by a reference path.
#[derive(Debug)]
pub(crate) enum IntegerSource {
    Literal(u64),
    Path(Path),
}

#[derive(Debug)]
pub(crate) enum WaitFor {
    Seconds(IntegerSource),
    Timestamp(time::OffsetDateTime),
    TimestampPath(Path),
}

/// A Fail state's `Error`/`Cause`, given literally, by a path, or by an intrinsic function.
#[derive(Debug)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
    Intrinsic(Call),
}

/// Fields of the JSONata query language, variables, and other features this interpreter refuses.
const UNSUPPORTED_FIELDS: [&str; 15] = [
    "Arguments",
    "Output",
    "Assign",
    "Items",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Credentials",
];

impl StateMachine {
    /// Loads a definition from its JSON text.
    pub fn from_json(text: &str) -> Result<StateMachine, DefinitionError> {
        Self::from_value(&serde_json::from_str(text)?)
    }

    /// Loads a definition from a JSON value.
    pub fn from_value(value: &Value) -> Result<StateMachine, DefinitionError> {
        let map = object(value, "definition")?;
        check_fields(
            map,
            "definition",
            &[
                "StartAt",
                "States",
                "Comment",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
        )?;
        if map.get("Version").is_some_and(|version| version != "1.0") {
            return Err(DefinitionError::invalid(
                "definition.Version",
                "only \"1.0\" exists",
            ));
        }
        let timeout_seconds = map
            .get("TimeoutSeconds")
            .map(|value| positive_integer(value, "definition.TimeoutSeconds"))
            .transpose()?;
        let mut machine = Self::graph(map, "definition")?;
        machine.timeout_seconds = timeout_seconds;
        Ok(machine)
    }

    /// `StartAt` and `States`, with every transition checked to stay inside this graph.
    fn graph(map: &Map<String, Value>, location: &str) -> Result<StateMachine, DefinitionError> {
        let start_at = string(map.get("StartAt"), &format!("{location}.StartAt"))?.to_owned();
        let states_value = map
            .get("States")
            .ok_or_else(|| DefinitionError::invalid(location, "States is required"))?;
        let states_map = object(states_value, &format!("{location}.States"))?;
        if states_map.is_empty() {
            return Err(DefinitionError::invalid(
                location,
                "States must not be empty",
            ));
        }
        let mut states = HashMap::new();
        for (name, value) in states_map {
            if name.is_empty() || name.chars().count() > 80 {
                return Err(DefinitionError::invalid(
                    location,
                    format!("state name {name:?} must have 1 to 80 characters"),
                ));
            }
            let state = State::load(name, value, &format!("{location}.States.{name}"))?;
            states.insert(name.clone(), state);
        }
        let machine = StateMachine {
            start_at,
            states,
            timeout_seconds: None,
        };
        machine.check_targets(location)?;
        Ok(machine)
    }

    fn check_targets(&self, location: &str) -> Result<(), DefinitionError> {
        let check = |target: &str, from: &str| {
            if self.states.contains_key(target) {
                Ok(())
            } else {
                Err(DefinitionError::invalid(
                    from,
                    format!("the target state {target:?} does not exist in this scope"),
                ))
            }
        };
        check(&self.start_at, &format!("{location}.StartAt"))?;
        for state in self.states.values() {
            let here = format!("{location}.States.{}", state.name);
            if let Transition::Next(next) = &state.transition {
                check(next, &here)?;
            }
            let catchers = match &state.kind {
                Kind::Choice { choices, default } => {
                    for rule in choices {
                        check(&rule.next, &here)?;
                    }
                    if let Some(default) = default {
                        check(default, &here)?;
                    }
                    continue;
                }
                Kind::Task { result, .. }
                | Kind::Parallel { result, .. }
                | Kind::Map { result, .. } => &result.catch,
                _ => continue,
            };
            for catcher in catchers {
                check(&catcher.next, &here)?;
            }
        }
        Ok(())
    }
}

impl State {
    fn load(name: &str, value: &Value, location: &str) -> Result<State, DefinitionError> {
        let map = object(value, location)?;
        let state_type = string(map.get("Type"), &format!("{location}.Type"))?;
        let mut all = vec!["Type", "Comment", "QueryLanguage"];
        all.extend_from_slice(allowed_fields(state_type, location)?);
        check_fields(map, location, &all)?;
        let fields = Fields { map, location };
        let input_path = fields.optional_path("InputPath")?;
        let output_path = fields.optional_path("OutputPath")?;
        let transition = transition(&fields, state_type)?;
        let kind = match state_type {
            "Task" => load_task(&fields)?,
            "Pass" => Kind::Pass {
                result_value: map.get("Result").cloned(),
                parameters: fields.template("Parameters")?,
                result_path: fields.result_path("ResultPath")?,
            },
            "Choice" => load_choice(&fields)?,
            "Wait" => Kind::Wait(wait_for(map, location)?),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: fail_text(map, "Error", location)?,
                cause: fail_text(map, "Cause", location)?,
            },
            "Parallel" => load_parallel(&fields)?,
            // The field check above admits no other type.
            _ => load_map(map, location, fields.result_handling()?)?,
        };
        Ok(State {
            name: name.to_owned(),
            input_path,
            output_path,
            transition,
            kind,
        })
    }
}

/// The fields a state of `state_type` may have besides `Type`, `Comment` and `QueryLanguage`.
fn allowed_fields(
    state_type: &str,
    location: &str,
) -> Result<&'static [&'static str], DefinitionError> {
    Ok(match state_type {
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
        ],
        "Pass" => &[
            "Result",
            "Parameters",
            "ResultPath",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
        ],
        "Choice" => &["Choices", "Default", "InputPath", "OutputPath"],
        "Wait" => &[
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
        ],
        "Map" => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
        ],
        other => {
            return Err(DefinitionError::invalid(
                location,
                format!("unknown state type {other:?}"),
            ));
        }
    })
}

/// One state's fields, with where they are for error messages.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    location: &'a str,
}

impl Fields<'_> {
    /// The location of the field `key`.
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.location)
    }

    /// `InputPath` or `OutputPath`: `$` when absent, none when null.
    fn optional_path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(Some(Path::root())),
            Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Path::parse(text)
                .map(Some)
                .map_err(|error| DefinitionError::invalid(&self.at(key), error)),
            Some(_) => Err(DefinitionError::invalid(
                &self.at(key),
                "must be a path string or null",
            )),
        }
    }

    /// A payload template (`Parameters`, `ResultSelector`), if given.
    fn template(&self, key: &str) -> Result<Option<Template>, DefinitionError> {
        self.map
            .get(key)
            .map(|value| Template::compile(value, &self.at(key)))
            .transpose()
    }

    /// `ResultPath`: `$` when absent, none (discard the result) when null.
    fn result_path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(Some(Path::root())),
            Some(value) => reference_path_or_null(value, &self.at(key)),
        }
    }

    /// What Task, Parallel and Map states do with their result and their errors.
    fn result_handling(&self) -> Result<ResultHandling, DefinitionError> {
        Ok(ResultHandling {
            result_selector: self.template("ResultSelector")?,
            result_path: self.result_path("ResultPath")?,
            retry: retriers(self.map.get("Retry"), &self.at("Retry"))?,
            catch: catchers(self.map.get("Catch"), &self.at("Catch"))?,
        })
    }
}

fn transition(fields: &Fields<'_>, state_type: &str) -> Result<Transition, DefinitionError> {
    let location = fields.location;
    Ok(match (fields.map.get("Next"), fields.map.get("End")) {
        (Some(_), Some(_)) => {
            return Err(DefinitionError::invalid(
                location,
                "Next and End are exclusive",
            ));
        }
        (Some(next), None) => Transition::Next(string(Some(next), &fields.at("Next"))?.to_owned()),
        (None, Some(Value::Bool(true))) => Transition::End,
        (None, Some(_)) => {
            return Err(DefinitionError::invalid(
                &fields.at("End"),
                "End must be true",
            ));
        }
        (None, None) if matches!(state_type, "Choice" | "Succeed" | "Fail") => Transition::None,
        (None, None) => {
            return Err(DefinitionError::invalid(
                location,
                "a Next or \"End\": true is required",
            ));
        }
    })
}

fn load_task(fields: &Fields<'_>) -> Result<Kind, DefinitionError> {
    let (map, location) = (fields.map, fields.location);
    let resource = string(map.get("Resource"), &fields.at("Resource"))?.to_owned();
    if resource.ends_with(".waitForTaskToken") || resource.contains(":activity:") {
        return Err(DefinitionError::unsupported(
            &fields.at("Resource"),
            format!("the callback or activity resource {resource:?}"),
        ));
    }
    let timeout = match (map.get("TimeoutSeconds"), map.get("TimeoutSecondsPath")) {
        (Some(_), Some(_)) => {
            return Err(DefinitionError::invalid(
                location,
                "TimeoutSeconds and TimeoutSecondsPath are exclusive",
            ));
        }
        (Some(value), None) => Some(IntegerSource::Literal(positive_integer(
            value,
            &fields.at("TimeoutSeconds"),
        )?)),
        (None, Some(value)) => Some(IntegerSource::Path(reference_path(
            value,
            &fields.at("TimeoutSecondsPath"),
        )?)),
        (None, None) => None,
    };
    Ok(Kind::Task {
        resource,
        parameters: fields.template("Parameters")?,
        timeout,
        result: fields.result_handling()?,
    })
}

/// The non-empty array `map[key]`.
fn non_empty_array<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    location: &str,
) -> Result<&'a [Value], DefinitionError> {
    map.get(key)
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .map(Vec::as_slice)
        .ok_or_else(|| {
            DefinitionError::invalid(location, format!("{key} must be a non-empty array"))
        })
}

fn load_choice(fields: &Fields<'_>) -> Result<Kind, DefinitionError> {
    let (map, location) = (fields.map, fields.location);
    let choices = non_empty_array(map, "Choices", location)?
        .iter()
        .enumerate()
        .map(|(i, rule)| ChoiceRule::compile(rule, &format!("{location}.Choices[{i}]")))
        .collect::<Result<_, _>>()?;
    let default = map
        .get("Default")
        .map(|value| string(Some(value), &fields.at("Default")).map(str::to_owned))
        .transpose()?;
    Ok(Kind::Choice { choices, default })
}

fn load_parallel(fields: &Fields<'_>) -> Result<Kind, DefinitionError> {
    let (map, location) = (fields.map, fields.location);
    let branches = non_empty_array(map, "Branches", location)?
        .iter()
        .enumerate()
        .map(|(i, branch)| {
            let here = format!("{location}.Branches[{i}]");
            let branch_map = object(branch, &here)?;
            check_fields(branch_map, &here, &["StartAt", "States", "Comment"])?;
            StateMachine::graph(branch_map, &here).map(Arc::new)
        })
        .collect::<Result<_, _>>()?;
    Ok(Kind::Parallel {
        branches,
        parameters: fields.template("Parameters")?,
        result: fields.result_handling()?,
    })
}

fn load_map(
    map: &Map<String, Value>,
    location: &str,
    result: ResultHandling,
) -> Result<Kind, DefinitionError> {
    let processor = match (map.get("ItemProcessor"), map.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(DefinitionError::invalid(
                location,
                "ItemProcessor and Iterator are exclusive",
            ));
        }
        (Some(value), None) => {
            let here = format!("{location}.ItemProcessor");
            let processor = object(value, &here)?;
            check_fields(
                processor,
                &here,
                &["StartAt", "States", "Comment", "ProcessorConfig"],
            )?;
            if let Some(config) = processor.get("ProcessorConfig") {
                let config_location = format!("{here}.ProcessorConfig");
                let config = object(config, &config_location)?;
                match config.get("Mode").and_then(Value::as_str) {
                    None | Some("INLINE") => {}
                    Some("DISTRIBUTED") => {
                        return Err(DefinitionError::unsupported(
                            &config_location,
                            "the Distributed Map",
                        ));
                    }
                    Some(other) => {
                        return Err(DefinitionError::invalid(
                            &config_location,
                            format!("unknown Mode {other:?}"),
                        ));
                    }
                }
                check_fields(config, &config_location, &["Mode"])?;
            }
            StateMachine::graph(processor, &here)?
        }
        (None, Some(value)) => {
            let here = format!("{location}.Iterator");
            let iterator = object(value, &here)?;
            check_fields(iterator, &here, &["StartAt", "States", "Comment"])?;
            StateMachine::graph(iterator, &here)?
        }
        (None, None) => {
            return Err(DefinitionError::invalid(
                location,
                "ItemProcessor (or Iterator) is required",
            ));
        }
    };
    if map.contains_key("ItemSelector") && map.contains_key("Parameters") {
        return Err(DefinitionError::invalid(
            location,
            "ItemSelector and Parameters are exclusive",
        ));
    }
    let selector_key = if map.contains_key("ItemSelector") {
        "ItemSelector"
    } else {
        "Parameters"
    };
    let item_selector = map
        .get(selector_key)
        .map(|value| Template::compile(value, &format!("{location}.{selector_key}")))
        .transpose()?;
    let items_path = match map.get("ItemsPath") {
        None => Path::root(),
        Some(value) => reference_path(value, &format!("{location}.ItemsPath"))?,
    };
    let max_concurrency = match (map.get("MaxConcurrency"), map.get("MaxConcurrencyPath")) {
        (Some(_), Some(_)) => {
            return Err(DefinitionError::invalid(
                location,
                "MaxConcurrency and MaxConcurrencyPath are exclusive",
            ));
        }
        (Some(value), None) => IntegerSource::Literal(value.as_u64().ok_or_else(|| {
            DefinitionError::invalid(location, "MaxConcurrency must be a non-negative integer")
        })?),
        (None, Some(value)) => IntegerSource::Path(reference_path(
            value,
            &format!("{location}.MaxConcurrencyPath"),
        )?),
        (None, None) => IntegerSource::Literal(0),
    };
    Ok(Kind::Map {
        processor: Arc::new(processor),
        items_path,
        item_selector,
        max_concurrency,
        result,
    })
}

fn wait_for(map: &Map<String, Value>, location: &str) -> Result<WaitFor, DefinitionError> {
    let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|key| map.contains_key(*key))
        .collect();
    let [key] = present.as_slice() else {
        return Err(DefinitionError::invalid(
            location,
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
        ));
    };
    let here = format!("{location}.{key}");
    let value = &map[*key];
    Ok(match *key {
        "Seconds" => {
            WaitFor::Seconds(IntegerSource::Literal(value.as_u64().ok_or_else(|| {
                DefinitionError::invalid(&here, "must be a non-negative integer")
            })?))
        }
        "SecondsPath" => WaitFor::Seconds(IntegerSource::Path(reference_path(value, &here)?)),
        "Timestamp" => WaitFor::Timestamp(
            value
                .as_str()
                .and_then(parse_timestamp)
                .ok_or_else(|| DefinitionError::invalid(&here, "must be an RFC 3339 timestamp"))?,
        ),
        _ => WaitFor::TimestampPath(reference_path(value, &here)?),
    })
}

fn fail_text(
    map: &Map<String, Value>,
    key: &str,
    location: &str,
) -> Result<Option<Text>, DefinitionError> {
    let path_key = format!("{key}Path");
    match (map.get(key), map.get(&path_key)) {
        (Some(_), Some(_)) => Err(DefinitionError::invalid(
            location,
            format!("{key} and {path_key} are exclusive"),
        )),
        (Some(value), None) => Ok(Some(Text::Literal(
            string(Some(value), &format!("{location}.{key}"))?.to_owned(),
        ))),
        (None, Some(value)) => {
            let here = format!("{location}.{path_key}");
            let text = string(Some(value), &here)?;
            if text.starts_with("States.") {
                Call::parse(text)
                    .map(|call| Some(Text::Intrinsic(call)))
                    .map_err(|error| DefinitionError::invalid(&here, error))
            } else {
                reference_path(value, &here).map(|path| Some(Text::Path(path)))
            }
        }
        (None, None) => Ok(None),
    }
}

pub(crate) fn check_fields(
    map: &Map<String, Value>,
    location: &str,
    allowed: &[&str],
) -> Result<(), DefinitionError> {
    for key in map.keys() {
        if allowed.contains(&key.as_str()) {
            if key == "QueryLanguage" && map[key] != "JSONPath" {
                return Err(DefinitionError::unsupported(
                    location,
                    format!("QueryLanguage {}", map[key]),
                ));
            }
            continue;
        }
        if UNSUPPORTED_FIELDS.contains(&key.as_str()) {
            return Err(DefinitionError::unsupported(
                location,
                format!("the field {key:?}"),
            ));
        }
        return Err(DefinitionError::invalid(
            location,
            format!("unknown field {key:?}"),
        ));
    }
    Ok(())
}

pub(crate) fn object<'a>(
    value: &'a Value,
    location: &str,
) -> Result<&'a Map<String, Value>, DefinitionError> {
    value
        .as_object()
        .ok_or_else(|| DefinitionError::invalid(location, "must be a JSON object"))
}

pub(crate) fn string<'a>(
    value: Option<&'a Value>,
    location: &str,
) -> Result<&'a str, DefinitionError> {
    value
        .and_then(Value::as_str)
        .ok_or_else(|| DefinitionError::invalid(location, "must be a string"))
}

pub(crate) fn positive_integer(value: &Value, location: &str) -> Result<u64, DefinitionError> {
    value
        .as_u64()
        .filter(|number| *number > 0)
        .ok_or_else(|| DefinitionError::invalid(location, "must be a positive integer"))
}

pub(crate) fn positive_integer_or(
    value: Option<&Value>,
    default: u64,
    location: &str,
) -> Result<u64, DefinitionError> {
    value.map_or(Ok(default), |value| positive_integer(value, location))
}

pub(crate) fn reference_path(value: &Value, location: &str) -> Result<Path, DefinitionError> {
    let text = string(Some(value), location)?;
    Path::parse_reference(text).map_err(|error| DefinitionError::invalid(location, error))
}

pub(crate) fn reference_path_or_null(
    value: &Value,
    location: &str,
) -> Result<Option<Path>, DefinitionError> {
    if value.is_null() {
        return Ok(None);
    }
    let path = reference_path(value, location)?;
    if path.is_context() {
        return Err(DefinitionError::invalid(
            location,
            "a ResultPath cannot write to the context object",
        ));
    }
    Ok(Some(path))
}
