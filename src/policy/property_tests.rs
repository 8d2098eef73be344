//! `apply_rules` then `issued_claims`, for any rule list (even one the config would refuse): the
//! protected claims are exactly what was decided, whatever the rules did. (The pipeline around
//! them, from a token to a signed answer, is tested over HTTP in tests/api.)

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::claims::{IssuedClaims, PROTECTED_CLAIMS, issued_claims};
use super::rules::{
    ClaimPath, IfMissing, NamePattern, OnExisting, Rule, RuleKind, Shape, apply_rules,
};

/// Claim names: protected ones included, so rules try to write them.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(PROTECTED_CLAIMS.to_vec()).prop_map(str::to_owned),
        proptest::sample::select(vec![
            "sub",
            "email",
            "roles",
            "groups",
            "name",
            "realm_access.roles",
            "*",
            "a*"
        ])
        .prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("forged")),
        Just(json!(["x", "y"])),
        Just(json!({"k": "v"})),
        any::<i64>().prop_map(Value::from),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(keys, lowercase, join)| Shape {
        keys,
        lowercase,
        join: join.then(|| " ".to_owned()),
        ..Shape::default()
    })
}

fn on_existing() -> impl Strategy<Value = OnExisting> {
    prop_oneof![
        Just(OnExisting::Refuse),
        Just(OnExisting::Overwrite),
        Just(OnExisting::Keep),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    fn path() -> impl Strategy<Value = ClaimPath> {
        name().prop_filter_map("a path", |name| ClaimPath::parse(&name))
    }
    let kind = prop_oneof![
        (path(), name(), shape(), on_existing()).prop_map(|(from, to, shape, existing)| {
            RuleKind::Rename {
                from,
                to,
                shape,
                existing,
            }
        }),
        (path(), name(), shape(), on_existing()).prop_map(|(from, to, shape, existing)| {
            RuleKind::Copy {
                from,
                to,
                shape,
                existing,
            }
        }),
        proptest::collection::vec(name(), 0..3).prop_map(|names| RuleKind::Drop {
            patterns: names.iter().map(|n| NamePattern::new(n)).collect(),
            paths: Vec::new()
        }),
        (name(), value()).prop_map(|(claim, value)| RuleKind::Set { claim, value }),
        (name(), value()).prop_map(|(claim, value)| RuleKind::Default { claim, value }),
        path().prop_map(|from| RuleKind::SubFrom {
            from,
            if_missing: IfMissing::KeepSub
        }),
        proptest::collection::vec(name(), 0..3).prop_map(|names| RuleKind::KeepOnly {
            names: names.iter().map(|n| NamePattern::new(n)).collect()
        }),
    ];
    (kind, any::<bool>()).prop_map(|(kind, is_required)| Rule {
        origin: "generated".into(),
        kind,
        is_required,
    })
}

proptest! {
    #[test]
    fn after_any_rules_issued_claims_holds_only_the_decided_protected_claims(rules in proptest::collection::vec(rule(), 0..8), has_nbf in any::<bool>()) {
        let mut subject: Map<String, Value> = match json!({
            "iss": "https://idp", "aud": ["a", "b"], "azp": "b", "exp": 9999, "iat": 1,
            "jti": "upstream", "at_hash": "h", "c_hash": "c", "s_hash": "s", "sub": "u",
            "email": "e", "roles": ["r"], "groups": "g1,g2", "realm_access": {"roles": ["x"]},
        }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        if has_nbf {
            subject.insert("nbf".into(), json!(1));
        }
        let decided = IssuedClaims {
            issuer: "https://tokenbridge",
            audience: "a",
            issued_at: 100,
            expires_at: 400,
            jti: "fresh",
            access_token_client_id: None,
        };
        // A rule may refuse; then nothing is issued, which is also safe.
        if apply_rules(&rules, &mut subject).is_ok() {
            let issued = issued_claims(subject, &decided);
            prop_assert_eq!(&issued["iss"], "https://tokenbridge");
            prop_assert_eq!(&issued["aud"], "a");
            prop_assert_eq!(&issued["iat"], 100);
            prop_assert_eq!(&issued["exp"], 400);
            prop_assert_eq!(&issued["jti"], "fresh");
            for absent in ["azp", "at_hash", "c_hash", "s_hash"] {
                prop_assert!(!issued.contains_key(absent), "{} passed through", absent);
            }
            if let Some(nbf) = issued.get("nbf") {
                prop_assert_eq!(nbf, 100);
            }
        }
    }
}
