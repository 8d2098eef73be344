//! A rule written back as the inline TOML table it came from, for `tokenbridge check --explain`.

use serde_json::Value;

use super::{IfMissing, OnExisting, Rule, RuleKind};

/// A rule as an inline TOML table, the way it would be written in the config.
impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quoted = |text: &str| Value::String(text.to_owned()).to_string();
        let list = |items: Vec<String>| {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(|item| quoted(item))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut parts: Vec<String> = Vec::new();
        match &self.kind {
            RuleKind::Rename {
                from,
                to,
                shape,
                existing,
            }
            | RuleKind::Copy {
                from,
                to,
                shape,
                existing,
            } => {
                let op = if matches!(self.kind, RuleKind::Rename { .. }) {
                    "rename"
                } else {
                    "copy"
                };
                parts.push(format!("{op} = {}", quoted(&from.to_string())));
                parts.push(format!("to = {}", quoted(to)));
                if shape.keys {
                    parts.push("keys = true".into());
                }
                if let Some(separator) = &shape.split {
                    parts.push(format!("split = {}", quoted(separator)));
                }
                if !shape.filter.is_empty() {
                    parts.push(format!(
                        "filter = {}",
                        list(
                            shape
                                .filter
                                .iter()
                                .map(|p| p.as_written().to_owned())
                                .collect()
                        )
                    ));
                }
                if let Some(map) = &shape.map {
                    let entries: Vec<String> = map
                        .entries
                        .iter()
                        .map(|(value, mapped)| format!("{} = {}", quoted(value), quoted(mapped)))
                        .collect();
                    parts.push(format!("map = {{ {} }}", entries.join(", ")));
                    let unmapped = if map.is_unmapped_dropped {
                        "drop"
                    } else {
                        "keep"
                    };
                    parts.push(format!("unmapped = \"{unmapped}\""));
                }
                if let Some(prefix) = &shape.strip_prefix {
                    parts.push(format!("strip_prefix = {}", quoted(prefix)));
                }
                if let Some(prefix) = &shape.prefix {
                    parts.push(format!("prefix = {}", quoted(prefix)));
                }
                if shape.lowercase {
                    parts.push("lowercase = true".into());
                }
                if let Some(separator) = &shape.join {
                    parts.push(format!("join = {}", quoted(separator)));
                }
                match existing {
                    OnExisting::Refuse => {}
                    OnExisting::Overwrite => parts.push("overwrite = true".into()),
                    OnExisting::Keep => parts.push("keep_existing = true".into()),
                }
            }
            RuleKind::Drop { patterns, paths } => {
                let names = patterns
                    .iter()
                    .map(|p| p.as_written().to_owned())
                    .chain(paths.iter().map(ToString::to_string))
                    .collect();
                parts.push(format!("drop = {}", list(names)));
            }
            RuleKind::Set { claim, value } => {
                parts.push(format!("set = {}, value = {value}", quoted(claim)))
            }
            RuleKind::Default { claim, value } => {
                parts.push(format!("default = {}, value = {value}", quoted(claim)))
            }
            RuleKind::SubFrom { from, if_missing } => {
                parts.push(format!("sub_from = {}", quoted(&from.to_string())));
                if *if_missing == IfMissing::KeepSub {
                    parts.push("if_missing = \"keep\"".into());
                }
            }
            RuleKind::RefuseOverage { claim } => {
                parts.push(format!("refuse_overage = {}", quoted(claim)));
            }
            RuleKind::KeepOnly { names } => {
                parts.push(format!(
                    "keep_only = {}",
                    list(names.iter().map(|p| p.as_written().to_owned()).collect())
                ));
            }
        }
        if self.is_required {
            parts.push("required = true".into());
        }
        write!(f, "{{ {} }}", parts.join(", "))
    }
}
