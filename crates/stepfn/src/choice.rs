//! Choice rules: comparisons of a `Variable` with a literal or another path, combined with `And`, `Or`, `Not`.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::context::Context;
use crate::error::{DefinitionError, TaskError};
use crate::path::Path;

/// A Choice state's rule: a condition and the state to go to when it holds.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    /// The condition.
    pub condition: Condition,
    /// The state to transition to.
    pub next: String,
}

/// A boolean condition over the state's effective input.
#[derive(Debug, Clone)]
pub enum Condition {
    /// All hold (evaluated in order, stopping at the first false).
    And(Vec<Condition>),
    /// One holds (evaluated in order, stopping at the first true).
    Or(Vec<Condition>),
    /// The inner condition does not hold.
    Not(Box<Condition>),
    /// A comparison of `variable`.
    Compare {
        variable: Path,
        operator: Operator,
        operand: Operand,
    },
}

/// What a comparison compares with.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A literal from the definition.
    Literal(Value),
    /// A value from the input, for the `...Path` operators.
    Path(Path),
}

/// A comparison operator (the `...Path` forms share the operator and take a path operand).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operator {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const OPERATORS: [(&str, Operator); 23] = [
    ("StringEquals", Operator::StringEquals),
    ("StringLessThan", Operator::StringLessThan),
    ("StringGreaterThan", Operator::StringGreaterThan),
    ("StringLessThanEquals", Operator::StringLessThanEquals),
    ("StringGreaterThanEquals", Operator::StringGreaterThanEquals),
    ("StringMatches", Operator::StringMatches),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    (
        "NumericGreaterThanEquals",
        Operator::NumericGreaterThanEquals,
    ),
    ("BooleanEquals", Operator::BooleanEquals),
    ("TimestampEquals", Operator::TimestampEquals),
    ("TimestampLessThan", Operator::TimestampLessThan),
    ("TimestampGreaterThan", Operator::TimestampGreaterThan),
    ("TimestampLessThanEquals", Operator::TimestampLessThanEquals),
    (
        "TimestampGreaterThanEquals",
        Operator::TimestampGreaterThanEquals,
    ),
    ("IsNull", Operator::IsNull),
    ("IsPresent", Operator::IsPresent),
    ("IsNumeric", Operator::IsNumeric),
    ("IsString", Operator::IsString),
    ("IsBoolean", Operator::IsBoolean),
    ("IsTimestamp", Operator::IsTimestamp),
];

enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
    TypeTest,
    Pattern,
}

impl Operator {
    fn kind(self) -> Kind {
        use Operator::*;
        match self {
            StringEquals
            | StringLessThan
            | StringGreaterThan
            | StringLessThanEquals
            | StringGreaterThanEquals => Kind::String,
            StringMatches => Kind::Pattern,
            NumericEquals
            | NumericLessThan
            | NumericGreaterThan
            | NumericLessThanEquals
            | NumericGreaterThanEquals => Kind::Numeric,
            BooleanEquals => Kind::Boolean,
            TimestampEquals
            | TimestampLessThan
            | TimestampGreaterThan
            | TimestampLessThanEquals
            | TimestampGreaterThanEquals => Kind::Timestamp,
            IsNull | IsPresent | IsNumeric | IsString | IsBoolean | IsTimestamp => Kind::TypeTest,
        }
    }

    /// Whether an ordering satisfies this operator (for the ordered kinds).
    fn accepts(self, ordering: Ordering) -> bool {
        use Operator::*;
        match self {
            StringEquals | NumericEquals | BooleanEquals | TimestampEquals => {
                ordering == Ordering::Equal
            }
            StringLessThan | NumericLessThan | TimestampLessThan => ordering == Ordering::Less,
            StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => {
                ordering == Ordering::Greater
            }
            StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
                ordering != Ordering::Greater
            }
            _ => ordering != Ordering::Less,
        }
    }
}

