//! JSONPath as Step Functions uses it: paths (`$.a.b[0]`, `$.items[*]`, `$.a[0:2]`, `$.jar[?(@.a >= 5)]`) and
//! reference paths (fields and indexes only, one node), over the state input (`$`) or the context object (`$$`).

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::TaskError;

/// Why a path could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `$`.
    #[error("path {0:?} must start with '$'")]
    NoRoot(String),
    /// The path breaks JSONPath syntax, or uses syntax the interpreter does not implement.
    #[error("invalid path {path:?}: {reason}")]
    Syntax {
        /// The path.
        path: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// A reference path (fields and single indexes, one node) was needed.
    #[error("{0:?} is not a reference path (only fields and single indexes are allowed)")]
    NotReference(String),
}

/// Why a value could not be written at a reference path (ResultPath).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetError {
    /// A field of something that is not an object.
    #[error("cannot set field {field:?} of a non-object value {value} at {path}")]
    NotAnObject {
        /// The field.
        field: String,
        /// What is there instead.
        value: Value,
        /// The path.
        path: String,
    },
    /// An index into something that is not an array.
    #[error("cannot index a non-array value at {path}")]
    NotAnArray {
        /// The path.
        path: String,
    },
    /// An index past the array's end.
    #[error("index {index} is out of bounds at {path}")]
    OutOfBounds {
        /// The index.
        index: i64,
        /// The path.
        path: String,
    },
    /// The path can match several nodes.
    #[error("{path} is not a reference path")]
    NotReference {
        /// The path.
        path: String,
    },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    context: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    },
    Indexes(Vec<i64>),
    Filter(Filter),
}

/// `[?(@.field)]` or `[?(@.field <op> literal)]`.
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    field: Vec<String>,
    comparison: Option<(Comparator, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses a path; `$$...` addresses the context object.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(PathError::NoRoot(text.to_owned()));
        };
        let segments = Parser {
            text,
            chars: rest.chars().collect(),
            pos: 0,
        }
        .segments()?;
        Ok(Path {
            text: text.to_owned(),
            context,
            segments,
        })
    }

    /// Parses a reference path: one that can only identify a single node.
    pub fn parse_reference(text: &str) -> Result<Path, PathError> {
        let path = Self::parse(text)?;
        if path.is_reference() {
            Ok(path)
        } else {
            Err(PathError::NotReference(text.to_owned()))
        }
    }

    /// The root path `$`.
    pub fn root() -> Path {
        Path {
            text: "$".to_owned(),
            context: false,
            segments: Vec::new(),
        }
    }

    /// Whether this path reads the context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.context
    }

    fn is_reference(&self) -> bool {
        self.segments
            .iter()
            .all(|segment| matches!(segment, Segment::Field(_) | Segment::Index(_)))
    }

    /// Selects from `input` (or the context object for a `$$` path). A single-node path gives that node; a path
    /// that can match several nodes gives the array of matches. `None` when a single-node path matches nothing.
    pub fn select(&self, input: &Value, context: &Context<'_>) -> Option<Value> {
        if !self.context {
            return self.walk(input, &self.segments);
        }
        match self.segments.split_first() {
            Some((Segment::Field(name), rest)) => self.walk(context.node(name)?, rest),
            _ => self.walk(&context.to_value(), &self.segments),
        }
    }

    /// The `States.Runtime` error for this path matching nothing where `field` needed a value.
    pub fn missing(&self, input: &Value, field: &str) -> TaskError {
        let source = if self.context {
            "the context object".to_owned()
        } else {
            let mut text = input.to_string();
            if text.len() > 1000 {
                text.truncate(text.floor_char_boundary(1000));
                text.push_str("...");
            }
            format!("the input '{text}'")
        };
        TaskError::runtime(format!(
            "Invalid path '{self}' in {field}: it matches nothing in {source}"
        ))
    }

    fn walk(&self, root: &Value, segments: &[Segment]) -> Option<Value> {
        let mut current = vec![root];
        for segment in segments {
            current = current
                .into_iter()
                .flat_map(|node| segment.apply(node))
                .collect();
        }
        if self.is_reference() {
            current.first().map(|node| (*node).clone())
        } else {
            Some(Value::Array(current.into_iter().cloned().collect()))
        }
    }

    /// Writes `value` at this reference path inside `target`, creating missing objects on the way (ResultPath).
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), SetError> {
        let mut node = target;
        for segment in &self.segments {
            node = match segment {
                Segment::Field(name) => match node {
                    Value::Object(map) => map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new())),
                    other => {
                        return Err(SetError::NotAnObject {
                            field: name.clone(),
                            value: other.clone(),
                            path: self.to_string(),
                        });
                    }
                },
                Segment::Index(index) => {
                    let Value::Array(items) = node else {
                        return Err(SetError::NotAnArray {
                            path: self.to_string(),
                        });
                    };
                    let len = items.len();
                    let position =
                        resolve_index(*index, len).ok_or_else(|| SetError::OutOfBounds {
                            index: *index,
                            path: self.to_string(),
                        })?;
                    &mut items[position]
                }
                _ => {
                    return Err(SetError::NotReference {
                        path: self.to_string(),
                    });
                }
            };
        }
        *node = value;
        Ok(())
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let position = if index < 0 { len + index } else { index };
    (0..len)
        .contains(&position)
        .then(|| usize::try_from(position).ok())
        .flatten()
}

