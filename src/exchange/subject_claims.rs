//! What the subject token's registered claims allow, as pure functions of the claims and the
//! time: its validity window (RFC 7519 §4.1.4–4.1.6) and its audiences (§4.1.3).

use serde_json::{Map, Value};

use super::TokenError;
use crate::clock::UnixTime;

/// `exp` required and in the future, `nbf` and `iat` (when present) not in the future by more
/// than `leeway`. Returns `exp`.
///
/// The leeway never extends `exp`: an issued token can't outlive its subject token (its `exp` is
/// at most the subject's), so one past its `exp` has nothing left to give, within the leeway or
/// beyond it, and is refused here as expired, with the real reason in the log.
pub(super) fn check_time_claims(
    claims: &Map<String, Value>,
    now: UnixTime,
    leeway: u64,
) -> Result<UnixTime, TokenError> {
    let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
    let exp = numeric_date(claims, "exp")?.ok_or(TokenError::Claim("exp"))?;
    if now >= exp {
        return Err(TokenError::Expired { exp, now });
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid { nbf, now });
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(TokenError::IssuedInFuture { iat, now });
    }
    Ok(exp)
}

/// A NumericDate: an integer or a finite number of seconds (fractions dropped).
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<UnixTime>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => match (number.as_i64(), number.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            (None, Some(seconds)) if seconds.is_finite() => Ok(Some(seconds.floor() as i64)),
            _ => Err(TokenError::Claim(name)),
        },
        Some(_) => Err(TokenError::Claim(name)),
    }
}

/// The token's audiences: the values of the first of `audience_claims` (the upstream's, `aud`
/// unless configured) that the token carries, a string or a list of at most `max_values`
/// strings. Returns the claim they came from with them. A present claim of the wrong type is
/// refused, never skipped for the next: the order is the operator's, not the token's.
pub(super) fn audiences<'a>(
    claims: &Map<String, Value>,
    audience_claims: &'a [String],
    max_values: usize,
) -> Result<(&'a str, Vec<String>), TokenError> {
    let Some((name, value)) = audience_claims
        .iter()
        .find_map(|name| Some((name.as_str(), claims.get(name)?)))
    else {
        return Err(TokenError::NoAudience(audience_claims.to_vec()));
    };
    let wrong_type = || TokenError::AudienceClaim(name.to_owned());
    let values = match value {
        Value::String(aud) => vec![aud.clone()],
        Value::Array(values) if values.len() > max_values => {
            return Err(TokenError::TooManyAudiences(values.len()));
        }
        Value::Array(values) => values
            .iter()
            .map(|value| value.as_str().map(str::to_owned).ok_or_else(wrong_type))
            .collect::<Result<_, _>>()?,
        _ => return Err(wrong_type()),
    };
    Ok((name, values))
}

/// What marks a JWT as an access token, so that it is never taken for an ID token (RFC 8725
/// §3.11–3.12): the header `typ` `at+jwt` (RFC 9068 §2.1, with or without `application/`,
/// case-insensitive as media types are), Keycloak's `typ` claim `Bearer`, or Cognito's
/// `token_use` `access`. Returns what marked it, for the log.
pub(super) fn access_token_mark(
    header_typ: Option<&str>,
    claims: &Map<String, Value>,
) -> Option<&'static str> {
    let media_type = header_typ.map(|typ| {
        let typ = typ.trim();
        let lowercase = typ.to_ascii_lowercase();
        lowercase
            .strip_prefix("application/")
            .map(str::to_owned)
            .unwrap_or(lowercase)
    });
    if media_type.as_deref() == Some("at+jwt") {
        return Some("header typ at+jwt");
    }
    if claims.get("typ").and_then(Value::as_str) == Some("Bearer") {
        return Some("claim typ Bearer");
    }
    if claims.get("token_use").and_then(Value::as_str) == Some("access") {
        return Some("claim token_use access");
    }
    None
}

#[cfg(test)]
mod tests;
