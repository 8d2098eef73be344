use serde_json::json;

use super::*;

const NOW: UnixTime = 1_800_000_000;
const ISSUER: &str = "https://idp.example";

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        audience: "bookstack",
        now: NOW,
        leeway: 30,
    }
}

/// A good logout token's claims, with `changes` applied (null removes a claim).
fn claims(changes: Value) -> Map<String, Value> {
    let Value::Object(mut claims) = json!({
        "iss": ISSUER,
        "aud": "bookstack",
        "iat": NOW - 5,
        "exp": NOW + 115,
        "jti": "j-1",
        "events": { (BACKCHANNEL_LOGOUT_EVENT): {} },
        "sub": "u-1",
        "sid": "s-1",
    }) else {
        unreachable!()
    };
    if let Value::Object(changes) = changes {
        for (name, value) in changes {
            if value.is_null() {
                claims.remove(&name);
            } else {
                claims.insert(name, value);
            }
        }
    }
    claims
}

fn check(changes: Value, typ: Option<&str>) -> Result<LogoutToken, LogoutTokenError> {
    check_logout_token(&claims(changes), typ, &expected())
}

#[test]
fn a_good_logout_token_passes_with_its_jti_sub_sid_and_exp() {
    assert_eq!(
        check(json!({}), Some("logout+jwt")),
        Ok(LogoutToken {
            jti: "j-1".into(),
            sub: Some("u-1".into()),
            sid: Some("s-1".into()),
            remember_until: NOW + 115,
        })
    );
}

#[test]
fn typ_is_logout_jwt_when_present() {
    for typ in [
        None,
        Some("logout+jwt"),
        Some("application/logout+jwt"),
        Some("Logout+JWT"),
    ] {
        assert!(check(json!({}), typ).is_ok(), "{typ:?}");
    }
    for typ in ["JWT", "at+jwt", "", "logout+jwt2"] {
        assert_eq!(
            check(json!({}), Some(typ)),
            Err(LogoutTokenError::WrongTyp(typ.into()))
        );
    }
}

#[test]
fn iss_is_the_upstreams_issuer() {
    assert_eq!(
        check(json!({"iss": "https://other.example"}), None),
        Err(LogoutTokenError::WrongIssuer(Some(
            "https://other.example".into()
        )))
    );
    assert_eq!(
        check(json!({"iss": null}), None),
        Err(LogoutTokenError::WrongIssuer(None))
    );
}

#[test]
fn aud_names_the_relying_party_as_a_string_or_in_an_array() {
    assert!(check(json!({"aud": ["other", "bookstack"]}), None).is_ok());
    for aud in [
        json!("other"),
        json!(["other"]),
        json!(null),
        json!(7),
        json!([]),
    ] {
        assert_eq!(
            check(json!({ "aud": aud }), None),
            Err(LogoutTokenError::WrongAudience("bookstack".into())),
            "{aud}"
        );
    }
}

#[test]
fn iat_is_required_and_not_in_the_future() {
    assert_eq!(
        check(json!({"iat": null}), None),
        Err(LogoutTokenError::Claim("iat"))
    );
    assert_eq!(
        check(json!({"iat": "yesterday"}), None),
        Err(LogoutTokenError::Claim("iat"))
    );
    assert!(
        check(json!({"iat": NOW + 30}), None).is_ok(),
        "within the leeway"
    );
    assert_eq!(
        check(json!({"iat": NOW + 31}), None),
        Err(LogoutTokenError::IssuedInFuture {
            iat: NOW + 31,
            now: NOW
        })
    );
}

#[test]
fn exp_when_present_is_not_past_and_the_leeway_never_extends_it() {
    assert_eq!(
        check(json!({"exp": NOW}), None),
        Err(LogoutTokenError::Expired { exp: NOW, now: NOW })
    );
    assert_eq!(
        check(json!({"exp": "soon"}), None),
        Err(LogoutTokenError::Claim("exp"))
    );
    assert_eq!(
        check(json!({"exp": NOW + MAX_REMEMBERED_SECS + 1}), None),
        Err(LogoutTokenError::TooLong {
            until: NOW + MAX_REMEMBERED_SECS + 1
        })
    );
}

#[test]
fn without_exp_a_token_is_taken_for_two_minutes_after_iat_and_remembered_that_long() {
    let fresh = check(json!({"exp": null, "iat": NOW - 100}), None).unwrap();
    assert_eq!(fresh.remember_until, NOW - 100 + LIFETIME_WITHOUT_EXP_SECS);
    assert_eq!(
        check(json!({"exp": null, "iat": NOW - 151}), None),
        Err(LogoutTokenError::TooOld {
            iat: NOW - 151,
            now: NOW
        })
    );
}

#[test]
fn jti_is_required() {
    for jti in [json!(null), json!(""), json!(42)] {
        assert_eq!(
            check(json!({ "jti": jti }), None),
            Err(LogoutTokenError::Claim("jti"))
        );
    }
}

#[test]
fn events_holds_the_backchannel_logout_member_as_an_object() {
    assert!(
        check(
            json!({"events": { (BACKCHANNEL_LOGOUT_EVENT): {}, "urn:other": 1 }}),
            None
        )
        .is_ok()
    );
    for events in [
        json!(null),
        json!([BACKCHANNEL_LOGOUT_EVENT]),
        json!({}),
        json!({ (BACKCHANNEL_LOGOUT_EVENT): true }),
        json!({ (BACKCHANNEL_LOGOUT_EVENT): "yes" }),
        json!({ "http://schemas.openid.net/event/backchannel-logout/": {} }),
    ] {
        assert_eq!(
            check(json!({ "events": events }), None),
            Err(LogoutTokenError::NoLogoutEvent),
            "{events}"
        );
    }
}

#[test]
fn sub_or_sid_is_enough_neither_is_refused() {
    let sid_only = check(json!({"sub": null}), None).unwrap();
    assert_eq!((sid_only.sub, sid_only.sid.as_deref()), (None, Some("s-1")));
    let sub_only = check(json!({"sid": null}), None).unwrap();
    assert_eq!((sub_only.sub.as_deref(), sub_only.sid), (Some("u-1"), None));
    assert_eq!(
        check(json!({"sub": null, "sid": null}), None),
        Err(LogoutTokenError::NoSubject)
    );
    assert_eq!(
        check(json!({"sid": 5}), None),
        Err(LogoutTokenError::Claim("sid"))
    );
    assert_eq!(
        check(json!({"sub": ""}), None),
        Err(LogoutTokenError::Claim("sub"))
    );
}

#[test]
fn a_nonce_makes_it_an_id_token_not_a_logout_token() {
    for nonce in [json!("n-1"), json!(""), json!(false)] {
        assert_eq!(
            check(json!({ "nonce": nonce }), None),
            Err(LogoutTokenError::Nonce)
        );
    }
}
