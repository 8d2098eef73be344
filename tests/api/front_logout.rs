//! RP-initiated logout through the front (RP-Initiated Logout 1.0): `{front}/logout` takes only
//! an `id_token_hint` tokenbridge issued for this front and a listed `post_logout_redirect_uri`,
//! sends the browser to the IdP's end-session endpoint, and `{front}/logout/callback` brings it
//! back to the relying party with its `state`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokenbridge::demo::mint::IdpKey;
use tokenbridge::jose::alg::JwsAlg;
use url::Url;

use crate::helpers::*;

const WIKI_BYE: &str = "https://wiki.example/logged-out";
/// What BookStack sends: Laravel's `url('/')`, without a trailing slash.
const WIKI_HOME: &str = "https://wiki.example";

fn fronts(is_clock_manual: bool) -> Options {
    fronts_listing(&[WIKI_BYE, WIKI_HOME], is_clock_manual)
}

/// The bookstack front listing `uris`, and a mirotalk front.
fn fronts_listing(uris: &[&str], is_clock_manual: bool) -> Options {
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

[[front]]
client = "bookstack"
upstream = "idp"
post_logout_redirect_uris = {uris:?}

[[front]]
client = "mirotalk"
upstream = "idp"
post_logout_redirect_uris = ["{WIKI_BYE}"]
"#,
            bookstack = digest("bookstack"),
            mirotalk = digest("mirotalk"),
            uris = uris,
        ),
        is_clock_manual,
        ..Options::default()
    }
}

/// A browser that shows each redirect instead of following it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An ID token the front issued for `front`, through its token endpoint.
async fn issued_hint(app: &TestApp, front: &str) -> String {
    app.idp.answer_token(
        200,
        &json!({
            "access_token": "opaque", "token_type": "Bearer", "expires_in": 300,
            "id_token": app.id_token(json!(front), json!({})),
        }),
    );
    let answer = send(
        app.http
            .post(app.url(&format!("/front/{front}/token")))
            .basic_auth(front, Some("the-rps-own-secret"))
            .form(&[("grant_type", "authorization_code"), ("code", "c0de")]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["id_token"].as_str().unwrap().to_owned()
}

/// tokenbridge's own RS256 key under the kid it publishes.
async fn our_key(app: &TestApp) -> IdpKey {
    let jwks = app.get_json("/.well-known/jwks.json").await;
    let kid = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["alg"] == "RS256")
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    tokenbridge_key(JwsAlg::RS256, &kid)
}

/// Claims as the bookstack front issues them, then `extra` (null removes a claim).
fn front_claims(app: &TestApp, extra: Value) -> Value {
    let mut claims = app.claims(json!("bookstack"), json!({}));
    claims["iss"] = json!(app.url("/front/bookstack"));
    if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
        for (name, value) in extra {
            if value.is_null() {
                claims.remove(&name);
            } else {
                claims.insert(name, value);
            }
        }
    }
    claims
}

/// What the front answered a logout or callback: its status, `Location` and body.
struct Redirect {
    status: u16,
    location: Option<Url>,
    cache_control: Option<String>,
    body: Value,
}

