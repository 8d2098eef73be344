//! The exchange pipeline, from a signed subject token to the signed answer, against a model of
//! what it must do: for any claims (times around their edges, any audiences, any `sub`, protected
//! claims the IdP should not decide, an access-token `typ`) and any audience mode and request,
//! the pipeline issues exactly when the model says so, and what it issues has one allowed
//! audience, tokenbridge's own registered claims and a lifetime within the subject's and the
//! client's. Runs on a manual clock, so every time edge is exact.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use tokenbridge::app::build_state;
use tokenbridge::clients::{Client, ClientCredentials};
use tokenbridge::clock::{ManualClock, UnixTime};
use tokenbridge::config;
use tokenbridge::demo::mint::IdpKey;
use tokenbridge::exchange::{ExchangeRequest, Trace, exchange};
use tokenbridge::jose::alg::JwsAlg;
use tokenbridge::oauth::{ClientSecret, TokenType};
use tokenbridge::state::AppState;

const NOW: UnixTime = 1_900_000_000;
const LEEWAY: i64 = 60;
const MAX_TTL: i64 = 300;
const ISSUER: &str = "https://tokenbridge.test";
const IDP: &str = "https://idp.test";
const SECRET: &str = "a-long-enough-secret-value";
const ALLOWED: [&str; 3] = ["a1", "a2", "a3"];
/// Token audiences are drawn from these: allowed ones, and others.
const AUDIENCES: [&str; 5] = ["a1", "a2", "a3", "b1", "b2"];
const MODES: [&str; 3] = ["only", "first", "requested"];
const CASES: u32 = 500;

