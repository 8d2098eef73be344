//! The actix-web adapter, kept thin: routes, body bounds, and rendering. No protocol logic.

mod body;
mod client_address;
mod credentials;
mod current;
mod error;
mod exchange;
mod front;
mod health;
pub(crate) mod listener;
mod metrics;
mod proxy_protocol;
pub(crate) mod request_id;
pub(crate) mod well_known;

use actix_web::{HttpResponse, web};

pub(crate) use error::{EdgeError, exchange_status, render_error};

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .service(resource("/exchange", "POST").route(web::post().to(exchange::exchange)))
        .service(resource("/.well-known/jwks.json", "GET").route(web::get().to(well_known::jwks)))
        .service(
            resource("/.well-known/encryption-keys.json", "GET")
                .route(web::get().to(well_known::encryption_keys)),
        )
        .service(
            resource("/encryption-key.pem", "GET")
                .route(web::get().to(well_known::encryption_certificate)),
        )
        .service(
            resource("/.well-known/openid-configuration", "GET")
                .route(web::get().to(well_known::discovery)),
        )
        .service(
            resource("/.well-known/oauth-authorization-server", "GET")
                .route(web::get().to(well_known::discovery)),
        )
        .service(
            resource("/front/{client}/.well-known/openid-configuration", "GET")
                .route(web::get().to(front::discovery)),
        )
        .service(
            resource("/front/{client}/authorize", "GET").route(web::get().to(front::authorize)),
        )
        .service(resource("/front/{client}/callback", "GET").route(web::get().to(front::callback)))
        .service(resource("/front/{client}/token", "POST").route(web::post().to(front::token)))
        .service(
            resource("/front/{client}/userinfo", "GET, POST")
                .route(web::get().to(front::userinfo))
                .route(web::post().to(front::userinfo)),
        )
        .service(
            resource("/front/{client}/logout", "GET, POST")
                .route(web::get().to(front::logout))
                .route(web::post().to(front::logout)),
        )
        .service(
            resource("/front/{client}/logout/callback", "GET")
                .route(web::get().to(front::logout_callback)),
        )
        .service(
            resource("/front/{client}/backchannel-logout", "POST")
                .route(web::post().to(front::backchannel_logout)),
        )
        .service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)));
}

/// `/metrics`, on the main listener when `telemetry.metrics_on_main_port` says so.
pub(crate) fn metrics_route(config: &mut web::ServiceConfig) {
    config.service(resource("/metrics", "GET").route(web::get().to(metrics::metrics)));
}

/// The telemetry listener's routes (`telemetry.listen`): the scrape and the probes, nothing a
/// client or relying party calls.
pub(crate) fn telemetry_routes(config: &mut web::ServiceConfig) {
    metrics_route(config);
    config
        .service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)));
}

/// A path whose other methods get 405 with `Allow: allow` (RFC 9110 §15.5.6), not a bare 404.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || method_not_allowed(allow)))
}

async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    render_error(&EdgeError::MethodNotAllowed(allow))
}
