//! A front's signed userinfo answer (`userinfo = "jwt"`): short-lived, without the claims that
//! speak about a login, and typed so that an ID-token validator refuses it. Judged by validators
//! we did not write (node `jsonwebtoken` and `jose`, PyJWT), each on its own clock option. Needs
//! `tests/setup.sh`.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;

/// The front's `userinfo_ttl`, in seconds: not the default, so the test sees the setting.
const TTL: i64 = 90;

/// The ID-token-only claims (OIDC Core §2) a signed userinfo answer must not carry.
const LOGIN_CLAIMS: [&str; 8] = [
    "nonce",
    "at_hash",
    "c_hash",
    "auth_time",
    "sid",
    "acr",
    "amr",
    "azp",
];

/// A front for "mirotalk" answering userinfo as a JWT, whose client rules write two login claims
/// back (a rule may write `nonce`, `auth_time`, `sid`, `acr` and `amr`), on a manual clock.
fn signed_userinfo_front() -> Options {
    Options {
        policy: format!(
            r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true

[[client]]
id = "mirotalk"
secret = {{ sha256 = "{digest}" }}
upstreams = ["idp"]
audiences = ["mirotalk"]
claims = [{{ set = "auth_time", value = 1 }}, {{ default = "nonce", value = "from-a-rule" }}]

[[front]]
client = "mirotalk"
upstream = "idp"
userinfo = "jwt"
userinfo_ttl = "{TTL}s"
"#,
            digest = digest("mirotalk"),
        ),
        is_clock_manual: true,
        ..Options::default()
    }
}

/// The IdP's userinfo: identity claims, and every login claim an IdP might add.
const IDP_USERINFO: &str = r#"{"sub":"user-1","email":"ada@example.com","name":"Ada Lovelace",
"nonce":"n-0S6","at_hash":"x","c_hash":"y","auth_time":1700000000,"sid":"s-1",
"acr":"urn:mace:incommon:iap:silver","amr":["pwd"],"azp":"another-client","nbf":1,"jti":"j-1"}"#;

/// The front's signed userinfo answer.
async fn signed_userinfo(app: &TestApp) -> String {
    app.idp
        .answer_userinfo(200, "application/json", IDP_USERINFO);
    let answer = send(
        app.http
            .get(app.url("/front/mirotalk/userinfo"))
            .bearer_auth("user-access-token"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/jwt");
    answer.body.as_str().unwrap().to_owned()
}

/// Every validator's verdict on `tokens` (`{"case","token","at"}`), for the front's issuer.
async fn verdicts(app: &TestApp, tokens: &[Value]) -> Vec<Value> {
    let input = json!({
        "issuer": app.url("/front/mirotalk"),
        "audience": "mirotalk",
        "max_age": TTL,
        "tokens": tokens,
    });
    let mut node = Command::new("node");
    node.arg("userinfo_validators.mjs")
        .current_dir(interop_dir());
    let mut python = Command::new(venv_python());
    python.arg("pyjwt_userinfo.py").current_dir(interop_dir());
    let (node, python) = tokio::join!(
        run_to_json(node, Some(input.clone())),
        run_to_json(python, Some(input)),
    );
    let mut verdicts = node["results"].as_array().unwrap().clone();
    verdicts.extend(python["results"].as_array().unwrap().iter().cloned());
    assert_eq!(verdicts.len(), tokens.len() * 4, "{verdicts:?}");
    verdicts
}

fn verdict<'a>(verdicts: &'a [Value], validator: &str, case: &str) -> &'a Value {
    verdicts
        .iter()
        .find(|v| v["validator"] == validator && v["case"] == case)
        .unwrap_or_else(|| panic!("no verdict of {validator} on {case}"))
}

