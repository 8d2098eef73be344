//! Step 2 for a subject token that is not a JWT: introspected (RFC 7662) at the one upstream of
//! the client that has introspection, and the answer checked as a JWT's claims would be: `iss`
//! that upstream's, `exp` in the future, a `sub`. A JWS or JWE never comes here.

use std::sync::Arc;

use serde_json::Value;

use super::subject::{SignedToken, VerifiedToken, check_claims, check_tenant, issuer_named};
use super::{ExchangeError, Pipeline, TokenError, Trace};
use crate::clients::Client;
use crate::clock::UnixTime;
use crate::jose::JoseError;
use crate::metrics::IntrospectionResult;
use crate::oauth::TokenType;
use crate::upstream::{IntrospectionError, Upstream};

/// The client's upstream that introspects, if it has one (the config check allows one).
pub(super) fn introspecting_upstream<'a>(
    pipeline: &'a Pipeline,
    client: &Client,
) -> Option<&'a Arc<Upstream>> {
    client.config.upstreams.iter().find_map(|name| {
        pipeline
            .upstreams
            .by_name(name)
            .filter(|upstream| upstream.introspector.is_some())
    })
}

/// RFC 6750 §2.1's `b64token`: what an access token is made of. Anything else is refused
/// before it reaches the IdP.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte))
}

pub(super) async fn verify_opaque(
    pipeline: &Pipeline,
    upstream: &Arc<Upstream>,
    token: &str,
    token_type: TokenType,
    now: UnixTime,
    trace: &mut Trace,
) -> Result<VerifiedToken, ExchangeError> {
    if token_type != TokenType::AccessToken {
        return Err(TokenError::OpaqueNotAccessToken.into());
    }
    if token.len() > pipeline.limits.max_token_bytes {
        return Err(TokenError::Jose(JoseError::TooLarge).into());
    }
    if !is_b64token(token) {
        return Err(TokenError::NotAToken.into());
    }
    trace.passed("decryption", || "not a JWT: an opaque access token".into());
    let Some(introspector) = &upstream.introspector else {
        return Err(ExchangeError::Internal(
            "the upstream has no introspection".into(),
        ));
    };
    let name = &upstream.config.name;
    let answered = introspector.introspect(token, now).await;
    let result = match &answered {
        Ok(introspected) if introspected.is_cached => IntrospectionResult::Cached,
        Ok(_) => IntrospectionResult::Active,
        Err(IntrospectionError::Inactive(_)) => IntrospectionResult::Inactive,
        Err(IntrospectionError::Unavailable { .. }) => IntrospectionResult::Unavailable,
    };
    pipeline.metrics.introspection(name, result);
    let introspected = answered.map_err(|err| match err {
        IntrospectionError::Unavailable { .. } => ExchangeError::IdpUnavailable(err.to_string()),
        IntrospectionError::Inactive(_) => TokenError::Inactive(name.clone()).into(),
    })?;
    trace.passed("introspection", || {
        let source = if introspected.is_cached {
            "a cached answer"
        } else {
            "asked now"
        };
        format!("active at upstream {name:?} ({source})")
    });
    let claims = introspected.claims;
    // RFC 7662 §2.2 token_type: an access token's. A refresh token (which an IdP introspects
    // too, often without a token_type) is a long-lived credential, never a subject token.
    let token_type_answered = claims.get("token_type").and_then(Value::as_str);
    if !token_type_answered.is_some_and(|answered| {
        answered.eq_ignore_ascii_case("bearer") || answered.eq_ignore_ascii_case("dpop")
    }) {
        return Err(TokenError::NotAnAccessToken(token_type_answered.map(str::to_owned)).into());
    }
    // The answer names its issuer; it must be this upstream, whatever form names it.
    let issuer = claims.get("iss").and_then(Value::as_str);
    let named = issuer.and_then(|issuer| pipeline.upstreams.by_token_issuer(issuer));
    let form = match named {
        Some((named, form)) if Arc::ptr_eq(named, upstream) => form,
        _ => return Err(TokenError::IntrospectedIssuer(issuer.map(str::to_owned)).into()),
    };
    trace.upstream = Some(upstream.config.issuer.clone());
    trace.passed("issuer", || issuer_named(name, form));
    check_tenant(form, &claims, trace)?;
    let signed = SignedToken {
        upstream: upstream.clone(),
        typ: None,
        claims,
        key_generation: None,
    };
    check_claims(signed, now, trace)
}
