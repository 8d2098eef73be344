//! Published documents: key sets, the encryption certificate, discovery. All rendered at start;
//! the key sets and the certificate as the key schedule has them at the request's moment.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use serde_json::json;

use super::current::CurrentState;
use super::error::{EdgeError, render_error};
use crate::jose::alg::JwsAlg;
use crate::oauth::GRANT_TYPE_TOKEN_EXCHANGE;
use crate::state::AppState;

/// The discovery document (OIDC Discovery §3, RFC 8414 §2). Every URL is built from the
/// configured issuer, never from the request's Host header.
pub(crate) fn discovery_document(issuer: &str, signing_algs: &[JwsAlg]) -> String {
    let mut algs: Vec<&str> = signing_algs.iter().map(|alg| alg.name()).collect();
    // RS256 first: OIDC Core §15.1 makes it the one every relying party must accept.
    algs.sort_by_key(|name| *name != "RS256");
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}/exchange"),
        "grant_types_supported": [GRANT_TYPE_TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": algs,
        "response_types_supported": [],
        "subject_types_supported": ["public"],
    })
    .to_string()
}

fn cacheable(state: &AppState, content_type: &'static str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((
            CACHE_CONTROL,
            format!(
                "public, max-age={}",
                state.pipeline.limits.jwks_max_age.as_secs()
            ),
        ))
        .body(body)
}

pub(crate) async fn jwks(state: CurrentState) -> HttpResponse {
    cacheable(
        &state,
        "application/jwk-set+json",
        state
            .pipeline
            .key_ring
            .signing_jwks(state.pipeline.clock.now())
            .to_owned(),
    )
}

pub(crate) async fn encryption_keys(state: CurrentState) -> HttpResponse {
    cacheable(
        &state,
        "application/jwk-set+json",
        state
            .pipeline
            .key_ring
            .encryption_jwks(state.pipeline.clock.now())
            .to_owned(),
    )
}

pub(crate) async fn encryption_certificate(state: CurrentState) -> HttpResponse {
    let now = state.pipeline.clock.now();
    match state.pipeline.key_ring.encryption_certificate(now) {
        Some(pem) => cacheable(&state, "application/x-pem-file", pem.to_owned()),
        None => render_error(&EdgeError::NoEncryptionCertificate),
    }
}

pub(crate) async fn discovery(state: CurrentState) -> HttpResponse {
    cacheable(&state, "application/json", state.discovery.clone())
}
