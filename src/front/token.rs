//! `POST {front}/token`: the relying party's code or refresh grant, forwarded to the IdP with its
//! own client authentication and PKCE verifier; the ID token in the answer goes through the
//! exchange pipeline and comes back single-audience, re-signed, with `iss` the front's.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::relay::relayed_token_request;
use super::{Forwarder, Front, FrontOutcome, FrontRefusal, RelyingPartyRequest};
use crate::config::FrontMode;
use crate::exchange::{
    AuditEvent, AuditedRefusal, Decision, ExchangeError, ExchangeRequest, Pipeline, TokenError,
    Trace, decide_as, record_audit, sign,
};
use crate::jose::token_hash::left_half_hash;
use crate::oauth::TokenType;

const GRANTS: [&str; 2] = ["authorization_code", "refresh_token"];

pub(crate) async fn token(
    pipeline: &Arc<Pipeline>,
    forwarder: &Forwarder,
    front: &Front,
    body: Vec<u8>,
    authorization: Option<&str>,
    source: Option<IpAddr>,
) -> FrontOutcome {
    let grant_type = form_value(&body, "grant_type");
    if !grant_type
        .as_deref()
        .is_some_and(|grant| GRANTS.contains(&grant))
    {
        return FrontOutcome::Refused(FrontRefusal::UnsupportedGrantType);
    }
    // The IdP bound a relayed code to the front's callback, not to the RP's redirect_uri.
    let body = if front.config.mode == FrontMode::Relay {
        let is_code_grant = grant_type.as_deref() == Some("authorization_code");
        match relayed_token_request(front, &body, is_code_grant) {
            Some(body) => body,
            None => {
                tracing::info!(front = %front.config.client, "token: redirect_uri is missing, repeated or not one of the front's");
                return FrontOutcome::Refused(FrontRefusal::RedirectUriMismatch);
            }
        }
    } else {
        body
    };
    let request = RelyingPartyRequest {
        is_post: true,
        body,
        content_type: Some("application/x-www-form-urlencoded"),
        authorization,
    };
    let max_bytes = pipeline.limits.max_body_bytes;
    let forwarded = match front
        .forward(
            forwarder,
            &pipeline.metrics,
            max_bytes,
            "token_endpoint",
            request,
        )
        .await
    {
        Ok(forwarded) => forwarded,
        Err(refusal) => return FrontOutcome::Refused(refusal),
    };
    // The IdP's refusals (invalid_grant, invalid_client, …) reach the relying party unchanged.
    let tokens = match serde_json::from_slice::<Value>(&forwarded.body) {
        Ok(Value::Object(tokens)) if forwarded.status == 200 => tokens,
        _ => return FrontOutcome::PassedOn(forwarded),
    };
    let mut trace = Trace {
        source,
        ..Trace::default()
    };
    let normalised = normalised(pipeline, front, tokens, &mut trace).await;
    let event = AuditEvent::FrontToken {
        front: &front.config.client,
    };
    record_audit(
        event,
        Some(&front.client.config.id),
        &trace,
        normalised
            .as_ref()
            .map(|_| ())
            .map_err(AuditedRefusal::from),
    );
    match normalised {
        Ok(tokens) => FrontOutcome::Json(tokens),
        Err(ExchangeError::KeysUnavailable(_)) => {
            FrontOutcome::Refused(FrontRefusal::IdpKeysUnavailable)
        }
        Err(_) => FrontOutcome::Refused(FrontRefusal::TokensRefused),
    }
}

/// The IdP's token response with its ID token (and, when configured, its access token) passed
/// through the pipeline, and `at_hash` recomputed for the access token returned. `trace` is the
/// ID token's, for the audit line.
async fn normalised(
    pipeline: &Arc<Pipeline>,
    front: &Front,
    mut tokens: Map<String, Value>,
    trace: &mut Trace,
) -> Result<Map<String, Value>, ExchangeError> {
    if front.config.is_access_token_normalized
        && let Some(access_token) = tokens.get("access_token").and_then(Value::as_str)
        && looks_like_jwt(access_token)
    {
        let mut access_trace = Trace::default();
        let decision = decide_for_front(
            pipeline,
            front,
            access_token,
            TokenType::AccessToken,
            &mut access_trace,
        )
        .await?;
        tracing::debug!(front = %front.config.client, token = access_trace.token_fingerprint.as_deref().unwrap_or(""), "front normalised an access token");
        let signed = sign(pipeline, decision.alg, decision.typ, decision.claims).await?;
        tokens.insert("access_token".into(), Value::String(signed));
    }
    let Some(id_token) = tokens.get("id_token").and_then(Value::as_str) else {
        return Ok(tokens);
    };
    let mut decision =
        decide_for_front(pipeline, front, id_token, TokenType::IdToken, trace).await?;
    if let Some(access_token) = tokens.get("access_token").and_then(Value::as_str) {
        let at_hash = left_half_hash(decision.alg, access_token);
        decision
            .claims
            .insert("at_hash".into(), Value::String(at_hash));
    }
    let signed = sign(pipeline, decision.alg, decision.typ, decision.claims).await?;
    tokens.insert("id_token".into(), Value::String(signed));
    Ok(tokens)
}

/// Every step but the signature, as the front's client and issuer, for a token from the front's
/// own upstream.
async fn decide_for_front(
    pipeline: &Arc<Pipeline>,
    front: &Front,
    token: &str,
    token_type: TokenType,
    trace: &mut Trace,
) -> Result<Decision, ExchangeError> {
    let request = ExchangeRequest {
        subject_token: token.to_owned(),
        subject_token_type: token_type,
        audience: None,
        requested_token_type: None,
    };
    let decision = decide_as(pipeline, &front.client, request, &front.issuer, trace).await?;
    front.check_own_upstream(&decision.upstream.config.name)?;
    Ok(decision)
}

impl Front {
    /// A front takes tokens from its own upstream only, even when its client may use others.
    pub(super) fn check_own_upstream(&self, upstream: &str) -> Result<(), TokenError> {
        if upstream == self.upstream.config.name {
            Ok(())
        } else {
            Err(TokenError::UpstreamNotAllowed {
                client: self.config.client.clone(),
                upstream: upstream.to_owned(),
            })
        }
    }
}

fn looks_like_jwt(token: &str) -> bool {
    matches!(token.split('.').count(), 3 | 5)
}

/// One field of a form body, if present exactly once.
pub(super) fn form_value(body: &[u8], name: &str) -> Option<String> {
    let mut values = form_urlencoded::parse(body)
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned());
    let value = values.next()?;
    values.next().is_none().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_value_counts_only_when_given_exactly_once() {
        let body = b"grant_type=authorization_code&code=a%2Bb&scope=&dup=1&dup=2";
        assert_eq!(
            form_value(body, "grant_type").as_deref(),
            Some("authorization_code")
        );
        assert_eq!(form_value(body, "code").as_deref(), Some("a+b"));
        assert_eq!(form_value(body, "scope").as_deref(), Some(""));
        assert_eq!(form_value(body, "dup"), None);
        assert_eq!(form_value(body, "missing"), None);
        assert_eq!(form_value(b"", "grant_type"), None);
    }

    #[test]
    fn only_compact_jws_and_jwe_shapes_look_like_jwts() {
        assert!(looks_like_jwt("a.b.c"));
        assert!(looks_like_jwt("a.b.c.d.e"));
        for opaque in ["opaque-access-token", "a.b", "a.b.c.d", "a.b.c.d.e.f", ""] {
            assert!(!looks_like_jwt(opaque), "{opaque}");
        }
    }
}
