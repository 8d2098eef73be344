//! Claim rules: an ordered list of small edits applied to the verified claims before signing, so
//! each IdP's names and shapes come out as the shape a legacy relying party expects.
//!
//! Rules never touch the protected claims: they are checked out at start (`config`), and
//! `claims::issued_claims` sets those afterwards from tokenbridge's own decisions.

use serde_json::{Map, Value};

/// Where a rule reads: a JSON pointer (`/realm_access/roles`) or a dotted path
/// (`resource_access.bookstack.roles`); a name without dots or a leading `/` is one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimPath {
    segments: Vec<String>,
    written: String,
}

impl ClaimPath {
    pub fn parse(path: &str) -> Option<ClaimPath> {
        let segments: Vec<String> = if let Some(pointer) = path.strip_prefix('/') {
            pointer
                .split('/')
                .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            path.split('.').map(str::to_owned).collect()
        };
        if segments.iter().any(String::is_empty) {
            return None;
        }
        Some(ClaimPath {
            segments,
            written: path.to_owned(),
        })
    }

    /// The top-level claim it starts at.
    pub fn top(&self) -> &str {
        &self.segments[0]
    }

    pub fn is_top_level(&self) -> bool {
        self.segments.len() == 1
    }

    fn get<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut value = claims.get(&self.segments[0])?;
        for segment in &self.segments[1..] {
            value = value.as_object()?.get(segment)?;
        }
        Some(value)
    }

    fn remove(&self, claims: &mut Map<String, Value>) -> Option<Value> {
        let (leaf, parents) = self.segments.split_last()?;
        let mut object = claims;
        for segment in parents {
            object = object.get_mut(segment)?.as_object_mut()?;
        }
        object.remove(leaf)
    }
}

impl std::fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.written)
    }
}

/// A claim-name pattern: exact, or with `*` matching any run of characters.
#[derive(Debug, Clone, PartialEq)]
pub struct NamePattern(String);

impl NamePattern {
    pub fn new(pattern: &str) -> NamePattern {
        NamePattern(pattern.to_owned())
    }

    pub fn matches(&self, name: &str) -> bool {
        wildcard_match(self.0.as_bytes(), name.as_bytes())
    }
}

fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative glob with backtracking to the last `*`: linear in practice, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// Value reshaping, applied in this fixed order: keys, split, filter, strip_prefix, prefix,
/// lowercase, join.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    /// An object's keys as a list (Zitadel's roles object).
    pub keys: bool,
    /// A string split into a list at this separator.
    pub split: Option<String>,
    /// Only the list's strings matching one of these patterns.
    pub filter: Vec<NamePattern>,
    /// Removed from each string that starts with it.
    pub strip_prefix: Option<String>,
    /// Put before each string.
    pub prefix: Option<String>,
    pub lowercase: bool,
    /// A list joined into one string with this separator.
    pub join: Option<String>,
}

impl Shape {
    pub fn is_identity(&self) -> bool {
        *self == Shape::default()
    }

    fn apply(&self, value: Value) -> Result<Value, String> {
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
        Ok(value)
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

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What `sub_from` does when its source claim is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    Fail,
    KeepSub,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Moves a value (reshaped) to a top-level claim.
    Rename {
        from: ClaimPath,
        to: String,
        shape: Shape,
        overwrite: bool,
    },
    /// Like rename, but the source stays.
    Copy {
        from: ClaimPath,
        to: String,
        shape: Shape,
        overwrite: bool,
    },
    Drop {
        patterns: Vec<NamePattern>,
        paths: Vec<ClaimPath>,
    },
    Set {
        claim: String,
        value: Value,
    },
    Default {
        claim: String,
        value: Value,
    },
    SubFrom {
        from: ClaimPath,
        if_missing: IfMissing,
    },
    /// Least privilege: every top-level claim not named leaves (`sub` always stays).
    KeepOnly {
        names: Vec<NamePattern>,
    },
}

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
                overwrite,
            }
            | RuleKind::Copy {
                from,
                to,
                shape,
                overwrite,
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
                        list(shape.filter.iter().map(|p| p.0.clone()).collect())
                    ));
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
                if *overwrite {
                    parts.push("overwrite = true".into());
                }
            }
            RuleKind::Drop { patterns, paths } => {
                let names = patterns
                    .iter()
                    .map(|p| p.0.clone())
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
            RuleKind::KeepOnly { names } => {
                parts.push(format!(
                    "keep_only = {}",
                    list(names.iter().map(|p| p.0.clone()).collect())
                ));
            }
        }
        if self.is_required {
            parts.push("required = true".into());
        }
        write!(f, "{{ {} }}", parts.join(", "))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where the rule was written, for logs: `client "bookstack" claims[2]`, `preset zitadel[0]`.
    pub origin: String,
    pub kind: RuleKind,
    /// A missing source refuses the exchange instead of doing nothing.
    pub is_required: bool,
}