/// Parses an RFC 3339 timestamp as Step Functions requires (`2016-03-14T01:59:00Z`): the `T` and `Z` must be
/// uppercase.
pub(crate) fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    if text.contains(['t', 'z']) {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

impl ChoiceRule {
    /// Compiles one element of `Choices`.
    pub fn compile(value: &Value, location: &str) -> Result<ChoiceRule, DefinitionError> {
        let map = value
            .as_object()
            .ok_or_else(|| DefinitionError::invalid(location, "a choice rule must be an object"))?;
        let next = match map.get("Next") {
            Some(Value::String(next)) => next.clone(),
            _ => {
                return Err(DefinitionError::invalid(
                    location,
                    "a top-level choice rule needs a string Next",
                ));
            }
        };
        let condition = Condition::compile(map, location, true)?;
        Ok(ChoiceRule { condition, next })
    }
}

/// The one field of a choice rule that says what it tests: a comparison operator, `And`, `Or` or `Not`.
fn operator_field<'a>(
    map: &'a Map<String, Value>,
    location: &str,
    top_level: bool,
) -> Result<&'a str, DefinitionError> {
    let mut operator_fields = Vec::new();
    for key in map.keys() {
        match key.as_str() {
            "Comment" | "Variable" => {}
            "Next" if top_level => {}
            "And" | "Or" | "Not" => operator_fields.push(key.as_str()),
            other
                if OPERATORS.iter().any(|(name, _)| {
                    other == *name || other.strip_suffix("Path") == Some(name)
                }) =>
            {
                operator_fields.push(key.as_str())
            }
            "Next" => {
                return Err(DefinitionError::invalid(
                    location,
                    "only top-level choice rules have Next",
                ));
            }
            "Assign" | "Condition" => {
                return Err(DefinitionError::unsupported(
                    location,
                    format!("{key} in a choice rule"),
                ));
            }
            other => {
                return Err(DefinitionError::invalid(
                    location,
                    format!("unknown field {other:?} in a choice rule"),
                ));
            }
        }
    }
    let [field] = operator_fields.as_slice() else {
        return Err(DefinitionError::invalid(
            location,
            format!(
                "a choice rule needs exactly one comparison or And/Or/Not, found {operator_fields:?}"
            ),
        ));
    };
    Ok(field)
}

impl Condition {
    fn compile(
        map: &Map<String, Value>,
        location: &str,
        top_level: bool,
    ) -> Result<Condition, DefinitionError> {
        let field = operator_field(map, location, top_level)?;
        let value = &map[field];
        match field {
            "And" | "Or" | "Not" => Self::compile_logical(map, field, value, location),
            _ => Self::compile_comparison(map, field, value, location),
        }
    }

