//! Each IdP's documented tokens (`src/config/rules/fixtures`, sources in its README) exchanged
//! through that IdP's preset and issuer settings, and the issued tokens judged by the validators
//! legacy relying parties run: node `jsonwebtoken`, openid-client 4 as express-openid-connect
//! sets it up, PyJWT (lenient and strict audience) and BookStack's rules. Every IdP's JWKS is
//! the test IdP's, so the fixture tokens are signed by a key the upstream really fetches.
//! Needs `tests/setup.sh`.

use serde_json::{Value, json};
use tokenbridge::demo::legacy::{Expectations, bookstack};

use crate::helpers::*;
use crate::legacy_validators::legacy_verdicts;

const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const ADMINS_GROUP: &str = "e3b9b0a5-0f5c-4d2b-8f5e-5c8a9d1e2f30";

struct Idp {
    name: &'static str,
    /// The upstream's lines beyond name, jwks_uri and danger_allow_http.
    upstream: String,
    /// The client's audience: the IdP's client id for the relying party.
    audience: &'static str,
    /// The client's own rules, a TOML array.
    client_rules: &'static str,
    fixture: &'static str,
}

fn idps() -> Vec<Idp> {
    vec![
        Idp {
            name: "entra",
            upstream: format!(
                "issuer = \"https://login.microsoftonline.com/common/v2.0\"\npreset = \"entra\"\nissuer_templates = [\"https://login.microsoftonline.com/{{tid}}/v2.0\", \"https://sts.windows.net/{{tid}}/\"]\nallowed_tenants = [\"{TENANT}\"]"
            ),
            audience: "6cb04018-a3f5-46a7-b995-940c78f5aef3",
            client_rules: r#"[{ rename = "groups", to = "groups", map = { "e3b9b0a5-0f5c-4d2b-8f5e-5c8a9d1e2f30" = "wiki-admins" }, unmapped = "drop" }]"#,
            fixture: include_str!("../../src/config/rules/fixtures/entra-id-token.json"),
        },
        Idp {
            name: "cognito",
            upstream: "issuer = \"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example\"\npreset = \"cognito\"\naudience_claims = [\"aud\", \"client_id\"]".into(),
            audience: "xxxxxxxxxxxxexample",
            client_rules: "[]",
            fixture: include_str!("../../src/config/rules/fixtures/cognito-id-token.json"),
        },
        Idp {
            name: "google",
            upstream: "issuer = \"https://accounts.google.com\"\npreset = \"google\"\nissuer_aliases = [\"accounts.google.com\"]".into(),
            audience: "1234987819200.apps.googleusercontent.com",
            client_rules: "[]",
            fixture: include_str!("../../src/config/rules/fixtures/google-id-token.json"),
        },
        Idp {
            name: "okta",
            upstream: "issuer = \"https://example.okta.com/oauth2/default\"\npreset = \"okta\"".into(),
            audience: "0oaoesxtxmPf08QHk0h7",
            client_rules: "[]",
            fixture: include_str!("../../src/config/rules/fixtures/okta-id-token.json"),
        },
        Idp {
            name: "auth0",
            upstream: "issuer = \"https://example.eu.auth0.com/\"\npreset = \"auth0\"".into(),
            audience: "dBYE2Gb4ywkprYUQJfkOGPexYMUnuvXj",
            client_rules: r#"[{ rename = "/https:~1~1example.com~1roles", to = "roles" }]"#,
            fixture: include_str!("../../src/config/rules/fixtures/auth0-id-token.json"),
        },
    ]
}

fn policy(idps: &[Idp]) -> String {
    idps.iter()
        .map(|idp| {
            format!(
                r#"
[[upstream]]
name = "{name}"
{upstream}
jwks_uri = "{{idp}}/jwks"
danger_allow_http = true

[[client]]
id = "{name}-rp"
secret = {{ sha256 = "{digest}" }}
upstreams = ["{name}"]
audiences = ["{audience}"]
claims = {rules}
"#,
                name = idp.name,
                upstream = idp.upstream,
                digest = digest(&format!("{}-rp", idp.name)),
                audience = idp.audience,
                rules = idp.client_rules,
            )
        })
        .collect()
}

/// The fixture's claims with a fresh `iat`/`exp`, signed by the test IdP's RS256 key.
fn documented_token(fixture: &str) -> (String, Value) {
    let mut claims: Value = serde_json::from_str(fixture).unwrap();
    claims["iat"] = json!(now());
    claims["exp"] = json!(now() + 600);
    if claims.get("nbf").is_some() {
        claims["nbf"] = json!(now());
    }
    let key = idp_key(tokenbridge::jose::alg::JwsAlg::RS256);
    (key.sign(&claims, &json!({})).unwrap(), claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_idps_documented_token_comes_out_as_the_legacy_validators_want_it() {
    let idps = idps();
    let app = spawn_app_with(Options {
        policy: policy(&idps),
        ..Options::default()
    })
    .await;
    let jwks = app.get_json("/.well-known/jwks.json").await;

    for idp in &idps {
        let (token, sent) = documented_token(idp.fixture);
        let client = format!("{}-rp", idp.name);
        let answer = app.exchange(&client, &token, &[]).await;
        assert_eq!(answer.status, 200, "{}: {}", idp.name, answer.body);
        let issued = answer.token();

        let mut case = json!({ "case": idp.name, "token": issued });
        if let Some(nonce) = sent.get("nonce") {
            case["nonce"] = nonce.clone();
        }
        let verdicts = legacy_verdicts(&app.base, idp.audience, &[case]).await;
        for verdict in &verdicts {
            assert_eq!(
                verdict["ok"], true,
                "{}'s token, exchanged, refused by {}: {verdict}",
                idp.name, verdict["validator"]
            );
            assert_eq!(verdict["aud"], idp.audience, "{verdict}");
        }
        let expect = Expectations {
            issuer: &app.base,
            client_id: idp.audience,
            jwks: &jwks,
            now: now(),
        };
        let claims = bookstack(issued, &expect).unwrap_or_else(|err| {
            panic!(
                "{}'s token, exchanged, refused by BookStack: {err}",
                idp.name
            )
        });

        // What the relying parties read, as they read it.
        for name in ["sub", "email", "name", "preferred_username"] {
            assert!(
                claims
                    .get(name)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty()),
                "{}: {name} missing from {claims:?}",
                idp.name
            );
        }
        for name in ["groups", "roles"] {
            if let Some(list) = claims.get(name) {
                assert!(
                    list.as_array()
                        .is_some_and(|items| items.iter().all(Value::is_string)),
                    "{}: {name} is not a list of strings: {list}",
                    idp.name
                );
            }
        }
    }
}

#[tokio::test]
async fn the_groups_ids_are_named_and_an_overage_is_refused_with_the_reason_in_the_log() {
    let idps = idps();
    let app = spawn_app_with(Options {
        policy: policy(&idps),
        ..Options::default()
    })
    .await;

    let (token, _) = documented_token(idps[0].fixture);
    let answer = app.exchange("entra-rp", &token, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let (_, claims) = decode(answer.token());
    assert_eq!(
        claims["groups"],
        json!(["wiki-admins"]),
        "{ADMINS_GROUP} named, the other dropped"
    );

    let (overage, _) = documented_token(include_str!(
        "../../src/config/rules/fixtures/entra-overage-id-token.json"
    ));
    app.exchange("entra-rp", &overage, &[])
        .await
        .assert_refused(400, "invalid_request");
    assert!(
        captured_logs().contains("groups overage"),
        "the audit line names the overage"
    );
}
