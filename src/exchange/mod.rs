//! The use case: one token exchange, as named steps. Knows nothing of HTTP.

mod error;
mod request;

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value};

pub use error::{ExchangeError, TokenError};
pub use request::{ExchangeRequest, RequestError, RequestParams};

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::config::Limits;
use crate::jose::JoseError;
use crate::jose::alg::JwsAlg;
use crate::jose::compact::{
    CompactToken, UnverifiedJws, encode_part, header_text, parse_compact, parse_jws,
};
use crate::jose::decrypt::decrypt_nested;
use crate::oauth::TokenType;
use crate::policy::claims::{IssuedClaims, issued_claims};
use crate::policy::lifetime::issued_expiry;
use crate::policy::rules::apply_rules;
use crate::state::AppState;
use crate::telemetry::fingerprint;
use crate::upstream::Upstream;

/// A successful exchange (RFC 8693 §2.2.1).
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub issued_token_type: TokenType,
    pub expires_in: i64,
}

/// What an exchange found out, filled in as it goes, for the one audit line per request.
#[derive(Debug, Default)]
pub struct Trace {
    pub token: Option<String>,
    pub upstream: Option<String>,
    pub sub: Option<String>,
    pub original_aud: Vec<String>,
    pub chosen_aud: Option<String>,
    pub jti: Option<String>,
    /// Each check with its verdict, kept only when explaining (`tokenbridge explain`).
    pub steps: Option<Vec<Step>>,
    /// The nested JWS's header and claims as received, before verification (explaining only).
    pub received: Option<(Value, Map<String, Value>)>,
}

/// One passed check, for `explain`.
#[derive(Debug, Clone)]
pub struct Step {
    pub check: &'static str,
    pub verdict: String,
}

impl Trace {
    /// A trace that keeps every step, for `explain`.
    pub fn explaining() -> Trace {
        Trace {
            steps: Some(Vec::new()),
            ..Trace::default()
        }
    }

    /// Records a passed check; the text is only made when explaining.
    fn passed(&mut self, check: &'static str, verdict: impl FnOnce() -> String) {
        if let Some(steps) = &mut self.steps {
            steps.push(Step {
                check,
                verdict: verdict(),
            });
        }
    }
}

/// Everything decided about the token to issue, before it is signed.
#[derive(Debug)]
pub struct Decision {
    pub claims: Map<String, Value>,
    pub alg: JwsAlg,
    pub typ: &'static str,
    pub issued_token_type: TokenType,
    pub expires_in: i64,
}

/// A subject token whose signature and time claims have been checked.
struct VerifiedToken {
    upstream: Arc<Upstream>,
    claims: Map<String, Value>,
    exp: UnixTime,
}

pub async fn exchange(
    state: &Arc<AppState>,
    client: &Client,
    request: ExchangeRequest,
    trace: &mut Trace,
) -> Result<Issued, ExchangeError> {
    let decision = decide(state, client, request, trace).await?;
    let access_token = sign(state, decision.alg, decision.typ, decision.claims).await?;
    Ok(Issued {
        access_token,
        issued_token_type: decision.issued_token_type,
        expires_in: decision.expires_in,
    })
}

/// Every step of an exchange but the signature: what `explain` runs.
pub async fn decide(
    state: &Arc<AppState>,
    client: &Client,
    request: ExchangeRequest,
    trace: &mut Trace,
) -> Result<Decision, ExchangeError> {
    decide_as(state, client, request, &state.issuer, trace).await
}

/// `decide` for a token whose `iss` is `issuer`: an OIDC front issues as its own issuer.
pub async fn decide_as(
    state: &Arc<AppState>,
    client: &Client,
    request: ExchangeRequest,
    issuer: &str,
    trace: &mut Trace,
) -> Result<Decision, ExchangeError> {
    trace.token = Some(fingerprint(&request.subject_token));
    let jws = open_subject_token(state, request.subject_token, trace).await?;
    let now = state.clock.now();
    let verified = verify_subject_token(state, client, &jws, now, trace).await?;

    let token_aud = audiences(&verified.claims, state.limits.max_aud_values)?;
    trace.original_aud.clone_from(&token_aud);
    let audience = client
        .config
        .audience
        .choose(&token_aud, request.audience.as_deref())?;
    trace.chosen_aud = Some(audience.clone());
    trace.passed("audience", || {
        let rules = &client.config.audience;
        format!(
            "select = {:?}: token aud {token_aud:?}, allowed {:?}, requested {:?} -> {audience:?}",
            rules.mode, rules.allowed, request.audience
        )
    });

    let issued_type = request
        .requested_token_type
        .unwrap_or(request.subject_token_type);
    let expires_at = issued_expiry(now, verified.exp, client.config.max_ttl)
        .ok_or(TokenError::NoLifetimeLeft)?;
    let jti = fresh_jti()?;
    trace.jti = Some(jti.clone());
    let mut subject_claims = verified.claims;
    for rules in [&verified.upstream.config.rules, &client.config.rules] {
        let fired = apply_rules(rules, &mut subject_claims).map_err(TokenError::from)?;
        for rule in fired {
            trace.passed("claim rule", || {
                format!("{}: {}", rule.origin, rule.summary)
            });
        }
    }
    if subject_claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(TokenError::Claim("sub").into());
    }
    let claims = issued_claims(
        subject_claims,
        &IssuedClaims {
            issuer,
            audience: &audience,
            issued_at: now,
            expires_at,
            jti: &jti,
            access_token_client_id: (issued_type == TokenType::AccessToken)
                .then_some(client.config.id.as_str()),
        },
    );
    check_issued_size(&claims, &state.limits)?;
    trace.passed("size", || format!("{} claims, within limits", claims.len()));
    let typ = match issued_type {
        TokenType::AccessToken => client.config.access_token_typ.header_value(),
        TokenType::IdToken | TokenType::Jwt => "JWT",
    };
    Ok(Decision {
        claims,
        alg: client.config.signing_alg,
        typ,
        issued_token_type: issued_type,
        expires_in: expires_at - now,
    })
}

