//! Intrinsic functions (`States.Format('{}', $.x)` and friends): parsed at load time, evaluated at run time.

use base64::Engine;
use serde_json::{Map, Value};
use sha2::Digest;

use crate::context::Context;
use crate::error::TaskError;
use crate::path::{Path, PathError};

/// Why an intrinsic function call could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    /// The call breaks the syntax, or names a function or an arity the interpreter does not implement.
    #[error("invalid intrinsic function {call:?} at character {position}: {reason}")]
    Syntax {
        /// The call.
        call: String,
        /// Where it breaks.
        position: usize,
        /// What is wrong.
        reason: String,
    },
    /// A path argument does not parse.
    #[error(transparent)]
    Path(#[from] PathError),
}

/// Why a call failed on its arguments at run time (`States.IntrinsicFailure`).
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("expected a string, got {0}")]
    NotString(Value),
    #[error("expected an array, got {0}")]
    NotArray(Value),
    #[error("expected a number, got {0}")]
    NotNumber(Value),
    #[error("{0} is out of range")]
    OutOfRange(serde_json::Number),
    #[error("the template has {placeholders} placeholders but {values} values were given")]
    Placeholders { placeholders: usize, values: usize },
    #[error("not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error(transparent)]
    Serialize(serde_json::Error),
    #[error("the chunk size must be a positive integer")]
    ChunkSize,
    #[error("index {0} is out of bounds")]
    IndexOutOfBounds(i64),
    #[error("not valid Base64: {0}")]
    NotBase64(#[source] base64::DecodeError),
    #[error("the decoded data is not UTF-8 text")]
    NotUtf8,
    #[error("the first two arguments must be JSON objects")]
    NotObjects,
    #[error("only shallow merging is supported: the third argument must be false")]
    DeepMerge,
    #[error("the start must be less than the end")]
    EmptyRange,
    #[error("arguments must be between -2147483648 and 2147483647")]
    NotInt32,
    #[error("the step must not be zero")]
    ZeroStep,
    #[error("the range would have {0} items, more than {MAX_RANGE_ITEMS}")]
    RangeTooLong(i128),
    #[error("the range leaves the 64-bit integers")]
    RangeOverflow,
    #[error("unknown algorithm {0:?} (expected MD5, SHA-1, SHA-256, SHA-384 or SHA-512)")]
    UnknownAlgorithm(String),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    function: Function,
    arguments: Vec<Argument>,
}

#[derive(Debug, Clone, PartialEq)]
enum Argument {
    /// A quoted string; `pieces` keeps the unescaped `{}` placeholders apart for `States.Format`.
    Text {
        pieces: Vec<TextPiece>,
    },
    Literal(Value),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
enum TextPiece {
    Text(String),
    Placeholder,
}

/// Deepest nesting of calls Step Functions allows in one field.
const MAX_NESTING: usize = 10;

macro_rules! functions {
    ($($variant:ident = $name:literal, $min:literal ..= $max:expr;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum Function { $($variant,)* }

        impl Function {
            fn from_name(name: &str) -> Option<Function> {
                match name { $($name => Some(Function::$variant),)* _ => None }
            }
            fn name(self) -> &'static str {
                match self { $(Function::$variant => $name,)* }
            }
            fn arity(self) -> (usize, usize) {
                match self { $(Function::$variant => ($min, $max),)* }
            }
        }
    };
}

functions! {
    Format = "States.Format", 1..=usize::MAX;
    StringToJson = "States.StringToJson", 1..=1;
    JsonToString = "States.JsonToString", 1..=1;
    Array = "States.Array", 0..=usize::MAX;
    ArrayPartition = "States.ArrayPartition", 2..=2;
    ArrayContains = "States.ArrayContains", 2..=2;
    ArrayRange = "States.ArrayRange", 3..=3;
    ArrayGetItem = "States.ArrayGetItem", 2..=2;
    ArrayLength = "States.ArrayLength", 1..=1;
    ArrayUnique = "States.ArrayUnique", 1..=1;
    Base64Encode = "States.Base64Encode", 1..=1;
    Base64Decode = "States.Base64Decode", 1..=1;
    Hash = "States.Hash", 2..=2;
    JsonMerge = "States.JsonMerge", 3..=3;
    MathRandom = "States.MathRandom", 2..=3;
    MathAdd = "States.MathAdd", 2..=2;
    StringSplit = "States.StringSplit", 2..=2;
    Uuid = "States.UUID", 0..=0;
}

impl Call {
    /// Parses an intrinsic function call such as `States.Format('{} of {}', $.a, States.ArrayLength($.b))`.
    pub fn parse(text: &str) -> Result<Call, IntrinsicError> {
        let mut parser = Parser {
            text,
            chars: text.chars().collect(),
            pos: 0,
        };
        let call = parser.call(1)?;
        parser.skip_spaces();
        if parser.pos != parser.chars.len() {
            return Err(parser.error("unexpected text after the call"));
        }
        Ok(call)
    }

