//! Claim rules as written (`[[client.claims]]`, `preset = "…"`) checked into `policy::rules`.

use serde_json::Value;

use super::error::Problems;
use super::file::{PresetFile, RuleFile};
use crate::policy::claims::PROTECTED_CLAIMS;
use crate::policy::presets;
use crate::policy::rules::{
    ClaimPath, IfMissing, NamePattern, OnExisting, Rule, RuleKind, Shape, ValueMap,
};

/// The rules of one client or upstream: its preset's first, then its own. `label` is the key
/// path of the entry (`client[0] ("bookstack")`).
pub(super) fn validate_rules(
    label: &str,
    preset: Option<&str>,
    claims: Vec<toml::Value>,
    problems: &mut Problems,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    if let Some(name) = preset {
        match presets::preset(name).map(toml::from_str::<PresetFile>) {
            Some(Ok(file)) => {
                for (index, value) in file.claims.into_iter().enumerate() {
                    let origin = format!("preset {name:?} claims[{index}]");
                    if let Some(rule) =
                        rule_from_value(&origin, &format!("{label}.preset"), value, problems)
                    {
                        rules.push(rule);
                    }
                }
            }
            Some(Err(err)) => problems.add(
                format!("{label}.preset"),
                format!("preset {name:?} is broken: {err}"),
            ),
            None => problems.add(
                format!("{label}.preset"),
                format!(
                    "{name:?} is not a preset; presets are {}",
                    presets::names().collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    }
    for (index, value) in claims.into_iter().enumerate() {
        let key = format!("{label}.claims[{index}]");
        if let Some(rule) = rule_from_value(&key, &key, value, problems) {
            rules.push(rule);
        }
    }
    check_conflicts(label, &rules, problems);
    rules
}

fn rule_from_value(
    origin: &str,
    key: &str,
    value: toml::Value,
    problems: &mut Problems,
) -> Option<Rule> {
    let file: RuleFile = match value.try_into() {
        Ok(file) => file,
        Err(err) => {
            problems.add(key, err.to_string().trim().to_owned());
            return None;
        }
    };
    let before = problems.len();
    let kind = rule_kind(file_ops(&file), &file, key, problems)?;
    (problems.len() == before).then(|| Rule {
        origin: origin.to_owned(),
        kind,
        is_required: file.required,
    })
}

/// The operation keys present, by name.
fn file_ops(file: &RuleFile) -> Vec<&'static str> {
    [
        ("rename", file.rename.is_some()),
        ("copy", file.copy.is_some()),
        ("drop", file.drop.is_some()),
        ("set", file.set.is_some()),
        ("default", file.default.is_some()),
        ("sub_from", file.sub_from.is_some()),
        ("keep_only", file.keep_only.is_some()),
        ("refuse_overage", file.refuse_overage.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, is_present)| is_present.then_some(name))
    .collect()
}

fn rule_kind(
    ops: Vec<&'static str>,
    file: &RuleFile,
    key: &str,
    problems: &mut Problems,
) -> Option<RuleKind> {
    let [op] = ops[..] else {
        problems.add(
            key,
            format!(
                "a rule has exactly one of rename, copy, drop, set, default, sub_from, keep_only, refuse_overage; found {}",
                if ops.is_empty() { "none".to_owned() } else { ops.join(", ") }
            ),
        );
        return None;
    };
    let shape = Shape {
        keys: file.keys,
        split: file.split.clone(),
        filter: file
            .filter
            .iter()
            .flatten()
            .map(|pattern| NamePattern::new(pattern))
            .collect(),
        map: value_map(file, key, problems),
        strip_prefix: file.strip_prefix.clone(),
        prefix: file.prefix.clone(),
        lowercase: file.lowercase,
        join: file.join.clone(),
    };
    let takes = |option: &str, is_set: bool, allowed: &[&str], problems: &mut Problems| {
        if is_set && !allowed.contains(&op) {
            problems.add(key, format!("{option} does not apply to {op}"));
        }
    };
    takes("to", file.to.is_some(), &["rename", "copy"], problems);
    takes(
        "keys/split/filter/map/strip_prefix/prefix/lowercase/join",
        !shape.is_identity(),
        &["rename", "copy"],
        problems,
    );
    takes("overwrite", file.overwrite, &["rename", "copy"], problems);
    takes(
        "keep_existing",
        file.keep_existing,
        &["rename", "copy"],
        problems,
    );
    if file.overwrite && file.keep_existing {
        problems.add(key, "overwrite and keep_existing contradict each other");
    }
    takes("value", file.value.is_some(), &["set", "default"], problems);
    takes(
        "if_missing",
        file.if_missing.is_some(),
        &["sub_from"],
        problems,
    );
    takes(
        "required",
        file.required,
        &["rename", "copy", "sub_from"],
        problems,
    );

    let path = |written: &str, problems: &mut Problems| {
        let parsed = ClaimPath::parse(written);
        if parsed.is_none() {
            problems.add(
                key,
                format!("{written:?} is not a claim name, dotted path or JSON pointer"),
            );
        }
        parsed
    };
    let target = |name: Option<&String>, problems: &mut Problems| -> Option<String> {
        let Some(name) = name else {
            problems.add(key, format!("{op} needs `to`, the claim to write"));
            return None;
        };
        writable(name, key, problems).then(|| name.clone())
    };
    let value = |problems: &mut Problems| -> Option<Value> {
        match file.value.as_ref().map(serde_json::to_value) {
            Some(Ok(value)) => Some(value),
            Some(Err(err)) => {
                problems.add(key, format!("value cannot be JSON: {err}"));
                None
            }
            None => {
                problems.add(key, format!("{op} needs `value`"));
                None
            }
        }
    };
    match op {
        "rename" | "copy" => {
            let from = path(
                file.rename
                    .as_deref()
                    .or(file.copy.as_deref())
                    .unwrap_or_default(),
                problems,
            )?;
            let to = target(file.to.as_ref(), problems)?;
            let existing = match (file.overwrite, file.keep_existing) {
                (true, _) => OnExisting::Overwrite,
                (false, true) => OnExisting::Keep,
                (false, false) => OnExisting::Refuse,
            };
            Some(if op == "rename" {
                RuleKind::Rename {
                    from,
                    to,
                    shape,
                    existing,
                }
            } else {
                RuleKind::Copy {
                    from,
                    to,
                    shape,
                    existing,
                }
            })
        }
        "drop" => {
            let mut patterns = Vec::new();
            let mut paths = Vec::new();
            for entry in file.drop.iter().flatten() {
                if PROTECTED_CLAIMS.contains(&entry.as_str()) {
                    problems.add(
                        key,
                        format!(
                            "{entry} is protected: tokenbridge decides it, rules can't touch it"
                        ),
                    );
                } else if entry.starts_with('/') || (entry.contains('.') && !entry.contains('*')) {
                    paths.extend(path(entry, problems));
                } else {
                    patterns.push(NamePattern::new(entry));
                }
            }
            Some(RuleKind::Drop { patterns, paths })
        }
        "set" => {
            let claim = target(file.set.as_ref(), problems)?;
            Some(RuleKind::Set {
                claim,
                value: value(problems)?,
            })
        }
        "default" => {
            let claim = target(file.default.as_ref(), problems)?;
            Some(RuleKind::Default {
                claim,
                value: value(problems)?,
            })
        }
        "sub_from" => {
            let from = path(file.sub_from.as_deref().unwrap_or_default(), problems)?;
            let if_missing = match file.if_missing.as_deref() {
                None | Some("fail") => IfMissing::Fail,
                Some("keep") => IfMissing::KeepSub,
                Some(other) => {
                    problems.add(key, format!("if_missing = {other:?} is not fail or keep"));
                    IfMissing::Fail
                }
            };
            Some(RuleKind::SubFrom { from, if_missing })
        }
        "refuse_overage" => {
            let claim = file.refuse_overage.clone().unwrap_or_default();
            if claim.is_empty() {
                problems.add(key, "refuse_overage names the claim an overage replaces");
                return None;
            }
            Some(RuleKind::RefuseOverage { claim })
        }
        _ => Some(RuleKind::KeepOnly {
            names: file
                .keep_only
                .iter()
                .flatten()
                .map(|name| NamePattern::new(name))
                .collect(),
        }),
    }
}

/// `map` and `unmapped` come together: what happens to a value the table doesn't name is the
/// operator's choice, never a default (a kept object id can grant nothing, a dropped one can
/// take a group away).
fn value_map(file: &RuleFile, key: &str, problems: &mut Problems) -> Option<ValueMap> {
    let is_unmapped_dropped = match file.unmapped.as_deref() {
        None => None,
        Some("keep") => Some(false),
        Some("drop") => Some(true),
        Some(other) => {
            problems.add(key, format!("unmapped = {other:?} is not keep or drop"));
            Some(false)
        }
    };
    match (&file.map, is_unmapped_dropped) {
        (None, None) => None,
        (Some(_), None) => {
            problems.add(key, "map needs unmapped = \"keep\" or \"drop\"");
            None
        }
        (None, Some(_)) => {
            problems.add(key, "unmapped applies only with map");
            None
        }
        (Some(entries), Some(is_unmapped_dropped)) => Some(ValueMap {
            entries: entries.clone(),
            is_unmapped_dropped,
        }),
    }
}

fn writable(name: &str, key: &str, problems: &mut Problems) -> bool {
    if PROTECTED_CLAIMS.contains(&name) {
        problems.add(
            key,
            format!("{name} is protected: tokenbridge decides it, rules can't write it"),
        );
        return false;
    }
    if name.is_empty() {
        problems.add(key, "the claim name is empty");
        return false;
    }
    true
}

/// A rename or copy onto a claim an earlier rule wrote is refused unless it says `overwrite`.
fn check_conflicts(label: &str, rules: &[Rule], problems: &mut Problems) {
    let mut written: Vec<(&str, &str)> = Vec::new();
    for rule in rules {
        let target = match &rule.kind {
            RuleKind::Rename { to, existing, .. } | RuleKind::Copy { to, existing, .. } => {
                if let Some((_, by)) = written.iter().find(|(name, _)| name == to)
                    && *existing == OnExisting::Refuse
                {
                    let key = if rule.origin.starts_with(label) {
                        rule.origin.clone()
                    } else {
                        format!("{label}.preset ({})", rule.origin)
                    };
                    problems.add(
                        key,
                        format!("writes {to}, which {by} wrote already; set overwrite = true to replace it, or keep_existing = true to leave it"),
                    );
                }
                Some(to.as_str())
            }
            RuleKind::Set { claim, .. } | RuleKind::Default { claim, .. } => Some(claim.as_str()),
            _ => None,
        };
        if let Some(target) = target {
            written.push((target, rule.origin.as_str()));
        }
    }
}

#[cfg(test)]
mod preset_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod value_map_tests;