/// The issued token's claims within the configured count and size.
fn check_issued_size(claims: &Map<String, Value>, limits: &Limits) -> Result<(), TokenError> {
    if claims.len() > limits.max_issued_claims {
        return Err(TokenError::IssuedTooLarge(format!(
            "{} claims (limits.max_issued_claims = {})",
            claims.len(),
            limits.max_issued_claims
        )));
    }
    // Counted as serialised, without keeping the bytes: signing serialises them again anyway.
    let mut counter = ByteCounter(0);
    let size = serde_json::to_writer(&mut counter, claims).map_or(usize::MAX, |()| counter.0);
    if size > limits.max_issued_bytes {
        return Err(TokenError::IssuedTooLarge(format!(
            "{size} bytes of claims (limits.max_issued_bytes = {})",
            limits.max_issued_bytes
        )));
    }
    Ok(())
}

/// A JWT from an upstream that is not a subject token (a userinfo response): decrypted if it is
/// a JWE, signature verified as for subject tokens, no time claims required (OIDC Core §5.3.2).
pub async fn open_upstream_jwt(
    state: &Arc<AppState>,
    client: &Client,
    token: String,
) -> Result<(Arc<Upstream>, Map<String, Value>), ExchangeError> {
    let mut trace = Trace::default();
    let jws = open_subject_token(state, token, &mut trace).await?;
    verify_signature(state, client, &jws, &mut trace).await
}

/// A writer that only counts what is written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Step 1: parse the compact token, decrypting a JWE to the JWS inside. Returns the JWS text.
async fn open_subject_token(
    state: &Arc<AppState>,
    token: String,
    trace: &mut Trace,
) -> Result<String, ExchangeError> {
    let header = match parse_compact(&token, &state.compact_limits)? {
        CompactToken::Jws(_) => {
            trace.passed("decryption", || "not encrypted: a JWS".into());
            return Ok(token);
        }
        CompactToken::Jwe { header, .. } => header,
    };
    let described = trace.steps.is_some().then(|| {
        format!(
            "JWE alg {} enc {} decrypted",
            header.alg,
            header.enc.as_deref().unwrap_or("?")
        )
    });
    // RSA private-key operations take ≈0.7 ms: off the reactor, so other requests keep flowing.
    let state_for_decrypt = state.clone();
    let nested = tokio::task::spawn_blocking(move || {
        decrypt_nested(
            &token,
            &header,
            &state_for_decrypt.keys.decryption,
            &state_for_decrypt.content_encryption,
            state_for_decrypt
                .limits
                .is_zip_allowed
                .then_some(state_for_decrypt.limits.max_inflated_bytes),
        )
    })
    .await
    .map_err(|err| ExchangeError::Internal(format!("decryption task failed: {err}")))??;
    match parse_compact(&nested, &state.compact_limits)? {
        CompactToken::Jws(_) => {
            trace.passed("decryption", || described.unwrap_or_default());
            Ok(nested)
        }
        CompactToken::Jwe { .. } => Err(TokenError::NestedJwe.into()),
    }
}