#[tokio::test]
async fn a_signed_userinfo_lives_its_ttl_and_carries_no_login_claims_even_from_a_rule() {
    let app = spawn_app_with(signed_userinfo_front()).await;

    app.clock().advance(std::time::Duration::from_secs(7));
    let jwt = signed_userinfo(&app).await;

    let (header, claims) = decode(&jwt);
    let iat = claims["iat"]
        .as_i64()
        .unwrap_or_else(|| panic!("no iat: {claims}"));
    let exp = claims["exp"]
        .as_i64()
        .unwrap_or_else(|| panic!("no exp: {claims}"));
    assert_eq!(
        iat,
        app.now(),
        "iat is the moment of the answer, on the service's clock"
    );
    assert_eq!(exp - iat, TTL, "exp - iat is the front's userinfo_ttl");
    for name in LOGIN_CLAIMS {
        assert!(
            claims.get(name).is_none(),
            "{name} in a signed userinfo: {claims}"
        );
    }
    assert!(
        claims.get("nbf").is_none() && claims.get("jti").is_none(),
        "{claims}"
    );
    assert_eq!(claims["iss"], app.url("/front/mirotalk").as_str());
    assert_eq!(claims["aud"], "mirotalk");
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(header["typ"], "userinfo+jwt", "{header}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_we_did_not_write_accept_a_signed_userinfo_until_its_exp_and_not_after() {
    let app = spawn_app_with(signed_userinfo_front()).await;
    let jwt = signed_userinfo(&app).await;
    let now = app.now();
    let (_, claims) = decode(&jwt);
    // Without iat or exp, the validators are asked at the moments the answer should have had.
    let iat = claims["iat"].as_i64().unwrap_or(now);
    let exp = claims["exp"].as_i64().unwrap_or(now + TTL);

    let tokens = [
        json!({ "case": "at iat", "token": jwt, "at": iat }),
        json!({ "case": "a second before exp", "token": jwt, "at": exp - 1 }),
        json!({ "case": "at exp", "token": jwt, "at": exp }),
    ];
    let verdicts = verdicts(&app, &tokens).await;

    // Every wrong verdict at once, so a failure shows each validator's.
    let mut wrong = Vec::new();
    for (validator, expired) in [
        ("jsonwebtoken", "TokenExpiredError"),
        ("PyJWT", "ExpiredSignatureError"),
        ("jose userinfo", "JWTExpired"),
    ] {
        for case in ["at iat", "a second before exp"] {
            let v = verdict(&verdicts, validator, case);
            if v["ok"] != true {
                wrong.push(format!("{validator} refused it {case}: {v}"));
            }
        }
        let v = verdict(&verdicts, validator, "at exp");
        let is_expired = v["error"]
            .as_str()
            .is_some_and(|error| error.starts_with(expired));
        if v["ok"] != false || !is_expired {
            wrong.push(format!(
                "{validator} didn't refuse it as expired at exp: {v}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_validator_checking_typ_refuses_a_signed_userinfo_and_takes_the_fronts_id_token()
 {
    let app = spawn_app_with(signed_userinfo_front()).await;
    let userinfo = signed_userinfo(&app).await;
    app.idp.answer_token(
        200,
        &json!({
            "access_token": "user-access-token", "token_type": "Bearer",
            "id_token": app.id_token(json!("mirotalk"), json!({ "nonce": "n-0S6" })),
        }),
    );
    let answer = send(
        app.http
            .post(app.url("/front/mirotalk/token"))
            .basic_auth("mirotalk", Some("the-rps-own-secret"))
            .form(&[("grant_type", "authorization_code"), ("code", "c0de")]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let id_token = answer.body["id_token"].as_str().unwrap();
    let at = app.now();

    let verdicts = verdicts(
        &app,
        &[
            json!({ "case": "signed userinfo", "token": userinfo, "at": at }),
            json!({ "case": "the front's ID token", "token": id_token, "at": at }),
        ],
    )
    .await;

    let refused = verdict(&verdicts, "jose ID token", "signed userinfo");
    assert_eq!(refused["ok"], false, "taken for an ID token: {refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("\"typ\""),
        "refused for its typ: {refused}"
    );
    let control = verdict(&verdicts, "jose ID token", "the front's ID token");
    assert_eq!(
        control["ok"], true,
        "the same validator takes an ID token: {control}"
    );
    let typed = verdict(&verdicts, "jose userinfo", "signed userinfo");
    assert_eq!(typed["ok"], true, "a userinfo validator takes it: {typed}");
    let other_way = verdict(&verdicts, "jose userinfo", "the front's ID token");
    assert_eq!(
        other_way["ok"], false,
        "nor is an ID token a userinfo: {other_way}"
    );
}
