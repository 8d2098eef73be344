//! What each rule kind does to the claims, and a list of rules applied in order.

use serde_json::{Map, Value};

use super::shape::kind;
use super::{ClaimPath, Fired, IfMissing, OnExisting, Rule, RuleError, RuleKind};

impl Rule {
    fn refuse(&self, reason: impl Into<String>) -> RuleError {
        RuleError {
            origin: self.origin.clone(),
            reason: reason.into(),
        }
    }

    /// Applies this rule; `Ok(None)` when it had nothing to do.
    pub(crate) fn apply(
        &self,
        claims: &mut Map<String, Value>,
    ) -> Result<Option<String>, RuleError> {
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
                let is_move = matches!(self.kind, RuleKind::Rename { .. });
                let Some(value) = from.get(claims).cloned() else {
                    return self.missing(from);
                };
                let shaped = shape
                    .apply(value)
                    .map_err(|reason| self.refuse(format!("{from}: {reason}")))?;
                let Some(value) = shaped else {
                    // `map` with `unmapped = "drop"` left nothing: the target isn't written, and
                    // a rename still takes the source away.
                    if is_move {
                        from.remove(claims);
                    }
                    return Ok(Some(format!("{from}: no value mapped, dropped")));
                };
                let is_same_place = from.is_top_level() && from.top() == to;
                if claims.contains_key(to) && !is_same_place {
                    match existing {
                        OnExisting::Overwrite => {}
                        OnExisting::Keep => return Ok(None),
                        OnExisting::Refuse => {
                            return Err(self.refuse(format!(
                                "{to} exists already (set overwrite = true to replace it, or keep_existing = true to leave it)"
                            )));
                        }
                    }
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
            RuleKind::RefuseOverage { claim } => {
                if claims.contains_key(claim) {
                    return Ok(None);
                }
                let is_distributed = claims
                    .get("_claim_names")
                    .and_then(Value::as_object)
                    .is_some_and(|names| names.contains_key(claim));
                // Entra's implicit-flow form of the same overage (no _claim_names, a flag).
                let has_groups_flag =
                    claim == "groups" && claims.get("hasgroups") == Some(&Value::Bool(true));
                if is_distributed || has_groups_flag {
                    let form = if is_distributed {
                        "_claim_names names it"
                    } else {
                        "hasgroups is true"
                    };
                    return Err(self.refuse(format!(
                        "{claim} overage: the token carries no {claim}, {form} (the IdP left them out as too many); tokenbridge does not fetch them and issues nothing rather than a token without {claim}"
                    )));
                }
                Ok(None)
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
pub(crate) fn apply_rules(
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