/// Why a rule refused an exchange; the log names the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("claim rule {origin}: {reason}")]
pub struct RuleError {
    pub origin: String,
    pub reason: String,
}

/// What a rule did, for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub origin: String,
    pub summary: String,
}

impl Rule {
    fn refuse(&self, reason: impl Into<String>) -> RuleError {
        RuleError {
            origin: self.origin.clone(),
            reason: reason.into(),
        }
    }

    /// Applies this rule; `Ok(None)` when it had nothing to do.
    pub fn apply(&self, claims: &mut Map<String, Value>) -> Result<Option<String>, RuleError> {
        match &self.kind {
            RuleKind::Rename {
                from,
                to,
                shape,
                overwrite,
            }
            | RuleKind::Copy {
                from,
                to,
                shape,
                overwrite,
            } => {
                let is_move = matches!(self.kind, RuleKind::Rename { .. });
                let Some(value) = from.get(claims).cloned() else {
                    return self.missing(from);
                };
                let value = shape
                    .apply(value)
                    .map_err(|reason| self.refuse(format!("{from}: {reason}")))?;
                let is_same_place = from.is_top_level() && from.top() == to;
                if claims.contains_key(to) && !overwrite && !is_same_place {
                    return Err(self.refuse(format!(
                        "{to} exists already (set overwrite = true to replace it)"
                    )));
                }
                if is_move {
                    from.remove(claims);
                }
                claims.insert(to.clone(), value);
                Ok(Some(format!(
                    "{} {from} -> {to}",
                    if is_move { "renamed" } else { "copied" }
                )))
            }
            RuleKind::Drop { patterns, paths } => {
                let before = claims.len();
                claims.retain(|name, _| !patterns.iter().any(|pattern| pattern.matches(name)));
                let mut dropped = before - claims.len();
                for path in paths {
                    dropped += usize::from(path.remove(claims).is_some());
                }
                Ok((dropped > 0).then(|| format!("dropped {dropped} claim(s)")))
            }
            RuleKind::Set { claim, value } => {
                claims.insert(claim.clone(), value.clone());
                Ok(Some(format!("set {claim}")))
            }
            RuleKind::Default { claim, value } => {
                if claims.contains_key(claim) {
                    return Ok(None);
                }
                claims.insert(claim.clone(), value.clone());
                Ok(Some(format!("defaulted {claim}")))
            }
            RuleKind::SubFrom { from, if_missing } => {
                let sub = match from.get(claims) {
                    Some(Value::String(text)) if !text.is_empty() => text.clone(),
                    Some(Value::Number(number)) => number.to_string(),
                    Some(other) => {
                        return Err(self.refuse(format!("{from} is {}, not a string", kind(other))));
                    }
                    None if *if_missing == IfMissing::KeepSub && !self.is_required => {
                        return Ok(None);
                    }
                    None => {
                        return Err(
                            self.refuse(format!("{from} is missing, so sub cannot be set from it"))
                        );
                    }
                };
                claims.insert("sub".into(), Value::String(sub));
                Ok(Some(format!("sub from {from}")))
            }
            RuleKind::KeepOnly { names } => {
                let before = claims.len();
                claims.retain(|name, _| {
                    name == "sub" || names.iter().any(|pattern| pattern.matches(name))
                });
                let dropped = before - claims.len();
                Ok((dropped > 0)
                    .then(|| format!("kept only the allowed claims, {dropped} dropped")))
            }
        }
    }

    fn missing(&self, from: &ClaimPath) -> Result<Option<String>, RuleError> {
        if self.is_required {
            Err(self.refuse(format!("required source {from} is missing")))
        } else {
            Ok(None)
        }
    }
}

/// Applies `rules` in order; returns what fired.
pub fn apply_rules(
    rules: &[Rule],
    claims: &mut Map<String, Value>,
) -> Result<Vec<Fired>, RuleError> {
    let mut fired = Vec::new();
    for rule in rules {
        if let Some(summary) = rule.apply(claims)? {
            fired.push(Fired {
                origin: rule.origin.clone(),
                summary,
            });
        }
    }
    Ok(fired)
}
