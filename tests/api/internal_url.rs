//! An upstream's `internal_url` (Keycloak's backchannel hostname): the IdP names a public issuer
//! that doesn't resolve from tokenbridge's network (`.invalid` never does), and tokenbridge's own
//! calls to it go to where it really listens. `iss` is still the public issuer, exactly, and the
//! browser is still sent to the public host.

use std::path::Path;

use serde_json::json;
use url::Url;

use crate::helpers::*;

const PUBLIC_ISSUER: &str = "https://idp.example.invalid";
const RP_CALLBACK: &str = "http://127.0.0.1:9/callback";

/// The demo IdP behind `PUBLIC_ISSUER`, an exchange client "app", a relay front "bookstack" and a
/// plain front "grafana"; `internal_url` is the upstream's, if any.
fn behind_a_public_issuer(internal_url: Option<&str>) -> Options {
    let internal_url =
        internal_url.map_or(String::new(), |url| format!("internal_url = \"{url}\""));
    Options {
        policy: format!(
            r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
{internal_url}
danger_allow_http = true
fetch_timeout = "2s"

[[client]]
id = "app"
secret = {{ sha256 = "{app}" }}
upstreams = ["idp"]
audiences = ["app"]

[[client]]
id = "bookstack"
secret = {{ sha256 = "{bookstack}" }}
upstreams = ["idp"]
audiences = ["bookstack"]

[[front]]
client = "bookstack"
upstream = "idp"
mode = "relay"
redirect_uris = ["{RP_CALLBACK}"]

[[client]]
id = "grafana"
secret = {{ sha256 = "{grafana}" }}
upstreams = ["idp"]
audiences = ["grafana"]

[[front]]
client = "grafana"
upstream = "idp"
"#,
            app = digest("app"),
            bookstack = digest("bookstack"),
            grafana = digest("grafana"),
        ),
        idp_public_issuer: Some(PUBLIC_ISSUER),
        ..Options::default()
    }
}

async fn through_the_internal_url() -> TestApp {
    spawn_app_with(behind_a_public_issuer(Some("{idp_loopback}"))).await
}

/// A client that shows redirects instead of following them, as a browser's first hop.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where `path_and_query` sends the browser.
async fn redirect_of(app: &TestApp, path_and_query: &str) -> Url {
    let response = browser().get(app.url(path_and_query)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303, "{path_and_query}");
    let location = response.headers()["location"].to_str().unwrap();
    Url::parse(location).unwrap()
}

