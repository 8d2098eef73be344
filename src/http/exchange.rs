//! `POST /exchange`: read the bounded body, authenticate, run the use case, answer, audit.

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::body::read_body;
use super::client_address::client_address;
use super::credentials::client_credentials;
use super::current::CurrentState;
use super::error::{EdgeError, no_store, render_error};
use crate::clients::Client;
use crate::exchange::{
    self, AuditEvent, AuditedRefusal, ExchangeRequest, Issued, RequestParams, Trace, record_audit,
};
use crate::metrics::ExchangeOutcome;
use crate::state::AppState;

/// Who an exchange is attributed to: the client id as presented (the audit line's, so a failed
/// authentication is attributed) and the client it proved to be (the metrics', whose labels
/// must come from the config).
#[derive(Default)]
struct Caller {
    presented_id: Option<String>,
    client: Option<Arc<Client>>,
}

pub(super) async fn exchange(
    state: CurrentState,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let state = state.into_inner();
    let started = state.pipeline.clock.monotonic();
    let mut trace = Trace::default();
    let mut caller = Caller::default();
    let outcome = handle(&state, &request, payload, &mut trace, &mut caller).await;
    let audited = match &outcome {
        Ok(_) => Ok(()),
        Err(err) => Err(AuditedRefusal {
            code: err.code(),
            reason: err,
        }),
    };
    record_audit(
        AuditEvent::Exchange,
        caller.presented_id.as_deref(),
        &trace,
        audited,
    );
    let pipeline = &state.pipeline;
    let upstream = trace
        .upstream
        .as_deref()
        .and_then(|issuer| pipeline.upstreams.by_issuer(issuer));
    pipeline.metrics.exchange(&ExchangeOutcome {
        client: caller
            .client
            .as_ref()
            .map_or("", |client| &client.config.id),
        upstream: upstream.map_or("", |upstream| &upstream.config.name),
        error: outcome.as_ref().err().map(|err| err.code().as_str()),
        duration: pipeline.clock.monotonic().saturating_sub(started),
    });
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
    caller: &mut Caller,
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
    let address = client_address(request, &state.trusted_proxies);
    trace.source = address;
    let now = pipeline.clock.monotonic();
    if let Some(address) = address
        && let Err(blocked) = state.failed_auth.check(address, now)
    {
        pipeline.metrics.failed_auth_blocked();
        return Err(blocked.into());
    }
    let authenticated = client_credentials(request, &params).and_then(|credentials| {
        caller.presented_id = Some(credentials.client_id.clone());
        Ok(state.clients.authenticate(&credentials)?)
    });
    let client = match authenticated {
        Ok(client) => {
            super::request_id::record_client(&client.config.id);
            client
        }
        Err(err) => {
            pipeline.metrics.failed_authentication();
            if let Some(address) = address {
                state.failed_auth.record_failure(address, now);
            }
            return Err(err.into());
        }
    };
    caller.client = Some(client.clone());
    if let Err(limited) = client.bucket.take(pipeline.clock.monotonic()) {
        pipeline.metrics.rate_limited(&client.config.id);
        return Err(limited.into());
    }
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
