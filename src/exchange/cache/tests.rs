//! The cache's key and bounds, and when an entry stops being served, without a server.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::clock::ManualClock;
use crate::jose::alg::KeyKind;
use crate::jose::private_key::{generate, public_jwk_members};
use crate::upstream::{Fetcher, Upstreams};

const NOW: UnixTime = 1_800_000_000;

/// An upstream whose keys are installed, not fetched.
fn upstream() -> Arc<Upstream> {
    let text = r#"
issuer = "http://localhost:8080"

[[upstream]]
name = "idp"
issuer = "https://idp.example.com"

[[client]]
id = "app"
secret = { env = "SECRET" }
upstreams = ["idp"]
audiences = ["app"]
"#;
    let env = |_: &str| Some("a-long-enough-client-secret".to_owned());
    let config = crate::config::parse_with_env(text, Path::new("/tmp"), &env).unwrap();
    let upstreams = Upstreams::new(
        config.upstreams,
        Fetcher::new().unwrap(),
        ManualClock::at(NOW),
    );
    let upstream = upstreams.all()[0].clone();
    install_new_key(&upstream);
    upstream
}

fn install_new_key(upstream: &Upstream) {
    let mut jwk = public_jwk_members(&generate(KeyKind::EcP256).unwrap(), KeyKind::EcP256).unwrap();
    jwk.insert("kid".into(), json!("k1"));
    let Value::Object(jwks) = json!({ "keys": [jwk] }) else {
        unreachable!()
    };
    upstream.jwks.install(&jwks).unwrap();
}

/// An entry issued at `NOW` for 300 s, stamped with key ring state 0 and `upstream`'s keys.
fn entry(upstream: &Arc<Upstream>) -> Entry {
    Entry {
        access_token: Arc::from("header.payload.signature"),
        issued_token_type: TokenType::IdToken,
        issued_at: NOW,
        expires_at: NOW + 300,
        key_ring_state: 0,
        upstream: upstream.clone(),
        upstream_keys: upstream.jwks.generation().unwrap(),
        audited: Audited::from(&Trace::default()),
    }
}

fn key(fields: [Option<&str>; 5]) -> CacheKey {
    CacheKey::of_fields(fields)
}

const FIELDS: [Option<&str>; 5] = [
    Some("app"),
    Some("eyJ.subject.token"),
    Some("urn:ietf:params:oauth:token-type:id_token"),
    Some("wiki"),
    Some("urn:ietf:params:oauth:token-type:access_token"),
];

#[test]
fn the_key_differs_when_any_one_field_differs_or_is_absent() {
    let base = key(FIELDS);
    assert_eq!(base, key(FIELDS), "the same request, the same key");
    for index in 0..FIELDS.len() {
        let mut other = FIELDS;
        other[index] = Some("something else");
        assert_ne!(key(other), base, "field {index} changed");
        other[index] = None;
        assert_ne!(key(other), base, "field {index} absent");
        let mut empty = FIELDS;
        empty[index] = Some("");
        assert_ne!(key(empty), key(other), "field {index}: empty is not absent");
    }
}

#[test]
fn every_field_of_the_request_and_the_client_id_is_in_the_key() {
    let request = || ExchangeRequest {
        subject_token: "eyJ.subject.token".into(),
        subject_token_type: TokenType::IdToken,
        audience: Some("wiki".into()),
        requested_token_type: Some(TokenType::AccessToken),
    };
    let base = CacheKey::of("app", &request());
    assert_eq!(base, CacheKey::of("app", &request()));
    assert_ne!(base, CacheKey::of("other", &request()), "client id");
    let changes: [fn(&mut ExchangeRequest); 6] = [
        |r| r.subject_token.push('x'),
        |r| r.subject_token_type = TokenType::Jwt,
        |r| r.audience = Some("blog".into()),
        |r| r.audience = None,
        |r| r.requested_token_type = Some(TokenType::IdToken),
        |r| r.requested_token_type = None,
    ];
    for (index, change) in changes.into_iter().enumerate() {
        let mut changed = request();
        change(&mut changed);
        assert_ne!(CacheKey::of("app", &changed), base, "change {index}");
    }
}

#[test]
fn fields_are_length_prefixed_so_they_cannot_run_together() {
    let split = |first, second| key([Some(first), Some(second), None, None, None]);
    assert_ne!(split("ab", "c"), split("a", "bc"));
    assert_ne!(split("", "abc"), split("abc", ""));
}

#[test]
fn the_cache_holds_at_most_cache_size_entries() {
    let upstream = upstream();
    let cache = ExchangeCache::new(10);
    for n in 0..100 {
        let subject = format!("token-{n}");
        cache.entries.insert(
            key([Some("app"), Some(&subject), None, None, None]),
            Arc::new(entry(&upstream)),
        );
    }
    cache.entries.run_pending_tasks();
    assert!(
        cache.entries.entry_count() <= 10,
        "{} entries",
        cache.entries.entry_count()
    );
}

#[test]
fn an_entry_is_served_until_half_its_lifetime_and_not_after() {
    let upstream = upstream();
    let entry = entry(&upstream);
    assert!(entry.is_valid(NOW, 0));
    assert!(entry.is_valid(NOW + 149, 0));
    assert!(!entry.is_valid(NOW + 150, 0), "half of 300 s has passed");
    assert!(
        !entry.is_valid(NOW - 1, 0),
        "before its iat: the clock went back"
    );
}

#[test]
fn an_entry_is_not_served_once_a_key_changed_state() {
    let upstream = upstream();
    let entry = entry(&upstream);
    assert!(!entry.is_valid(NOW, 1), "the key ring is in another state");

    install_new_key(&upstream);
    assert!(!entry.is_valid(NOW, 0), "the upstream's keys were replaced");
}

#[test]
fn a_stale_entry_is_removed_when_looked_up() {
    let upstream = upstream();
    let cache = ExchangeCache::new(10);
    let key = key(FIELDS);
    cache.entries.insert(key, Arc::new(entry(&upstream)));

    assert_eq!(cache.look_up(key, NOW + 10, 0).0, CacheLookup::Hit);
    assert_eq!(cache.look_up(key, NOW + 150, 0).0, CacheLookup::Stale);
    assert_eq!(cache.look_up(key, NOW + 10, 0).0, CacheLookup::Miss);
}
