//! `tokenbridge explain`: the operator's view of one exchange. It runs every step but the
//! signature on a token, with the keys given (or fetched once), and says what each check found,
//! precisely, including what the HTTP error hides from callers.

use std::io::Write;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::app::{StartError, build_offline_state};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::exchange::{ExchangeRequest, Trace, decide};
use crate::jose::compact::header_text;
use crate::oauth::TokenType;

/// What `tokenbridge explain` was asked about.
pub struct ExplainRequest {
    /// The client id the exchange would be made as.
    pub client: String,
    /// The subject token (compact JWS or JWE).
    pub token: String,
    /// Its `subject_token_type`.
    pub token_type: TokenType,
    /// The `audience` parameter, if any.
    pub audience: Option<String>,
    /// The upstream's JWKS, given instead of fetched (offline).
    pub jwks: Option<Map<String, Value>>,
}

/// Why there is no report (a refused token is a report, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The config or the keys could not be loaded.
    #[error("{0}")]
    Start(#[from] StartError),
    /// `--client` names no configured client.
    #[error("client {0:?} is not configured")]
    UnknownClient(String),
    /// `--jwks` is not a usable key set.
    #[error("the given JWKS is unusable: {0}")]
    Jwks(String),
    /// The report could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes the report to `out`; returns whether the token would be exchanged.
pub async fn explain(
    config: Config,
    request: ExplainRequest,
    out: &mut impl Write,
) -> Result<bool, ExplainError> {
    let state = Arc::new(build_offline_state(&config, SystemClock::shared())?);
    let client = state
        .clients
        .by_id_unauthenticated(&request.client)
        .ok_or_else(|| ExplainError::UnknownClient(request.client.clone()))?;
    let pipeline = &state.pipeline;
    for upstream in pipeline.upstreams.all() {
        if !client.config.upstreams.contains(&upstream.config.name) {
            continue;
        }
        match &request.jwks {
            Some(jwks) => {
                upstream
                    .jwks
                    .install(jwks)
                    .map_err(|err| ExplainError::Jwks(err.to_string()))?;
                writeln!(out, "keys of upstream {:?}: as given", upstream.config.name)?;
            }
            None => match upstream.jwks.refresh().await {
                Ok(set) => writeln!(
                    out,
                    "keys of upstream {:?}: fetched, {} usable",
                    upstream.config.name,
                    set.len()
                )?,
                Err(err) => writeln!(
                    out,
                    "keys of upstream {:?}: fetch failed: {err}",
                    upstream.config.name
                )?,
            },
        }
    }

    let token = request.token.trim().to_owned();
    writeln!(
        out,
        "token: {} parts, header {}",
        token.split('.').count(),
        header_text(&token).unwrap_or_else(|| "(not base64url)".into())
    )?;
    let exchange_request = ExchangeRequest {
        subject_token: token,
        subject_token_type: request.token_type,
        audience: request.audience,
        requested_token_type: None,
    };
    let mut trace = Trace::explaining();
    let outcome = decide(pipeline, &client, exchange_request, &mut trace).await;
    if let Some((header, claims)) = &trace.received {
        writeln!(out, "nested JWS header: {header}")?;
        writeln!(out, "claims received:\n{}", pretty(claims))?;
    }
    writeln!(out, "checks:")?;
    for step in trace.steps.iter().flatten() {
        writeln!(out, "  ok      {}: {}", step.check, step.verdict)?;
    }
    match outcome {
        Ok(decision) => {
            writeln!(
                out,
                "result: would issue a {} signed with {} (typ {}), expires in {} s",
                decision.issued_token_type.urn(),
                decision.alg.name(),
                decision.typ,
                decision.expires_in
            )?;
            writeln!(
                out,
                "claims that would be issued (iat, exp, jti are made at issue):\n{}",
                pretty(&decision.claims)
            )?;
            Ok(true)
        }
        Err(err) => {
            writeln!(out, "  REFUSED {err}")?;
            writeln!(
                out,
                "result: refused; the caller would get {} {}",
                crate::http::exchange_status(&err).as_u16(),
                err.code().as_str()
            )?;
            Ok(false)
        }
    }
}

fn pretty(claims: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(claims).unwrap_or_default()
}
