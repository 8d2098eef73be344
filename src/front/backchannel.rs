//! `POST {front}/backchannel-logout`: the IdP's `logout_token` (OIDC Back-Channel Logout 1.0),
//! verified with the front's upstream's keys, re-signed as the front for its relying party, and
//! POSTed to the relying party's `backchannel_logout_uri`. The RP verifies logout tokens against
//! its issuer, the front, so the IdP's own token could never reach it.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::forward::Outgoing;
use super::logout_token::{BACKCHANNEL_LOGOUT_EVENT, Expected, LogoutToken, check_logout_token};
use super::token::form_value;
use super::{Forwarder, Front, FrontOutcome, FrontRefusal};
use crate::exchange::{Pipeline, fresh_jti, open_upstream_jws, sign};
use crate::policy::rules::{Rule, apply_rules};
use crate::telemetry::fingerprint;

/// The lifetime of the logout token the front signs (or the client's `max_ttl`, if shorter): it
/// goes straight to the relying party, so it needs only the delivery's time (Back-Channel Logout
/// §2.4 suggests two minutes).
pub(crate) const RELAYED_LOGOUT_TOKEN_SECS: i64 = 120;

/// The JOSE `typ` of a logout token (Back-Channel Logout §2.4, RFC 8725 §3.11).
const LOGOUT_TYP: &str = "logout+jwt";

pub(crate) async fn backchannel_logout(
    pipeline: &Arc<Pipeline>,
    forwarder: &Forwarder,
    front: &Front,
    body: &[u8],
) -> FrontOutcome {
    let Some(rp_uri) = &front.config.backchannel_logout_uri else {
        return FrontOutcome::Refused(FrontRefusal::NoBackchannelLogout);
    };
    // §2.5: the form's one `logout_token`; a repeated one is refused (RFC 6749 §3.2).
    let Some(token) = form_value(body, "logout_token") else {
        tracing::info!(front = %front.config.client, reason = "no logout_token, or more than one", "the IdP's logout token was refused");
        return FrontOutcome::Refused(FrontRefusal::LogoutTokenRefused);
    };
    let shown = fingerprint(&token);
    let verified = match verify(pipeline, front, token).await {
        Ok(verified) => verified,
        Err(reason) => {
            tracing::info!(front = %front.config.client, token = %shown, reason = %reason, "the IdP's logout token was refused");
            return FrontOutcome::Refused(FrontRefusal::LogoutTokenRefused);
        }
    };
    let upstream = &front.upstream.config.name;
    let now = pipeline.clock.now();
    let leeway = front.upstream.config.leeway.as_secs();
    if !front.logout_jtis.is_first_use(
        upstream,
        &verified.jti,
        verified.remember_until,
        now,
        leeway,
    ) {
        tracing::info!(front = %front.config.client, token = %shown, reason = "its jti was seen before", "the IdP's logout token was refused");
        return FrontOutcome::Refused(FrontRefusal::LogoutTokenRefused);
    }
    let outcome = relay(pipeline, forwarder, front, &verified, rp_uri).await;
    if outcome.is_err() {
        front.logout_jtis.forget(upstream, &verified.jti);
    }
    match outcome {
        Ok(()) => {
            tracing::info!(front = %front.config.client, token = %shown, "the relying party took the back-channel logout");
            FrontOutcome::LoggedOut
        }
        Err(refusal) => FrontOutcome::Refused(refusal),
    }
}

/// §2.6: decrypted if a JWE, the signature verified with the front's upstream's keys, then the
/// claims checked.
async fn verify(
    pipeline: &Arc<Pipeline>,
    front: &Front,
    token: String,
) -> Result<LogoutToken, String> {
    let opened = open_upstream_jws(pipeline, &front.client, token)
        .await
        .map_err(|err| err.to_string())?;
    front
        .check_own_upstream(&opened.upstream.config.name)
        .map_err(|err| err.to_string())?;
    // The RP's client id at the IdP: the first audience the front's client allows, before any
    // rewrite (the rewritten value is what the RP sees in tokenbridge's tokens).
    let audience = front
        .client
        .config
        .audience
        .allowed
        .first()
        .ok_or("the front's client allows no audience")?;
    let leeway = i64::try_from(front.upstream.config.leeway.as_secs()).unwrap_or(i64::MAX);
    let expected = Expected {
        issuer: &front.upstream.config.issuer,
        audience,
        now: pipeline.clock.now(),
        leeway,
    };
    check_logout_token(&opened.claims, opened.typ.as_deref(), &expected)
        .map_err(|err| err.to_string())
}

