//! The context object (`$$`): execution, state machine, state and Map item data, borrowed rather than copied so
//! that reading it costs nothing when the execution input is large.

use serde_json::{Value, json};

/// The context object of one state evaluation.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// `$$.Execution`: Id, Input, Name, RoleArn, StartTime.
    pub execution: &'a Value,
    /// `$$.StateMachine`: Id, Name.
    pub state_machine: &'a Value,
    /// `$$.State`: Name, EnteredTime, RetryCount.
    pub state: Value,
    /// `$$.Map`: `{"Item": {"Index", "Value"}}` while a Map state builds an item's input.
    pub map: Option<Value>,
}

impl Context<'_> {
    /// An empty context, for tests of paths outside an execution.
    #[cfg(test)]
    pub fn empty() -> Context<'static> {
        Context {
            execution: &Value::Null,
            state_machine: &Value::Null,
            state: Value::Null,
            map: None,
        }
    }

    /// The top-level node `name` (`Execution`, `StateMachine`, `State` or `Map`).
    pub fn node(&self, name: &str) -> Option<&Value> {
        match name {
            "Execution" => Some(self.execution),
            "StateMachine" => Some(self.state_machine),
            "State" => Some(&self.state),
            "Map" => self.map.as_ref(),
            _ => None,
        }
    }

    /// The whole context object as one value (for a bare `$$`).
    pub fn to_value(&self) -> Value {
        let mut value = json!({
            "Execution": self.execution,
            "StateMachine": self.state_machine,
            "State": self.state,
        });
        if let Some(map) = &self.map {
            value["Map"] = map.clone();
        }
        value
    }
}
