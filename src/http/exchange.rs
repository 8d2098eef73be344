//! `POST /exchange`: read the bounded body, authenticate, run the use case, answer, audit.

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::body::read_body;
use super::credentials::client_credentials;
use super::current::CurrentState;
use super::error::{EdgeError, no_store, render_error};
use crate::exchange::{
    self, AuditEvent, AuditedRefusal, ExchangeRequest, Issued, RequestParams, Trace, record_audit,
};
use crate::state::AppState;

pub(super) async fn exchange(
    state: CurrentState,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let state = state.into_inner();
    let mut trace = Trace::default();
    let mut client_id = None;
    let outcome = handle(&state, &request, payload, &mut trace, &mut client_id).await;
    let audited = match &outcome {
        Ok(_) => Ok(()),
        Err(err) => Err(AuditedRefusal {
            code: err.code(),
            reason: err,
        }),
    };
    record_audit(AuditEvent::Exchange, client_id.as_deref(), &trace, audited);
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
) -> Result<Issued, EdgeError> {
    let pipeline = &state.pipeline;
    let body = read_body(request, payload, &pipeline.limits).await?;
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
        _ => return Err(EdgeError::UnsupportedMediaType),
    };
    let address = request.peer_addr().map(|peer| peer.ip());
    let now = pipeline.clock.monotonic();
    if let Some(address) = address {
        state.failed_auth.check(address, now)?;
    }
    let authenticated = client_credentials(request, &params).and_then(|credentials| {
        *client_id = Some(credentials.client_id.clone());
        Ok(state.clients.authenticate(&credentials)?)
    });
    let client = match authenticated {
        Ok(client) => {
            super::request_id::record_client(&client.config.id);
            client
        }
        Err(err) => {
            if let Some(address) = address {
                state.failed_auth.record_failure(address, now);
            }
            return Err(err.into());
        }
    };
    client.bucket.take(pipeline.clock.monotonic())?;
    let exchange_request = ExchangeRequest::parse(&params, is_form)?;
    Ok(exchange::exchange(pipeline, &client, exchange_request, trace).await?)
}

fn success(issued: &Issued) -> HttpResponse {
    no_store(&mut HttpResponse::Ok()).json(json!({
        "access_token": issued.access_token,
        "issued_token_type": issued.issued_token_type.urn(),
        "token_type": issued.issued_token_type.oauth_token_type(),
        "expires_in": issued.expires_in,
    }))
}
