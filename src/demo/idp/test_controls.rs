//! The demo IdP's test doubles, built only with the `test-util` feature: fault switches (down,
//! slow), key rotation and odd documents, fetch counters, canned `/token` and `/userinfo` answers,
//! and a recorder of the last token request.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{DemoIdp, IdpState, jwks_of};
use crate::demo::mint::IdpKey;

/// What the demo IdP's userinfo endpoint says with a 401.
pub const USERINFO_CHALLENGE: &str = r#"Bearer realm="demo-idp", error="invalid_token""#;

pub(super) struct Controls {
    /// Discovery members to announce instead of the IdP's own (a key source elsewhere, an
    /// endpoint on another host).
    announced: RwLock<HashMap<String, String>>,
    is_failing: AtomicBool,
    delay_ms: AtomicU64,
    jwks_requests: AtomicUsize,
    /// The `traceparent` of each JWKS request that had one.
    jwks_traceparents: RwLock<Vec<String>>,
    discovery_requests: AtomicUsize,
    /// What `/token` and `/userinfo` answer: status, content type, body.
    token_answer: RwLock<Canned>,
    userinfo_answer: RwLock<Canned>,
    /// The last request `/token` got: its body and `Authorization` header.
    last_token_request: RwLock<Option<(String, Option<String>)>>,
}

impl Default for Controls {
    fn default() -> Controls {
        Controls {
            announced: RwLock::new(HashMap::new()),
            is_failing: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            jwks_requests: AtomicUsize::new(0),
            jwks_traceparents: RwLock::new(Vec::new()),
            discovery_requests: AtomicUsize::new(0),
            token_answer: RwLock::new(Canned::json(400, &json!({"error": "invalid_grant"}))),
            userinfo_answer: RwLock::new(Canned::userinfo(
                401,
                "application/json",
                r#"{"error":"invalid_token"}"#,
            )),
            last_token_request: RwLock::new(None),
        }
    }
}

#[derive(Clone)]
struct Canned {
    status: u16,
    content_type: String,
    body: String,
    /// `WWW-Authenticate`, as a resource server sends with a 401 (RFC 6750 §3).
    challenge: Option<String>,
}

impl Canned {
    fn json(status: u16, body: &Value) -> Canned {
        Canned {
            status,
            content_type: "application/json".into(),
            body: body.to_string(),
            challenge: None,
        }
    }

    fn userinfo(status: u16, content_type: &str, body: &str) -> Canned {
        Canned {
            status,
            content_type: content_type.to_owned(),
            body: body.to_owned(),
            challenge: (status == 401).then(|| USERINFO_CHALLENGE.to_owned()),
        }
    }
}

impl Controls {
    /// Counts the discovery fetch, then applies the faults.
    pub(super) async fn before_discovery(&self) -> Option<HttpResponse> {
        self.discovery_requests.fetch_add(1, Ordering::SeqCst);
        self.fault().await
    }

    /// Counts the JWKS fetch, then applies the faults.
    pub(super) async fn before_jwks(
        &self,
        request: &actix_web::HttpRequest,
    ) -> Option<HttpResponse> {
        self.jwks_requests.fetch_add(1, Ordering::SeqCst);
        if let Some(traceparent) = request
            .headers()
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            && let Ok(mut seen) = self.jwks_traceparents.write()
        {
            seen.push(traceparent.to_owned());
        }
        self.fault().await
    }

    /// Overrides the discovery members a test announced.
    pub(super) fn announce_into(&self, document: &mut Value) {
        if let (Value::Object(members), Ok(announced)) = (document, self.announced.read()) {
            for (name, value) in announced.iter() {
                members.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }

    /// The fault switches, applied before every answer.
    async fn fault(&self) -> Option<HttpResponse> {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.is_failing
            .load(Ordering::SeqCst)
            .then(|| HttpResponse::ServiceUnavailable().body("demo IdP is down"))
    }
}

/// The endpoints only tests talk to: a token and a userinfo endpoint with canned answers, and a
/// redirect that a fetch following redirects would take to the JWKS.
pub(super) fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/token", web::post().to(token))
        .route("/userinfo", web::get().to(userinfo))
        .route("/userinfo", web::post().to(userinfo))
        .route(
            "/moved",
            web::route().to(|| async {
                HttpResponse::Found()
                    .insert_header(("location", "/jwks"))
                    .finish()
            }),
        );
}

impl DemoIdp {
    /// Starts on loopback, naming itself `public_issuer` (one that need not resolve, as a public
    /// issuer often doesn't inside a compose network) in its discovery document and tokens.
    pub fn start_behind(keys: &[&IdpKey], public_issuer: &str) -> std::io::Result<DemoIdp> {
        DemoIdp::start_as(keys, |_| public_issuer.to_owned())
    }