impl Redirect {
    fn query(&self) -> HashMap<String, String> {
        self.location
            .as_ref()
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    /// A refusal: 400 `invalid_request` (or the given status and code), and no redirect.
    fn assert_refused(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert!(self.location.is_none(), "a refusal redirects nowhere");
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Redirect {
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let location = header("location").map(|text| Url::parse(&text).unwrap());
    let cache_control = header("cache-control");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    Redirect {
        status,
        location,
        cache_control,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

async fn logout(app: &TestApp, front: &str, parameters: &[(&str, &str)]) -> Redirect {
    let mut url = Url::parse(&app.url(&format!("/front/{front}/logout"))).unwrap();
    url.query_pairs_mut().extend_pairs(parameters);
    answer(browser().get(url)).await
}

async fn callback(app: &TestApp, front: &str, query: &str) -> Redirect {
    answer(browser().get(app.url(&format!("/front/{front}/logout/callback?{query}")))).await
}

/// The IdP's redirect back, as the IdP would make it: the `state` it was given.
fn idp_state(sent: &Redirect) -> String {
    idp_state_of(&sent.query()["state"])
}

fn idp_state_of(state: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("state", state)
        .finish()
}

#[tokio::test]
async fn a_hint_we_issued_ends_the_session_at_the_idp_and_the_browser_comes_back_with_its_state() {
    let app = spawn_app_with(fronts(false)).await;
    let hint = issued_hint(&app, "bookstack").await;

    let sent = logout(
        &app,
        "bookstack",
        &[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", WIKI_BYE),
            ("state", "rp-state 42&x"),
            ("ui_locales", "de en"),
            ("logout_hint", "ada"),
        ],
    )
    .await;

    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.cache_control.as_deref(), Some("no-store"));
    let location = sent.location.clone().unwrap();
    assert_eq!(
        format!(
            "{}{}",
            location.origin().ascii_serialization(),
            location.path()
        ),
        format!("{}/logout", app.idp.issuer())
    );
    let query = sent.query();
    assert_eq!(query["client_id"], "bookstack");
    assert_eq!(
        query["post_logout_redirect_uri"],
        app.url("/front/bookstack/logout/callback")
    );
    assert_eq!(query["ui_locales"], "de en");
    assert_eq!(query["logout_hint"], "ada");
    assert!(
        !query.contains_key("id_token_hint"),
        "the IdP can't check our token"
    );
    assert!(
        !query["state"].contains("rp-state") && !query["state"].contains(WIKI_BYE),
        "the RP's state and URI travel sealed: {}",
        query["state"]
    );
    assert_eq!(query.len(), 5);

    let back = callback(&app, "bookstack", &idp_state(&sent)).await;

    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(back.cache_control.as_deref(), Some("no-store"));
    assert_eq!(
        back.location.unwrap().as_str(),
        "https://wiki.example/logged-out?state=rp-state+42%26x"
    );
}

/// BookStack's `OidcService::logout` sends the browser to the discovered end-session endpoint
/// with `id_token_hint` and `post_logout_redirect_uri` (`url('/')`, its home page, as Laravel
/// writes it) and no `state`.
#[tokio::test]
async fn bookstacks_logout_request_comes_back_to_its_uri_without_a_state() {
    let app = spawn_app_with(fronts(false)).await;
    let hint = issued_hint(&app, "bookstack").await;
    let discovery = app
        .get_json("/front/bookstack/.well-known/openid-configuration")
        .await;
    let end_session = discovery["end_session_endpoint"].as_str().unwrap();
    assert_eq!(end_session, app.url("/front/bookstack/logout"));
    let mut url = Url::parse(end_session).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", &hint)
        .append_pair("post_logout_redirect_uri", WIKI_HOME);

    let sent = answer(browser().get(url)).await;
    let back = callback(&app, "bookstack", &idp_state(&sent)).await;

    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.query()["client_id"], "bookstack");
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(back.location.unwrap().as_str(), "https://wiki.example/");
}

#[tokio::test]
async fn a_logout_without_a_way_back_goes_to_the_idp_with_the_client_only() {
    let app = spawn_app_with(fronts(false)).await;
    let hint = issued_hint(&app, "bookstack").await;

    let bare = logout(&app, "bookstack", &[]).await;
    let hinted = logout(
        &app,
        "bookstack",
        &[("id_token_hint", &hint), ("state", "ignored")],
    )
    .await;

    for sent in [bare, hinted] {
        assert_eq!(sent.status, 303, "{}", sent.body);
        let query = sent.query();
        assert_eq!(query.len(), 1, "{query:?}");
        assert_eq!(query["client_id"], "bookstack");
    }
}

#[tokio::test]
async fn a_form_post_logout_is_taken_like_a_get_and_other_bodies_are_refused() {
    let app = spawn_app_with(fronts(false)).await;
    let hint = issued_hint(&app, "bookstack").await;
    let url = app.url("/front/bookstack/logout");

    let posted = answer(browser().post(&url).form(&[
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", WIKI_BYE),
        ("state", "s"),
    ]))
    .await;
    let json = answer(
        browser()
            .post(&url)
            .json(&json!({ "post_logout_redirect_uri": WIKI_BYE })),
    )
    .await;
    let put = answer(browser().put(&url)).await;

    assert_eq!(posted.status, 303, "{}", posted.body);
    let back = callback(&app, "bookstack", &idp_state(&posted)).await;
    assert_eq!(
        back.location.unwrap().as_str(),
        format!("{WIKI_BYE}?state=s")
    );
    json.assert_refused(400, "invalid_request");
    put.assert_refused(405, "invalid_request");
}

#[tokio::test]
async fn an_expired_hint_of_ours_is_still_a_hint() {
    let app = spawn_app_with(fronts(true)).await;
    let hint = issued_hint(&app, "bookstack").await;
    let (_, claims) = decode(&hint);
    app.clock().advance(Duration::from_secs(
        claims["exp"].as_u64().unwrap() - app.now() as u64 + 3600,
    ));

    let sent = logout(
        &app,
        "bookstack",
        &[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", WIKI_BYE),
        ],
    )
    .await;

    assert_eq!(sent.status, 303, "{}", sent.body);
}

#[tokio::test]
async fn a_hint_tokenbridge_did_not_sign_is_refused_and_nothing_is_forwarded() {
    let app = spawn_app_with(fronts(false)).await;
    let ours = our_key(&app).await;
    let claims = front_claims(&app, json!({}));
    let with_our_kid = attacker_key_with_kid(ours.kid());
    let foreign = [
        // The IdP's own ID token, as the RP would send it without the front.
        app.id_token(json!("bookstack"), json!({})),
        // The IdP's key, with the front's claims.
        idp_key(JwsAlg::RS256).sign(&claims, &json!({})).unwrap(),
        // An attacker's key under our kid.
        with_our_kid.sign(&claims, &json!({})).unwrap(),
        // Our key, but no kid: tokenbridge's tokens always name theirs.
        ours.sign_with_header(&json!({ "alg": "RS256", "typ": "JWT" }), &claims)
            .unwrap(),
        // Not a JWS at all.
        "not-a-token".to_owned(),
    ];

    for hint in &foreign {
        let sent = logout(
            &app,
            "bookstack",
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", WIKI_BYE),
            ],
        )
        .await;
        sent.assert_refused(400, "invalid_request");
        assert_eq!(
            sent.body["error_description"],
            "the id_token_hint was not issued by this front"
        );
    }
    let genuine = ours.sign(&claims, &json!({})).unwrap();
    let accepted = logout(&app, "bookstack", &[("id_token_hint", &genuine)]).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
}

#[tokio::test]
async fn a_hint_of_ours_for_another_front_or_of_another_type_is_refused() {
    let app = spawn_app_with(fronts(false)).await;
    let ours = our_key(&app).await;
    let mirotalks = issued_hint(&app, "mirotalk").await;
    let refused = [
        // Issued by the mirotalk front, genuinely.
        mirotalks,
        // The right issuer, another audience.
        ours.sign(
            &front_claims(&app, json!({ "aud": "mirotalk" })),
            &json!({}),
        )
        .unwrap(),
        // The right audience, another front's issuer.
        ours.sign(
            &front_claims(&app, json!({ "iss": app.url("/front/mirotalk") })),
            &json!({}),
        )
        .unwrap(),
        // What /exchange issues: tokenbridge's own issuer.
        ours.sign(&front_claims(&app, json!({ "iss": app.base })), &json!({}))
            .unwrap(),
        // No aud at all.
        ours.sign(&front_claims(&app, json!({ "aud": null })), &json!({}))
            .unwrap(),
        // An access token the front signed, not an ID token.
        ours.sign(&front_claims(&app, json!({})), &json!({ "typ": "at+jwt" }))
            .unwrap(),
    ];

    for hint in &refused {
        logout(&app, "bookstack", &[("id_token_hint", hint)])
            .await
            .assert_refused(400, "invalid_request");
    }
    let in_an_array = ours
        .sign(
            &front_claims(&app, json!({ "aud": ["other", "bookstack"] })),
            &json!({}),
        )
        .unwrap();
    let accepted = logout(&app, "bookstack", &[("id_token_hint", &in_an_array)]).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
}

#[tokio::test]
async fn client_id_must_be_the_fronts_and_agree_with_the_hint() {
    let app = spawn_app_with(fronts(false)).await;
    let hint = issued_hint(&app, "bookstack").await;

    let alone = logout(
        &app,
        "bookstack",
        &[
            ("client_id", "bookstack"),
            ("post_logout_redirect_uri", WIKI_BYE),
        ],
    )
    .await;
    let other = logout(&app, "bookstack", &[("client_id", "mirotalk")]).await;
    let disagreeing = logout(
        &app,
        "bookstack",
        &[("client_id", "mirotalk"), ("id_token_hint", &hint)],
    )
    .await;

    assert_eq!(alone.status, 303, "{}", alone.body);
    for refused in [other, disagreeing] {
        refused.assert_refused(400, "invalid_request");
        assert_eq!(
            refused.body["error_description"],
            "client_id is not this front's client"
        );
    }
}

#[tokio::test]
async fn a_post_logout_redirect_uri_must_be_listed_exactly_and_name_its_client() {
    let app = spawn_app_with(fronts(false)).await;
    let hint = issued_hint(&app, "bookstack").await;

    for uri in [
        "https://evil.example/logged-out",
        "https://wiki.example/logged-out/",
        "https://wiki.example/logged-out?next=/evil",
        "https://WIKI.example/logged-out",
        "http://wiki.example/logged-out",
        "https://wiki.example/",
        "https://wiki.example/login?prevent_auto_init=true",
    ] {
        let sent = logout(
            &app,
            "bookstack",
            &[("id_token_hint", &hint), ("post_logout_redirect_uri", uri)],
        )
        .await;
        sent.assert_refused(400, "invalid_request");
        assert_eq!(
            sent.body["error_description"],
            "post_logout_redirect_uri is not registered for this front",
            "{uri}"
        );
    }
    // RP-Initiated Logout 1.0 §3: without a hint or client_id the OP can't tell whose URI it is.
    logout(&app, "bookstack", &[("post_logout_redirect_uri", WIKI_BYE)])
        .await
        .assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn a_repeated_parameter_is_refused() {
    let app = spawn_app_with(fronts(false)).await;

    let sent = logout(
        &app,
        "bookstack",
        &[
            ("client_id", "bookstack"),
            ("post_logout_redirect_uri", WIKI_BYE),
            ("state", "one"),
            ("state", "two"),
        ],
    )
    .await;

    sent.assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn a_missing_tampered_foreign_or_expired_logout_state_is_refused() {
    let app = spawn_app_with(fronts(true)).await;
    let parameters = [
        ("client_id", "bookstack"),
        ("post_logout_redirect_uri", WIKI_BYE),
        ("state", "s"),
    ];
    let sent = logout(&app, "bookstack", &parameters).await;
    let state = sent.query()["state"].clone();
    let mut tampered = state.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let mirotalks = logout(
        &app,
        "mirotalk",
        &[
            ("client_id", "mirotalk"),
            ("post_logout_redirect_uri", WIKI_BYE),
        ],
    )
    .await
    .query()["state"]
        .clone();

    for refused in [
        String::new(),
        "state=".to_owned(),
        idp_state_of(&tampered),
        idp_state_of(&mirotalks),
        format!("{}&{}", idp_state_of(&state), idp_state_of(&state)),
    ] {
        let back = callback(&app, "bookstack", &refused).await;
        back.assert_refused(400, "invalid_request");
        assert_eq!(
            back.body["error_description"], "the logout state is invalid or expired",
            "{refused}"
        );
    }
    app.clock().advance(Duration::from_secs(599));
    let in_time = callback(&app, "bookstack", &idp_state_of(&state)).await;
    app.clock().advance(Duration::from_secs(1));
    let late = callback(&app, "bookstack", &idp_state_of(&state)).await;

    assert_eq!(in_time.status, 303, "{}", in_time.body);
    late.assert_refused(400, "invalid_request");
}

/// A front whose IdP announces `endpoint` as its end-session endpoint (the app starts with the
/// IdP down, so the announcement is in the first discovery document tokenbridge reads).
async fn with_end_session_endpoint(endpoint: impl Fn(&TestApp) -> String) -> TestApp {
    let app = spawn_app_with(Options {
        is_idp_down_at_start: true,
        ..fronts(false)
    })
    .await;
    app.idp.announce("end_session_endpoint", &endpoint(&app));
    app.idp.set_failing(false);
    app
}

#[tokio::test]
async fn without_a_usable_idp_end_session_endpoint_the_front_offers_no_logout() {
    let none = with_end_session_endpoint(|_| String::new()).await;
    let elsewhere =
        with_end_session_endpoint(|app| format!("http://localhost:{}/logout", app.idp.port()))
            .await;

    for app in [none, elsewhere] {
        let discovery = app
            .get_json("/front/bookstack/.well-known/openid-configuration")
            .await;
        let sent = logout(&app, "bookstack", &[("client_id", "bookstack")]).await;

        assert!(
            discovery.get("end_session_endpoint").is_none(),
            "{discovery}"
        );
        sent.assert_refused(400, "invalid_request");
        assert_eq!(
            sent.body["error_description"],
            "this front offers no logout: the identity provider has no end_session_endpoint"
        );
    }
}

#[tokio::test]
async fn an_idp_that_is_down_makes_the_logout_temporarily_unavailable() {
    let app = spawn_app_with(Options {
        is_idp_down_at_start: true,
        ..fronts(false)
    })
    .await;

    let sent = logout(&app, "bookstack", &[("client_id", "bookstack")]).await;
    let nobody = logout(&app, "nobody", &[]).await;

    sent.assert_refused(503, "temporarily_unavailable");
    nobody.assert_refused(404, "invalid_request");
}

/// Replicas share the fronts' state key: one seals, another opens. A URI the second no longer
/// lists is not redirected to, even from a genuine seal.
#[tokio::test]
async fn a_replica_with_the_same_state_key_brings_the_browser_back_but_only_to_a_listed_uri() {
    let shared = tempfile::TempDir::new().unwrap();
    let with_key = |uris: &[&str]| Options {
        keys: Some(fixture_keys_section().replace(
            "dir = \"{dir}\"",
            &format!(
                "dir = \"{{dir}}\"\nfront_state_key = \"{}\"",
                shared.path().join("front-state.key").display()
            ),
        )),
        ..fronts_listing(uris, false)
    };
    let sealing = spawn_app_with(with_key(&[WIKI_BYE, WIKI_HOME])).await;
    let replica = spawn_app_with(with_key(&[WIKI_BYE, WIKI_HOME])).await;
    let delisted = spawn_app_with(with_key(&[WIKI_HOME])).await;
    let sent = logout(
        &sealing,
        "bookstack",
        &[
            ("client_id", "bookstack"),
            ("post_logout_redirect_uri", WIKI_BYE),
        ],
    )
    .await;

    let back = callback(&replica, "bookstack", &idp_state(&sent)).await;
    let refused = callback(&delisted, "bookstack", &idp_state(&sent)).await;

    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(back.location.unwrap().as_str(), WIKI_BYE);
    refused.assert_refused(400, "invalid_request");
}
