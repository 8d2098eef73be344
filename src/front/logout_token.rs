//! The checks OIDC Back-Channel Logout 1.0 §2.6 asks of a `logout_token` whose signature has
//! verified, as one pure function of its claims, its JOSE `typ` and the moment.

use serde_json::{Map, Value};

use crate::clock::UnixTime;

/// The member of `events` that makes a JWT a logout token (Back-Channel Logout §2.4).
pub(crate) const BACKCHANNEL_LOGOUT_EVENT: &str =
    "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token without `exp` is taken after its `iat`, and so how long its `jti` is
/// remembered. Back-Channel Logout §2.4 recommends "short" lifetimes, "e.g., two minutes".
pub(crate) const LIFETIME_WITHOUT_EXP_SECS: i64 = 120;

/// The longest a `jti` is remembered. A token valid for longer is refused: its replay could
/// not be caught once it is forgotten.
pub(crate) const MAX_REMEMBERED_SECS: i64 = 24 * 60 * 60;

/// What a logout token must match.
pub(crate) struct Expected<'a> {
    /// The upstream's `issuer`.
    pub issuer: &'a str,
    /// The relying party's client id at the IdP.
    pub audience: &'a str,
    pub now: UnixTime,
    /// The upstream's `leeway`, in seconds: for `iat` in the future only; `exp` never gets it.
    pub leeway: i64,
}

/// A logout token that passed every check.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LogoutToken {
    pub jti: String,
    pub sub: Option<String>,
    pub sid: Option<String>,
    /// Until when its `jti` must be remembered: its `exp`, or `iat` + `LIFETIME_WITHOUT_EXP_SECS`.
    pub remember_until: UnixTime,
}

/// Why a logout token is refused; the IdP gets a 400 `invalid_request` (§2.8), the log this.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LogoutTokenError {
    #[error("typ {0:?} is not logout+jwt")]
    WrongTyp(String),
    #[error("iss {0:?} is not the front's upstream")]
    WrongIssuer(Option<String>),
    #[error("aud does not name the relying party {0:?}")]
    WrongAudience(String),
    #[error("claim {0} is missing or has the wrong type")]
    Claim(&'static str),
    #[error("expired at {exp}, now {now}")]
    Expired { exp: UnixTime, now: UnixTime },
    #[error("issued in the future at {iat}, now {now}")]
    IssuedInFuture { iat: UnixTime, now: UnixTime },
    #[error("issued at {iat} with no exp: older than {LIFETIME_WITHOUT_EXP_SECS} s (now {now})")]
    TooOld { iat: UnixTime, now: UnixTime },
    #[error("valid until {until}: longer than its jti is remembered ({MAX_REMEMBERED_SECS} s)")]
    TooLong { until: UnixTime },
    #[error("events has no {BACKCHANNEL_LOGOUT_EVENT} member holding a JSON object")]
    NoLogoutEvent,
    #[error("neither sub nor sid")]
    NoSubject,
    #[error("a logout token carries no nonce (Back-Channel Logout §2.4)")]
    Nonce,
}

/// Back-Channel Logout §2.6 steps 3 to 6 (the signature, step 2, has been verified; the `jti`'s
/// novelty is the caller's): explicit typing if `typ` is sent (RFC 8725 §3.11, §2.4), `iss`,
/// `aud`, `iat`, `exp`, `jti`, `events`, `sub` or `sid`, and no `nonce`.
pub(crate) fn check_logout_token(
    claims: &Map<String, Value>,
    typ: Option<&str>,
    expected: &Expected<'_>,
) -> Result<LogoutToken, LogoutTokenError> {
    if let Some(typ) = typ
        && !is_logout_typ(typ)
    {
        return Err(LogoutTokenError::WrongTyp(typ.to_owned()));
    }
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(expected.issuer) {
        return Err(LogoutTokenError::WrongIssuer(iss.map(str::to_owned)));
    }
    if !names_audience(claims.get("aud"), expected.audience) {
        return Err(LogoutTokenError::WrongAudience(
            expected.audience.to_owned(),
        ));
    }
    let remember_until = check_time(claims, expected)?;
    let jti = non_empty(claims, "jti")?.ok_or(LogoutTokenError::Claim("jti"))?;
    let is_logout_event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !is_logout_event {
        return Err(LogoutTokenError::NoLogoutEvent);
    }
    let sub = non_empty(claims, "sub")?;
    let sid = non_empty(claims, "sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(LogoutTokenError::NoSubject);
    }
    // §2.4: "A nonce Claim MUST NOT be present", so an ID token can't pass as a logout token.
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    Ok(LogoutToken {
        jti,
        sub,
        sid,
        remember_until,
    })
}

/// `logout+jwt`, with or without the `application/` prefix RFC 7515 §4.1.9 lets a sender omit;
/// media types compare case-insensitively.
fn is_logout_typ(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "logout+jwt" || typ == "application/logout+jwt"
}

/// `aud` is one string or an array of strings (RFC 7519 §4.1.3).
fn names_audience(aud: Option<&Value>, audience: &str) -> bool {
    match aud {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(values)) => values.iter().any(|value| value.as_str() == Some(audience)),
        _ => false,
    }
}

/// `iat` required and not in the future; `exp`, when present, after now (the leeway never
/// extends it). Returns until when the token is valid.
fn check_time(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<UnixTime, LogoutTokenError> {
    let now = expected.now;
    let iat = time_claim(claims, "iat")?.ok_or(LogoutTokenError::Claim("iat"))?;
    if iat > now.saturating_add(expected.leeway) {
        return Err(LogoutTokenError::IssuedInFuture { iat, now });
    }
    let until = match time_claim(claims, "exp")? {
        Some(exp) if exp <= now => return Err(LogoutTokenError::Expired { exp, now }),
        Some(exp) => exp,
        None => {
            let until = iat.saturating_add(LIFETIME_WITHOUT_EXP_SECS);
            if until.saturating_add(expected.leeway) <= now {
                return Err(LogoutTokenError::TooOld { iat, now });
            }
            until
        }
    };
    if until > now.saturating_add(MAX_REMEMBERED_SECS) {
        return Err(LogoutTokenError::TooLong { until });
    }
    Ok(until)
}

/// A NumericDate (RFC 7519 §2): a JSON number, fractions cut off.
fn time_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<UnixTime>, LogoutTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|value| value.is_finite())
                    .map(|value| value as i64)
            })
            .map(Some)
            .ok_or(LogoutTokenError::Claim(name)),
        Some(_) => Err(LogoutTokenError::Claim(name)),
    }
}

/// A claim that, when present, is a non-empty string.
fn non_empty(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, LogoutTokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
        Some(_) => Err(LogoutTokenError::Claim(name)),
    }
}

#[cfg(test)]
#[path = "logout_token_tests.rs"]
mod tests;
