//! A small identity provider on loopback: an OpenID discovery document and a JWKS. It also serves
//! freshly minted tokens at `/mint/{name}`, so the demo's curl commands always have an unexpired
//! token. What only tests need (faults, counters, canned answers) is in `test_controls`.

#[cfg(feature = "test-util")]
mod test_controls;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, RwLock};

use actix_web::dev::ServerHandle;
use actix_web::{HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use super::mint::IdpKey;
#[cfg(feature = "test-util")]
pub use test_controls::USERINFO_CHALLENGE;

type Minter = Box<dyn Fn() -> Option<String> + Send + Sync>;

struct IdpState {
    issuer: String,
    jwks: RwLock<Value>,
    minters: RwLock<HashMap<String, Minter>>,
    #[cfg(feature = "test-util")]
    controls: test_controls::Controls,
}

/// A running demo IdP. Stops when dropped.
pub struct DemoIdp {
    state: Arc<IdpState>,
    #[cfg(feature = "test-util")]
    port: u16,
    handle: ServerHandle,
}

impl DemoIdp {
    /// Starts on 127.0.0.1 with an ephemeral port, publishing `keys`. Needs a tokio runtime.
    pub fn start(keys: &[&IdpKey]) -> std::io::Result<DemoIdp> {
        DemoIdp::start_as(keys, |port| format!("http://127.0.0.1:{port}"))
    }

    /// Starts on 127.0.0.1 with an ephemeral port, naming itself `issuer_at(port)` in its
    /// discovery document and tokens.
    fn start_as(
        keys: &[&IdpKey],
        issuer_at: impl FnOnce(u16) -> String,
    ) -> std::io::Result<DemoIdp> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(IdpState {
            issuer: issuer_at(port),
            jwks: RwLock::new(jwks_of(keys)),
            minters: RwLock::new(HashMap::new()),
            #[cfg(feature = "test-util")]
            controls: test_controls::Controls::default(),
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            let app = actix_web::App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/mint/{name}", web::get().to(mint));
            #[cfg(feature = "test-util")]
            let app = app.configure(test_controls::routes);
            app
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
            #[cfg(feature = "test-util")]
            port,
            handle,
        })
    }

    /// `http://127.0.0.1:{port}` (unless started under another name), the `iss` of its tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The JWKS it publishes now.
    pub fn jwks(&self) -> Value {
        self.state
            .jwks
            .read()
            .map(|jwks| jwks.clone())
            .unwrap_or(Value::Null)
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

    /// Stops serving; in-flight requests finish first.
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

async fn discovery(state: web::Data<IdpState>) -> HttpResponse {
    #[cfg(feature = "test-util")]
    if let Some(response) = state.controls.before_discovery().await {
        return response;
    }
    let issuer = &state.issuer;
    #[cfg_attr(not(feature = "test-util"), allow(unused_mut))]
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
    #[cfg(feature = "test-util")]
    state.controls.announce_into(&mut document);
    HttpResponse::Ok().json(document)
}

async fn jwks(state: web::Data<IdpState>, request: actix_web::HttpRequest) -> HttpResponse {
    #[cfg(not(feature = "test-util"))]
    let _ = request;
    #[cfg(feature = "test-util")]
    if let Some(response) = state.controls.before_jwks(&request).await {
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
