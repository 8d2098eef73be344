//! The use case: one token exchange, as named steps. Knows nothing of HTTP, the fronts or the
//! app state: it runs on a `Pipeline`.

mod audit;
mod cache;
mod error;
mod opaque;
mod pipeline;
mod request;
mod subject;
mod subject_claims;
mod trace;

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value};
use tracing::Instrument;

pub use audit::{AuditEvent, AuditedRefusal, record_audit};
pub(crate) use cache::ExchangeCache;
pub use error::{ExchangeError, TokenError};
pub use pipeline::Pipeline;
pub use request::{ExchangeRequest, RequestError, RequestParams};
pub use trace::{Step, Trace};

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::config::Limits;
use crate::jose::alg::JwsAlg;
use crate::jose::compact::encode_part;
use crate::metrics::PipelineStep;
use crate::oauth::TokenType;
use crate::policy::claims::{IssuedClaims, issued_claims};
use crate::policy::lifetime::issued_expiry;
use crate::policy::rules::apply_rules;
use crate::telemetry::fingerprint;
use crate::upstream::Upstream;
use subject::has_subject;
use subject_claims::{access_token_mark, audiences};

/// A successful exchange (RFC 8693 §2.2.1).
#[derive(Debug)]
pub struct Issued {
    /// The signed token, whatever its type (RFC 8693 names the member so).
    pub access_token: String,
    /// What was issued: the requested type, or the subject's.
    pub issued_token_type: TokenType,
    /// Seconds until the issued token's `exp`.
    pub expires_in: i64,
}

/// Everything decided about the token to issue, before it is signed.
pub struct Decision {
    /// The upstream whose key verified the subject token.
    pub upstream: Arc<Upstream>,
    /// The claims to sign: the subject's, shaped by the rules, with tokenbridge's registered ones.
    pub claims: Map<String, Value>,
    /// The client's `signing_alg`.
    pub alg: JwsAlg,
    /// The JOSE `typ` header: `JWT`, or the client's `access_token_typ` for access tokens.
    pub typ: &'static str,
    /// What will be issued.
    pub issued_token_type: TokenType,
    /// Seconds from now to the issued `exp`.
    pub expires_in: i64,
    /// The issued `iat`: the `now` every check of this decision used.
    pub issued_at: UnixTime,
    /// The generation of the upstream's keys the subject token was verified with (or an older
    /// one): a cached exchange is valid only while it holds.
    pub upstream_keys: Option<u64>,
}

/// One whole exchange: every check, then the signature; or, for a client with `cache = true`, a
/// repeat of an earlier one that is still valid (`cache`).
pub async fn exchange(
    pipeline: &Arc<Pipeline>,
    client: &Client,
    request: ExchangeRequest,
    trace: &mut Trace,
) -> Result<Issued, ExchangeError> {
    match &client.cache {
        Some(cache) => cache.exchange(pipeline, client, request, trace).await,
        None => exchange_fresh(pipeline, client, request, trace).await,
    }
}

/// `exchange` without the cache.
async fn exchange_fresh(
    pipeline: &Arc<Pipeline>,
    client: &Client,
    request: ExchangeRequest,
    trace: &mut Trace,
) -> Result<Issued, ExchangeError> {
    let decision = decide(pipeline, client, request, trace).await?;
    let access_token = sign(pipeline, decision.alg, decision.typ, decision.claims).await?;
    Ok(Issued {
        access_token,
        issued_token_type: decision.issued_token_type,
        expires_in: decision.expires_in,
    })
}

/// Every step of an exchange but the signature: what `explain` runs.
pub async fn decide(
    pipeline: &Arc<Pipeline>,
    client: &Client,
    request: ExchangeRequest,
    trace: &mut Trace,
) -> Result<Decision, ExchangeError> {
    decide_as(pipeline, client, request, &pipeline.issuer, trace).await
}

