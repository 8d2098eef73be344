//! The actix-web adapter, kept thin: routes, body caps, and rendering. No protocol logic.

mod credentials;
mod error;
mod exchange;
mod front;
mod health;
pub mod well_known;

use actix_web::{HttpResponse, web};

pub use error::render_error;

use crate::exchange::ExchangeError;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/exchange")
                .route(web::post().to(exchange::exchange))
                .default_service(web::to(method_not_allowed)),
        )
        .route("/.well-known/jwks.json", web::get().to(well_known::jwks))
        .route(
            "/.well-known/encryption-keys.json",
            web::get().to(well_known::encryption_keys),
        )
        .route(
            "/encryption-key.pem",
            web::get().to(well_known::encryption_certificate),
        )
        .route(
            "/.well-known/openid-configuration",
            web::get().to(well_known::discovery),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(well_known::discovery),
        )
        .route(
            "/front/{client}/.well-known/openid-configuration",
            web::get().to(front::discovery),
        )
        .route("/front/{client}/token", web::post().to(front::token))
        .route(
            "/front/{client}/userinfo",
            web::route()
                .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Post()))
                .to(front::userinfo),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz));
}

async fn method_not_allowed() -> HttpResponse {
    let mut response = render_error(&ExchangeError::MethodNotAllowed);
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("POST"),
    );
    response
}
