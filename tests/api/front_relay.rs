//! The login relay (`mode = "relay"`): the front's own `/authorize` and `/callback` stand between
//! the RP and the IdP, so the RP's authorization response names the front (RFC 9207). Never an
//! open redirector; the RP's state survives the trip sealed; the code comes back bound to the
//! front's callback, which the token endpoint puts back.

use std::collections::HashMap;

use serde_json::json;
use url::Url;

use crate::helpers::*;

const RP_CALLBACK: &str = "http://127.0.0.1:9/callback";

fn relay_fronts() -> Options {
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

[[front]]
client = "bookstack"
upstream = "idp"
mode = "relay"
redirect_uris = ["{RP_CALLBACK}", "http://127.0.0.1:9/other?x=1"]

[[client]]
id = "mirotalk"
secret = {{ sha256 = "{mirotalk}" }}
upstreams = ["idp"]
audiences = ["mirotalk"]

[[front]]
client = "mirotalk"
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
            bookstack = digest("bookstack"),
            mirotalk = digest("mirotalk"),
            grafana = digest("grafana"),
        ),
        is_clock_manual: true,
        ..Options::default()
    }
}

/// A client that shows redirects instead of following them, as a test must see them.
fn not_following() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Redirected {
    status: u16,
    location: Option<Url>,
    body: String,
}

impl Redirected {
    fn query(&self) -> HashMap<String, String> {
        self.location
            .as_ref()
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    fn assert_refused_without_redirect(&self) {
        assert_eq!(self.status, 400, "{}", self.body);
        assert!(self.location.is_none(), "no redirect: {:?}", self.location);
        assert!(self.body.contains("invalid_request"), "{}", self.body);
    }
}

async fn get(app: &TestApp, path_and_query: &str) -> Redirected {
    let response = not_following()
        .get(app.url(path_and_query))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Url::parse(value).ok());
    Redirected {
        status,
        location,
        body: response.text().await.unwrap_or_default(),
    }
}

fn authorize_query(pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    query.finish()
}

fn login_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", "bookstack"),
        ("response_type", "code"),
        ("redirect_uri", RP_CALLBACK),
        ("scope", "openid email"),
        ("state", "rp-state-123"),
        ("nonce", "n-0S6"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
        ("max_age", "300"),
        ("login_hint", "ada"),
        ("ui_locales", "de"),
        ("acr_values", "urn:mace:incommon:iap:silver"),
    ]
}

#[tokio::test]
async fn a_login_goes_through_the_front_and_comes_back_with_the_fronts_iss() {
    let app = spawn_app_with(relay_fronts()).await;
    let front = app.url("/front/bookstack");

    let discovery = app
        .get_json("/front/bookstack/.well-known/openid-configuration")
        .await;
    let to_idp = get(
        &app,
        &format!(
            "/front/bookstack/authorize?{}",
            authorize_query(&login_request())
        ),
    )
    .await;
    let idp_query = to_idp.query();
    let sealed = idp_query.get("state").cloned().unwrap_or_default();
    let back = get(
        &app,
        &format!(
            "/front/bookstack/callback?{}",
            authorize_query(&[
                ("code", "c0de"),
                ("state", &sealed),
                ("iss", app.idp.issuer())
            ])
        ),
    )
    .await;

    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{front}/authorize")
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(discovery["response_types_supported"], json!(["code"]));
    assert_eq!(discovery["response_modes_supported"], json!(["query"]));
    assert_eq!(to_idp.status, 303, "{}", to_idp.body);
    let location = to_idp.location.as_ref().unwrap();
    assert_eq!(
        format!(
            "{}{}",
            location.origin().ascii_serialization(),
            location.path()
        ),
        format!("{}/authorize", app.idp.issuer())
    );
    assert_eq!(idp_query["redirect_uri"], format!("{front}/callback"));
    for (name, value) in login_request() {
        if !["redirect_uri", "state"].contains(&name) {
            assert_eq!(idp_query[name], value, "{name} passes to the IdP unchanged");
        }
    }
    assert_ne!(sealed, "rp-state-123", "the RP's state travels sealed");
    assert!(!sealed.contains(RP_CALLBACK) && !sealed.is_empty());
    assert_eq!(back.status, 303, "{}", back.body);
    let rp = back.location.as_ref().unwrap();
    assert_eq!(
        format!("{}{}", rp.origin().ascii_serialization(), rp.path()),
        RP_CALLBACK
    );
    assert_eq!(
        back.query(),
        HashMap::from([
            ("code".to_owned(), "c0de".to_owned()),
            ("state".to_owned(), "rp-state-123".to_owned()),
            ("iss".to_owned(), front.clone()),
        ])
    );
}