impl Segment {
    fn apply<'a>(&self, node: &'a Value) -> Vec<&'a Value> {
        match (self, node) {
            (Segment::Field(name), Value::Object(map)) => map.get(name).into_iter().collect(),
            (Segment::Index(index), Value::Array(items)) => resolve_index(*index, items.len())
                .map(|i| &items[i])
                .into_iter()
                .collect(),
            (Segment::Indexes(indexes), Value::Array(items)) => indexes
                .iter()
                .filter_map(|index| resolve_index(*index, items.len()).map(|i| &items[i]))
                .collect(),
            (Segment::Wildcard, Value::Array(items)) => items.iter().collect(),
            (Segment::Wildcard, Value::Object(map)) => map.values().collect(),
            (Segment::Slice { start, end, step }, Value::Array(items)) => {
                slice(items, *start, *end, *step)
            }
            (Segment::Filter(filter), Value::Array(items)) => {
                items.iter().filter(|item| filter.accepts(item)).collect()
            }
            _ => Vec::new(),
        }
    }
}

fn slice(items: &[Value], start: Option<i64>, end: Option<i64>, step: i64) -> Vec<&Value> {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let clamp = |value: i64| {
        if value < 0 {
            (len + value).max(0)
        } else {
            value.min(len)
        }
    };
    let start = clamp(start.unwrap_or(0));
    let end = clamp(end.unwrap_or(len));
    let mut selected = Vec::new();
    let mut index = start;
    while index < end {
        if let Ok(i) = usize::try_from(index) {
            selected.push(&items[i]);
        }
        index = index.saturating_add(step);
    }
    selected
}

impl Filter {
    fn accepts(&self, item: &Value) -> bool {
        let mut node = item;
        for name in &self.field {
            match node.get(name) {
                Some(next) => node = next,
                None => return false,
            }
        }
        let Some((comparator, literal)) = &self.comparison else {
            return true;
        };
        let ordering = match (node, literal) {
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (a, b) if a == b => Some(Ordering::Equal),
            _ => None,
        };
        match comparator {
            Comparator::Eq => ordering == Some(Ordering::Equal),
            Comparator::Ne => ordering != Some(Ordering::Equal),
            Comparator::Lt => ordering == Some(Ordering::Less),
            Comparator::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
            Comparator::Gt => ordering == Some(Ordering::Greater),
            Comparator::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> PathError {
        PathError::Syntax {
            path: self.text.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn segments(mut self) -> Result<Vec<Segment>, PathError> {
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '.' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('.') => {
                            return Err(self.error("deep scan '..' is not supported"));
                        }
                        Some('*') => {
                            self.pos += 1;
                            segments.push(Segment::Wildcard);
                        }
                        // `$.abc.['def ghi']`, as the intrinsic function docs write it.
                        Some('[') => {}
                        Some(_) => {
                            let name = self.name(&[]);
                            if name.is_empty() {
                                return Err(self.error("empty field name"));
                            }
                            if self.peek() == Some('(') {
                                return Err(self.error("path functions are not supported"));
                            }
                            segments.push(Segment::Field(name));
                        }
                        None => return Err(self.error("path ends with '.'")),
                    }
                }
                '[' => {
                    self.pos += 1;
                    segments.push(self.bracket()?);
                }
                _ => return Err(self.error(&format!("unexpected character {c:?}"))),
            }
        }
        Ok(segments)
    }

