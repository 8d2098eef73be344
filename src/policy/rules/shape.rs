//! Value shaping: how a renamed or copied value is reshaped on the way (object keys, split,
//! filter, value map, prefixes, case, join), and the names of JSON kinds its refusals use.

use std::collections::BTreeMap;

use serde_json::Value;

use super::NamePattern;

/// Value reshaping, applied in this fixed order: keys, split, filter, map, strip_prefix, prefix,
/// lowercase, join.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Shape {
    /// An object's keys as a list (Zitadel's roles object).
    pub(crate) keys: bool,
    /// A string split into a list at this separator.
    pub(crate) split: Option<String>,
    /// Only the list's strings matching one of these patterns.
    pub(crate) filter: Vec<NamePattern>,
    /// Each string replaced by its entry (Entra group object ids → names), and what becomes of
    /// a string without one.
    pub(crate) map: Option<ValueMap>,
    /// Removed from each string that starts with it.
    pub(crate) strip_prefix: Option<String>,
    /// Put before each string.
    pub(crate) prefix: Option<String>,
    pub(crate) lowercase: bool,
    /// A list joined into one string with this separator.
    pub(crate) join: Option<String>,
}

/// `map` with `unmapped`: a rule's value translation table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValueMap {
    pub(crate) entries: BTreeMap<String, String>,
    /// `unmapped = "drop"`: a value without an entry leaves (a list's item, or a string claim
    /// whole); otherwise it stays as it was.
    pub(crate) is_unmapped_dropped: bool,
}

impl ValueMap {
    /// `None` when a lone string is unmapped and dropped: then nothing is left to write.
    fn apply(&self, value: Value) -> Option<Value> {
        let translate = |item: Value| match item {
            Value::String(text) => match self.entries.get(&text) {
                Some(mapped) => Some(Value::String(mapped.clone())),
                None => (!self.is_unmapped_dropped).then_some(Value::String(text)),
            },
            other => (!self.is_unmapped_dropped).then_some(other),
        };
        match value {
            Value::Array(items) => Some(Value::Array(
                items.into_iter().filter_map(translate).collect(),
            )),
            text @ Value::String(_) => translate(text),
            other => Some(other),
        }
    }
}

impl Shape {
    pub(crate) fn is_identity(&self) -> bool {
        *self == Shape::default()
    }

    /// The reshaped value; `Ok(None)` when `map` dropped the whole of it (an unmapped string).
    pub(super) fn apply(&self, value: Value) -> Result<Option<Value>, String> {
        let mut value = value;
        if self.keys {
            value = match value {
                Value::Object(object) => Value::Array(
                    object
                        .into_iter()
                        .map(|(key, _)| Value::String(key))
                        .collect(),
                ),
                other => return Err(format!("keys needs an object, found {}", kind(&other))),
            };
        }
        if let Some(separator) = &self.split {
            value = match value {
                Value::String(text) => Value::Array(
                    text.split(separator.as_str())
                        .map(str::trim)
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ),
                list @ Value::Array(_) => list,
                other => return Err(format!("split needs a string, found {}", kind(&other))),
            };
        }
        if !self.filter.is_empty() {
            value = match value {
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .filter(|item| {
                            item.as_str().is_some_and(|text| {
                                self.filter.iter().any(|pattern| pattern.matches(text))
                            })
                        })
                        .collect(),
                ),
                other => return Err(format!("filter needs a list, found {}", kind(&other))),
            };
        }
        if let Some(map) = &self.map {
            match value {
                Value::String(_) | Value::Array(_) => match map.apply(value) {
                    Some(mapped) => value = mapped,
                    None => return Ok(None),
                },
                other => {
                    return Err(format!(
                        "map needs a string or a list, found {}",
                        kind(&other)
                    ));
                }
            }
        }
        value = map_strings(value, |text| {
            let text = match &self.strip_prefix {
                Some(prefix) => text
                    .strip_prefix(prefix.as_str())
                    .unwrap_or(&text)
                    .to_owned(),
                None => text,
            };
            let text = match &self.prefix {
                Some(prefix) => format!("{prefix}{text}"),
                None => text,
            };
            if self.lowercase {
                text.to_lowercase()
            } else {
                text
            }
        });
        if let Some(separator) = &self.join {
            value = match value {
                Value::Array(items) => Value::String(
                    items
                        .iter()
                        .map(|item| match item {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(separator),
                ),
                text @ Value::String(_) => text,
                other => return Err(format!("join needs a list, found {}", kind(&other))),
            };
        }
        Ok(Some(value))
    }
}

fn map_strings(value: Value, change: impl Fn(String) -> String) -> Value {
    match value {
        Value::String(text) => Value::String(change(text)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Value::String(change(text)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
