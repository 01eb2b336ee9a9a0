//! Payload templates: `Parameters`, `ItemSelector` and `ResultSelector`, where a key ending in `.$` takes its value
//! from a path (`$.x`, `$$.Execution.Id`) or an intrinsic function.

use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::{DefinitionError, TaskError};
use crate::intrinsic::Call;
use crate::path::Path;

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value copied as is.
    Static(Value),
    /// An object whose fields are templates.
    Object(Vec<(String, Template)>),
    /// An array whose items are templates.
    Array(Vec<Template>),
    /// A value selected by a path from the input or the context object.
    Path(Path),
    /// The result of an intrinsic function.
    Intrinsic(Call),
}

impl Template {
    /// Compiles a template, checking every path and intrinsic function.
    pub fn compile(value: &Value, location: &str) -> Result<Template, DefinitionError> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let here = format!("{location}.{key}");
                    if let Some(name) = key.strip_suffix(".$") {
                        if map.contains_key(name) {
                            return Err(DefinitionError::invalid(
                                &here,
                                format!("both {name:?} and {key:?} are defined"),
                            ));
                        }
                        let Value::String(expression) = value else {
                            return Err(DefinitionError::invalid(
                                &here,
                                "a field ending in '.$' must be a string path or intrinsic function",
                            ));
                        };
                        fields.push((name.to_owned(), Self::expression(expression, &here)?));
                    } else {
                        fields.push((key.clone(), Self::compile(value, &here)?));
                    }
                }
                Ok(Template::Object(fields))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| Self::compile(item, &format!("{location}[{i}]")))
                .collect::<Result<_, _>>()
                .map(Template::Array),
            other => Ok(Template::Static(other.clone())),
        }
    }

    fn expression(expression: &str, location: &str) -> Result<Template, DefinitionError> {
        if expression.starts_with('$') {
            Path::parse(expression)
                .map(Template::Path)
                .map_err(|error| DefinitionError::invalid(location, error))
        } else if expression.starts_with("States.") {
            Call::parse(expression)
                .map(Template::Intrinsic)
                .map_err(|error| DefinitionError::invalid(location, error))
        } else {
            Err(DefinitionError::invalid(
                location,
                format!("{expression:?} is neither a path nor an intrinsic function"),
            ))
        }
    }

    /// Builds the payload from the effective input and the context object.
    pub fn render(&self, input: &Value, context: &Context<'_>) -> Result<Value, TaskError> {
        match self {
            Template::Static(value) => Ok(value.clone()),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (key, template) in fields {
                    map.insert(key.clone(), template.render(input, context)?);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => items
                .iter()
                .map(|item| item.render(input, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Template::Path(path) => path
                .select(input, context)
                .ok_or_else(|| path.missing(input, "a payload template")),
            Template::Intrinsic(call) => call.evaluate(input, context),
        }
    }
}
