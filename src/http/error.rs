//! The one renderer of refusals: RFC 6749 §5.2 JSON with a fixed description per kind.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::json;

use crate::exchange::ExchangeError;

pub fn render_error(err: &ExchangeError) -> HttpResponse {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    response
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6749 §5.2: a 401 names the scheme the client should authenticate with.
        response.insert_header((WWW_AUTHENTICATE, "Basic realm=\"tokenbridge\""));
    }
    if status == StatusCode::REQUEST_TIMEOUT {
        // RFC 9110 §15.5.9: the rest of a timed-out body may still come, so the connection
        // can't carry another request; it closes after this answer.
        response.force_close();
    }
    if let Some(seconds) = err.retry_after_secs() {
        response.insert_header((RETRY_AFTER, seconds.to_string()));
    }
    response.json(json!({
        "error": err.code().as_str(),
        "error_description": err.public_description(),
    }))
}
