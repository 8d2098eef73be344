//! Test tokens: the demo IdP's ID tokens as a test app mints them (claims filled in at the
//! service's now), their parts decoded unverified, and tokenbridge's tokens verified by
//! jsonwebtoken.

use serde_json::{Value, json};
use tokenbridge::demo::mint::IdpKey;
use tokenbridge::jose::alg::JwsAlg;

use super::keys::idp_key;
use super::service::TestApp;

/// The system clock's now, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    tokenbridge::clock::SystemClock::shared().now()
}

impl TestApp {
    /// An ID token from the demo IdP: `iss`, `sub`, `aud`, `iat`, `exp` filled in, then `extra`.
    pub(crate) fn id_token(&self, aud: Value, extra: Value) -> String {
        self.id_token_signed(&idp_key(JwsAlg::RS256), aud, extra)
    }

    pub(crate) fn id_token_signed(&self, key: &IdpKey, aud: Value, extra: Value) -> String {
        key.sign(&self.claims(aud, extra), &json!({})).unwrap()
    }

    pub(crate) fn claims(&self, aud: Value, extra: Value) -> Value {
        let now = self.now();
        let mut claims = json!({
            "iss": self.idp.issuer(),
            "sub": "user-1",
            "aud": aud,
            "iat": now,
            "exp": now + 600,
            "email": "ada@example.com",
        });
        if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
            for (name, value) in extra {
                if value.is_null() {
                    claims.remove(&name);
                } else {
                    claims.insert(name, value);
                }
            }
        }
        claims
    }
}

/// The header and claims of a compact JWS, unverified.
pub(crate) fn decode(token: &str) -> (Value, Value) {
    (json_part(token, 0), json_part(token, 1))
}

/// The protected header of a compact JWS or JWE.
pub(crate) fn protected_header(token: &str) -> Value {
    json_part(token, 0)
}

fn json_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

/// Verifies an issued token against tokenbridge's published JWKS with jsonwebtoken (not our
/// verifier), requiring our issuer and the single audience; returns the claims.
pub(crate) async fn verify_issued(app: &TestApp, token: &str, audience: &str) -> Value {
    use jsonwebtoken::{DecodingKey, Validation, decode_header, jwk::JwkSet};
    let jwks: JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap();
    let header = decode_header(token).unwrap();
    let kid = header.kid.clone().unwrap();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&app.base]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    assert!(
        claims["aud"].is_string(),
        "aud must be one string: {claims}"
    );
    claims
}
