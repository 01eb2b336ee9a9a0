//! Mutations of a seed, as a fuzzer makes them: on bytes (flips, truncations, insertions, splices with another seed)
//! and, when the seed is JSON, on its values (a member removed, a value replaced by an awkward one, a value wrapped
//! or stringified). Positions are drawn as plain numbers and taken modulo the input's size when applied, so
//! proptest shrinks a failing input towards the seed it came from.

use proptest::prelude::*;
use serde_json::{Value, json};

/// One mutation.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flips one bit of one byte.
    FlipBit { at: usize, bit: u8 },
    /// Cuts the input at a position.
    Truncate { at: usize },
    /// Inserts bytes at a position.
    Insert { at: usize, bytes: Vec<u8> },
    /// Replaces the tail from a position with the tail of another seed.
    Splice { at: usize, seed: usize, from: usize },
    /// Changes one value of a JSON input (nothing for an input that is not JSON).
    Json { node: usize, change: JsonChange },
}

/// What a JSON mutation does to the value it picked.
#[derive(Debug, Clone)]
pub enum JsonChange {
    /// Replaces it with one of [`awkward_values`].
    Replace(usize),
    /// Removes it from its object or array.
    Remove,
    /// Wraps it in an array.
    Wrap,
    /// Replaces it with its JSON text, as a string.
    Stringify,
}

/// Values that break assumptions: wrong types, bounds of the integer types, special floats as JSON allows them,
/// empty and control-laden strings, escapes, placeholders and paths.
fn awkward_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e308),
        json!(-1e-308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(""),
        json!(" "),
        json!("\u{0}"),
        json!("a\nb"),
        json!("%FF%ZZ+"),
        json!("../../etc/passwd"),
        json!("${Missing}"),
        json!("$.a[0]..b"),
        json!("States.Format('{}', $.x)"),
        json!("s3://b/k.mp4"),
        json!("x".repeat(300)),
        json!("\u{1F600}\u{202E}"),
        json!({}),
        json!([]),
        (0..20).fold(json!(0), |inner, _| json!([inner])),
    ]
}

fn json_change() -> impl Strategy<Value = JsonChange> {
    prop_oneof![
        4 => any::<usize>().prop_map(JsonChange::Replace),
        2 => Just(JsonChange::Remove),
        1 => Just(JsonChange::Wrap),
        1 => Just(JsonChange::Stringify),
    ]
}

/// Any mutation, JSON ones most often: most targets read JSON, and byte mutations mostly break its syntax.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(at, seed, from)| Mutation::Splice { at, seed, from }),
        6 => (any::<usize>(), json_change()).prop_map(|(node, change)| Mutation::Json { node, change }),
    ]
}

/// `input` after `mutation`; `seeds` are what splices take from.
pub fn apply(input: &[u8], mutation: &Mutation, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    let pos = |at: usize, len: usize| at % (len + 1);
    match mutation {
        Mutation::FlipBit { at, bit } => {
            if !out.is_empty() {
                let at = at % out.len();
                out[at] ^= 1 << bit;
            }
        }
        Mutation::Truncate { at } => out.truncate(pos(*at, out.len())),
        Mutation::Insert { at, bytes } => {
            let at = pos(*at, out.len());
            out.splice(at..at, bytes.iter().copied());
        }
        Mutation::Splice { at, seed, from } => {
            let other = &seeds[seed % seeds.len()];
            out.truncate(pos(*at, out.len()));
            out.extend_from_slice(&other[pos(*from, other.len())..]);
        }
        Mutation::Json { node, change } => {
            if let Ok(mut value) = serde_json::from_slice::<Value>(&out) {
                change_node(&mut value, *node, change);
                out = serde_json::to_vec(&value).expect("a JSON value serialises");
            }
        }
    }
    out
}

/// Applies `change` to node number `node` (modulo the number of nodes, depth first, the root being 0).
fn change_node(root: &mut Value, node: usize, change: &JsonChange) {
    let count = count_nodes(root);
    let target = node % count;
    if target == 0 {
        // The root cannot be removed from a parent: any change to it replaces it.
        let awkward = awkward_values();
        *root = match change {
            JsonChange::Replace(i) => awkward[i % awkward.len()].clone(),
            JsonChange::Remove => Value::Null,
            JsonChange::Wrap => json!([root.take()]),
            JsonChange::Stringify => Value::String(root.to_string()),
        };
        return;
    }
    change_child(root, &mut (target - 1), change);
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(members) => members.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Looks for the `left`-th descendant of `parent` (depth first) and changes it; true once done.
fn change_child(parent: &mut Value, left: &mut usize, change: &JsonChange) -> bool {
    let keys: Vec<String> = match parent {
        Value::Object(members) => members.keys().cloned().collect(),
        Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
        _ => return false,
    };
    for key in keys {
        let child = match parent {
            Value::Object(members) => members.get_mut(&key),
            Value::Array(items) => key.parse().ok().and_then(|i: usize| items.get_mut(i)),
            _ => None,
        }
        .expect("the child listed above");
        if *left == 0 {
            let awkward = awkward_values();
            match change {
                JsonChange::Replace(i) => *child = awkward[i % awkward.len()].clone(),
                JsonChange::Wrap => *child = json!([child.take()]),
                JsonChange::Stringify => *child = Value::String(child.to_string()),
                JsonChange::Remove => match parent {
                    Value::Object(members) => {
                        members.remove(&key);
                    }
                    Value::Array(items) => {
                        items.remove(key.parse::<usize>().expect("an index"));
                    }
                    _ => {}
                },
            }
            return true;
        }
        *left -= 1;
        if change_child(child, left, change) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(text: &str, node: usize, change: JsonChange) -> String {
        let mutation = Mutation::Json { node, change };
        String::from_utf8(apply(text.as_bytes(), &mutation, &[])).unwrap()
    }

    #[test]
    fn json_nodes_are_numbered_depth_first_from_the_root() {
        let text = r#"{"a":{"b":1},"c":[2,3]}"#;
        assert_eq!(changed(text, 0, JsonChange::Remove), "null");
        assert_eq!(changed(text, 1, JsonChange::Remove), r#"{"c":[2,3]}"#);
        assert_eq!(
            changed(text, 2, JsonChange::Wrap),
            r#"{"a":{"b":[1]},"c":[2,3]}"#
        );
        assert_eq!(
            changed(text, 4, JsonChange::Stringify),
            r#"{"a":{"b":1},"c":["2",3]}"#
        );
        assert_eq!(
            changed(text, 5, JsonChange::Replace(0)),
            r#"{"a":{"b":1},"c":[2,null]}"#
        );
        assert_eq!(
            changed(text, 6, JsonChange::Remove),
            "null",
            "wraps around to the root"
        );
    }

    #[test]
    fn byte_mutations_stay_inside_the_input() {
        let seeds = vec![b"XYZ".to_vec()];
        let splice = Mutation::Splice {
            at: 2,
            seed: 0,
            from: 1,
        };
        assert_eq!(apply(b"abc", &splice, &seeds), b"abYZ");
        assert_eq!(apply(b"abc", &Mutation::Truncate { at: 6 }, &seeds), b"ab");
        assert_eq!(
            apply(b"", &Mutation::FlipBit { at: 9, bit: 3 }, &seeds),
            b""
        );
        let insert = Mutation::Insert {
            at: 3,
            bytes: vec![b'!'],
        };
        assert_eq!(apply(b"abc", &insert, &seeds), b"abc!");
    }
}
