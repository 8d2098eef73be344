//! The audit line: one per exchange, and one per token a front passes through the pipeline,
//! written here only, from the trace, so every line carries the same fields.

use std::fmt::Display;

use super::{ExchangeError, Trace};
use crate::oauth::ErrorCode;

/// A refusal as the audit line shows it: the RFC code the caller got, and the precise reason.
#[derive(Clone, Copy)]
pub struct AuditedRefusal<'a> {
    /// The `error` the caller got.
    pub code: ErrorCode,
    /// Why, precisely: for the log only.
    pub reason: &'a dyn Display,
}

impl<'a> From<&'a ExchangeError> for AuditedRefusal<'a> {
    fn from(err: &'a ExchangeError) -> Self {
        AuditedRefusal {
            code: err.code(),
            reason: err,
        }
    }
}

/// What was asked for: an exchange at `/exchange`, or a front's token endpoint.
#[derive(Debug, Clone, Copy)]
pub enum AuditEvent<'a> {
    /// `POST /exchange`.
    Exchange,
    /// A front's token endpoint passing the IdP's tokens through the pipeline.
    FrontToken {
        /// The front's client id.
        front: &'a str,
    },
}

/// Writes the audit line. `client` is the client id as presented (authenticated or not, so a
/// failed authentication is attributed); every value is escaped by the log layer.
pub fn record_audit(
    event: AuditEvent<'_>,
    client: Option<&str>,
    trace: &Trace,
    outcome: Result<(), AuditedRefusal<'_>>,
) {
    let (message, front) = match event {
        AuditEvent::Exchange => ("exchange", ""),
        AuditEvent::FrontToken { front } => ("front token", front),
    };
    let original_aud = trace.original_aud.join(" ");
    let (upstream, sub, chosen_aud, jti, token) = (
        text(&trace.upstream),
        text(&trace.sub),
        text(&trace.chosen_aud),
        text(&trace.jti),
        text(&trace.token_fingerprint),
    );
    let client = client.unwrap_or("");
    let source = trace
        .source
        .map_or_else(String::new, |address| address.to_string());
    match outcome {
        Ok(()) => tracing::info!(
            target: "tokenbridge::audit",
            outcome = "issued",
            source,
            client,
            front,
            upstream,
            sub,
            original_aud,
            chosen_aud,
            jti,
            token,
            cached = trace.is_cached,
            "{message}"
        ),
        Err(refusal) => tracing::info!(
            target: "tokenbridge::audit",
            outcome = "refused",
            error = refusal.code.as_str(),
            reason = %refusal.reason,
            source,
            client,
            front,
            upstream,
            sub,
            original_aud,
            token,
            cached = trace.is_cached,
            "{message}"
        ),
    }
}

fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}
