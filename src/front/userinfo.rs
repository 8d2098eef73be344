//! `GET|POST {front}/userinfo`: forwarded with the relying party's bearer token; a signed or
//! encrypted userinfo JWT is decrypted and verified; the claim rules apply as for the ID token
//! (so `sub` agrees with it); the answer is JSON, or, when the front is configured for it, a
//! short-lived JWT signed by tokenbridge that no ID-token validator should take for a login.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Forwarder, Front, FrontOutcome, FrontRefusal, RelyingPartyRequest};
use crate::exchange::{ExchangeError, Pipeline, Trace, apply_claim_rules, open_upstream_jwt, sign};
use crate::policy::claims::PROTECTED_CLAIMS;

pub(crate) async fn userinfo(
    pipeline: &Arc<Pipeline>,
    forwarder: &Forwarder,
    front: &Front,
    request: RelyingPartyRequest<'_>,
) -> FrontOutcome {
    let max_bytes = pipeline.limits.max_body_bytes;
    let forwarded = match front
        .forward(
            forwarder,
            &pipeline.metrics,
            max_bytes,
            "userinfo_endpoint",
            request,
        )
        .await
    {
        Ok(forwarded) if forwarded.status == 200 => forwarded,
        Ok(forwarded) => return FrontOutcome::PassedOn(forwarded),
        Err(refusal) => return FrontOutcome::Refused(refusal),
    };
    let is_jwt = forwarded
        .content_type
        .as_deref()
        .is_some_and(|content_type| {
            content_type
                .to_ascii_lowercase()
                .starts_with("application/jwt")
        });
    match claims_of(pipeline, front, is_jwt, forwarded.body).await {
        Ok(claims) => answer(pipeline, front, claims).await,
        Err(err) => {
            tracing::info!(front = %front.config.client, reason = %err, "the IdP's userinfo was refused");
            FrontOutcome::Refused(FrontRefusal::UserinfoRefused)
        }
    }
}

async fn claims_of(
    pipeline: &Arc<Pipeline>,
    front: &Front,
    is_jwt: bool,
    body: Vec<u8>,
) -> Result<Map<String, Value>, ExchangeError> {
    let mut claims = if is_jwt {
        let token = String::from_utf8(body)
            .map_err(|_| ExchangeError::Internal("userinfo JWT is not text".into()))?;
        let (upstream, claims) =
            open_upstream_jwt(pipeline, &front.client, token.trim().to_owned()).await?;
        front.check_own_upstream(&upstream.config.name)?;
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
    // What only tokenbridge decides (a signed userinfo's registered claims, hashes over other
    // tokens) is about the IdP's JWT, not the user.
    claims.retain(|name, _| !PROTECTED_CLAIMS.contains(&name.as_str()));
    apply_claim_rules(
        &front.upstream,
        &front.client,
        &mut claims,
        &mut Trace::default(),
    )?;
    Ok(claims)
}

/// The JOSE `typ` of a signed userinfo answer (RFC 8725 §3.11 explicit typing). OIDC Core §5.3.2
/// names none and nothing is registered; tokenbridge's ID tokens say `JWT`, so a validator that
/// checks `typ` for an ID token refuses this one. Userinfo clients (openid-client 4, oauth4webapi)
/// don't read `typ`.
const USERINFO_TYP: &str = "userinfo+jwt";

/// Claims that speak about a login, not about the user: an ID token's (OIDC Core §2, §3.1.3.6,
/// §3.3.2.11; `sid` from Front- and Back-Channel Logout). A userinfo answer comes later, for any
/// bearer of the access token, so it must not look like proof that a login just happened, nor
/// carry what binds an ID token to one (`nonce`) or to a session (`sid`). RFC 8725 §3.12 asks
/// that kinds of JWT fail each other's validation: with `typ`, leaving these out is how a
/// userinfo answer fails an ID token's. (`azp`, `at_hash` and `c_hash` are protected claims,
/// gone before the rules run, and no rule may write them.)
const LOGIN_CLAIMS: [&str; 5] = ["nonce", "auth_time", "sid", "acr", "amr"];

async fn answer(
    pipeline: &Pipeline,
    front: &Front,
    mut claims: Map<String, Value>,
) -> FrontOutcome {
    if !front.config.is_userinfo_jwt {
        return FrontOutcome::Json(claims);
    }
    // After the claim rules ran, so that no rule can put a login claim or a lifetime back.
    for name in LOGIN_CLAIMS.iter().chain(&PROTECTED_CLAIMS) {
        claims.remove(*name);
    }
    // OIDC Core §5.3.2: a signed userinfo response carries iss and aud.
    claims.insert("iss".into(), json!(front.issuer));
    if let Some(audience) = front.client.config.audience.primary() {
        claims.insert("aud".into(), json!(audience));
    }
    // Without exp, validators accept a signed answer as a token for that audience forever.
    let now = pipeline.clock.now();
    let ttl = i64::try_from(front.config.userinfo_ttl.as_secs()).unwrap_or(i64::MAX);
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add(ttl)));
    match sign(
        pipeline,
        front.client.config.signing_alg,
        USERINFO_TYP,
        claims,
    )
    .await
    {
        Ok(jwt) => FrontOutcome::SignedUserinfo(jwt),
        Err(err) => {
            tracing::error!(front = %front.config.client, error = %err, "signing userinfo failed");
            FrontOutcome::Refused(FrontRefusal::UserinfoNotSigned)
        }
    }
}
