//! Steps 1 and 2: open the subject token (decrypting a JWE to the JWS inside) and verify it
//! (issuer, the client's upstreams, algorithm, signature, then time claims and `sub`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::subject_claims::check_time_claims;
use super::{ExchangeError, Pipeline, TokenError, Trace};
use crate::clients::Client;
use crate::clock::UnixTime;
use crate::config::IssuerForm;
use crate::jose::JoseError;
use crate::jose::alg::JwsAlg;
use crate::jose::compact::{CompactToken, UnverifiedJws, header_text, parse_compact, parse_jws};
use crate::jose::decrypt::decrypt_nested;
use crate::upstream::Upstream;

/// A JWS whose signature verified with a key of `upstream`.
pub(super) struct SignedToken {
    pub upstream: Arc<Upstream>,
    /// The protected header's `typ`, as sent.
    pub typ: Option<String>,
    pub claims: Map<String, Value>,
    /// The generation of `upstream`'s keys read before the key was looked up, so never newer
    /// than the key that verified: what a cached exchange is stamped with.
    pub key_generation: Option<u64>,
}

/// A subject token whose signature and time claims have been checked.
pub(super) struct VerifiedToken {
    pub signed: SignedToken,
    pub exp: UnixTime,
}

/// Parses the compact token, decrypting a JWE to the JWS inside. Returns the JWS text.
pub(super) async fn open(
    pipeline: &Arc<Pipeline>,
    token: String,
    trace: &mut Trace,
) -> Result<String, ExchangeError> {
    let header = match parse_compact(&token, &pipeline.compact_limits)? {
        CompactToken::Jws(_) => {
            trace.passed("decryption", || "not encrypted: a JWS".into());
            return Ok(token);
        }
        CompactToken::Jwe { header, .. } => header,
    };
    let described = trace.is_explaining().then(|| {
        format!(
            "JWE alg {} enc {} decrypted",
            header.alg,
            header.enc.as_deref().unwrap_or("?")
        )
    });
    // On the worker, like every other step: see `sign_now`.
    let nested = decrypt_nested(
        &token,
        &header,
        pipeline.key_ring.decryption_keys(pipeline.clock.now()),
        &pipeline.content_encryption,
        pipeline
            .limits
            .is_zip_allowed
            .then_some(pipeline.limits.max_inflated_bytes),
    )?;
    match parse_compact(&nested, &pipeline.compact_limits)? {
        CompactToken::Jws(_) => {
            trace.passed("decryption", || described.unwrap_or_default());
            Ok(nested)
        }
        CompactToken::Jwe { .. } => Err(TokenError::NestedJwe.into()),
    }
}

/// Finds the upstream by the unverified `iss` (a lookup key only), checks the client may use it
/// and the algorithm, and verifies the signature with the upstream's key for `kid`.
pub(super) async fn verify_signature(
    pipeline: &Pipeline,
    client: &Client,
    token: &str,
    trace: &mut Trace,
) -> Result<SignedToken, ExchangeError> {
    let jws: UnverifiedJws<'_> = parse_jws(token, &pipeline.compact_limits)?;
    if trace.is_explaining() {
        let header = header_text(token)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        trace.received = Some((header, jws.claims.clone()));
    }
    let alg = JwsAlg::parse(&jws.header.alg)
        .ok_or_else(|| TokenError::Jose(JoseError::UnsupportedAlgorithm(jws.header.alg.clone())))?;
    let issuer = jws.claims.get("iss").and_then(Value::as_str);
    let (upstream, issuer_form) = issuer
        .and_then(|issuer| pipeline.upstreams.by_token_issuer(issuer))
        .ok_or_else(|| TokenError::UntrustedIssuer(issuer.map(str::to_owned)))?;
    trace.upstream = Some(upstream.config.issuer.clone());
    let name = &upstream.config.name;
    trace.passed("issuer", || issuer_named(name, issuer_form));
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
    let key_generation = upstream.jwks.generation();
    let key_set = upstream.jwks.key_set_for(kid, alg).await?;
    let is_verified = key_set
        .candidates(kid, alg)
        .any(|key| key.verify(alg, jws.signing_input.as_bytes(), jws.signature_b64));
    if !is_verified {
        return Err(TokenError::BadSignature.into());
    }
    trace.passed("signature", || match kid {
        Some(kid) => format!("verified with the key for kid {kid:?} from {name:?}'s JWKS"),
        None => format!("verified with a key from {name:?}'s JWKS (the token names no kid)"),
    });
    check_tenant(issuer_form, &jws.claims, trace)?;
    Ok(SignedToken {
        upstream: upstream.clone(),
        typ: jws.header.typ,
        claims: jws.claims,
        key_generation,
    })
}

/// The signature, then the time claims and `sub`.
pub(super) async fn verify(
    pipeline: &Pipeline,
    client: &Client,
    token: &str,
    now: UnixTime,
    trace: &mut Trace,
) -> Result<VerifiedToken, ExchangeError> {
    let signed = verify_signature(pipeline, client, token, trace).await?;
    check_claims(signed, now, trace)
}

/// What the issuer step says: the upstream, and the form of `iss` that named it.
pub(super) fn issuer_named(name: &str, form: Option<&IssuerForm>) -> String {
    match form {
        None => format!("iss is upstream {name:?}"),
        Some(IssuerForm::Alias) => format!("iss is upstream {name:?} (issuer_aliases)"),
        Some(IssuerForm::Tenant { template, tenant }) => {
            format!("iss is upstream {name:?}: {template:?} for allowed tenant {tenant:?}")
        }
    }
}

/// A multi-tenant IdP signs every tenant's tokens with the same keys: a tenant's issuer counts
/// only if the (signed, or introspected) `tid` names the same tenant.
pub(super) fn check_tenant(
    form: Option<&IssuerForm>,
    claims: &Map<String, Value>,
    trace: &mut Trace,
) -> Result<(), TokenError> {
    let Some(IssuerForm::Tenant { tenant, .. }) = form else {
        return Ok(());
    };
    let tid = claims.get("tid").and_then(Value::as_str);
    if tid != Some(tenant.as_str()) {
        return Err(TokenError::WrongTenant {
            tenant: tenant.clone(),
            tid: tid.map(str::to_owned),
        });
    }
    trace.passed("tenant", || {
        format!("tid {tenant:?} is the tenant iss names")
    });
    Ok(())
}

/// The claims of a token whose issuer and signature (or introspection) held: the time claims
/// and `sub`.
pub(super) fn check_claims(
    signed: SignedToken,
    now: UnixTime,
    trace: &mut Trace,
) -> Result<VerifiedToken, ExchangeError> {
    trace.sub = signed
        .claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let leeway = signed.upstream.config.leeway.as_secs();
    let exp = check_time_claims(&signed.claims, now, leeway)?;
    trace.passed("time", || {
        format!(
            "exp in {} s; nbf and iat not in the future (leeway {leeway} s)",
            exp - now
        )
    });
    if !has_subject(&signed.claims) {
        return Err(TokenError::Claim("sub").into());
    }
    Ok(VerifiedToken { signed, exp })
}

/// A non-empty string `sub` (RFC 7519 §4.1.2; OIDC Core §2 requires it).
pub(super) fn has_subject(claims: &Map<String, Value>) -> bool {
    claims
        .get("sub")
        .and_then(Value::as_str)
        .is_some_and(|sub| !sub.is_empty())
}
