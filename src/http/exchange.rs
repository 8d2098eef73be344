//! `POST /exchange`: read the bounded body, authenticate, run the use case, answer, audit.

use std::sync::Arc;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::body::read_body;
use super::credentials::client_credentials;
use super::error::render_error;
use crate::exchange::{self, ExchangeError, ExchangeRequest, Issued, RequestParams, Trace};
use crate::state::AppState;

pub async fn exchange(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let state = state.into_inner();
    let mut trace = Trace::default();
    let mut client_id = None;
    let outcome = handle(&state, &request, payload, &mut trace, &mut client_id).await;
    let original_aud = trace.original_aud.join(" ");
    match &outcome {
        Ok(_) => tracing::info!(
            target: "tokenbridge::audit",
            outcome = "issued",
            client = client_id.as_deref().unwrap_or(""),
            upstream = trace.upstream.as_deref().unwrap_or(""),
            sub = trace.sub.as_deref().unwrap_or(""),
            original_aud,
            chosen_aud = trace.chosen_aud.as_deref().unwrap_or(""),
            jti = trace.jti.as_deref().unwrap_or(""),
            token = trace.token.as_deref().unwrap_or(""),
            "exchange"
        ),
        Err(err) => tracing::info!(
            target: "tokenbridge::audit",
            outcome = "refused",
            error = err.code().as_str(),
            reason = %err,
            client = client_id.as_deref().unwrap_or(""),
            upstream = trace.upstream.as_deref().unwrap_or(""),
            sub = trace.sub.as_deref().unwrap_or(""),
            original_aud,
            token = trace.token.as_deref().unwrap_or(""),
            "exchange"
        ),
    }
    match outcome {
        Ok(issued) => success(&issued),
        Err(err) => render_error(&err),
    }
}

async fn handle(
    state: &Arc<AppState>,
    request: &HttpRequest,
    payload: web::Payload,
    trace: &mut Trace,
    client_id: &mut Option<String>,
) -> Result<Issued, ExchangeError> {
    let body = read_body(request, payload, &state.limits).await?;
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (params, is_form) = match media_type.as_str() {
        "application/x-www-form-urlencoded" => (RequestParams::from_form(&body)?, true),
        "application/json" => (RequestParams::from_json(&body)?, false),
        _ => return Err(ExchangeError::UnsupportedMediaType),
    };
    let address = request.peer_addr().map(|peer| peer.ip());
    let now = state.clock.monotonic();
    if let Some(address) = address {
        state.failed_auth.check(address, now)?;
    }
    let authenticated = client_credentials(request, &params).and_then(|credentials| {
        *client_id = Some(credentials.client_id.clone());
        Ok(state.clients.authenticate(&credentials)?)
    });
    let client = match authenticated {
        Ok(client) => client,
        Err(err) => {
            if let Some(address) = address {
                state.failed_auth.record_failure(address, now);
            }
            return Err(err);
        }
    };
    client.bucket.take(state.clock.monotonic())?;
    let exchange_request = ExchangeRequest::parse(&params, is_form)?;
    exchange::exchange(state, &client, exchange_request, trace).await
}

fn success(issued: &Issued) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .json(json!({
            "access_token": issued.access_token,
            "issued_token_type": issued.issued_token_type.urn(),
            "token_type": issued.issued_token_type.oauth_token_type(),
            "expires_in": issued.expires_in,
        }))
}