    /// Its address on loopback, `http://127.0.0.1:{port}`, whatever issuer it names.
    pub fn loopback_origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port it serves on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Replaces the published JWKS (key rotation).
    pub fn publish(&self, keys: &[&IdpKey]) {
        self.publish_raw(jwks_of(keys));
    }

    /// Publishes any JSON as the JWKS (garbage, oversized, odd keys).
    pub fn publish_raw(&self, document: Value) {
        if let Ok(mut jwks) = self.state.jwks.write() {
            *jwks = document;
        }
    }

    /// Announces `value` for the discovery member `name` (`jwks_uri`, `token_endpoint`, …).
    pub fn announce(&self, name: &str, value: &str) {
        if let Ok(mut announced) = self.state.controls.announced.write() {
            announced.insert(name.to_owned(), value.to_owned());
        }
    }

    /// What the token endpoint answers from now on.
    pub fn answer_token(&self, status: u16, body: &Value) {
        if let Ok(mut slot) = self.state.controls.token_answer.write() {
            *slot = Canned::json(status, body);
        }
    }

    /// What the userinfo endpoint answers from now on.
    pub fn answer_userinfo(&self, status: u16, content_type: &str, body: &str) {
        if let Ok(mut slot) = self.state.controls.userinfo_answer.write() {
            *slot = Canned::userinfo(status, content_type, body);
        }
    }

    /// The body and `Authorization` header of the last token request.
    pub fn last_token_request(&self) -> Option<(String, Option<String>)> {
        self.state
            .controls
            .last_token_request
            .read()
            .ok()
            .and_then(|slot| slot.clone())
    }

    /// While failing, every endpoint but `/mint` answers 503.
    pub fn set_failing(&self, is_failing: bool) {
        self.state
            .controls
            .is_failing
            .store(is_failing, Ordering::SeqCst);
    }

    /// Every answer but `/mint`'s waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.controls.delay_ms.store(millis, Ordering::SeqCst);
    }

    /// The `traceparent` headers its JWKS requests carried, in order.
    pub fn jwks_traceparents(&self) -> Vec<String> {
        self.state
            .controls
            .jwks_traceparents
            .read()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    /// How many times its JWKS has been fetched.
    pub fn jwks_requests(&self) -> usize {
        self.state.controls.jwks_requests.load(Ordering::SeqCst)
    }

    /// How many times its discovery document has been fetched.
    pub fn discovery_requests(&self) -> usize {
        self.state
            .controls
            .discovery_requests
            .load(Ordering::SeqCst)
    }
}

fn canned(answer: &RwLock<Canned>) -> HttpResponse {
    let canned = answer
        .read()
        .map(|canned| canned.clone())
        .unwrap_or_else(|_| Canned::json(500, &Value::Null));
    let status = actix_web::http::StatusCode::from_u16(canned.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(challenge) = canned.challenge {
        response.insert_header((actix_web::http::header::WWW_AUTHENTICATE, challenge));
    }
    response.content_type(canned.content_type).body(canned.body)
}

async fn token(
    state: web::Data<IdpState>,
    request: actix_web::HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(response) = state.controls.fault().await {
        return response;
    }
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if let Ok(mut slot) = state.controls.last_token_request.write() {
        *slot = Some((String::from_utf8_lossy(&body).into_owned(), authorization));
    }
    canned(&state.controls.token_answer)
}

async fn userinfo(state: web::Data<IdpState>) -> HttpResponse {
    if let Some(response) = state.controls.fault().await {
        return response;
    }
    canned(&state.controls.userinfo_answer)
}
