//! Session variables: what actions return, what steps save and what messages print.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A variable's value. Untagged on the wire so a session reads as plain JSON
/// (`{"ticket":"A001","ahead":3}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
    /// A dynamic choice source (services, days, slots, my tickets...).
    List(Vec<Item>),
}

/// One entry of a dynamic choice source. `label` is display text already in the right
/// language or a proper name (a service's name), so it is not a Fluent id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub key: String,
    pub label: String,
    /// Secondary text (WhatsApp list row description, e.g. "3 waiting").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Item {
    pub fn new(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            detail: None,
        }
    }
}

impl Value {
    /// Truthiness for `when: flag` conditions: absent, false, 0, "" and [] are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Text(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Item]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(s) => f.write_str(s),
            Value::List(l) => write!(f, "[{} items]", l.len()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<Item>> for Value {
    fn from(l: Vec<Item>) -> Self {
        Value::List(l)
    }
}

/// A session's variables, ordered so a serialised session is deterministic.
pub type Vars = BTreeMap<String, Value>;

/// Arguments of an event (message arguments, action arguments), in a stable order.
pub type Args = Vec<(String, Value)>;
