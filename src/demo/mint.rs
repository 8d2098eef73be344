//! Minting tokens the way an IdP does: a signing key of any algorithm tokenbridge accepts, and
//! JWE encryption to a recipient's public key. Used by the demo and the integration tests; the
//! service itself never signs with these keys.
//!
//! josekit does the IdP side, so the tokens are made by code paths other than the ones that
//! verify them (jsonwebtoken/aws-lc-rs verify JWS; only JWE decryption shares josekit).

use josekit::jwe::{self, JweEncrypter, JweHeader};
use josekit::jwk::Jwk;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{self, JwsSigner};
use serde_json::{Map, Value, json};

use crate::jose::alg::{JweAlg, JweEnc, JwsAlg};
use crate::jose::compact::encode_part;

/// A demo token could not be signed or encrypted (josekit's reason).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MintError(String);

impl From<josekit::JoseError> for MintError {
    fn from(err: josekit::JoseError) -> MintError {
        MintError(err.to_string())
    }
}

/// An IdP's signing key: private part for minting, public JWK for its JWKS.
pub struct IdpKey {
    alg: JwsAlg,
    kid: String,
    public_jwk: Value,
    signer: Box<dyn JwsSigner>,
}

impl std::fmt::Debug for IdpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IdpKey {
    /// A fresh key for `alg` (RSA 2048, the curve the algorithm names, or Ed25519).
    pub fn generate(alg: JwsAlg, kid: &str) -> Result<IdpKey, MintError> {
        let private = match alg {
            JwsAlg::RS256 | JwsAlg::RS384 | JwsAlg::RS512 => {
                jws::RS256.generate_key_pair(2048)?.to_jwk_key_pair()
            }
            JwsAlg::PS256 | JwsAlg::PS384 | JwsAlg::PS512 => {
                // A plain `kty: RSA` key, as IdPs publish for PS* (not an RSASSA-PSS-restricted key).
                jws::RS256.generate_key_pair(2048)?.to_jwk_key_pair()
            }
            JwsAlg::ES256 => jws::ES256.generate_key_pair()?.to_jwk_key_pair(),
            JwsAlg::ES384 => jws::ES384.generate_key_pair()?.to_jwk_key_pair(),
            JwsAlg::ES512 => jws::ES512.generate_key_pair()?.to_jwk_key_pair(),
            JwsAlg::EdDSA => jws::EdDSA
                .generate_key_pair(EdCurve::Ed25519)?
                .to_jwk_key_pair(),
        };
        IdpKey::from_private_jwk(alg, kid, private)
    }

