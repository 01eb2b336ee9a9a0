//! Intrinsic functions (`States.Format('{}', $.x)` and friends): parsed at load time, evaluated at run time.

use base64::Engine;
use serde_json::{Map, Value};
use sha2::Digest;

use crate::context::Context;
use crate::error::TaskError;
use crate::path::Path;

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
    pub fn parse(text: &str) -> Result<Call, String> {
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
        let name = self.function.name();
        let values = self
            .arguments
            .iter()
            .map(|argument| argument.evaluate(input, context))
            .collect::<Result<Vec<_>, _>>()?;
        let fail = |message: String| TaskError::intrinsic(format!("{name}: {message}"));
        match self.function {
            Function::Format => self.format(&values).map_err(fail),
            Function::StringToJson => {
                let text = string(&values[0]).map_err(fail)?;
                serde_json::from_str(text).map_err(|e| fail(format!("not valid JSON: {e}")))
            }
            Function::JsonToString => serde_json::to_string(&values[0])
                .map(Value::String)
                .map_err(|e| fail(e.to_string())),
            Function::Array => Ok(Value::Array(values)),
            Function::ArrayPartition => {
                let items = array(&values[0]).map_err(fail)?;
                let size = integer(&values[1]).map_err(fail)?;
                let size = usize::try_from(size)
                    .ok()
                    .filter(|size| *size > 0)
                    .ok_or_else(|| fail("the chunk size must be a positive integer".into()))?;
                Ok(Value::Array(
                    items
                        .chunks(size)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                ))
            }
            Function::ArrayContains => {
                let items = array(&values[0]).map_err(fail)?;
                Ok(Value::Bool(items.contains(&values[1])))
            }
            Function::ArrayRange => array_range(&values).map_err(fail),
            Function::ArrayGetItem => {
                let items = array(&values[0]).map_err(fail)?;
                let index = integer(&values[1]).map_err(fail)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|index| items.get(index))
                    .cloned()
                    .ok_or_else(|| fail(format!("index {index} is out of bounds")))
            }
            Function::ArrayLength => Ok(Value::from(array(&values[0]).map_err(fail)?.len())),
            Function::ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in array(&values[0]).map_err(fail)? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            Function::Base64Encode => {
                let text = string(&values[0]).map_err(fail)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            Function::Base64Decode => {
                let text = string(&values[0]).map_err(fail)?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| fail(format!("not valid Base64: {e}")))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| fail("the decoded data is not UTF-8 text".into()))
            }
            Function::Hash => hash(&values).map_err(fail),
            Function::JsonMerge => {
                let (Value::Object(first), Value::Object(second)) = (&values[0], &values[1]) else {
                    return Err(fail("the first two arguments must be JSON objects".into()));
                };
                if values[2] != Value::Bool(false) {
                    return Err(fail(
                        "only shallow merging is supported: the third argument must be false"
                            .into(),
                    ));
                }
                let mut merged: Map<String, Value> = first.clone();
                merged.extend(second.clone());
                Ok(Value::Object(merged))
            }
            Function::MathRandom => {
                let start = integer(&values[0]).map_err(fail)?;
                let end = integer(&values[1]).map_err(fail)?;
                if start >= end {
                    return Err(fail("the start must be less than the end".into()));
                }
                let mut rng = match values.get(2) {
                    Some(seed) => fastrand::Rng::with_seed(integer(seed).map_err(fail)? as u64),
                    None => fastrand::Rng::new(),
                };
                Ok(Value::from(rng.i64(start..end)))
            }
            Function::MathAdd => {
                let bounds = i64::from(i32::MIN)..=i64::from(i32::MAX);
                let a = integer(&values[0]).map_err(fail)?;
                let b = integer(&values[1]).map_err(fail)?;
                if !bounds.contains(&a) || !bounds.contains(&b) {
                    return Err(fail(
                        "arguments must be between -2147483648 and 2147483647".into(),
                    ));
                }
                Ok(Value::from(a + b))
            }
            Function::StringSplit => {
                let text = string(&values[0]).map_err(fail)?;
                let delimiters = string(&values[1]).map_err(fail)?;
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
    fn format(&self, values: &[Value]) -> Result<Value, String> {
        let pieces = match &self.arguments[0] {
            Argument::Text { pieces } => pieces.clone(),
            _ => split_placeholders(string(&values[0])?),
        };
        let placeholders = pieces
            .iter()
            .filter(|piece| **piece == TextPiece::Placeholder)
            .count();
        if placeholders != values.len() - 1 {
            return Err(format!(
                "the template has {placeholders} placeholders but {} values were given",
                values.len() - 1
            ));
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

fn string(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("expected a string, got {value}"))
}

fn array(value: &Value) -> Result<&Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("expected an array, got {value}"))
}

/// An integer argument; Step Functions rounds non-integers to the nearest integer.
fn integer(value: &Value) -> Result<i64, String> {
    let Value::Number(number) = value else {
        return Err(format!("expected a number, got {value}"));
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
        .ok_or_else(|| format!("{number} is out of range"))
}

/// Largest array `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i64 = 1000;

fn array_range(values: &[Value]) -> Result<Value, String> {
    let start = integer(&values[0])?;
    let end = integer(&values[1])?;
    let step = integer(&values[2])?;
    if step == 0 {
        return Err("the step must not be zero".into());
    }
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let count = if (end - start).signum() * step.signum() < 0 {
        0
    } else {
        (end - start) / step + 1
    };
    if count > i128::from(MAX_RANGE_ITEMS) {
        return Err(format!(
            "the range would have {count} items, more than {MAX_RANGE_ITEMS}"
        ));
    }
    (0..count)
        .map(|i| {
            i64::try_from(start + i * step)
                .map(Value::from)
                .map_err(|_| "the range leaves the 64-bit integers".to_owned())
        })
        .collect::<Result<_, _>>()
        .map(Value::Array)
}

fn hash(values: &[Value]) -> Result<Value, String> {
    let data = string(&values[0])?;
    let algorithm = string(&values[1])?;
    let digest = match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(format!(
                "unknown algorithm {other:?} (expected MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"
            ));
        }
    };
    Ok(Value::String(digest))
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> String {
        format!(
            "invalid intrinsic function {:?} at character {}: {message}",
            self.text, self.pos
        )
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
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

    fn argument(&mut self, depth: usize) -> Result<Argument, String> {
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
                Path::parse(text.trim()).map(Argument::Path)
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

    fn text_literal(&mut self) -> Result<Argument, String> {
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
