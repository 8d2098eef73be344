//! The OIDC front against the demo IdP: discovery, the token endpoint's forwarding and
//! normalisation, userinfo, and the IdP's failures. (The login through real software is in
//! front_e2e.rs.)

use serde_json::{Value, json};
use tokenbridge::demo::legacy::{self, Expectations};
use tokenbridge::demo::mint::encrypt_like_authentik;
use tokenbridge::jose::alg::JwsAlg;
use tokenbridge::jose::token_hash::left_half_hash;

use crate::helpers::*;

fn fronts() -> Options {
    let digest = |id: &str| tokenbridge::oauth::SecretDigest::of(secret_of(id).as_bytes()).to_hex();
    Options {
        policy: format!(
            r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true

[[client]]
id = "bookstack"
secret = {{ sha256 = "{bookstack}" }}
upstreams = ["idp"]
audiences = ["bookstack"]

[[client]]
id = "mirotalk"
secret = {{ sha256 = "{mirotalk}" }}
upstreams = ["idp"]
audiences = ["mirotalk"]
claims = [{{ copy = "groups", to = "roles" }}]

[[front]]
client = "bookstack"
upstream = "idp"

[[front]]
client = "mirotalk"
upstream = "idp"
userinfo = "jwt"

[[client]]
id = "grafana"
secret = {{ sha256 = "{grafana}" }}
upstreams = ["idp"]
audiences = ["grafana"]

[[front]]
client = "grafana"
upstream = "idp"
normalize_access_token = true
"#,
            bookstack = digest("bookstack"),
            mirotalk = digest("mirotalk"),
            grafana = digest("grafana"),
        ),
        ..Options::default()
    }
}

const CODE_GRANT: &str = "grant_type=authorization_code&code=c0de&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&code_verifier=verifier-43-characters-long-aaaaaaaaaaaaaaaa";

