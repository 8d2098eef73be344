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
    /// A `jwks_uri` to announce instead of the IdP's own.
    jwks_uri: RwLock<Option<String>>,
    is_failing: AtomicBool,
    delay_ms: AtomicU64,
    jwks_requests: AtomicUsize,
    discovery_requests: AtomicUsize,
    minters: RwLock<HashMap<String, Minter>>,
}

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
            jwks_uri: RwLock::new(None),
            is_failing: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            jwks_requests: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            minters: RwLock::new(HashMap::new()),
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
                // For tests: a fetch that follows redirects would end up at the JWKS.
                .route(
                    "/moved",
                    web::get().to(|| async {
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

    /// Announces `uri` as the `jwks_uri` in discovery (a key source elsewhere).
    pub fn announce_jwks_uri(&self, uri: &str) {
        if let Ok(mut slot) = self.state.jwks_uri.write() {
            *slot = Some(uri.to_owned());
        }
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
    let jwks_uri = state
        .jwks_uri
        .read()
        .ok()
        .and_then(|uri| uri.clone())
        .unwrap_or_else(|| format!("{issuer}/jwks"));
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
    }))
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