    /// Evaluates the call against the effective input and the context object.
    pub fn evaluate(&self, input: &Value, context: &Context<'_>) -> Result<Value, TaskError> {
        let values = self
            .arguments
            .iter()
            .map(|argument| argument.evaluate(input, context))
            .collect::<Result<Vec<_>, _>>()?;
        self.apply(values)
            .map_err(|failure| TaskError::intrinsic(format!("{}: {failure}", self.function.name())))
    }

    /// The function's result on the argument values (as many as its arity allows, checked at load time).
    fn apply(&self, values: Vec<Value>) -> Result<Value, Failure> {
        match self.function {
            Function::Format => self.format(&values),
            Function::StringToJson => {
                serde_json::from_str(string(&values[0])?).map_err(Failure::NotJson)
            }
            Function::JsonToString => serde_json::to_string(&values[0])
                .map(Value::String)
                .map_err(Failure::Serialize),
            Function::Array => Ok(Value::Array(values)),
            Function::ArrayPartition => {
                let items = array(&values[0])?;
                let size = usize::try_from(integer(&values[1])?)
                    .ok()
                    .filter(|size| *size > 0)
                    .ok_or(Failure::ChunkSize)?;
                Ok(Value::Array(
                    items
                        .chunks(size)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                ))
            }
            Function::ArrayContains => Ok(Value::Bool(array(&values[0])?.contains(&values[1]))),
            Function::ArrayRange => array_range(&values),
            Function::ArrayGetItem => {
                let items = array(&values[0])?;
                let index = integer(&values[1])?;
                usize::try_from(index)
                    .ok()
                    .and_then(|index| items.get(index))
                    .cloned()
                    .ok_or(Failure::IndexOutOfBounds(index))
            }
            Function::ArrayLength => Ok(Value::from(array(&values[0])?.len())),
            Function::ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in array(&values[0])? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            Function::Base64Encode => Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(string(&values[0])?),
            )),
            Function::Base64Decode => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(string(&values[0])?)
                    .map_err(Failure::NotBase64)?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| Failure::NotUtf8)
            }
            Function::Hash => hash(&values),
            Function::JsonMerge => {
                let (Value::Object(first), Value::Object(second)) = (&values[0], &values[1]) else {
                    return Err(Failure::NotObjects);
                };
                if values[2] != Value::Bool(false) {
                    return Err(Failure::DeepMerge);
                }
                let mut merged: Map<String, Value> = first.clone();
                merged.extend(second.clone());
                Ok(Value::Object(merged))
            }
            Function::MathRandom => {
                let start = integer(&values[0])?;
                let end = integer(&values[1])?;
                if start >= end {
                    return Err(Failure::EmptyRange);
                }
                let mut rng = match values.get(2) {
                    Some(seed) => fastrand::Rng::with_seed(integer(seed)? as u64),
                    None => fastrand::Rng::new(),
                };
                Ok(Value::from(rng.i64(start..end)))
            }
            Function::MathAdd => {
                let bounds = i64::from(i32::MIN)..=i64::from(i32::MAX);
                let a = integer(&values[0])?;
                let b = integer(&values[1])?;
                if !bounds.contains(&a) || !bounds.contains(&b) {
                    return Err(Failure::NotInt32);
                }
                Ok(Value::from(a + b))
            }
            Function::StringSplit => {
                let text = string(&values[0])?;
                let delimiters = string(&values[1])?;
                Ok(Value::Array(
                    text.split(|c| delimiters.contains(c))
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ))
            }
            Function::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        }
    }

    /// Fills the template's `{}` placeholders; a quoted template keeps its escaped braces literal.
    fn format(&self, values: &[Value]) -> Result<Value, Failure> {
        let pieces = match &self.arguments[0] {
            Argument::Text { pieces } => pieces.clone(),
            _ => split_placeholders(string(&values[0])?),
        };
        let placeholders = pieces
            .iter()
            .filter(|piece| **piece == TextPiece::Placeholder)
            .count();
        if placeholders != values.len() - 1 {
            return Err(Failure::Placeholders {
                placeholders,
                values: values.len() - 1,
            });
        }
        let mut values = values[1..].iter();
        let mut text = String::new();
        for piece in pieces {
            match piece {
                TextPiece::Text(part) => text.push_str(&part),
                TextPiece::Placeholder => match values.next() {
                    Some(Value::String(part)) => text.push_str(part),
                    Some(other) => text.push_str(&other.to_string()),
                    None => {}
                },
            }
        }
        Ok(Value::String(text))
    }
}

fn split_placeholders(template: &str) -> Vec<TextPiece> {
    let mut pieces = Vec::new();
    for (i, part) in template.split("{}").enumerate() {
        if i > 0 {
            pieces.push(TextPiece::Placeholder);
        }
        pieces.push(TextPiece::Text(part.to_owned()));
    }
    pieces
}

impl Argument {
    fn evaluate(&self, input: &Value, context: &Context<'_>) -> Result<Value, TaskError> {
        match self {
            Argument::Text { pieces } => Ok(Value::String(
                pieces
                    .iter()
                    .map(|piece| match piece {
                        TextPiece::Text(text) => text.as_str(),
                        TextPiece::Placeholder => "{}",
                    })
                    .collect(),
            )),
            Argument::Literal(value) => Ok(value.clone()),
            Argument::Path(path) => path
                .select(input, context)
                .ok_or_else(|| path.missing(input, "an intrinsic function argument")),
            Argument::Call(call) => call.evaluate(input, context),
        }
    }
}