async fn post_token(app: &TestApp, front: &str, body: &str) -> Answer {
    send(
        app.http
            .post(app.url(&format!("/front/{front}/token")))
            .basic_auth(front, Some("the-rps-own-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn the_front_discovery_sends_the_browser_to_the_idp_and_the_rp_to_tokenbridge() {
    let app = spawn_app_with(fronts()).await;
    let front = app.url("/front/bookstack");

    let document = app
        .get_json("/front/bookstack/.well-known/openid-configuration")
        .await;
    let unknown = send(
        app.http
            .get(app.url("/front/nobody/.well-known/openid-configuration")),
    )
    .await;

    assert_eq!(document["issuer"], front.as_str());
    assert_eq!(
        document["authorization_endpoint"],
        format!("{}/authorize", app.idp.issuer())
    );
    assert_eq!(document["end_session_endpoint"], format!("{front}/logout"));
    assert_eq!(document["token_endpoint"], format!("{front}/token"));
    assert_eq!(document["userinfo_endpoint"], format!("{front}/userinfo"));
    assert_eq!(document["jwks_uri"], app.url("/.well-known/jwks.json"));
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(
        document["authorization_response_iss_parameter_supported"],
        false
    );
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_code_grant_is_forwarded_as_is_and_its_id_token_comes_back_fixed() {
    let app = spawn_app_with(fronts()).await;
    let raw = app.id_token(
        json!(["bookstack", "295633918734829312", "x@grafana", "y@wiki", "z@api"]),
        json!({ "azp": "bookstack", "nonce": "n-42", "auth_time": now() - 3, "acr": "1", "amr": ["pwd"] }),
    );
    let encrypted = encrypt_like_authentik(&raw, &app.encryption_key("RSA").await).unwrap();
    app.idp.answer_token(
        200,
        &json!({
            "access_token": "opaque-access-token-123", "token_type": "Bearer", "expires_in": 300,
            "refresh_token": "refresh-456", "id_token": encrypted, "scope": "openid email",
        }),
    );

    let answer = post_token(&app, "bookstack", CODE_GRANT).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let (body, authorization) = app.idp.last_token_request().unwrap();
    assert_eq!(
        body, CODE_GRANT,
        "the grant, PKCE verifier included, reaches the IdP unchanged"
    );
    assert!(
        authorization.unwrap().starts_with("Basic "),
        "the RP's own client authentication is passed through"
    );
    assert_eq!(answer.body["access_token"], "opaque-access-token-123");
    assert_eq!(answer.body["refresh_token"], "refresh-456");
    assert_eq!(answer.headers["cache-control"], "no-store");
    let id_token = answer.body["id_token"].as_str().unwrap();
    let (header, claims) = decode(id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], app.url("/front/bookstack").as_str());
    assert_eq!(claims["aud"], "bookstack");
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(claims["acr"], "1");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(
        claims["at_hash"],
        left_half_hash(JwsAlg::RS256, "opaque-access-token-123")
    );
    let jwks = app.get_json("/.well-known/jwks.json").await;
    let bookstack = |token: &str, issuer: &str, jwks: &Value| {
        legacy::bookstack(
            token,
            &Expectations {
                issuer,
                client_id: "bookstack",
                jwks,
                now: now(),
            },
        )
    };
    let front_issuer = app.url("/front/bookstack");
    assert!(
        bookstack(id_token, &front_issuer, &jwks).is_ok(),
        "BookStack's rules accept the front's ID token"
    );
    let refused = bookstack(&raw, app.idp.issuer(), &app.idp.jwks()).unwrap_err();
    assert!(refused.contains("5 values"), "{refused}");
}

#[tokio::test]
async fn a_refresh_grant_comes_back_normalised_too() {
    let app = spawn_app_with(fronts()).await;
    let raw = app.id_token(json!(["bookstack", "other"]), json!({}));
    app.idp.answer_token(
        200,
        &json!({ "access_token": "at-2", "token_type": "Bearer", "id_token": raw }),
    );

    let answer = post_token(
        &app,
        "bookstack",
        "grant_type=refresh_token&refresh_token=refresh-456",
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        decode(answer.body["id_token"].as_str().unwrap()).1["aud"],
        "bookstack"
    );
}

#[tokio::test]
async fn the_idps_refusals_reach_the_rp_unchanged_and_its_failures_become_temporarily_unavailable()
{
    let app = spawn_app_with(fronts()).await;
    let refusal =
        json!({ "error": "invalid_grant", "error_description": "grant request is invalid" });

    app.idp.answer_token(400, &refusal);
    let refused = post_token(&app, "bookstack", CODE_GRANT).await;
    app.idp
        .answer_token(500, &json!({ "error": "server_error" }));
    let broken = post_token(&app, "bookstack", CODE_GRANT).await;
    app.idp.set_failing(true);
    let down = post_token(&app, "bookstack", CODE_GRANT).await;

    assert_eq!((refused.status, &refused.body), (400, &refusal));
    broken.assert_refused(503, "temporarily_unavailable");
    down.assert_refused(503, "temporarily_unavailable");
}

#[tokio::test]
async fn only_code_and_refresh_grants_are_forwarded() {
    let app = spawn_app_with(fronts()).await;

    let answer = post_token(
        &app,
        "bookstack",
        "grant_type=password&username=a&password=b",
    )
    .await;

    answer.assert_refused(400, "unsupported_grant_type");
    assert!(
        app.idp.last_token_request().is_none(),
        "nothing was forwarded"
    );
}

#[tokio::test]
async fn an_id_token_the_pipeline_refuses_is_never_passed_on() {
    let app = spawn_app_with(Options {
        is_clock_manual: true,
        ..fronts()
    })
    .await;
    for bad in [
        app.id_token(json!(["someone-else"]), json!({})),
        app.id_token_signed(&attacker_key(), json!("bookstack"), json!({})),
        // Expired exactly as the upstream's leeway (60 s) runs out.
        app.id_token(json!("bookstack"), json!({ "exp": app.now() - 60 })),
    ] {
        app.idp.answer_token(
            200,
            &json!({ "access_token": "at", "token_type": "Bearer", "id_token": bad }),
        );

        let answer = post_token(&app, "bookstack", CODE_GRANT).await;

        answer.assert_refused(400, "invalid_grant");
        assert!(answer.body.get("id_token").is_none());
    }
}

#[tokio::test]
async fn userinfo_is_forwarded_with_the_bearer_token_and_a_signed_or_encrypted_answer_is_opened() {
    let app = spawn_app_with(fronts()).await;
    let get = |front: &'static str| {
        send(
            app.http
                .get(app.url(&format!("/front/{front}/userinfo")))
                .bearer_auth("user-access-token"),
        )
    };

    app.idp.answer_userinfo(
        200,
        "application/json",
        r#"{"sub":"user-1","email":"ada@example.com"}"#,
    );
    let plain = get("bookstack").await;
    let signed = idp_key(JwsAlg::RS256).sign(&json!({ "iss": app.idp.issuer(), "aud": "bookstack", "sub": "user-1", "groups": ["g"] }), &json!({})).unwrap();
    let encrypted = encrypt_like_authentik(&signed, &app.encryption_key("RSA").await).unwrap();
    app.idp.answer_userinfo(200, "application/jwt", &encrypted);
    let opened = get("bookstack").await;
    let as_jwt = send(
        app.http
            .get(app.url("/front/mirotalk/userinfo"))
            .bearer_auth("user-access-token"),
    )
    .await;
    let posted = send(
        app.http
            .post(app.url("/front/bookstack/userinfo"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("access_token=user-access-token"),
    )
    .await;
    app.idp
        .answer_userinfo(401, "application/json", r#"{"error":"invalid_token"}"#);
    let unauthorised = get("bookstack").await;

    assert_eq!(
        plain.body,
        json!({ "sub": "user-1", "email": "ada@example.com" })
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["sub"], "user-1");
    assert!(opened.body.get("iss").is_none() && opened.body.get("aud").is_none());
    assert_eq!(as_jwt.headers["content-type"], "application/jwt");
    let (_, claims) = decode(as_jwt.body.as_str().unwrap());
    assert_eq!(claims["iss"], app.url("/front/mirotalk").as_str());
    assert_eq!(claims["aud"], "mirotalk");
    assert_eq!(
        claims["roles"],
        json!(["g"]),
        "the client's claim rules apply to userinfo too"
    );
    assert_eq!(unauthorised.status, 401);
    assert_eq!(
        unauthorised.headers["www-authenticate"],
        tokenbridge::demo::idp::USERINFO_CHALLENGE,
        "the IdP's challenge reaches the relying party"
    );
    assert_eq!(posted.status, 200, "POST is forwarded too: {}", posted.body);
    assert_eq!(posted.body["sub"], "user-1");
}

#[tokio::test]
async fn a_jwt_access_token_is_normalised_when_the_front_asks_and_at_hash_follows_it() {
    let app = spawn_app_with(fronts()).await;
    let access_token = app.id_token(
        json!(["grafana", "https://api.example"]),
        json!({ "scope": "openid" }),
    );
    let id_token = app.id_token(json!(["grafana", "other"]), json!({}));
    app.idp.answer_token(
        200,
        &json!({ "access_token": access_token, "token_type": "Bearer", "id_token": id_token }),
    );

    let answer = post_token(&app, "grafana", CODE_GRANT).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let new_access_token = answer.body["access_token"].as_str().unwrap();
    assert_ne!(new_access_token, access_token);
    let (header, claims) = decode(new_access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["aud"], "grafana");
    assert_eq!(claims["iss"], app.url("/front/grafana").as_str());
    let id_claims = decode(answer.body["id_token"].as_str().unwrap()).1;
    assert_eq!(
        id_claims["at_hash"],
        left_half_hash(JwsAlg::RS256, new_access_token),
        "at_hash is over the access token returned"
    );
}

/// A front whose IdP announces `endpoint` as its token endpoint (the app starts with the IdP
/// down, so the announcement is in the first discovery document tokenbridge reads).
async fn with_token_endpoint(endpoint: impl Fn(&TestApp) -> String) -> TestApp {
    let app = spawn_app_with(Options {
        is_idp_down_at_start: true,
        ..fronts()
    })
    .await;
    app.idp.announce("token_endpoint", &endpoint(&app));
    app.idp.set_failing(false);
    app.idp.answer_token(
        200,
        &json!({ "access_token": "at", "token_type": "Bearer" }),
    );
    app
}

#[tokio::test]
async fn the_front_forwards_only_to_the_idps_own_host_and_never_follows_a_redirect() {
    let elsewhere =
        with_token_endpoint(|app| format!("http://localhost:{}/token", app.idp.port())).await;
    let redirected = with_token_endpoint(|app| format!("{}/moved", app.idp.issuer())).await;

    post_token(&elsewhere, "bookstack", CODE_GRANT)
        .await
        .assert_refused(503, "temporarily_unavailable");
    post_token(&redirected, "bookstack", CODE_GRANT)
        .await
        .assert_refused(503, "temporarily_unavailable");

    assert!(
        elsewhere.idp.last_token_request().is_none(),
        "a token endpoint on another host was used"
    );
    assert!(
        redirected.idp.last_token_request().is_none(),
        "a redirect was followed"
    );
}

#[tokio::test]
async fn the_protected_claims_of_an_idps_userinfo_never_reach_the_relying_party() {
    let app = spawn_app_with(fronts()).await;
    app.idp.answer_userinfo(
        200,
        "application/json",
        r#"{"sub":"user-1","email":"ada@example.com","groups":["g"],
        "iss":"x","aud":"y","exp":1,"iat":1,"nbf":1,"jti":"j",
        "azp":"another-client","at_hash":"a","c_hash":"c","s_hash":"s"}"#,
    );

    let answer = send(
        app.http
            .get(app.url("/front/bookstack/userinfo"))
            .bearer_auth("user-access-token"),
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "sub": "user-1", "email": "ada@example.com", "groups": ["g"] }),
        "the ten protected claims are gone"
    );
}
