//! The claim rules as they apply to a back-channel logout token, which carries `sub` and `sid`
//! and nothing else a rule could read: a missing source does nothing there, and a rule that
//! writes `sub` from another claim can't be followed (the RP's `sub` came from a claim the
//! logout token doesn't have).

use super::{IfMissing, Rule, RuleKind};

impl Rule {
    /// Whether this rule may change `sub`: `sub_from`, or a rename, copy, set or default onto it.
    pub(crate) fn writes_sub(&self) -> bool {
        match &self.kind {
            RuleKind::SubFrom { .. } => true,
            RuleKind::Rename { to, .. } | RuleKind::Copy { to, .. } => to == "sub",
            RuleKind::Set { claim, .. } | RuleKind::Default { claim, .. } => claim == "sub",
            RuleKind::Drop { .. } | RuleKind::KeepOnly { .. } | RuleKind::RefuseOverage { .. } => {
                false
            }
        }
    }

    /// This rule for a logout token: a missing source is never an error (a `required` source of
    /// an ID token is a claim a logout token doesn't carry), so what stays is what the rule does
    /// to `sub` and `sid` themselves.
    pub(crate) fn for_logout_token(&self) -> Rule {
        let mut rule = self.clone();
        rule.is_required = false;
        if let RuleKind::SubFrom { if_missing, .. } = &mut rule.kind {
            *if_missing = IfMissing::KeepSub;
        }
        rule
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::super::{ClaimPath, NamePattern, OnExisting, Shape, apply_rules};
    use super::*;

    fn rule(kind: RuleKind) -> Rule {
        Rule {
            origin: "test".into(),
            kind,
            is_required: true,
        }
    }

    fn path(text: &str) -> ClaimPath {
        ClaimPath::parse(text).unwrap()
    }

    fn logout_claims() -> Map<String, Value> {
        let Value::Object(claims) = json!({"sub": "u-1", "sid": "s-1"}) else {
            unreachable!()
        };
        claims
    }

    #[test]
    fn only_rules_that_write_sub_say_so() {
        let writers = [
            RuleKind::SubFrom {
                from: path("email"),
                if_missing: IfMissing::Fail,
            },
            RuleKind::Copy {
                from: path("email"),
                to: "sub".into(),
                shape: Shape::default(),
                existing: OnExisting::Overwrite,
            },
            RuleKind::Set {
                claim: "sub".into(),
                value: json!("x"),
            },
            RuleKind::Default {
                claim: "sub".into(),
                value: json!("x"),
            },
        ];
        let others = [
            RuleKind::Drop {
                patterns: vec![NamePattern::new("sid")],
                paths: vec![],
            },
            RuleKind::Rename {
                from: path("email"),
                to: "mail".into(),
                shape: Shape::default(),
                existing: OnExisting::Refuse,
            },
            RuleKind::KeepOnly { names: vec![] },
        ];
        assert!(writers.into_iter().all(|kind| rule(kind).writes_sub()));
        assert!(others.into_iter().all(|kind| !rule(kind).writes_sub()));
    }

    #[test]
    fn a_required_source_a_logout_token_lacks_does_nothing_there() {
        let required = rule(RuleKind::Rename {
            from: path("email"),
            to: "mail".into(),
            shape: Shape::default(),
            existing: OnExisting::Refuse,
        });
        let sub_from = rule(RuleKind::SubFrom {
            from: path("preferred_username"),
            if_missing: IfMissing::Fail,
        });
        let mut claims = logout_claims();
        assert!(apply_rules(std::slice::from_ref(&required), &mut logout_claims()).is_err());
        assert!(apply_rules(std::slice::from_ref(&sub_from), &mut logout_claims()).is_err());

        let lenient = [required.for_logout_token(), sub_from.for_logout_token()];
        assert!(apply_rules(&lenient, &mut claims).is_ok());
        assert_eq!(Value::Object(claims), json!({"sub": "u-1", "sid": "s-1"}));
    }
}
