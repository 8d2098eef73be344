use serde_json::{Map, Value, json};

use super::{access_token_mark, audiences, check_time_claims};
use crate::exchange::TokenError;

const NOW: i64 = 1_900_000_000;
const LEEWAY: u64 = 60;

fn claims(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn time(value: Value) -> Result<i64, TokenError> {
    check_time_claims(&claims(value), NOW, LEEWAY)
}

#[test]
fn a_token_inside_its_window_gives_its_exp() {
    assert_eq!(
        time(json!({"exp": NOW + 1, "nbf": NOW, "iat": NOW})).ok(),
        Some(NOW + 1)
    );
}

#[test]
fn exp_is_required_and_must_be_a_number() {
    assert!(matches!(time(json!({})), Err(TokenError::Claim("exp"))));
    assert!(matches!(
        time(json!({"exp": "soon"})),
        Err(TokenError::Claim("exp"))
    ));
    assert!(matches!(
        time(json!({"exp": null})),
        Err(TokenError::Claim("exp"))
    ));
}

#[test]
fn a_fractional_exp_counts_its_whole_seconds() {
    assert_eq!(time(json!({"exp": NOW as f64 + 1.9})).ok(), Some(NOW + 1));
    assert!(matches!(
        time(json!({"exp": NOW as f64 + 0.5})),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn expired_at_exp_and_within_the_leeway_is_expired_not_something_else() {
    for exp in [NOW, NOW - 1, NOW - LEEWAY as i64 + 1] {
        assert!(
            matches!(time(json!({ "exp": exp })), Err(TokenError::Expired { exp: e, now: NOW }) if e == exp),
            "exp {exp}"
        );
    }
}

#[test]
fn expired_beyond_the_leeway_is_expired() {
    let exp = NOW - LEEWAY as i64 - 1;
    assert!(matches!(
        time(json!({ "exp": exp })),
        Err(TokenError::Expired { exp: e, now: NOW }) if e == exp
    ));
}

#[test]
fn nbf_in_the_future_counts_the_leeway() {
    let at_edge = NOW + LEEWAY as i64;
    assert!(time(json!({"exp": NOW + 600, "nbf": at_edge})).is_ok());
    assert!(matches!(
        time(json!({"exp": NOW + 600, "nbf": at_edge + 1})),
        Err(TokenError::NotYetValid { nbf, now: NOW }) if nbf == at_edge + 1
    ));
    assert!(matches!(
        time(json!({"exp": NOW + 600, "nbf": "now"})),
        Err(TokenError::Claim("nbf"))
    ));
}

#[test]
fn iat_in_the_future_counts_the_leeway() {
    let at_edge = NOW + LEEWAY as i64;
    assert!(time(json!({"exp": NOW + 600, "iat": at_edge})).is_ok());
    assert!(matches!(
        time(json!({"exp": NOW + 600, "iat": at_edge + 1})),
        Err(TokenError::IssuedInFuture { iat, now: NOW }) if iat == at_edge + 1
    ));
    assert!(matches!(
        time(json!({"exp": NOW + 600, "iat": true})),
        Err(TokenError::Claim("iat"))
    ));
}

#[test]
fn a_huge_leeway_does_not_overflow() {
    let claims = claims(json!({"exp": NOW + 1, "nbf": i64::MAX, "iat": i64::MAX}));
    assert!(check_time_claims(&claims, NOW, u64::MAX).is_ok());
}

fn aud(value: Value) -> Result<Vec<String>, TokenError> {
    let names = ["aud".to_owned()];
    audiences(&claims(json!({ "aud": value })), &names, 5).map(|(_, values)| values)
}

#[test]
fn aud_as_a_string_or_a_list() {
    assert_eq!(aud(json!("app")).ok(), Some(vec!["app".to_owned()]));
    assert_eq!(
        aud(json!(["a", "b", "c", "d", "e"]))
            .ok()
            .map(|list| list.len()),
        Some(5)
    );
    assert_eq!(aud(json!([])).ok(), Some(vec![]));
}

#[test]
fn aud_over_the_limit_wrongly_typed_or_absent_is_refused() {
    assert!(matches!(
        aud(json!(["a", "b", "c", "d", "e", "f"])),
        Err(TokenError::TooManyAudiences(6))
    ));
    assert!(matches!(aud(json!(["a", 1])), Err(TokenError::AudienceClaim(name)) if name == "aud"));
    assert!(matches!(aud(json!(7)), Err(TokenError::AudienceClaim(name)) if name == "aud"));
    assert!(matches!(
        audiences(&Map::new(), &["aud".to_owned()], 5),
        Err(TokenError::NoAudience(tried)) if tried == ["aud"]
    ));
}

#[test]
fn the_first_audience_claim_present_is_the_one_read() {
    let names = ["aud".to_owned(), "client_id".to_owned()];
    // A Cognito access token: no aud, the app client in client_id.
    let cognito = claims(json!({ "client_id": "app-client", "token_use": "access" }));
    assert_eq!(
        audiences(&cognito, &names, 5).ok(),
        Some(("client_id", vec!["app-client".to_owned()]))
    );
    // Both present: the first configured wins, whatever the other says.
    let both = claims(json!({ "aud": ["rp"], "client_id": "other" }));
    assert_eq!(
        audiences(&both, &names, 5).ok(),
        Some(("aud", vec!["rp".to_owned()]))
    );
    // A present claim of the wrong type is refused, not skipped for the next one.
    let wrong = claims(json!({ "aud": 7, "client_id": "app-client" }));
    assert!(matches!(
        audiences(&wrong, &names, 5),
        Err(TokenError::AudienceClaim(name)) if name == "aud"
    ));
    assert!(matches!(
        audiences(&claims(json!({ "sub": "u" })), &names, 5),
        Err(TokenError::NoAudience(tried)) if tried == names
    ));
    // Only the listed claims: client_id is nothing to an upstream that reads only aud.
    assert!(matches!(
        audiences(&cognito, &names[..1], 5),
        Err(TokenError::NoAudience(_))
    ));
}

#[test]
fn an_access_token_is_known_by_its_header_typ_or_its_claims() {
    let none = Map::new();
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        " Application/AT+jwt ",
    ] {
        assert_eq!(
            access_token_mark(Some(typ), &none),
            Some("header typ at+jwt"),
            "{typ}"
        );
    }
    assert_eq!(
        access_token_mark(None, &claims(json!({"typ": "Bearer"}))),
        Some("claim typ Bearer")
    );
    assert_eq!(
        access_token_mark(Some("JWT"), &claims(json!({"token_use": "access"}))),
        Some("claim token_use access")
    );
}

#[test]
fn an_id_token_is_not_marked_as_an_access_token() {
    for (typ, claim) in [
        (None, json!({})),
        (Some("JWT"), json!({"typ": "ID"})),
        (Some("jwt"), json!({"token_use": "id"})),
        (Some("application/jwt"), json!({"typ": "bearer"})),
        (Some("at+jwt+x"), json!({})),
    ] {
        assert_eq!(
            access_token_mark(typ, &claims(claim.clone())),
            None,
            "{typ:?} {claim}"
        );
    }
}