fn config_text() -> String {
    let mut text = format!(
        r#"
issuer = "{ISSUER}"
listen = "127.0.0.1:0"

[keys]
dir = "keys"
signing_alg = "ES256"

[[upstream]]
name = "idp"
issuer = "{IDP}"
algorithms = ["ES256"]
leeway = "{LEEWAY}s"
"#
    );
    for mode in MODES {
        text.push_str(&format!(
            r#"
[[client]]
id = "{mode}"
secret = {{ env = "SECRET" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3"]
select = "{mode}"
max_ttl = "{MAX_TTL}s"
signing_alg = "ES256"
rate_limit = {{ per_second = 1000000, burst = 1000000 }}
"#
        ));
    }
    text
}

/// One generated exchange.
#[derive(Debug, Clone)]
struct Case {
    mode: usize,
    aud: Vec<usize>,
    aud_is_string: bool,
    requested: Option<usize>,
    exp: i64,
    nbf: Option<i64>,
    iat: Option<i64>,
    sub: Value,
    protected: Vec<(&'static str, Value)>,
    access_typ: bool,
    as_access_token: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let offset = || -(LEEWAY + 5)..(MAX_TTL + 100);
    let protected = proptest::sample::subsequence(
        vec![
            ("azp", json!("another-client")),
            ("at_hash", json!("h")),
            ("c_hash", json!("c")),
            ("s_hash", json!("s")),
            ("jti", json!("upstream-jti")),
        ],
        0..=5,
    );
    (
        (
            0..MODES.len(),
            proptest::collection::vec(0..AUDIENCES.len(), 0..4),
            any::<bool>(),
            proptest::option::weighted(0.25, 0..AUDIENCES.len()),
        ),
        (
            offset(),
            proptest::option::of(-10..(LEEWAY + 10)),
            proptest::option::of(-10..(LEEWAY + 10)),
            prop_oneof![
                12 => Just(json!("user-1")),
                1 => Just(json!("")),
                1 => Just(Value::Null),
                1 => Just(json!(42)),
            ],
        ),
        (protected, proptest::bool::weighted(0.2), any::<bool>()),
    )
        .prop_map(
            |(
                (mode, aud, aud_is_string, requested),
                (exp, nbf, iat, sub),
                (protected, access_typ, as_access_token),
            )| Case {
                mode,
                aud: if aud_is_string {
                    aud.into_iter().take(1).collect()
                } else {
                    aud
                },
                aud_is_string,
                requested,
                exp: NOW + exp,
                nbf: nbf.map(|offset| NOW + offset),
                iat: iat.map(|offset| NOW + offset),
                sub,
                protected,
                access_typ,
                as_access_token,
            },
        )
}

impl Case {
    fn token_aud(&self) -> Vec<&'static str> {
        self.aud.iter().map(|&i| AUDIENCES[i]).collect()
    }

    fn claims(&self) -> Value {
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(IDP));
        let aud = self.token_aud();
        match (self.aud_is_string, aud.first()) {
            (true, Some(first)) => claims.insert("aud".into(), json!(first)),
            (true, None) => None,
            (false, _) => claims.insert("aud".into(), json!(aud)),
        };
        claims.insert("exp".into(), json!(self.exp));
        if let Some(nbf) = self.nbf {
            claims.insert("nbf".into(), json!(nbf));
        }
        if let Some(iat) = self.iat {
            claims.insert("iat".into(), json!(iat));
        }
        if !self.sub.is_null() {
            claims.insert("sub".into(), self.sub.clone());
        }
        claims.insert("email".into(), json!("ada@example.com"));
        for (name, value) in &self.protected {
            claims.insert((*name).into(), value.clone());
        }
        Value::Object(claims)
    }

    /// The audience the pipeline must choose, or None when it must refuse for the audience.
    fn expected_audience(&self) -> Option<&'static str> {
        let present: Vec<&str> = ALLOWED
            .iter()
            .copied()
            .filter(|allowed| self.token_aud().contains(allowed))
            .collect();
        let requested = self.requested.map(|i| AUDIENCES[i]);
        if let Some(wanted) = requested {
            return present.contains(&wanted).then_some(wanted);
        }
        match MODES[self.mode] {
            "only" => (present.len() == 1).then(|| present[0]),
            "first" => present.first().copied(),
            _ => None,
        }
    }

    /// Whether the subject token itself is acceptable, audience aside.
    fn is_token_acceptable(&self) -> bool {
        let has_aud = !(self.aud_is_string && self.aud.is_empty());
        let sub_ok = self.sub.as_str().is_some_and(|sub| !sub.is_empty());
        let not_expired = NOW < self.exp;
        let nbf_ok = self.nbf.is_none_or(|nbf| nbf <= NOW + LEEWAY);
        let iat_ok = self.iat.is_none_or(|iat| iat <= NOW + LEEWAY);
        let type_ok = !self.access_typ || self.as_access_token;
        has_aud && sub_ok && not_expired && nbf_ok && iat_ok && type_ok
    }
}

struct World {
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    state: Arc<AppState>,
    clients: Vec<Arc<Client>>,
    idp_key: IdpKey,
    /// tokenbridge's published signing key.
    verifying_key: DecodingKey,
}

fn world() -> World {
    let dir = tempfile::TempDir::new().unwrap();
    let config = config::parse_with_env(&config_text(), dir.path(), &|name| {
        (name == "SECRET").then(|| SECRET.to_owned())
    })
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = {
        let _entered = runtime.enter();
        Arc::new(build_state(&config, ManualClock::at(NOW)).unwrap())
    };
    let idp_key = IdpKey::generate(JwsAlg::ES256, "idp-es256").unwrap();
    let jwks: Map<String, Value> =
        serde_json::from_value(json!({ "keys": [idp_key.public_jwk()] })).unwrap();
    let upstream = state.pipeline.upstreams.by_issuer(IDP).unwrap();
    upstream.jwks.install(&jwks).unwrap();
    let clients = MODES
        .iter()
        .map(|mode| {
            state
                .clients
                .authenticate(&ClientCredentials {
                    client_id: (*mode).to_owned(),
                    secret: ClientSecret::new(SECRET.to_owned()),
                })
                .unwrap()
        })
        .collect();
    let published: Value = serde_json::from_str(
        state
            .pipeline
            .key_ring
            .signing_jwks(state.pipeline.clock.now()),
    )
    .unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(published["keys"][0].clone()).unwrap();
    let verifying_key = DecodingKey::from_jwk(&jwk).unwrap();
    World {
        _dir: dir,
        runtime,
        state,
        clients,
        idp_key,
        verifying_key,
    }
}