/// `decide` for a token whose `iss` is `issuer`: an OIDC front issues as its own issuer.
pub async fn decide_as(
    pipeline: &Arc<Pipeline>,
    client: &Client,
    request: ExchangeRequest,
    issuer: &str,
    trace: &mut Trace,
) -> Result<Decision, ExchangeError> {
    trace.token_fingerprint = Some(fingerprint(&request.subject_token));
    // Compact parts: two dots a JWS, four a JWE; anything else is opaque, for introspection.
    let dots = request
        .subject_token
        .bytes()
        .filter(|&byte| byte == b'.')
        .count();
    let introspecting = match dots {
        2 | 4 => None,
        _ => opaque::introspecting_upstream(pipeline, client),
    };
    // The one `now` of this decision: every check and the issued `iat`.
    let (verified, now) = if let Some(upstream) = introspecting {
        let now = pipeline.clock.now();
        let checking = opaque::verify_opaque(
            pipeline,
            upstream,
            &request.subject_token,
            request.subject_token_type,
            now,
            trace,
        );
        (timed(pipeline, PipelineStep::Verify, checking).await?, now)
    } else {
        // A JWE's opening is the decrypt step; a JWS's is only parsing.
        let opening = subject::open(pipeline, request.subject_token, trace);
        let jws = if dots == 4 {
            timed(pipeline, PipelineStep::Decrypt, opening).await?
        } else {
            opening.await?
        };
        let now = pipeline.clock.now();
        let verifying = subject::verify(pipeline, client, &jws, now, trace);
        (timed(pipeline, PipelineStep::Verify, verifying).await?, now)
    };
    let access_mark = access_token_mark(verified.signed.typ.as_deref(), &verified.signed.claims);
    if let (TokenType::IdToken, Some(mark)) = (request.subject_token_type, access_mark) {
        return Err(TokenError::NotAnIdToken(mark).into());
    }
    let upstream = verified.signed.upstream;
    let upstream_keys = verified.signed.key_generation;

    let (audience_claim, token_aud) = audiences(
        &verified.signed.claims,
        &upstream.config.audience_claims,
        pipeline.limits.max_aud_values,
    )?;
    trace.original_aud.clone_from(&token_aud);
    let audience = client
        .config
        .audience
        .choose(&token_aud, request.audience.as_deref())?;
    trace.chosen_aud = Some(audience.clone());
    trace.passed("audience", || {
        let rules = &client.config.audience;
        format!(
            "select = {:?}: token {audience_claim} {token_aud:?}, allowed {:?}, requested {:?} -> {audience:?}",
            rules.mode, rules.allowed, request.audience
        )
    });

    let issued_type = request
        .requested_token_type
        .unwrap_or(request.subject_token_type);
    let is_access_token = request.subject_token_type == TokenType::AccessToken
        || (request.subject_token_type == TokenType::Jwt && access_mark.is_some());
    if issued_type == TokenType::IdToken
        && is_access_token
        && !client.config.is_id_token_from_access_token_allowed
    {
        return Err(TokenError::IdTokenFromAccessToken.into());
    }
    let expires_at = issued_expiry(now, verified.exp, client.config.max_ttl)
        .ok_or(TokenError::NoLifetimeLeft)?;
    let jti = fresh_jti()?;
    trace.jti = Some(jti.clone());
    let mut subject_claims = verified.signed.claims;
    apply_claim_rules(&upstream, client, &mut subject_claims, trace)?;
    if !has_subject(&subject_claims) {
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
    check_issued_size(&claims, &pipeline.limits)?;
    trace.passed("size", || format!("{} claims, within limits", claims.len()));
    let typ = match issued_type {
        TokenType::AccessToken => client.config.access_token_typ.header_value(),
        TokenType::IdToken | TokenType::Jwt => "JWT",
    };
    Ok(Decision {
        upstream,
        claims,
        alg: client.config.signing_alg,
        typ,
        issued_token_type: issued_type,
        expires_in: expires_at - now,
        issued_at: now,
        upstream_keys,
    })
}

/// The upstream's claim rules, then the client's: the one order everything the pipeline issues
/// (tokens, a front's userinfo) is shaped in.
pub fn apply_claim_rules(
    upstream: &Upstream,
    client: &Client,
    claims: &mut Map<String, Value>,
    trace: &mut Trace,
) -> Result<(), TokenError> {
    for rules in [&upstream.config.rules, &client.config.rules] {
        for rule in apply_rules(rules, claims)? {
            trace.passed("claim rule", || {
                format!("{}: {}", rule.origin, rule.summary)
            });
        }
    }
    Ok(())
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

/// A JWT from an upstream that is not a subject token (a userinfo response): decrypted if it is
/// a JWE, signature verified as for subject tokens, no time claims required (OIDC Core §5.3.2).
pub async fn open_upstream_jwt(
    pipeline: &Arc<Pipeline>,
    client: &Client,
    token: String,
) -> Result<(Arc<Upstream>, Map<String, Value>), ExchangeError> {
    let opened = open_upstream_jws(pipeline, client, token).await?;
    Ok((opened.upstream, opened.claims))
}

/// A JWT from an upstream whose signature verified, with the JWS header's `typ`.
pub struct UpstreamJws {
    /// The upstream whose key verified it.
    pub upstream: Arc<Upstream>,
    /// The (inner) JWS header's `typ`, as sent: explicit typing (RFC 8725 §3.11).
    pub typ: Option<String>,
    /// The claims, none of them checked beyond `iss` naming `upstream`.
    pub claims: Map<String, Value>,
}

/// `open_upstream_jwt` for callers that check the JWS `typ` too (a back-channel logout token).
pub async fn open_upstream_jws(
    pipeline: &Arc<Pipeline>,
    client: &Client,
    token: String,
) -> Result<UpstreamJws, ExchangeError> {
    let mut trace = Trace::default();
    let jws = subject::open(pipeline, token, &mut trace).await?;
    let signed = subject::verify_signature(pipeline, client, &jws, &mut trace).await?;
    Ok(UpstreamJws {
        upstream: signed.upstream,
        typ: signed.typ,
        claims: signed.claims,
    })
}

/// A fresh, unguessable `jti` (128 random bits).
pub fn fresh_jti() -> Result<String, ExchangeError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ExchangeError::Internal("no randomness for jti".into()))?;
    Ok(encode_part(&bytes))
}