/// Finds the upstream by the unverified `iss` (a lookup key only), checks the client may use it
/// and the algorithm, and verifies the signature with the upstream's key for `kid`.
async fn verify_signature(
    state: &AppState,
    client: &Client,
    token: &str,
    trace: &mut Trace,
) -> Result<(Arc<Upstream>, Map<String, Value>), ExchangeError> {
    let jws: UnverifiedJws<'_> = parse_jws(token, &state.compact_limits)?;
    if trace.steps.is_some() {
        let header = header_text(token)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        trace.received = Some((header, jws.claims.clone()));
    }
    let alg = JwsAlg::parse(&jws.header.alg)
        .ok_or_else(|| TokenError::Jose(JoseError::UnsupportedAlgorithm(jws.header.alg.clone())))?;
    let issuer = jws.claims.get("iss").and_then(Value::as_str);
    let upstream = issuer
        .and_then(|issuer| state.upstreams.by_issuer(issuer))
        .ok_or_else(|| TokenError::UntrustedIssuer(issuer.map(str::to_owned)))?;
    trace.upstream = Some(upstream.config.issuer.clone());
    let name = &upstream.config.name;
    trace.passed("issuer", || format!("iss is upstream {name:?}"));
    if !client.config.upstreams.contains(name) {
        return Err(TokenError::UpstreamNotAllowed {
            client: client.config.id.clone(),
            upstream: name.clone(),
        }
        .into());
    }
    trace.passed("upstream allowed", || {
        format!("client {:?} may use upstream {name:?}", client.config.id)
    });
    if !upstream.config.algorithms.contains(&alg) {
        return Err(TokenError::AlgorithmNotAllowed {
            alg: alg.name().into(),
            upstream: name.clone(),
        }
        .into());
    }
    trace.passed("algorithm", || {
        format!("{} is allowed for {name:?}", alg.name())
    });
    let kid = jws.header.key_id();
    let keys = upstream.jwks.key_set_for(kid, alg).await?;
    let is_verified = keys
        .candidates(kid, alg)
        .any(|key| key.verify(alg, jws.signing_input.as_bytes(), jws.signature_b64));
    if !is_verified {
        return Err(TokenError::BadSignature.into());
    }
    trace.passed("signature", || match kid {
        Some(kid) => format!("verified with the key for kid {kid:?} from {name:?}'s JWKS"),
        None => format!("verified with a key from {name:?}'s JWKS (the token names no kid)"),
    });
    Ok((upstream.clone(), jws.claims))
}

/// Step 2: the signature, then the time claims and `sub`.
async fn verify_subject_token(
    state: &AppState,
    client: &Client,
    token: &str,
    now: UnixTime,
    trace: &mut Trace,
) -> Result<VerifiedToken, ExchangeError> {
    let (upstream, claims) = verify_signature(state, client, token, trace).await?;
    trace.sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    let leeway = upstream.config.leeway.as_secs();
    let exp = check_time_claims(&claims, now, leeway)?;
    trace.passed("time", || {
        format!(
            "exp in {} s; nbf and iat not in the future (leeway {leeway} s)",
            exp - now
        )
    });
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(TokenError::Claim("sub").into());
    }
    Ok(VerifiedToken {
        upstream,
        claims,
        exp,
    })
}

/// RFC 7519 §4.1.4–4.1.6, with leeway: `exp` required and in the future, `nbf` and `iat` (when
/// present) not in the future. Returns `exp`.
fn check_time_claims(
    claims: &Map<String, Value>,
    now: UnixTime,
    leeway: u64,
) -> Result<UnixTime, TokenError> {
    let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
    let exp = numeric_date(claims, "exp")?.ok_or(TokenError::Claim("exp"))?;
    if now >= exp.saturating_add(leeway) {
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

/// `aud` as a list, whether the token carries a string or an array (RFC 7519 §4.1.3).
fn audiences(claims: &Map<String, Value>, max_values: usize) -> Result<Vec<String>, TokenError> {
    match claims.get("aud") {
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(values)) if values.len() > max_values => {
            Err(TokenError::TooManyAudiences(values.len()))
        }
        Some(Value::Array(values)) => values
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or(TokenError::Claim("aud"))
            })
            .collect(),
        _ => Err(TokenError::Claim("aud")),
    }
}

fn fresh_jti() -> Result<String, ExchangeError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ExchangeError::Internal("no randomness for jti".into()))?;
    Ok(encode_part(&bytes))
}

/// Last step: sign with the client's algorithm, off the reactor when the key is RSA.
pub async fn sign(
    state: &AppState,
    alg: JwsAlg,
    typ: &'static str,
    claims: Map<String, Value>,
) -> Result<String, ExchangeError> {
    let signer = state
        .keys
        .signer(alg)
        .cloned()
        .ok_or_else(|| ExchangeError::Internal(format!("no {alg} signing key")))?;
    let signed = if signer.is_slow() {
        tokio::task::spawn_blocking(move || signer.sign_compact(typ, &claims))
            .await
            .map_err(|err| ExchangeError::Internal(format!("signing task failed: {err}")))?
    } else {
        signer.sign_compact(typ, &claims)
    };
    signed.map_err(|err| ExchangeError::Internal(err.to_string()))
}