fn query_of(url: &Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn an_upstream_behind_an_unresolvable_issuer_is_fetched_through_its_internal_url() {
    let app = through_the_internal_url().await;
    let token = app.id_token(json!("app"), json!({}));

    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(app.idp.issuer(), PUBLIC_ISSUER);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(decode(answer.token()).1["aud"], "app");
    assert_eq!(app.idp.discovery_requests(), 1, "discovery on the loopback");
    assert_eq!(
        app.idp.jwks_requests(),
        1,
        "the discovered jwks_uri on the loopback"
    );
    assert_eq!(app.ready_status().await, 200);
    let origin = app.idp.loopback_origin();
    assert!(
        captured_logs().lines().any(|line| line.contains("INFO")
            && line.contains("upstream=idp")
            && line.contains(&origin)
            && line.contains("internal origin")),
        "the start says which upstream goes through which origin"
    );
}

#[tokio::test]
async fn a_token_that_names_the_internal_url_as_its_issuer_is_refused() {
    let app = through_the_internal_url().await;
    let origin = app.idp.loopback_origin();
    let with_slash = format!("{origin}/");

    for issuer in [origin.as_str(), with_slash.as_str()] {
        let token = app.id_token(json!("app"), json!({ "iss": issuer }));
        app.exchange("app", &token, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
}

#[tokio::test]
async fn without_internal_url_the_same_upstream_gets_no_keys() {
    let app = spawn_app_with(behind_a_public_issuer(None)).await;
    let token = app.id_token(json!("app"), json!({}));

    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(app.ready_status().await, 503);
    assert_eq!(app.idp.discovery_requests(), 0);
    answer.assert_refused(503, "temporarily_unavailable");
}

#[tokio::test]
async fn a_front_calls_the_idp_through_the_internal_url_and_sends_the_browser_to_the_public_one() {
    let app = through_the_internal_url().await;
    let front = app.url("/front/bookstack");

    let login = format!(
        "/front/bookstack/authorize?{}",
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", "bookstack"),
                ("response_type", "code"),
                ("redirect_uri", RP_CALLBACK),
                ("scope", "openid"),
                ("state", "rp-state"),
            ])
            .finish()
    );
    let to_idp = redirect_of(&app, &login).await;
    let sealed = query_of(&to_idp)["state"].clone();
    let back = redirect_of(
        &app,
        &format!(
            "/front/bookstack/callback?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("code", "c0de"), ("state", &sealed), ("iss", PUBLIC_ISSUER)])
                .finish()
        ),
    )
    .await;
    let id_token = app.id_token(json!("bookstack"), json!({ "nonce": "n-1" }));
    app.idp.answer_token(
        200,
        &json!({ "access_token": "at-1", "token_type": "Bearer", "id_token": id_token }),
    );
    let encoded = |uri: &str| form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>();
    let code_grant = format!(
        "grant_type=authorization_code&code=c0de&redirect_uri={}",
        encoded(RP_CALLBACK)
    );
    let tokens = send(
        app.http
            .post(app.url("/front/bookstack/token"))
            .basic_auth("bookstack", Some("the-rps-own-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(code_grant),
    )
    .await;
    app.idp
        .answer_userinfo(200, "application/json", r#"{"sub":"user-1"}"#);
    let userinfo = send(
        app.http
            .get(app.url("/front/bookstack/userinfo"))
            .bearer_auth("at-1"),
    )
    .await;
    let to_end_session = redirect_of(&app, "/front/bookstack/logout").await;
    let plain_front = app
        .get_json("/front/grafana/.well-known/openid-configuration")
        .await;

    assert_eq!(
        (to_idp.origin().ascii_serialization(), to_idp.path()),
        (PUBLIC_ISSUER.to_owned(), "/authorize"),
        "the browser logs in at the public host"
    );
    assert_eq!(
        query_of(&to_idp)["redirect_uri"],
        format!("{front}/callback")
    );
    assert!(back.as_str().starts_with(RP_CALLBACK), "{back}");
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let (forwarded, _) = app
        .idp
        .last_token_request()
        .expect("the token request reached the IdP through the internal origin");
    assert!(
        forwarded.contains("code=c0de")
            && forwarded.contains(&encoded(&format!("{front}/callback"))),
        "{forwarded}"
    );
    let (_, claims) = decode(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], front);
    assert_eq!(userinfo.status, 200, "{}", userinfo.body);
    assert_eq!(userinfo.body["sub"], "user-1");
    assert_eq!(
        (
            to_end_session.origin().ascii_serialization(),
            to_end_session.path()
        ),
        (PUBLIC_ISSUER.to_owned(), "/logout"),
        "the browser ends its session at the public host"
    );
    assert_eq!(
        plain_front["authorization_endpoint"],
        format!("{PUBLIC_ISSUER}/authorize"),
        "a front's discovery publishes the IdP's public URLs"
    );
}

/// The key each problem of `internal_url` (with `allow_http`) is reported under.
fn internal_url_problems(internal_url: &str, is_http_allowed: bool) -> Vec<(String, String)> {
    let text = format!(
        r#"
issuer = "https://tokenbridge.example"
listen = "127.0.0.1:0"

[keys]
dir = "./keys"

[[upstream]]
name = "idp"
issuer = "{PUBLIC_ISSUER}/realms/x"
internal_url = "{internal_url}"
danger_allow_http = {is_http_allowed}

[[client]]
id = "app"
secret = {{ sha256 = "{app}" }}
upstreams = ["idp"]
audiences = ["app"]
"#,
        app = digest("app"),
    );
    match tokenbridge::config::parse(&text, Path::new("/tmp")) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .0
            .into_iter()
            .map(|problem| (problem.key, problem.message))
            .collect(),
    }
}

#[test]
fn an_internal_url_must_be_an_origin_and_https_unless_the_upstream_allows_http() {
    const KEY: &str = "upstream[0] (\"idp\").internal_url";
    for accepted in [
        ("http://keycloak:8080", true),
        ("http://keycloak:8080/", true),
        ("https://keycloak.internal", false),
    ] {
        assert_eq!(
            internal_url_problems(accepted.0, accepted.1),
            Vec::new(),
            "{accepted:?}"
        );
    }
    for (refused, is_http_allowed, says) in [
        ("http://keycloak:8080/realms/x", true, "origin only"),
        ("http://keycloak:8080/?a=b", true, "origin only"),
        ("http://keycloak:8080/#top", true, "origin only"),
        ("http://admin:pw@keycloak:8080", true, "origin only"),
        ("http://admin@keycloak:8080", true, "origin only"),
        ("http://keycloak:8080", false, "danger_allow_http"),
        ("keycloak:8080", true, "not http(s)"),
        ("/realms/x", true, "not an absolute URL"),
    ] {
        let problems = internal_url_problems(refused, is_http_allowed);
        assert!(
            matches!(problems.as_slice(), [(key, message)] if key == KEY && message.contains(says)),
            "{refused}: {problems:?}"
        );
    }
}