    /// A field name in dot notation: up to the next `.`, `[`, `(`, space, or one of `also_stop`.
    fn name(&mut self, also_stop: &[char]) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| {
            c != '.' && c != '[' && c != '(' && !c.is_whitespace() && !also_stop.contains(&c)
        }) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn quoted(&mut self) -> Result<String, PathError> {
        let quote = self.peek().ok_or_else(|| self.error("unterminated"))?;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted name")),
                Some('\\') => {
                    self.pos += 1;
                    let escaped = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    value.push(escaped);
                    self.pos += 1;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(value);
                }
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn close(&mut self) -> Result<(), PathError> {
        self.skip_spaces();
        if self.eat(']') {
            Ok(())
        } else {
            Err(self.error("expected ']'"))
        }
    }

    fn integer(&mut self) -> Option<i64> {
        self.skip_spaces();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let value = text.parse().ok();
        if value.is_none() {
            self.pos = start;
        }
        value
    }

    fn bracket(&mut self) -> Result<Segment, PathError> {
        self.skip_spaces();
        match self.peek() {
            Some('\'' | '"') => {
                let name = self.quoted()?;
                self.skip_spaces();
                if self.peek() == Some(',') {
                    return Err(self.error("unions of field names are not supported"));
                }
                self.close()?;
                Ok(Segment::Field(name))
            }
            Some('*') => {
                self.pos += 1;
                self.close()?;
                Ok(Segment::Wildcard)
            }
            Some('?') => {
                self.pos += 1;
                let filter = self.filter()?;
                self.close()?;
                Ok(Segment::Filter(filter))
            }
            _ => self.index_or_slice(),
        }
    }

    fn index_or_slice(&mut self) -> Result<Segment, PathError> {
        let first = self.integer();
        self.skip_spaces();
        if self.eat(':') {
            let end = self.integer();
            self.skip_spaces();
            let step = if self.eat(':') {
                self.integer().unwrap_or(1)
            } else {
                1
            };
            if step <= 0 {
                return Err(self.error("slice steps must be positive"));
            }
            self.close()?;
            return Ok(Segment::Slice {
                start: first,
                end,
                step,
            });
        }
        let first = first.ok_or_else(|| {
            self.error("expected an index, a slice, '*', a quoted name or a filter")
        })?;
        let mut indexes = vec![first];
        while {
            self.skip_spaces();
            self.eat(',')
        } {
            indexes.push(
                self.integer()
                    .ok_or_else(|| self.error("expected an index"))?,
            );
        }
        self.close()?;
        Ok(if indexes.len() == 1 {
            Segment::Index(first)
        } else {
            Segment::Indexes(indexes)
        })
    }

    fn filter(&mut self) -> Result<Filter, PathError> {
        if !self.eat('(') {
            return Err(self.error("expected '(' after '?'"));
        }
        self.skip_spaces();
        if !self.eat('@') {
            return Err(self.error("filters must start with '@'"));
        }
        let mut field = Vec::new();
        while self.eat('.') {
            let name = self.name(&['<', '>', '=', '!', ')']);
            if name.is_empty() {
                return Err(self.error("empty field name in filter"));
            }
            field.push(name);
        }
        self.skip_spaces();
        let comparison = if self.eat(')') {
            return Ok(Filter {
                field,
                comparison: None,
            });
        } else {
            let comparator = self.comparator()?;
            self.skip_spaces();
            let literal = self.literal()?;
            self.skip_spaces();
            if !self.eat(')') {
                return Err(
                    self.error("expected ')' (only one comparison per filter is supported)")
                );
            }
            (comparator, literal)
        };
        Ok(Filter {
            field,
            comparison: Some(comparison),
        })
    }

    fn comparator(&mut self) -> Result<Comparator, PathError> {
        let two: String = self.chars[self.pos..].iter().take(2).collect();
        let (comparator, length) = match two.as_str() {
            "==" => (Comparator::Eq, 2),
            "!=" => (Comparator::Ne, 2),
            "<=" => (Comparator::Le, 2),
            ">=" => (Comparator::Ge, 2),
            _ if two.starts_with('<') => (Comparator::Lt, 1),
            _ if two.starts_with('>') => (Comparator::Gt, 1),
            _ => return Err(self.error("expected a comparison operator in filter")),
        };
        self.pos += length;
        Ok(comparator)
    }

    fn literal(&mut self) -> Result<Value, PathError> {
        match self.peek() {
            Some('\'' | '"') => Ok(Value::String(self.quoted()?)),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != ')' && !c.is_whitespace()) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(|value| !value.is_object() && !value.is_array())
                    .ok_or_else(|| self.error(&format!("invalid literal {text:?} in filter")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The reference path examples of the Step Functions Developer Guide, "Paths"
    /// (docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html).
    #[test]
    fn developer_guide_path_examples() {
        let input = json!({
            "foo": 123,
            "bar": ["a", "b", "c"],
            "car": {"cdr": true},
            "jar": [{"a": 1}, {"a": 5}, {"a": 2}, {"a": 7}, {"a": 3}]
        });
        let select = |text: &str| Path::parse(text).unwrap().select(&input, &Context::empty());
        assert_eq!(select("$.foo"), Some(json!(123)));
        assert_eq!(select("$.bar"), Some(json!(["a", "b", "c"])));
        assert_eq!(select("$.car.cdr"), Some(json!(true)));
        assert_eq!(
            select("$.jar[?(@.a >= 5)]"),
            Some(json!([{"a": 5}, {"a": 7}]))
        );
    }

    /// "InputPath, Parameters and ResultSelector": `$.a[0:2]` on `{"a": [1, 2, 3, 4]}` yields `[1, 2]`.
    #[test]
    fn slices_select_a_range() {
        let path = Path::parse("$.a[0:2]").unwrap();
        assert_eq!(
            path.select(&json!({"a": [1, 2, 3, 4]}), &Context::empty()),
            Some(json!([1, 2]))
        );
    }

    #[test]
    fn brackets_wildcards_and_negative_indexes() {
        let input = json!({"x y": {"z": [1, 2, 3]}, "list": [{"n": 1}, {"n": 2}]});
        let select = |text: &str| Path::parse(text).unwrap().select(&input, &Context::empty());
        assert_eq!(select("$['x y'].z[-1]"), Some(json!(3)));
        assert_eq!(select("$.['x y'].z[0,2]"), Some(json!([1, 3])));
        assert_eq!(select("$.list[*].n"), Some(json!([1, 2])));
        assert_eq!(
            select("$['x y'].z[1::9223372036854775807]"),
            Some(json!([2]))
        );
        assert_eq!(select("$.missing"), None);
        assert_eq!(select("$.list[5]"), None);
        let execution = json!({"Id": "e"});
        let context = Context {
            execution: &execution,
            ..Context::empty()
        };
        let select_context = |text: &str| Path::parse(text).unwrap().select(&Value::Null, &context);
        assert_eq!(select_context("$$.Execution.Id"), Some(json!("e")));
        assert_eq!(select_context("$$['Execution']"), Some(json!({"Id": "e"})));
        assert_eq!(select_context("$$.Map"), None);
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        let error = |text: &str| Path::parse(text).unwrap_err().to_string();
        assert!(error("$..a").contains("deep scan"));
        assert!(error("$.a.length()").contains("functions"));
        assert!(error("a.b").contains("must start"));
        assert!(
            Path::parse_reference("$.a[*]")
                .unwrap_err()
                .to_string()
                .contains("not a reference path")
        );
    }

    #[test]
    fn set_creates_missing_objects_and_refuses_scalars() {
        let mut target = json!({"a": 1, "list": [0, 0]});
        Path::parse_reference("$.b.c")
            .unwrap()
            .set(&mut target, json!(2))
            .unwrap();
        Path::parse_reference("$.list[1]")
            .unwrap()
            .set(&mut target, json!(9))
            .unwrap();
        assert_eq!(target, json!({"a": 1, "b": {"c": 2}, "list": [0, 9]}));
        assert!(
            Path::parse_reference("$.a.x")
                .unwrap()
                .set(&mut target, json!(0))
                .is_err()
        );
        Path::root().set(&mut target, json!("all")).unwrap();
        assert_eq!(target, json!("all"));
    }
}
