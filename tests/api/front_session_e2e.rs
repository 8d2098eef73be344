//! A person's whole session through a relaying front (issue 13), judged by software we didn't
//! write: Chromium (Debian's, driven by npm puppeteer-core, `tests/e2e/browser.mjs`) is the
//! person's browser; oidc-provider 9 the IdP, encrypting ID tokens to tokenbridge, with
//! RP-Initiated and Back-Channel Logout on; express-openid-connect 2.20 and 3.x the relying
//! parties, with `idpLogout: true` (and 3.x with `backchannelLogout`). Needs `tests/setup.sh` and
//! chromium (`PUPPETEER_EXECUTABLE_PATH`, else `/usr/bin/chromium`; `.ci/run` installs it).
//!
//! Every process is killed on drop; every browser wait is bounded (15 s, the run 45 s, killed at
//! 50 s), and each test is cut at 60 s.

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const CLIENT: &str = "mirotalk";
pub(crate) const IDP_SECRET: &str = "mirotalk-idp-secret-0123456789";
const SUB: &str = "ada-1815";
const BROWSER_LIMIT: Duration = Duration::from_secs(50);
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// tokenbridge with a relaying front for one RP, that RP (express-openid-connect `major`), and
/// the IdP, each on its own loopback port.
struct Session {
    service: Service,
    _rp_node: Node,
    _idp_node: Node,
    /// The IdP's issuer.
    idp: String,
    /// The front's issuer, `{tokenbridge}/front/mirotalk`.
    front: String,
    /// The RP's base URL.
    rp: String,
}

/// The service's sections: one upstream, one client and its front in relay mode, with the RP's
/// callback, post-logout and back-channel URLs.
fn relay_sections(idp: &str, rp: &str) -> String {
    format!(
        r#"[keys]
dir = "{{dir}}"

[[upstream]]
name = "op"
issuer = "{idp}"
danger_allow_http = true

[[client]]
id = "{CLIENT}"
secret = {{ sha256 = "{digest}" }}
upstreams = ["op"]
audiences = ["{CLIENT}"]

[[front]]
client = "{CLIENT}"
upstream = "op"
mode = "relay"
redirect_uris = ["{rp}/callback"]
post_logout_redirect_uris = ["{rp}/logged-out"]
backchannel_logout_uri = "{rp}/backchannel-logout"
"#,
        digest = digest(CLIENT),
    )
}

impl Session {
    async fn start(major: u8) -> Session {
        // Ports first: the service's config names the RP's URLs, the RP the front's, the IdP
        // both. The RP and tokenbridge fetch discovery and keys lazily, so the IdP comes last.
        let idp = format!("http://127.0.0.1:{}", free_port());
        let rp_port = free_port();
        let rp = format!("http://127.0.0.1:{rp_port}");
        let service = Service::start(&relay_sections(&idp, &rp)).await;
        let front = service.url(&format!("/front/{CLIENT}"));
        let rp_node = Node::start(
            "rp.mjs",
            &json!({
                "port": rp_port, "issuerBaseURL": front, "clientID": CLIENT,
                "clientSecret": IDP_SECRET, "baseURL": null, "major": major, "idpLogout": true,
            }),
        );
        let idp_port: u16 = idp.rsplit(':').next().unwrap().parse().unwrap();
        // The one change at the IdP: the front's URLs are registered, not the RP's.
        let idp_node = Node::start(
            "idp.mjs",
            &json!({
                "port": idp_port,
                "clients": [{
                    "client_id": CLIENT, "client_secret": IDP_SECRET,
                    "redirect_uris": [format!("{front}/callback")],
                    "post_logout_redirect_uris": [format!("{front}/logout/callback")],
                    "backchannel_logout_uri": format!("{front}/backchannel-logout"),
                    "backchannel_logout_session_required": true,
                    "id_token_encrypted_response_alg": "RSA-OAEP-256",
                    "id_token_encrypted_response_enc": "A256CBC-HS512",
                    "jwks_uri": service.url("/.well-known/encryption-keys.json"),
                }],
                "account": { "sub": SUB, "email": "ada@example.com", "name": "Ada Lovelace" },
            }),
        );
        Session {
            service,
            _rp_node: rp_node,
            _idp_node: idp_node,
            idp,
            front,
            rp,
        }
    }