#[tokio::test]
async fn the_front_never_redirects_to_a_uri_it_does_not_list_nor_for_another_client() {
    let app = spawn_app_with(relay_fronts()).await;
    let with = |name: &'static str, value: &'static str| {
        let mut pairs = login_request();
        pairs.retain(|(key, _)| *key != name);
        pairs.push((name, value));
        pairs
    };
    let requests = [
        (
            "a redirect_uri not listed",
            with("redirect_uri", "https://evil.example/cb"),
        ),
        (
            "a longer one",
            with("redirect_uri", "http://127.0.0.1:9/callback/evil"),
        ),
        (
            "a prefix of one",
            with("redirect_uri", "http://127.0.0.1:9/call"),
        ),
        (
            "another case",
            with("redirect_uri", "http://127.0.0.1:9/CALLBACK"),
        ),
        ("another client_id", with("client_id", "mirotalk")),
        ("no client_id", {
            let mut pairs = login_request();
            pairs.retain(|(key, _)| *key != "client_id");
            pairs
        }),
        ("no redirect_uri", {
            let mut pairs = login_request();
            pairs.retain(|(key, _)| *key != "redirect_uri");
            pairs
        }),
        ("a repeated parameter", {
            let mut pairs = login_request();
            pairs.push(("redirect_uri", "https://evil.example/cb"));
            pairs
        }),
    ];
    for (case, pairs) in requests {
        let answer = get(
            &app,
            &format!("/front/bookstack/authorize?{}", authorize_query(&pairs)),
        )
        .await;
        assert!(
            answer.status == 400 && answer.location.is_none(),
            "{case}: {} {:?}",
            answer.status,
            answer.location
        );
        answer.assert_refused_without_redirect();
    }
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_known_go_back_to_the_rp() {
    let app = spawn_app_with(relay_fronts()).await;
    let with = |name: &'static str, value: &'static str| {
        let mut pairs = login_request();
        pairs.retain(|(key, _)| *key != name);
        pairs.push((name, value));
        pairs
    };
    let cases = [
        (
            with("response_type", "code id_token"),
            "unsupported_response_type",
        ),
        (with("response_mode", "form_post"), "invalid_request"),
        (with("request", "eyJ.e30."), "request_not_supported"),
        (with("request_uri", "urn:x"), "request_uri_not_supported"),
    ];
    for (pairs, error) in cases {
        let answer = get(
            &app,
            &format!("/front/bookstack/authorize?{}", authorize_query(&pairs)),
        )
        .await;
        assert_eq!(answer.status, 303, "{error}: {}", answer.body);
        let query = answer.query();
        assert_eq!(query.get("error").map(String::as_str), Some(error));
        assert_eq!(query["state"], "rp-state-123");
        assert_eq!(query["iss"], app.url("/front/bookstack"));
        assert!(answer.location.unwrap().as_str().starts_with(RP_CALLBACK));
    }
}

/// The sealed state the front sent to the IdP for a fresh login at `front`.
async fn sealed_state(app: &TestApp, front: &str) -> String {
    let mut pairs = login_request();
    if front != "bookstack" {
        pairs.retain(|(key, _)| *key != "client_id");
        pairs.push(("client_id", "mirotalk"));
    }
    let to_idp = get(
        app,
        &format!("/front/{front}/authorize?{}", authorize_query(&pairs)),
    )
    .await;
    to_idp.query().get("state").cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_missing_tampered_foreign_or_expired_state_is_refused_at_the_callback() {
    let app = spawn_app_with(relay_fronts()).await;
    let sealed = sealed_state(&app, "bookstack").await;
    let for_mirotalk = sealed_state(&app, "mirotalk").await;
    let mut tampered = sealed.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let callback = |state: &str, iss: &str| {
        format!(
            "/front/bookstack/callback?{}",
            authorize_query(&[("code", "c0de"), ("state", state), ("iss", iss)])
        )
    };
    let idp = app.idp.issuer().to_owned();

    for (case, path) in [
        ("no state", "/front/bookstack/callback?code=c0de".to_owned()),
        ("a tampered state", callback(&tampered, &idp)),
        ("another front's state", callback(&for_mirotalk, &idp)),
        ("the RP's own state", callback("rp-state-123", &idp)),
        ("another issuer", callback(&sealed, "https://evil.example")),
    ] {
        let answer = get(&app, &path).await;
        assert!(answer.location.is_none(), "{case}");
        answer.assert_refused_without_redirect();
    }
    assert_eq!(get(&app, &callback(&sealed, &idp)).await.status, 303);
    app.clock().advance(std::time::Duration::from_secs(600));
    get(&app, &callback(&sealed, &idp))
        .await
        .assert_refused_without_redirect();
}

#[tokio::test]
async fn the_idps_refusal_goes_back_to_the_rp_with_its_state() {
    let app = spawn_app_with(relay_fronts()).await;
    let sealed = sealed_state(&app, "bookstack").await;

    let back = get(
        &app,
        &format!(
            "/front/bookstack/callback?{}",
            authorize_query(&[
                ("error", "access_denied"),
                ("error_description", "the person said no"),
                ("state", &sealed),
                ("session_state", "dropped"),
            ])
        ),
    )
    .await;

    assert_eq!(back.status, 303);
    assert_eq!(
        back.query(),
        HashMap::from([
            ("error".to_owned(), "access_denied".to_owned()),
            (
                "error_description".to_owned(),
                "the person said no".to_owned()
            ),
            ("state".to_owned(), "rp-state-123".to_owned()),
            ("iss".to_owned(), app.url("/front/bookstack")),
        ])
    );
}

async fn post_token(app: &TestApp, body: &str) -> Answer {
    send(
        app.http
            .post(app.url("/front/bookstack/token"))
            .basic_auth("bookstack", Some("the-rps-own-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn the_token_endpoint_gives_the_idp_the_callback_the_code_was_issued_to() {
    let app = spawn_app_with(relay_fronts()).await;
    let raw = app.id_token(json!("bookstack"), json!({}));
    app.idp.answer_token(
        200,
        &json!({ "access_token": "at", "token_type": "Bearer", "id_token": raw }),
    );
    let code_grant = |redirect_uri: &str| {
        authorize_query(&[
            ("grant_type", "authorization_code"),
            ("code", "c0de"),
            ("redirect_uri", redirect_uri),
            (
                "code_verifier",
                "verifier-43-characters-long-aaaaaaaaaaaaaaaa",
            ),
        ])
    };

    let good = post_token(&app, &code_grant(RP_CALLBACK)).await;
    let forwarded = app.idp.last_token_request().unwrap().0;

    assert_eq!(good.status, 200, "{}", good.body);
    assert_eq!(
        forwarded,
        authorize_query(&[
            ("grant_type", "authorization_code"),
            ("code", "c0de"),
            ("redirect_uri", &app.url("/front/bookstack/callback")),
            (
                "code_verifier",
                "verifier-43-characters-long-aaaaaaaaaaaaaaaa"
            ),
        ]),
        "only redirect_uri changes"
    );
    for (case, body) in [
        (
            "a redirect_uri not listed",
            code_grant("https://evil.example/cb"),
        ),
        (
            "no redirect_uri",
            "grant_type=authorization_code&code=c0de".to_owned(),
        ),
        (
            "two redirect_uris",
            format!(
                "{}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback",
                code_grant(RP_CALLBACK)
            ),
        ),
    ] {
        post_token(&app, &body)
            .await
            .assert_refused(400, "invalid_grant");
        assert_eq!(
            app.idp.last_token_request().unwrap().0,
            forwarded,
            "{case}: nothing more reached the IdP"
        );
    }
    let refresh = post_token(&app, "grant_type=refresh_token&refresh_token=r1").await;
    assert_eq!(refresh.status, 200, "{}", refresh.body);
}

#[tokio::test]
async fn a_pass_through_front_has_no_relay_endpoints() {
    let app = spawn_app_with(relay_fronts()).await;

    let authorize = get(
        &app,
        &format!(
            "/front/grafana/authorize?{}",
            authorize_query(&login_request())
        ),
    )
    .await;
    let discovery = app
        .get_json("/front/grafana/.well-known/openid-configuration")
        .await;

    assert_eq!(authorize.status, 404);
    assert!(authorize.location.is_none());
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{}/authorize", app.idp.issuer())
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        false
    );
    assert_eq!(discovery["response_types_supported"], json!(["code"]));
}