/// Signs the front's logout token and POSTs it to the relying party; `Ok` only on a success
/// status. §2.8 says "If the logout succeeded, the RP MUST respond with HTTP 200 OK", but
/// express-openid-connect (2.17 to 3.x) answers 204, so every 2xx counts as success.
async fn relay(
    pipeline: &Pipeline,
    forwarder: &Forwarder,
    front: &Front,
    verified: &LogoutToken,
    rp_uri: &url::Url,
) -> Result<(), FrontRefusal> {
    let claims = relayed_claims(pipeline, front, verified).map_err(|reason| {
        tracing::info!(front = %front.config.client, reason = %reason, "the IdP's logout token can't be relayed");
        FrontRefusal::LogoutTokenRefused
    })?;
    let signed = sign(pipeline, front.client.config.signing_alg, LOGOUT_TYP, claims)
        .await
        .map_err(|err| {
            tracing::error!(front = %front.config.client, error = %err, "signing the logout token failed");
            FrontRefusal::LogoutNotSigned
        })?;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &signed)
        .finish();
    let answer = forwarder
        .send(Outgoing {
            url: rp_uri,
            is_post: true,
            body: body.into_bytes(),
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: None,
            timeout: front.upstream.config.fetch_timeout,
            // Only the status counts, but the answer is read with the cap every forward has.
            max_bytes: pipeline.limits.max_body_bytes,
        })
        .await;
    match answer {
        Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
        Ok(answer) => {
            tracing::warn!(front = %front.config.client, status = answer.status, "the relying party refused the back-channel logout");
            Err(FrontRefusal::LogoutNotRelayed)
        }
        Err(err) => {
            tracing::warn!(front = %front.config.client, error = %err, "the relying party's back-channel logout endpoint failed");
            Err(FrontRefusal::LogoutNotRelayed)
        }
    }
}

/// The front's logout token: its own `iss`, `aud`, times and `jti`, the back-channel event, and
/// the IdP's `sub` and `sid` as the claim rules shape them.
fn relayed_claims(
    pipeline: &Pipeline,
    front: &Front,
    verified: &LogoutToken,
) -> Result<Map<String, Value>, String> {
    let (sub, sid) = relayed_subject(front, verified)?;
    let audience = front
        .client
        .config
        .audience
        .primary()
        .ok_or("the front's client allows no audience")?;
    let now = pipeline.clock.now();
    // Never longer than the client's `max_ttl`, like everything issued for it.
    let max_ttl = i64::try_from(front.client.config.max_ttl.as_secs()).unwrap_or(i64::MAX);
    let lifetime = RELAYED_LOGOUT_TOKEN_SECS.min(max_ttl).max(1);
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(front.issuer));
    claims.insert("aud".into(), json!(audience));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add(lifetime)));
    claims.insert(
        "jti".into(),
        json!(fresh_jti().map_err(|err| err.to_string())?),
    );
    claims.insert("events".into(), json!({ (BACKCHANNEL_LOGOUT_EVENT): {} }));
    if let Some(sub) = sub {
        claims.insert("sub".into(), json!(sub));
    }
    if let Some(sid) = sid {
        claims.insert("sid".into(), json!(sid));
    }
    Ok(claims)
}

/// `sub` and `sid` after the upstream's and the client's claim rules, so they are what the RP
/// holds from its ID token. A rule that writes `sub` (`sub_from`, …) reads a claim a logout
/// token doesn't carry: then the IdP's `sub` would not be the RP's, and only `sid` goes on.
fn relayed_subject(
    front: &Front,
    verified: &LogoutToken,
) -> Result<(Option<String>, Option<String>), String> {
    let rules: Vec<Rule> = front
        .upstream
        .config
        .rules
        .iter()
        .chain(&front.client.config.rules)
        .map(Rule::for_logout_token)
        .collect();
    let is_sub_rewritten = rules.iter().any(Rule::writes_sub);
    let mut claims = Map::new();
    if let Some(sub) = &verified.sub {
        claims.insert("sub".into(), json!(sub));
    }
    if let Some(sid) = &verified.sid {
        claims.insert("sid".into(), json!(sid));
    }
    apply_rules(&rules, &mut claims).map_err(|err| err.to_string())?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let sub = if is_sub_rewritten { None } else { text("sub") };
    let sid = text("sid");
    if sub.is_none() && sid.is_none() {
        return Err(if is_sub_rewritten {
            "a claim rule derives sub from another claim and the token has no sid".into()
        } else {
            "after the claim rules, neither sub nor sid is left".into()
        });
    }
    Ok((sub, sid))
}
