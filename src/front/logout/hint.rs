//! The `id_token_hint` of an RP-initiated logout: RP-Initiated Logout 1.0 §2 requires the OP to
//! check that it issued the hint, and for a front the OP is tokenbridge. So the hint is verified
//! with tokenbridge's own signing keys only (by `kid`, with the algorithm the key declares), and
//! must name this front as `iss` and its audience in `aud`. Its `exp` is not checked: the spec
//! lets an expired ID token serve as a hint, and a relying party logs out after its token lapsed.

use serde_json::Value;

use crate::jose::JoseError;
use crate::jose::alg::JwsAlg;
use crate::jose::compact::{CompactLimits, parse_jws};
use crate::jose::verify::VerificationKeySet;

/// Why a hint is not one this front issued; logged, never shown.
#[derive(Debug, thiserror::Error)]
pub(super) enum HintError {
    #[error(transparent)]
    Jose(#[from] JoseError),
    #[error("the hint names no kid (tokenbridge's tokens always do)")]
    NoKid,
    #[error("no key of tokenbridge's verifies it (kid {0:?})")]
    NotOurs(String),
    #[error("the hint's typ {0:?} is not an ID token's")]
    NotAnIdToken(String),
    #[error("the hint's iss {0:?} is not this front")]
    WrongIssuer(Option<String>),
    #[error("the hint's aud does not hold this front's audience")]
    WrongAudience,
}

/// What a logout needs to know about a hint.
pub(super) struct Hint<'a> {
    pub token: &'a str,
    /// The front's issuer, which every token it issues carries as `iss`.
    pub issuer: &'a str,
    /// The front's audience, its relying party's client id.
    pub audience: &'a str,
}

impl Hint<'_> {
    /// Whether tokenbridge issued this hint for this front: sizes first (the compact parser's
    /// caps), then the signature with `own_keys`, then `typ`, `iss` and `aud`.
    pub(super) fn check(
        &self,
        own_keys: &VerificationKeySet,
        limits: &CompactLimits,
    ) -> Result<(), HintError> {
        let jws = parse_jws(self.token, limits)?;
        let alg = JwsAlg::parse(&jws.header.alg)
            .ok_or_else(|| JoseError::UnsupportedAlgorithm(jws.header.alg.clone()))?;
        // Every key tokenbridge publishes has a kid, and so has every token it signs: without
        // one, any of our keys would be tried.
        let kid = jws.header.key_id().ok_or(HintError::NoKid)?;
        let is_ours = own_keys
            .candidates(Some(kid), alg)
            .any(|key| key.verify(alg, jws.signing_input.as_bytes(), jws.signature_b64));
        if !is_ours {
            return Err(HintError::NotOurs(kid.to_owned()));
        }
        // A front also signs access tokens (`at+jwt`) and userinfo answers with the same iss and
        // aud; only an ID token is a hint (RFC 8725 §3.11: the type tells them apart).
        if let Some(typ) = jws.header.typ.as_deref()
            && !typ.eq_ignore_ascii_case("JWT")
        {
            return Err(HintError::NotAnIdToken(typ.to_owned()));
        }
        let issuer = jws.claims.get("iss").and_then(Value::as_str);
        if issuer != Some(self.issuer) {
            return Err(HintError::WrongIssuer(issuer.map(str::to_owned)));
        }
        let is_for_us = match jws.claims.get("aud") {
            Some(Value::String(aud)) => aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud == self.audience),
            _ => false,
        };
        if !is_for_us {
            return Err(HintError::WrongAudience);
        }
        Ok(())
    }
}