#[test]
fn the_pipeline_issues_exactly_what_the_model_allows() {
    let world = world();
    let jtis = RefCell::new(HashSet::new());
    // A fixed seed: the same cases on every run, so a CI failure replays here.
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let issued_count = Cell::new(0usize);
    runner
        .run(&case(), |case| {
            let header = if case.access_typ {
                json!({ "typ": "at+jwt" })
            } else {
                json!({})
            };
            let token = world.idp_key.sign(&case.claims(), &header).unwrap();
            let subject_token_type = if case.as_access_token {
                TokenType::AccessToken
            } else {
                TokenType::IdToken
            };
            let request = ExchangeRequest {
                subject_token: token,
                subject_token_type,
                audience: case.requested.map(|i| AUDIENCES[i].to_owned()),
                requested_token_type: None,
            };
            let client = &world.clients[case.mode];
            let mut trace = Trace::default();
            let outcome = world.runtime.block_on(exchange(
                &world.state.pipeline,
                client,
                request,
                &mut trace,
            ));
            let expected = case
                .is_token_acceptable()
                .then(|| case.expected_audience())
                .flatten();
            match (outcome, expected) {
                (Ok(issued), Some(audience)) => {
                    issued_count.set(issued_count.get() + 1);
                    let header = decode_header(&issued.access_token).unwrap();
                    prop_assert_eq!(header.alg, Algorithm::ES256);
                    let mut validation = Validation::new(Algorithm::ES256);
                    validation.validate_exp = false;
                    validation.set_audience(&[audience]);
                    validation.set_issuer(&[ISSUER]);
                    let claims = decode::<Map<String, Value>>(
                        &issued.access_token,
                        &world.verifying_key,
                        &validation,
                    )
                    .map_err(|err| TestCaseError::fail(format!("issued token: {err}")))?
                    .claims;
                    prop_assert_eq!(&claims["aud"], audience, "one audience, a string");
                    prop_assert_eq!(&claims["sub"], &case.sub);
                    prop_assert_eq!(&claims["iat"], NOW);
                    let exp = claims["exp"].as_i64().unwrap();
                    prop_assert!(exp > NOW && exp <= case.exp && exp <= NOW + MAX_TTL);
                    prop_assert_eq!(issued.expires_in, exp - NOW);
                    match case.nbf {
                        Some(_) => prop_assert_eq!(&claims["nbf"], NOW),
                        None => prop_assert!(!claims.contains_key("nbf")),
                    }
                    for name in ["azp", "at_hash", "c_hash", "s_hash"] {
                        prop_assert!(!claims.contains_key(name), "{} passed through", name);
                    }
                    let jti = claims["jti"].as_str().unwrap().to_owned();
                    prop_assert_ne!(jti.as_str(), "upstream-jti");
                    prop_assert!(jtis.borrow_mut().insert(jti), "jti repeated");
                }
                (Err(_), None) => {}
                (Ok(_), None) => {
                    return Err(TestCaseError::fail("issued, but the model refuses"));
                }
                (Err(err), Some(_)) => {
                    return Err(TestCaseError::fail(format!(
                        "refused ({err}), but the model issues"
                    )));
                }
            }
            Ok(())
        })
        .unwrap();
    let issued_count = issued_count.get();
    assert!(
        issued_count > CASES as usize / 10,
        "the generator reaches issuance often enough: {issued_count} of {CASES}"
    );
}
