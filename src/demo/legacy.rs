//! The ID-token rules of the two relying parties that started this project, written out so the
//! demo can show a refusal and an acceptance side by side. The messages are the ones users see in
//! those applications' logs. (The interop suite checks the real packages; this is the demo's.)

use serde_json::{Map, Value};

use crate::jose::alg::JwsAlg;
use crate::jose::compact::{CompactLimits, parse_jws};
use crate::jose::verify::{VerificationKey, VerificationKeySet};

/// What a relying party expects of its issuer's ID tokens.
pub struct Expectations<'a> {
    /// The issuer the relying party is configured with.
    pub issuer: &'a str,
    /// Its client id: the one audience it accepts.
    pub client_id: &'a str,
    /// The issuer's JWKS.
    pub jwks: &'a Value,
    /// The relying party's clock, Unix seconds.
    pub now: i64,
}

/// express-openid-connect (MiroTalk): openid-client refuses a JWE before anything else, then wants
/// RS256, the exact issuer, and its client id in `aud` (with `azp` when `aud` has several values).
pub fn express_openid_connect(
    token: &str,
    expect: &Expectations<'_>,
) -> Result<Map<String, Value>, String> {
    if token.split('.').count() == 5 {
        return Err("failed to decode JWT (TypeError: encrypted JWTs cannot be decoded)".into());
    }
    let claims = verified_rs256(token, expect.jwks, "unexpected JWT alg received")?;
    check_issuer(&claims, expect.issuer)?;
    check_time(&claims, expect.now, 60)?;
    match claims.get("aud") {
        Some(Value::String(aud)) if aud == expect.client_id => {}
        Some(Value::Array(auds)) if auds.iter().any(|aud| aud == expect.client_id) => {
            if auds.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(expect.client_id)
            {
                return Err("azp must be the client_id when aud has several values".into());
            }
        }
        _ => return Err(format!("aud mismatch, expected {}", expect.client_id)),
    }
    Ok(claims)
}

/// BookStack's `OidcIdToken::validate`: `aud` a single value equal to the client id, `azp` equal
/// to it if present, RS256 only, exact issuer, 120 s of clock skew.
pub fn bookstack(token: &str, expect: &Expectations<'_>) -> Result<Map<String, Value>, String> {
    if token.split('.').count() != 3 {
        return Err("Could not parse ID token: it is not a signed JWT".into());
    }
    let claims = verified_rs256(
        token,
        expect.jwks,
        "Only RS256 signature validation is supported",
    )?;
    check_issuer(&claims, expect.issuer)?;
    let auds: Vec<&Value> = match claims.get("aud") {
        Some(Value::Array(auds)) => auds.iter().collect(),
        Some(aud) => vec![aud],
        None => Vec::new(),
    };
    if auds.len() != 1 {
        return Err(format!(
            "Token audience value has {} values, Expected 1",
            auds.len()
        ));
    }
    if auds[0] != expect.client_id {
        return Err("Token audience value did not match the expected client_id".into());
    }
    if let Some(azp) = claims.get("azp")
        && azp != expect.client_id
    {
        return Err(
            "Token authorized party exists but does not match the expected client_id".into(),
        );
    }
    check_time(&claims, expect.now, 120)?;
    Ok(claims)
}

fn verified_rs256(
    token: &str,
    jwks: &Value,
    wrong_alg: &str,
) -> Result<Map<String, Value>, String> {
    let limits = CompactLimits {
        max_token_bytes: 64 * 1024,
        max_header_bytes: 4096,
        ..CompactLimits::default()
    };
    let jws =
        parse_jws(token, &limits).map_err(|err| format!("could not parse the token: {err}"))?;
    if jws.header.alg != "RS256" {
        return Err(format!("{wrong_alg} ({})", jws.header.alg));
    }
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|jwk| VerificationKey::from_jwk(jwk).ok().flatten())
        .collect();
    let keys = VerificationKeySet::new(keys);
    let is_verified = keys
        .candidates(jws.header.key_id(), JwsAlg::RS256)
        .any(|key| {
            key.verify(
                JwsAlg::RS256,
                jws.signing_input.as_bytes(),
                jws.signature_b64,
            )
        });
    if !is_verified {
        return Err("signature verification failed against the issuer's JWKS".into());
    }
    Ok(jws.claims)
}

fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), String> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == issuer => Ok(()),
        other => Err(format!(
            "unexpected iss value, expected {issuer}, got: {other:?}"
        )),
    }
}

fn check_time(claims: &Map<String, Value>, now: i64, skew: i64) -> Result<(), String> {
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("missing exp")?;
    if exp + skew < now {
        return Err("JWT expired".into());
    }
    if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
        && iat - skew > now
    {
        return Err("JWT issued in the future".into());
    }
    Ok(())
}