    /// Runs `steps` in one fresh browser at the RP; returns each step's result.
    async fn browse(&self, steps: Value) -> Vec<Value> {
        browse(&self.rp, steps).await
    }

    /// `key` of the discovery document at `issuer`.
    async fn discovered(&self, issuer: &str, key: &str) -> String {
        let document: Value = self
            .service
            .http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        document[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {issuer}'s discovery: {document}"))
            .to_owned()
    }

    /// Asserts that `login` went through the front's relay and came back to the RP with the
    /// front as `iss` (RFC 9207), and that `me` shows the front's ID token for the person.
    fn assert_logged_in_through_the_front(&self, login: &Value, me: &Value) {
        assert_eq!(login["asked_credentials"], true, "{login:#}");
        let urls = urls(login);
        assert!(
            urls.iter()
                .any(|url| url.starts_with(&format!("{}/authorize?", self.front))),
            "the login didn't pass {}/authorize: {urls:#?}",
            self.front
        );
        let callback = urls
            .iter()
            .find(|url| url.starts_with(&format!("{}/callback?", self.rp)))
            .unwrap_or_else(|| panic!("no RP callback: {urls:#?}"));
        assert_eq!(
            query(callback, "iss").as_deref(),
            Some(self.front.as_str()),
            "{callback}"
        );
        assert_eq!(me["status"], 200, "{me:#}");
        let claims = &me["json"]["claims"];
        assert_eq!(claims["iss"], self.front, "{claims}");
        assert_eq!(claims["aud"], CLIENT, "{claims}");
        assert_eq!(claims["sub"], SUB, "{claims}");
    }

    /// Asserts that `logout` went through the front's `/logout` to the IdP's end-session
    /// endpoint `idp_end` and ended at `back`.
    fn assert_logged_out_through_the_idp(&self, logout: &Value, idp_end: &str, back: &str) {
        let urls = urls(logout);
        assert!(
            urls.iter()
                .any(|url| url.starts_with(&format!("{}/logout?", self.front))),
            "the logout didn't pass {}/logout: {urls:#?}",
            self.front
        );
        assert!(
            urls.iter().any(|url| url.starts_with(idp_end)),
            "the logout never reached the IdP's {idp_end}: {urls:#?}"
        );
        assert_eq!(logout["url"], back, "{logout:#}");
    }
}

/// Runs `steps` in one fresh browser at the RP `rp`; returns each step's result.
pub(crate) async fn browse(rp: &str, steps: Value) -> Vec<Value> {
    let args = json!({ "rp": rp, "steps": steps, "username": "ada", "password": "any" });
    let verdict =
        run_node_within(vec!["browser.mjs".into(), args.to_string()], BROWSER_LIMIT).await;
    assert_eq!(verdict["ok"], true, "the browser: {verdict:#}");
    verdict["steps"].as_array().unwrap().clone()
}

/// Every URL the browser loaded in a step, redirects included.
fn urls(step: &Value) -> Vec<String> {
    step["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|url| url.as_str().unwrap().to_owned())
        .collect()
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Fails the test if `test` takes longer than a minute.
pub(crate) async fn within_a_minute(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, test)
        .await
        .expect("the test took longer than 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_openid_connect_2_20_and_3_log_in_through_a_relaying_front() {
    within_a_minute(async {
        for major in [2, 3] {
            let session = Session::start(major).await;
            let steps = session
                .browse(json!([{ "do": "login" }, { "do": "me" }]))
                .await;
            session.assert_logged_in_through_the_front(&steps[0], &steps[1]);
        }
    })
    .await;
}

/// Login, logout with `idpLogout: true`, then a new login: the browser ends back at the RP, the
/// RP's session is gone, and the IdP asks for credentials again (its session ended too).
async fn logs_out_through_the_front_and_the_idp(major: u8) {
    let session = Session::start(major).await;
    let idp_end = session
        .discovered(&session.idp, "end_session_endpoint")
        .await;
    let steps = session
        .browse(json!([
            { "do": "login" }, { "do": "me" }, { "do": "logout" }, { "do": "me" },
            { "do": "login" }, { "do": "me" },
        ]))
        .await;
    session.assert_logged_in_through_the_front(&steps[0], &steps[1]);
    session.assert_logged_out_through_the_idp(
        &steps[2],
        &idp_end,
        &format!("{}/logged-out", session.rp),
    );
    assert_eq!(
        steps[3]["status"], 401,
        "the RP session outlived the logout: {:#}",
        steps[3]
    );
    assert_eq!(
        steps[4]["asked_credentials"], true,
        "the IdP session outlived the logout: {:#}",
        steps[4]
    );
    assert_eq!(steps[5]["status"], 200, "{:#}", steps[5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_openid_connect_2_20_logs_out_through_the_front_and_the_idp_session_ends() {
    within_a_minute(logs_out_through_the_front_and_the_idp(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_openid_connect_3_logs_out_through_the_front_and_the_idp_session_ends() {
    within_a_minute(logs_out_through_the_front_and_the_idp(3)).await;
}

/// The person signs out at the IdP itself (its end-session page, "Yes, sign me out"): the IdP's
/// logout token reaches the RP only through `{front}/backchannel-logout` (the only back-channel
/// URI the IdP knows), and express-openid-connect 3 verifies the relayed one against its issuer,
/// the front, then drops the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_the_session_at_the_idp_ends_express_openid_connect_3_s_through_the_back_channel_relay()
 {
    within_a_minute(async {
        let session = Session::start(3).await;
        let idp_end = session
            .discovered(&session.idp, "end_session_endpoint")
            .await;
        let steps = session
            .browse(json!([
                { "do": "login" }, { "do": "me" },
                { "do": "goto", "url": idp_end, "until": format!("{idp_end}/success") },
                { "do": "me" },
            ]))
            .await;
        session.assert_logged_in_through_the_front(&steps[0], &steps[1]);
        assert_eq!(steps[2]["prompts"], 1, "{:#}", steps[2]);
        assert_eq!(
            steps[3]["status"], 401,
            "the RP session outlived the IdP's: {:#}",
            steps[3]
        );
    })
    .await;
}

/// BookStack's `OidcService::logout`: the end-session URL from discovery, with `id_token_hint`
/// (the front's ID token it holds) and `post_logout_redirect_uri`, no `state`, no `client_id`.
/// In the browser it ends the IdP session and comes back; straight over HTTP the front sends it
/// on to the IdP, and refuses a hint it didn't issue or a post-logout URI not in its list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookstack_s_logout_request_ends_the_idp_session_through_the_front() {
    within_a_minute(async {
        let session = Session::start(2).await;
        let end_session = session
            .discovered(&session.front, "end_session_endpoint")
            .await;
        assert_eq!(end_session, format!("{}/logout", session.front));
        let idp_end = session
            .discovered(&session.idp, "end_session_endpoint")
            .await;
        let back = format!("{}/logged-out", session.rp);
        let steps = session
            .browse(json!([
                { "do": "login" }, { "do": "me" },
                { "do": "bookstack_logout", "end_session_endpoint": end_session, "post_logout_redirect_uri": back },
                { "do": "login" },
            ]))
            .await;
        session.assert_logged_in_through_the_front(&steps[0], &steps[1]);
        session.assert_logged_out_through_the_idp(&steps[2], &idp_end, &back);
        assert_eq!(steps[3]["asked_credentials"], true, "{:#}", steps[3]);

        // The same request without a browser: on to the IdP, or refused with nothing forwarded.
        let hint = steps[1]["json"]["id_token"].as_str().unwrap().to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let logout = |hint: String, back: String| {
            // BookStack: the endpoint, '?' (or '&'), then http_build_query of the two.
            let mut url = url::Url::parse(&end_session).unwrap();
            url.query_pairs_mut()
                .append_pair("id_token_hint", &hint)
                .append_pair("post_logout_redirect_uri", &back);
            let request = http.get(url.as_str());
            async move { request.send().await.unwrap() }
        };
        let answer = logout(hint.clone(), back.clone()).await;
        let location = answer
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        assert!(
            answer.status().is_redirection() && location.starts_with(&idp_end),
            "{} {location}",
            answer.status()
        );
        let mut forged = hint.clone();
        let last = if forged.ends_with('A') { "B" } else { "A" };
        forged.replace_range(forged.len() - 1.., last);
        for (hint, back, what) in [
            (forged, back.clone(), "a hint with a broken signature"),
            (hint, format!("{}/elsewhere", session.rp), "an unlisted post_logout_redirect_uri"),
        ] {
            let answer = logout(hint, back).await;
            assert_eq!(answer.status(), 400, "{what}");
            assert!(answer.headers().get("location").is_none(), "{what}");
        }
    })
    .await;
}