/// `work`, as one step of the pipeline: inside a tracing span named after it, and timed into
/// `tokenbridge_exchange_step_duration_seconds`.
async fn timed<T>(
    pipeline: &Pipeline,
    step: PipelineStep,
    work: impl std::future::Future<Output = T>,
) -> T {
    let span = match step {
        PipelineStep::Decrypt => tracing::info_span!("decrypt"),
        PipelineStep::Verify => tracing::info_span!("verify"),
        PipelineStep::Sign => tracing::info_span!("sign"),
    };
    let started = pipeline.clock.monotonic();
    let result = work.instrument(span).await;
    let elapsed = pipeline.clock.monotonic().saturating_sub(started);
    pipeline.metrics.step(step, elapsed);
    result
}

/// Last step: sign with the client's algorithm.
pub async fn sign(
    pipeline: &Pipeline,
    alg: JwsAlg,
    typ: &'static str,
    claims: Map<String, Value>,
) -> Result<String, ExchangeError> {
    timed(
        pipeline,
        PipelineStep::Sign,
        sign_now(pipeline, alg, typ, claims),
    )
    .await
}

async fn sign_now(
    pipeline: &Pipeline,
    alg: JwsAlg,
    typ: &'static str,
    claims: Map<String, Value>,
) -> Result<String, ExchangeError> {
    let signer = pipeline
        .key_ring
        .signer(alg, pipeline.clock.now())
        .ok_or_else(|| ExchangeError::Internal(format!("no {alg} signing key")))?;
    // Inline, on the worker, even an RSA signature (≈0.3 ms): an exchange is all CPU, and
    // actix-web runs one single-threaded worker per core, so the cores are busy either way. A
    // hand-off to tokio's blocking pool (up to 512 threads) only oversubscribes them and adds a
    // scheduling hop per operation (issue 17).
    signer
        .sign_compact(typ, &claims)
        .map_err(|err| ExchangeError::Internal(err.to_string()))
}