    /// A key from a private JWK (its own `kid`, if any, is replaced by `kid`).
    pub fn from_private_jwk(alg: JwsAlg, kid: &str, mut private: Jwk) -> Result<IdpKey, MintError> {
        private.set_key_id(kid);
        private.set_algorithm(alg.name());
        let signer: Box<dyn JwsSigner> = match alg {
            JwsAlg::RS256 => Box::new(jws::RS256.signer_from_jwk(&private)?),
            JwsAlg::RS384 => Box::new(jws::RS384.signer_from_jwk(&private)?),
            JwsAlg::RS512 => Box::new(jws::RS512.signer_from_jwk(&private)?),
            JwsAlg::PS256 => Box::new(jws::PS256.signer_from_jwk(&private)?),
            JwsAlg::PS384 => Box::new(jws::PS384.signer_from_jwk(&private)?),
            JwsAlg::PS512 => Box::new(jws::PS512.signer_from_jwk(&private)?),
            JwsAlg::ES256 => Box::new(jws::ES256.signer_from_jwk(&private)?),
            JwsAlg::ES384 => Box::new(jws::ES384.signer_from_jwk(&private)?),
            JwsAlg::ES512 => Box::new(jws::ES512.signer_from_jwk(&private)?),
            JwsAlg::EdDSA => Box::new(jws::EdDSA.signer_from_jwk(&private)?),
        };
        let public_jwk = public_members(&private, alg, kid);
        Ok(IdpKey {
            alg,
            kid: kid.to_owned(),
            public_jwk,
            signer,
        })
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    /// The `kid` its tokens and its public JWK carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK an IdP publishes: public members, `kid`, `alg`, `use: sig`.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// A compact JWS over `claims`. The header is `alg`, `kid`, `typ: JWT`, then `extra_header`'s
    /// members (which may override any of them, for tests that need odd headers).
    pub fn sign(&self, claims: &Value, extra_header: &Value) -> Result<String, MintError> {
        let mut header = Map::new();
        header.insert("alg".into(), json!(self.alg.name()));
        header.insert("kid".into(), json!(self.kid));
        header.insert("typ".into(), json!("JWT"));
        if let Value::Object(extra) = extra_header {
            header.extend(extra.clone());
        }
        self.sign_with_header(&Value::Object(header), claims)
    }

    /// A compact JWS with exactly `header` (no defaults added).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, MintError> {
        let signing_input = format!(
            "{}.{}",
            encode_part(header.to_string().as_bytes()),
            encode_part(claims.to_string().as_bytes())
        );
        let signature = self.signer.sign(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", encode_part(&signature)))
    }
}

fn public_members(private: &Jwk, alg: JwsAlg, kid: &str) -> Value {
    let mut public = Map::new();
    let members: &[&str] = match private.key_type() {
        "RSA" => &["kty", "n", "e"],
        "EC" => &["kty", "crv", "x", "y"],
        _ => &["kty", "crv", "x"],
    };
    for &member in members {
        if let Some(value) = private.parameter(member) {
            public.insert(member.into(), value.clone());
        }
    }
    public.insert("kid".into(), json!(kid));
    public.insert("alg".into(), json!(alg.name()));
    public.insert("use".into(), json!("sig"));
    Value::Object(public)
}

/// Encrypts `plaintext` (a nested JWS) to `recipient` (a public JWK) as a compact JWE. The header
/// is `alg`, `enc`, then `extra_header`'s members; `cty` and `kid` are only what the caller puts
/// there (`kid` from the recipient JWK when `extra_header` names none).
pub fn encrypt(
    plaintext: &str,
    recipient: &Value,
    alg: JweAlg,
    enc: JweEnc,
    extra_header: &Value,
) -> Result<String, MintError> {
    // The published `alg` names one algorithm; an IdP may use the same key with another.
    let mut recipient = recipient.clone();
    if let Value::Object(members) = &mut recipient {
        members.remove("alg");
        members.remove("use");
    }
    let recipient = Jwk::from_bytes(recipient.to_string().as_bytes())?;
    let encrypter: Box<dyn JweEncrypter> = match alg {
        JweAlg::RsaOaep => Box::new(jwe::RSA_OAEP.encrypter_from_jwk(&recipient)?),
        JweAlg::RsaOaep256 => Box::new(jwe::RSA_OAEP_256.encrypter_from_jwk(&recipient)?),
        JweAlg::EcdhEs => Box::new(jwe::ECDH_ES.encrypter_from_jwk(&recipient)?),
        JweAlg::EcdhEsA128Kw => Box::new(jwe::ECDH_ES_A128KW.encrypter_from_jwk(&recipient)?),
        JweAlg::EcdhEsA192Kw => Box::new(jwe::ECDH_ES_A192KW.encrypter_from_jwk(&recipient)?),
        JweAlg::EcdhEsA256Kw => Box::new(jwe::ECDH_ES_A256KW.encrypter_from_jwk(&recipient)?),
    };
    let mut header = Map::new();
    header.insert("enc".into(), json!(enc.name()));
    if let Value::Object(extra) = extra_header {
        header.extend(extra.clone());
    }
    let header = JweHeader::from_map(header)?;
    Ok(jwe::serialize_compact(
        plaintext.as_bytes(),
        &header,
        &*encrypter,
    )?)
}

/// Authentik's shape for an encrypted ID token: RSA-OAEP-256 + A256CBC-HS512, `typ: JWE`,
/// an empty `kid`, and no `cty`.
pub fn encrypt_like_authentik(plaintext: &str, recipient: &Value) -> Result<String, MintError> {
    encrypt(
        plaintext,
        recipient,
        JweAlg::RsaOaep256,
        JweEnc::A256CbcHs512,
        &json!({ "typ": "JWE", "kid": "" }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::compact::{CompactLimits, CompactToken, parse_compact};

    #[test]
    fn an_authentik_shaped_jwe_has_an_empty_kid_and_no_cty() {
        let key = IdpKey::generate(JwsAlg::ES256, "k1").unwrap();
        let recipient = jws::RS256
            .generate_key_pair(2048)
            .unwrap()
            .to_jwk_public_key();
        let recipient: Value = serde_json::from_str(&recipient.to_string()).unwrap();
        let jws = key.sign(&json!({"sub": "u"}), &json!({})).unwrap();
        let jwe = encrypt_like_authentik(&jws, &recipient).unwrap();
        let limits = CompactLimits {
            max_token_bytes: 16 * 1024,
            max_header_bytes: 2048,
            ..CompactLimits::default()
        };
        let CompactToken::Jwe { header, .. } = parse_compact(&jwe, &limits).unwrap() else {
            panic!("not a JWE");
        };
        assert_eq!(header.kid.as_deref(), Some(""));
        assert_eq!(header.typ.as_deref(), Some("JWE"));
        assert!(header.cty.is_none());
    }
}
