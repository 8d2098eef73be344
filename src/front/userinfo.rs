//! `GET|POST {front}/userinfo`: forwarded with the relying party's bearer token; a signed or
//! encrypted userinfo JWT is decrypted and verified; the claim rules apply as for the ID token
//! (so `sub` agrees with it); the answer is JSON, or a JWT signed by tokenbridge when the front
//! is configured for it.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::token::FrontAnswer;
use super::{Front, RelyingPartyRequest};
use crate::exchange::{ExchangeError, open_upstream_jwt, sign};
use crate::policy::rules::apply_rules;
use crate::state::AppState;

pub async fn userinfo(
    state: &Arc<AppState>,
    front: &Front,
    request: RelyingPartyRequest<'_>,
) -> FrontAnswer {
    let forwarded = match front.forward(state, "userinfo_endpoint", request).await {
        Ok(forwarded) if forwarded.status == 200 => forwarded,
        Ok(forwarded) => return FrontAnswer::passed_on(forwarded),
        Err(answer) => return answer,
    };
    let is_jwt = forwarded
        .content_type
        .as_deref()
        .is_some_and(|content_type| {
            content_type
                .to_ascii_lowercase()
                .starts_with("application/jwt")
        });
    match claims_of(state, front, is_jwt, forwarded.body).await {
        Ok(claims) => answer(state, front, claims).await,
        Err(err) => {
            tracing::info!(front = %front.config.client, reason = %err, "the IdP's userinfo was refused");
            FrontAnswer::error(
                502,
                "server_error",
                "the identity provider's userinfo was refused",
            )
        }
    }
}

async fn claims_of(
    state: &Arc<AppState>,
    front: &Front,
    is_jwt: bool,
    body: Vec<u8>,
) -> Result<Map<String, Value>, ExchangeError> {
    let mut claims = if is_jwt {
        let token = String::from_utf8(body)
            .map_err(|_| ExchangeError::Internal("userinfo JWT is not text".into()))?;
        let (upstream, claims) =
            open_upstream_jwt(state, &front.client, token.trim().to_owned()).await?;
        if upstream.config.name != front.upstream.config.name {
            return Err(ExchangeError::Internal(
                "userinfo JWT from another upstream".into(),
            ));
        }
        claims
    } else {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(claims)) => claims,
            _ => {
                return Err(ExchangeError::Internal(
                    "userinfo is not a JSON object".into(),
                ));
            }
        }
    };
    // A signed userinfo's registered claims are about that JWT, not the user.
    for registered in ["iss", "aud", "exp", "iat", "nbf", "jti"] {
        claims.remove(registered);
    }
    apply_rules(&front.upstream.config.rules, &mut claims)
        .map_err(crate::exchange::TokenError::from)?;
    apply_rules(&front.client.config.rules, &mut claims)
        .map_err(crate::exchange::TokenError::from)?;
    Ok(claims)
}

async fn answer(
    state: &Arc<AppState>,
    front: &Front,
    mut claims: Map<String, Value>,
) -> FrontAnswer {
    if !front.config.is_userinfo_jwt {
        return FrontAnswer::json(200, &Value::Object(claims));
    }
    // OIDC Core §5.3.2: a signed userinfo response carries iss and aud.
    claims.insert("iss".into(), json!(front.issuer));
    if let Some(audience) = front.client.config.audience.primary() {
        claims.insert("aud".into(), json!(audience));
    }
    match sign(state, front.client.config.signing_alg, "JWT", claims).await {
        Ok(jwt) => FrontAnswer {
            status: 200,
            content_type: "application/jwt".into(),
            www_authenticate: None,
            body: jwt.into_bytes(),
        },
        Err(err) => {
            tracing::error!(front = %front.config.client, error = %err, "signing userinfo failed");
            FrontAnswer::error(500, "server_error", "the userinfo could not be signed")
        }
    }
}