    /// `And`, `Or` (of a non-empty array of rules) or `Not` (of one rule).
    fn compile_logical(
        map: &Map<String, Value>,
        field: &str,
        value: &Value,
        location: &str,
    ) -> Result<Condition, DefinitionError> {
        let nested = |value: &Value, here: &str| -> Result<Condition, DefinitionError> {
            let inner = value.as_object().ok_or_else(|| {
                DefinitionError::invalid(here, "a nested choice rule must be an object")
            })?;
            Condition::compile(inner, here, false)
        };
        if field == "Not" {
            if map.contains_key("Variable") {
                return Err(DefinitionError::invalid(location, "Not takes no Variable"));
            }
            return Ok(Condition::Not(Box::new(nested(
                value,
                &format!("{location}.Not"),
            )?)));
        }
        if map.contains_key("Variable") {
            return Err(DefinitionError::invalid(
                location,
                format!("{field} takes no Variable"),
            ));
        }
        let items = value
            .as_array()
            .filter(|items| !items.is_empty())
            .ok_or_else(|| {
                DefinitionError::invalid(location, format!("{field} needs a non-empty array"))
            })?;
        let conditions = items
            .iter()
            .enumerate()
            .map(|(i, item)| nested(item, &format!("{location}.{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if field == "And" {
            Condition::And(conditions)
        } else {
            Condition::Or(conditions)
        })
    }

    /// A comparison of `Variable` with a literal or, for `...Path` operators, another path.
    fn compile_comparison(
        map: &Map<String, Value>,
        field: &str,
        value: &Value,
        location: &str,
    ) -> Result<Condition, DefinitionError> {
        let variable = match map.get("Variable") {
            Some(Value::String(text)) => {
                Path::parse(text).map_err(|error| DefinitionError::invalid(location, error))?
            }
            _ => {
                return Err(DefinitionError::invalid(
                    location,
                    format!("{field} needs a string Variable"),
                ));
            }
        };
        let (operator, is_path) = OPERATORS
            .iter()
            .find_map(|(name, operator)| {
                if field == *name {
                    Some((*operator, false))
                } else if field.strip_suffix("Path") == Some(name) {
                    Some((*operator, true))
                } else {
                    None
                }
            })
            .ok_or_else(|| {
                DefinitionError::invalid(location, format!("unknown operator {field}"))
            })?;
        let kind = operator.kind();
        if is_path && matches!(kind, Kind::TypeTest | Kind::Pattern) {
            return Err(DefinitionError::invalid(
                location,
                format!("{field} is not an operator"),
            ));
        }
        let operand = if is_path {
            let text = value.as_str().ok_or_else(|| {
                DefinitionError::invalid(location, format!("{field} needs a path string"))
            })?;
            Operand::Path(
                Path::parse(text).map_err(|error| DefinitionError::invalid(location, error))?,
            )
        } else {
            let valid = match kind {
                Kind::String | Kind::Pattern => value.is_string(),
                Kind::Numeric => value.is_number(),
                Kind::Boolean | Kind::TypeTest => value.is_boolean(),
                Kind::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
            };
            if !valid {
                return Err(DefinitionError::invalid(
                    location,
                    format!("{value} is not a valid value for {field}"),
                ));
            }
            Operand::Literal(value.clone())
        };
        Ok(Condition::Compare {
            variable,
            operator,
            operand,
        })
    }

    /// Evaluates the condition. A comparison whose Variable (or operand path) is missing fails with
    /// `States.Runtime`, as in Step Functions; only `IsPresent` tests for absence.
    pub fn evaluate(&self, input: &Value, context: &Context<'_>) -> Result<bool, TaskError> {
        match self {
            Condition::And(conditions) => {
                for condition in conditions {
                    if !condition.evaluate(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(conditions) => {
                for condition in conditions {
                    if condition.evaluate(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(condition) => Ok(!condition.evaluate(input, context)?),
            Condition::Compare {
                variable,
                operator,
                operand,
            } => {
                let value = variable.select(input, context);
                if *operator == Operator::IsPresent {
                    return Ok(value.is_some() == (operand_literal(operand) == &Value::Bool(true)));
                }
                let value =
                    value.ok_or_else(|| variable.missing(input, "a choice rule's Variable"))?;
                let expected = match operand {
                    Operand::Literal(literal) => literal.clone(),
                    Operand::Path(path) => path
                        .select(input, context)
                        .ok_or_else(|| path.missing(input, "a choice rule's comparison"))?,
                };
                Ok(compare(*operator, &value, &expected))
            }
        }
    }
}

fn operand_literal(operand: &Operand) -> &Value {
    match operand {
        Operand::Literal(value) => value,
        Operand::Path(_) => &Value::Null,
    }
}

fn compare(operator: Operator, value: &Value, expected: &Value) -> bool {
    let ordering = match operator.kind() {
        Kind::TypeTest => {
            let holds = match operator {
                Operator::IsNull => value.is_null(),
                Operator::IsNumeric => value.is_number(),
                Operator::IsString => value.is_string(),
                Operator::IsBoolean => value.is_boolean(),
                _ => value.as_str().and_then(parse_timestamp).is_some(),
            };
            return holds == (expected == &Value::Bool(true));
        }
        Kind::Pattern => {
            return match (value, expected) {
                (Value::String(text), Value::String(pattern)) => wildcard_match(pattern, text),
                _ => false,
            };
        }
        Kind::String => match (value, expected) {
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        },
        Kind::Numeric => match (value.as_f64(), expected.as_f64()) {
            (Some(a), Some(b)) if value.is_number() && expected.is_number() => a.partial_cmp(&b),
            _ => None,
        },
        Kind::Boolean => match (value, expected) {
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        },
        Kind::Timestamp => match (
            value.as_str().and_then(parse_timestamp),
            expected.as_str().and_then(parse_timestamp),
        ) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
    };
    ordering.is_some_and(|ordering| operator.accepts(ordering))
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are a literal star and backslash.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    enum Token {
        Char(char),
        Star,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the tokens so far can match text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        match token {
            Token::Star => {
                let mut reachable = false;
                for j in 0..=text.len() {
                    reachable |= matched[j];
                    next[j] = reachable;
                }
            }
            Token::Char(c) => {
                for j in 0..text.len() {
                    next[j + 1] = matched[j] && text[j] == *c;
                }
            }
        }
        matched = next;
    }
    matched[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_step_functions() {
        assert!(wildcard_match("log-*.txt", "log-2024-01.txt"));
        assert!(wildcard_match("log-*.txt", "log-.txt"));
        assert!(!wildcard_match("log-*.txt", "log-1.txt.gz"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a\\*b", "a*b"));
        assert!(!wildcard_match("a\\*b", "axb"));
    }
}
