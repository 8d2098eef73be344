//! `POST {front}/token`: the relying party's code or refresh grant, forwarded to the IdP with its
//! own client authentication and PKCE verifier; the ID token in the answer goes through the
//! exchange pipeline and comes back single-audience, re-signed, with `iss` the front's.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Forwarded, Front, FrontError, RelyingPartyRequest};
use crate::exchange::{Decision, ExchangeError, ExchangeRequest, Trace, decide_as, sign};
use crate::jose::token_hash::left_half_hash;
use crate::oauth::TokenType;
use crate::state::AppState;

/// An HTTP answer for the relying party, built here, rendered by the HTTP layer.
#[derive(Debug)]
pub struct FrontAnswer {
    pub status: u16,
    pub content_type: String,
    /// The IdP's `WWW-Authenticate` on a refusal passed on; the relying party may act on it.
    pub www_authenticate: Option<String>,
    pub body: Vec<u8>,
}

impl FrontAnswer {
    pub fn error(status: u16, code: &str, description: &str) -> FrontAnswer {
        FrontAnswer::json(
            status,
            &json!({ "error": code, "error_description": description }),
        )
    }

    pub fn json(status: u16, body: &Value) -> FrontAnswer {
        FrontAnswer {
            status,
            content_type: "application/json".into(),
            www_authenticate: None,
            body: body.to_string().into_bytes(),
        }
    }

    /// The IdP's answer, unchanged in status, body and challenge.
    pub fn passed_on(forwarded: Forwarded) -> FrontAnswer {
        FrontAnswer {
            status: forwarded.status,
            content_type: forwarded
                .content_type
                .unwrap_or_else(|| "application/json".into()),
            www_authenticate: forwarded.www_authenticate,
            body: forwarded.body,
        }
    }

    pub fn unavailable(front: &Front, err: &FrontError) -> FrontAnswer {
        tracing::warn!(front = %front.config.client, error = %err, "the IdP could not serve the front");
        FrontAnswer::error(
            503,
            "temporarily_unavailable",
            "the identity provider is unavailable; retry later",
        )
    }
}

const GRANTS: [&str; 2] = ["authorization_code", "refresh_token"];

pub async fn token(
    state: &Arc<AppState>,
    front: &Front,
    body: Vec<u8>,
    authorization: Option<&str>,
) -> FrontAnswer {
    let grant_type = form_value(&body, "grant_type");
    if !grant_type
        .as_deref()
        .is_some_and(|grant| GRANTS.contains(&grant))
    {
        return FrontAnswer::error(
            400,
            "unsupported_grant_type",
            "only authorization_code and refresh_token",
        );
    }
    let request = RelyingPartyRequest {
        is_post: true,
        body,
        content_type: Some("application/x-www-form-urlencoded"),
        authorization,
    };
    let forwarded = match front.forward(state, "token_endpoint", request).await {
        Ok(forwarded) => forwarded,
        Err(answer) => return answer,
    };
    // The IdP's refusals (invalid_grant, invalid_client, …) reach the relying party unchanged.
    let tokens = match serde_json::from_slice::<Value>(&forwarded.body) {
        Ok(Value::Object(tokens)) if forwarded.status == 200 => tokens,
        _ => return FrontAnswer::passed_on(forwarded),
    };
    match normalised(state, front, tokens).await {
        Ok(tokens) => FrontAnswer::json(200, &Value::Object(tokens)),
        Err(ExchangeError::KeysUnavailable(reason)) => {
            tracing::warn!(front = %front.config.client, reason, "the IdP's keys are unavailable");
            FrontAnswer::error(
                503,
                "temporarily_unavailable",
                "the identity provider's keys are unavailable; retry later",
            )
        }
        Err(err) => {
            tracing::info!(target: "tokenbridge::audit", front = %front.config.client, outcome = "refused", reason = %err, "front token");
            // The grant was good at the IdP, but what it returned can't be vouched for.
            FrontAnswer::error(
                400,
                "invalid_grant",
                "the identity provider's tokens were refused",
            )
        }
    }
}

/// The IdP's token response with its ID token (and, when configured, its access token) passed
/// through the pipeline, and `at_hash` recomputed for the access token returned.
async fn normalised(
    state: &Arc<AppState>,
    front: &Front,
    mut tokens: Map<String, Value>,
) -> Result<Map<String, Value>, ExchangeError> {
    if front.config.is_access_token_normalized
        && let Some(access_token) = tokens.get("access_token").and_then(Value::as_str)
        && looks_like_jwt(access_token)
    {
        let mut trace = Trace::default();
        let decision = decide_for_front(
            state,
            front,
            access_token,
            TokenType::AccessToken,
            &mut trace,
        )
        .await?;
        tracing::debug!(front = %front.config.client, token = trace.token.as_deref().unwrap_or(""), "front normalised an access token");
        let signed = sign(state, decision.alg, decision.typ, decision.claims).await?;
        tokens.insert("access_token".into(), Value::String(signed));
    }
    let Some(id_token) = tokens.get("id_token").and_then(Value::as_str) else {
        return Ok(tokens);
    };
    let access_token = tokens
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut trace = Trace::default();
    let mut decision =
        decide_for_front(state, front, id_token, TokenType::IdToken, &mut trace).await?;
    if let Some(access_token) = access_token {
        let at_hash = left_half_hash(decision.alg, &access_token);
        decision
            .claims
            .insert("at_hash".into(), Value::String(at_hash));
    }
    let signed = sign(state, decision.alg, decision.typ, decision.claims).await?;
    tracing::info!(
        target: "tokenbridge::audit",
        front = %front.config.client,
        outcome = "issued",
        upstream = trace.upstream.as_deref().unwrap_or(""),
        sub = trace.sub.as_deref().unwrap_or(""),
        original_aud = trace.original_aud.join(" "),
        chosen_aud = trace.chosen_aud.as_deref().unwrap_or(""),
        jti = trace.jti.as_deref().unwrap_or(""),
        token = trace.token.as_deref().unwrap_or(""),
        "front token"
    );
    tokens.insert("id_token".into(), Value::String(signed));
    Ok(tokens)
}

/// Every step but the signature, as the front's client and issuer, for a token from the front's
/// own upstream.
async fn decide_for_front(
    state: &Arc<AppState>,
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
    let decision = decide_as(state, &front.client, request, &front.issuer, trace).await?;
    check_upstream(front, trace)?;
    Ok(decision)
}

/// A front takes tokens from its own upstream only, even when its client may use others.
fn check_upstream(front: &Front, trace: &Trace) -> Result<(), ExchangeError> {
    if trace.upstream.as_deref() == Some(front.upstream.config.issuer.as_str()) {
        Ok(())
    } else {
        Err(crate::exchange::TokenError::UpstreamNotAllowed {
            client: front.config.client.clone(),
            upstream: trace.upstream.clone().unwrap_or_default(),
        }
        .into())
    }
}

fn looks_like_jwt(token: &str) -> bool {
    matches!(token.split('.').count(), 3 | 5)
}

/// One field of a form body, if present exactly once.
pub fn form_value(body: &[u8], name: &str) -> Option<String> {
    let mut values = form_urlencoded::parse(body)
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned());
    let value = values.next()?;
    values.next().is_none().then_some(value)
}