fn string(value: &Value) -> Result<&str, Failure> {
    value
        .as_str()
        .ok_or_else(|| Failure::NotString(value.clone()))
}

fn array(value: &Value) -> Result<&Vec<Value>, Failure> {
    value
        .as_array()
        .ok_or_else(|| Failure::NotArray(value.clone()))
}

/// An integer argument; Step Functions rounds non-integers to the nearest integer.
fn integer(value: &Value) -> Result<i64, Failure> {
    let Value::Number(number) = value else {
        return Err(Failure::NotNumber(value.clone()));
    };
    number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .map(f64::round)
                .filter(|v| v.abs() < 9.0e15)
                .map(|v| v as i64)
        })
        .ok_or_else(|| Failure::OutOfRange(number.clone()))
}

/// Largest array `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i64 = 1000;

fn array_range(values: &[Value]) -> Result<Value, Failure> {
    let start = integer(&values[0])?;
    let end = integer(&values[1])?;
    let step = integer(&values[2])?;
    if step == 0 {
        return Err(Failure::ZeroStep);
    }
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let count = if (end - start).signum() * step.signum() < 0 {
        0
    } else {
        (end - start) / step + 1
    };
    if count > i128::from(MAX_RANGE_ITEMS) {
        return Err(Failure::RangeTooLong(count));
    }
    (0..count)
        .map(|i| {
            i64::try_from(start + i * step)
                .map(Value::from)
                .map_err(|_| Failure::RangeOverflow)
        })
        .collect::<Result<_, _>>()
        .map(Value::Array)
}

fn hash(values: &[Value]) -> Result<Value, Failure> {
    let data = string(&values[0])?;
    let algorithm = string(&values[1])?;
    let digest = match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        other => return Err(Failure::UnknownAlgorithm(other.to_owned())),
    };
    Ok(Value::String(digest))
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> IntrinsicError {
        IntrinsicError::Syntax {
            call: self.text.to_owned(),
            position: self.pos,
            reason: reason.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, IntrinsicError> {
        if depth > MAX_NESTING {
            return Err(self.error(&format!(
                "intrinsic functions nest at most {MAX_NESTING} deep"
            )));
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let function = Function::from_name(&name).ok_or_else(|| {
            self.error(&format!(
                "{name:?} is not an intrinsic function this interpreter supports"
            ))
        })?;
        self.skip_spaces();
        if self.peek() != Some('(') {
            return Err(self.error("expected '('"));
        }
        self.pos += 1;
        let mut arguments = Vec::new();
        self.skip_spaces();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_spaces();
                arguments.push(self.argument(depth)?);
                self.skip_spaces();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ')'")),
                }
            }
        }
        let (min, max) = function.arity();
        if arguments.len() < min || arguments.len() > max {
            return Err(self.error(&format!(
                "{name} takes {} arguments, got {}",
                if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                },
                arguments.len()
            )));
        }
        Ok(Call {
            function,
            arguments,
        })
    }

    fn argument(&mut self, depth: usize) -> Result<Argument, IntrinsicError> {
        match self.peek() {
            Some('\'') => self.text_literal(),
            Some('$') => {
                let start = self.pos;
                let mut brackets = 0usize;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[' | '(') => brackets += 1,
                        (None, ']') => brackets = brackets.saturating_sub(1),
                        (None, ')') if brackets > 0 => brackets -= 1,
                        (None, ',' | ')') => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Ok(Argument::Path(Path::parse(text.trim())?))
            }
            Some('S') => Ok(Argument::Call(self.call(depth + 1)?)),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c != ',' && c != ')' && !c.is_whitespace())
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match serde_json::from_str::<Value>(&text) {
                    Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        Ok(Argument::Literal(value))
                    }
                    _ => Err(self.error(&format!(
                        "{text:?} is not a string, number, boolean, null, path or function call"
                    ))),
                }
            }
        }
    }

    fn text_literal(&mut self) -> Result<Argument, IntrinsicError> {
        self.pos += 1;
        let mut pieces = Vec::new();
        let mut current = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some('\'') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('\'' | '{' | '}' | '\\')) => current.push(c),
                        _ => {
                            return Err(self.error("a backslash must escape one of ' { } \\"));
                        }
                    }
                    self.pos += 1;
                }
                Some('{') if self.chars.get(self.pos + 1) == Some(&'}') => {
                    pieces.push(TextPiece::Text(std::mem::take(&mut current)));
                    pieces.push(TextPiece::Placeholder);
                    self.pos += 2;
                }
                Some('{' | '}') => {
                    return Err(self.error("'{' and '}' must be escaped unless they form '{}'"));
                }
                Some(c) => {
                    current.push(c);
                    self.pos += 1;
                }
            }
        }
        pieces.push(TextPiece::Text(current));
        Ok(Argument::Text { pieces })
    }
}
