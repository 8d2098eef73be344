//! A small identity provider on loopback: an OpenID discovery document and a JWKS, with the faults
//! tests need (down, slow, rotated keys) and counters of what was fetched. It also serves freshly
//! minted tokens at `/mint/{name}`, so the demo's curl commands always have an unexpired token.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use super::mint::IdpKey;

type Minter = Box<dyn Fn() -> Option<String> + Send + Sync>;

struct IdpState {
    issuer: String,
    jwks: RwLock<Value>,
    /// Discovery members to announce instead of the IdP's own (a key source elsewhere, an
    /// endpoint on another host).
    announced: RwLock<HashMap<String, String>>,
    is_failing: AtomicBool,
    delay_ms: AtomicU64,
    jwks_requests: AtomicUsize,
    discovery_requests: AtomicUsize,
    minters: RwLock<HashMap<String, Minter>>,
    /// What `/token` and `/userinfo` answer: status, content type, body.
    token_answer: RwLock<Canned>,
    userinfo_answer: RwLock<Canned>,
    /// The last request `/token` got: its body and `Authorization` header.
    last_token_request: RwLock<Option<(String, Option<String>)>>,
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

/// What the demo IdP's userinfo endpoint says with a 401.
pub const USERINFO_CHALLENGE: &str = r#"Bearer realm="demo-idp", error="invalid_token""#;

/// A running demo IdP. Stops when dropped.
pub struct DemoIdp {
    state: Arc<IdpState>,
    port: u16,
    handle: ServerHandle,
}

impl DemoIdp {
    /// Starts on 127.0.0.1 with an ephemeral port, publishing `keys`. Needs a tokio runtime.
    pub fn start(keys: &[&IdpKey]) -> std::io::Result<DemoIdp> {
        DemoIdp::start_on(0, keys)
    }

    pub fn start_on(port: u16, keys: &[&IdpKey]) -> std::io::Result<DemoIdp> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(IdpState {
            issuer: format!("http://127.0.0.1:{port}"),
            jwks: RwLock::new(jwks_of(keys)),
            announced: RwLock::new(HashMap::new()),
            is_failing: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            jwks_requests: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            minters: RwLock::new(HashMap::new()),
            token_answer: RwLock::new(Canned::json(400, &json!({"error": "invalid_grant"}))),
            userinfo_answer: RwLock::new(Canned::userinfo(
                401,
                "application/json",
                r#"{"error":"invalid_token"}"#,
            )),
            last_token_request: RwLock::new(None),
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/mint/{name}", web::get().to(mint))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
                .route("/userinfo", web::post().to(userinfo))
                // For tests: a fetch that follows redirects would end up at the JWKS.
                .route(
                    "/moved",
                    web::route().to(|| async {
                        HttpResponse::Found()
                            .insert_header(("location", "/jwks"))
                            .finish()
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(DemoIdp {
            state,
            port,
            handle,
        })
    }

    /// `http://127.0.0.1:{port}`, the `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JWKS it publishes now.
    pub fn jwks(&self) -> Value {
        self.state
            .jwks
            .read()
            .map(|jwks| jwks.clone())
            .unwrap_or(Value::Null)
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
        if let Ok(mut announced) = self.state.announced.write() {
            announced.insert(name.to_owned(), value.to_owned());
        }
    }

    /// What the token endpoint answers from now on.
    pub fn answer_token(&self, status: u16, body: &Value) {
        if let Ok(mut slot) = self.state.token_answer.write() {
            *slot = Canned::json(status, body);
        }
    }

    /// What the userinfo endpoint answers from now on.
    pub fn answer_userinfo(&self, status: u16, content_type: &str, body: &str) {
        if let Ok(mut slot) = self.state.userinfo_answer.write() {
            *slot = Canned::userinfo(status, content_type, body);
        }
    }

    /// The body and `Authorization` header of the last token request.
    pub fn last_token_request(&self) -> Option<(String, Option<String>)> {
        self.state
            .last_token_request
            .read()
            .ok()
            .and_then(|slot| slot.clone())
    }

    /// While failing, every endpoint answers 503.
    pub fn set_failing(&self, is_failing: bool) {
        self.state.is_failing.store(is_failing, Ordering::SeqCst);
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_ms.store(millis, Ordering::SeqCst);
    }

    pub fn jwks_requests(&self) -> usize {
        self.state.jwks_requests.load(Ordering::SeqCst)
    }

    pub fn discovery_requests(&self) -> usize {
        self.state.discovery_requests.load(Ordering::SeqCst)
    }

    /// Serves `minter()`'s token at `GET /mint/{name}`.
    pub fn add_minter(
        &self,
        name: &str,
        minter: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) {
        if let Ok(mut minters) = self.state.minters.write() {
            minters.insert(name.to_owned(), Box::new(minter));
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

impl Drop for DemoIdp {
    fn drop(&mut self) {
        // Dropping the stop future would cancel it; let the runtime finish it.
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

fn jwks_of(keys: &[&IdpKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.public_jwk().clone()).collect::<Vec<_>>() })
}

/// The fault switches, applied before every answer.
async fn fault(state: &IdpState) -> Option<HttpResponse> {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    state
        .is_failing
        .load(Ordering::SeqCst)
        .then(|| HttpResponse::ServiceUnavailable().body("demo IdP is down"))
}

async fn discovery(state: web::Data<IdpState>) -> HttpResponse {
    state.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = fault(&state).await {
        return response;
    }
    let issuer = &state.issuer;
    let mut document = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
    });
    if let (Value::Object(members), Ok(announced)) = (&mut document, state.announced.read()) {
        for (name, value) in announced.iter() {
            members.insert(name.clone(), Value::String(value.clone()));
        }
    }
    HttpResponse::Ok().json(document)
}

async fn jwks(state: web::Data<IdpState>) -> HttpResponse {
    state.jwks_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = fault(&state).await {
        return response;
    }
    let document = state
        .jwks
        .read()
        .map(|jwks| jwks.clone())
        .unwrap_or(Value::Null);
    HttpResponse::Ok().json(document)
}

async fn mint(state: web::Data<IdpState>, name: web::Path<String>) -> HttpResponse {
    let token = state
        .minters
        .read()
        .ok()
        .and_then(|minters| minters.get(name.as_str()).and_then(|minter| minter()));
    match token {
        Some(token) => HttpResponse::Ok().content_type("text/plain").body(token),
        None => HttpResponse::NotFound().body("no such token"),
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
    if let Some(response) = fault(&state).await {
        return response;
    }
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if let Ok(mut slot) = state.last_token_request.write() {
        *slot = Some((String::from_utf8_lossy(&body).into_owned(), authorization));
    }
    canned(&state.token_answer)
}

async fn userinfo(state: web::Data<IdpState>) -> HttpResponse {
    if let Some(response) = fault(&state).await {
        return response;
    }
    canned(&state.userinfo_answer)
}
