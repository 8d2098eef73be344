//! Signature verification against an upstream's published keys, chosen by `kid` and algorithm,
//! never by anything else the token carries.

use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::alg::{JwsAlg, KeyKind};

enum PublicKey {
    Jwt(DecodingKey),
    /// jsonwebtoken has no ES512; aws-lc-rs, its backend, verifies it directly.
    P521 {
        uncompressed_point: Vec<u8>,
    },
}

/// One verification key from an upstream's JWKS, parsed once when the JWKS is fetched.
pub struct VerificationKey {
    kid: Option<String>,
    kind: KeyKind,
    /// RFC 7517 §4.4: a key that names its `alg` is used with that algorithm only.
    alg: Option<JwsAlg>,
    key: PublicKey,
}

/// Why a JWK in a JWKS was passed over (logged, never fatal for the rest of the set).
#[derive(Debug, thiserror::Error)]
pub enum JwkError {
    /// A member the key's type needs (`kty`, `n`, `e`, `crv`, `x`, `y`) is absent or not a
    /// string; holds its name.
    #[error("member {0} is missing or not a string")]
    Missing(&'static str),
    /// A `kty`, curve or `alg` tokenbridge does not verify with, an `alg` that does not fit the key
    /// type, or a small-order Ed25519 point; says which.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// The key material does not decode into a key (not base64url, a coordinate of the wrong
    /// length).
    #[error("invalid key material")]
    Invalid,
}

impl VerificationKey {
    /// Parses one JWK. Keys marked for encryption (`"use":"enc"`) yield `Ok(None)`.
    pub fn from_jwk(jwk: &Value) -> Result<Option<VerificationKey>, JwkError> {
        let member = |name: &'static str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or(JwkError::Missing(name))
        };
        if jwk
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|usage| usage != "sig")
        {
            return Ok(None);
        }
        let alg = match jwk.get("alg").and_then(Value::as_str) {
            None => None,
            Some(name) => match JwsAlg::parse(name) {
                Some(alg) => Some(alg),
                None => return Err(JwkError::Unsupported(format!("alg {name}"))),
            },
        };
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        let invalid = |_| JwkError::Invalid;
        let (kind, key) = match member("kty")? {
            "RSA" => (
                KeyKind::Rsa,
                PublicKey::Jwt(
                    DecodingKey::from_rsa_components(member("n")?, member("e")?)
                        .map_err(invalid)?,
                ),
            ),
            "EC" => match member("crv")? {
                "P-256" => (KeyKind::EcP256, ec_key(member("x")?, member("y")?)?),
                "P-384" => (KeyKind::EcP384, ec_key(member("x")?, member("y")?)?),
                "P-521" => {
                    let mut point = vec![0x04];
                    point.extend(decode_coordinate(member("x")?, 66)?);
                    point.extend(decode_coordinate(member("y")?, 66)?);
                    (
                        KeyKind::EcP521,
                        PublicKey::P521 {
                            uncompressed_point: point,
                        },
                    )
                }
                other => return Err(JwkError::Unsupported(format!("curve {other}"))),
            },
            "OKP" => match member("crv")? {
                "Ed25519" => {
                    let x = member("x")?;
                    let point = decode_coordinate(x, 32)?;
                    if is_small_order_ed25519(&point) {
                        return Err(JwkError::Unsupported("a small-order Ed25519 point".into()));
                    }
                    (
                        KeyKind::Ed25519,
                        PublicKey::Jwt(DecodingKey::from_ed_components(x).map_err(invalid)?),
                    )
                }
                other => return Err(JwkError::Unsupported(format!("curve {other}"))),
            },
            other => return Err(JwkError::Unsupported(format!("kty {other}"))),
        };
        if alg.is_some_and(|alg| alg.key_kind() != kind) {
            return Err(JwkError::Unsupported(
                "alg does not fit the key type".into(),
            ));
        }
        Ok(Some(VerificationKey {
            kid,
            kind,
            alg,
            key,
        }))
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// RFC 8725 §3.1: a key verifies only the algorithms of its own family (an RSA key never
    /// verifies ES256, a P-256 key never ES384), and only its declared `alg` if it has one.
    pub fn can_verify(&self, alg: JwsAlg) -> bool {
        self.kind == alg.key_kind() && self.alg.is_none_or(|declared| declared == alg)
    }

    /// Whether `signature_b64` (base64url, as the token carries it) is this key's `alg` signature
    /// over `signing_input`. False whenever `can_verify` is, whatever the signature.
    pub fn verify(&self, alg: JwsAlg, signing_input: &[u8], signature_b64: &str) -> bool {
        if !self.can_verify(alg) {
            return false;
        }
        match &self.key {
            PublicKey::Jwt(key) => {
                jsonwebtoken::crypto::verify(signature_b64, signing_input, key, jwt_algorithm(alg))
                    .unwrap_or(false)
            }
            PublicKey::P521 { uncompressed_point } => match URL_SAFE_NO_PAD.decode(signature_b64) {
                Ok(signature) => {
                    UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, uncompressed_point)
                        .verify(signing_input, &signature)
                        .is_ok()
                }
                Err(_) => false,
            },
        }
    }
}

fn ec_key(x: &str, y: &str) -> Result<PublicKey, JwkError> {
    DecodingKey::from_ec_components(x, y)
        .map(PublicKey::Jwt)
        .map_err(|_| JwkError::Invalid)
}

/// The encodings of Ed25519's eight small-order points, each with its sign bit clear, and the
/// non-canonical ones (y ≥ p) that decode to them: libsodium's `has_small_order` blocklist. Such a
/// key verifies forged signatures (the identity point accepts R = identity, S = 0 for any message),
/// so a JWKS that holds one must not lend it to any token.
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = {
    let mut points = [[0u8; 32]; 7];
    // y = 0 (order 4) is all zeros. y = 1, the identity (order 1):
    points[1][0] = 0x01;
    // The two order-8 y values:
    points[2] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ];
    points[3] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    // p − 1 (y = −1, order 2), p (a second encoding of y = 0), p + 1 (of y = 1).
    let mut index = 4;
    while index < 7 {
        let mut byte = 1;
        while byte < 31 {
            points[index][byte] = 0xff;
            byte += 1;
        }
        points[index][31] = 0x7f;
        index += 1;
    }
    points[4][0] = 0xec;
    points[5][0] = 0xed;
    points[6][0] = 0xee;
    points
};

fn is_small_order_ed25519(point: &[u8]) -> bool {
    let Some((last, rest)) = point.split_last() else {
        return false;
    };
    ED25519_SMALL_ORDER
        .iter()
        .any(|blocked| blocked[..31] == *rest && blocked[31] == last & 0x7f)
}

fn decode_coordinate(b64: &str, len: usize) -> Result<Vec<u8>, JwkError> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| JwkError::Invalid)?;
    if bytes.len() != len {
        return Err(JwkError::Invalid);
    }
    Ok(bytes)
}

fn jwt_algorithm(alg: JwsAlg) -> Algorithm {
    match alg {
        JwsAlg::RS256 => Algorithm::RS256,
        JwsAlg::RS384 => Algorithm::RS384,
        JwsAlg::RS512 => Algorithm::RS512,
        JwsAlg::PS256 => Algorithm::PS256,
        JwsAlg::PS384 => Algorithm::PS384,
        JwsAlg::PS512 => Algorithm::PS512,
        JwsAlg::ES256 => Algorithm::ES256,
        JwsAlg::ES384 => Algorithm::ES384,
        // ES512 never reaches here: its keys are PublicKey::P521.
        JwsAlg::ES512 => Algorithm::ES384,
        JwsAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// The verification keys of one upstream, as its JWKS published them.
#[derive(Default)]
pub struct VerificationKeySet {
    keys: Vec<VerificationKey>,
}

impl VerificationKeySet {
    pub(crate) fn new(keys: Vec<VerificationKey>) -> VerificationKeySet {
        VerificationKeySet { keys }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys that may verify a token with this `kid` and `alg`. With a `kid`, only keys of that
    /// `kid`; without one, every key of the right family (IdPs with a single key often omit it).
    pub fn candidates(
        &self,
        kid: Option<&str>,
        alg: JwsAlg,
    ) -> impl Iterator<Item = &VerificationKey> {
        self.keys
            .iter()
            .filter(move |key| key.can_verify(alg) && (kid.is_none() || key.kid() == kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed25519_jwk(point: &[u8]) -> Value {
        serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(point) })
    }

    /// RFC 8725 §3.1 with nothing else to lean on: a JWK that names no `alg` still verifies only
    /// its own family, whatever the token's header says.
    #[test]
    fn a_key_without_alg_verifies_only_its_own_family() {
        let rsa = VerificationKey::from_jwk(&serde_json::json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode([0xc5u8; 256]),
            "e": "AQAB",
        }))
        .unwrap()
        .unwrap();
        let p256 = VerificationKey::from_jwk(&serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }))
        .unwrap()
        .unwrap();
        for alg in JwsAlg::ALL {
            assert_eq!(
                rsa.can_verify(alg),
                alg.key_kind() == KeyKind::Rsa,
                "RSA key, {alg}"
            );
            assert_eq!(
                p256.can_verify(alg),
                alg == JwsAlg::ES256,
                "P-256 key, {alg}"
            );
        }
        assert!(!rsa.verify(JwsAlg::ES256, b"header.payload", "c2ln"));
    }

    #[test]
    fn every_small_order_ed25519_encoding_is_refused_and_a_real_key_is_not() {
        for point in ED25519_SMALL_ORDER {
            for sign in [0x00, 0x80] {
                let mut encoded = point;
                encoded[31] |= sign;
                assert!(
                    matches!(
                        VerificationKey::from_jwk(&ed25519_jwk(&encoded)),
                        Err(JwkError::Unsupported(_))
                    ),
                    "{encoded:02x?}"
                );
            }
        }
        // RFC 8032 §7.1, test 1's public key.
        let real: Vec<u8> = (0..32)
            .map(|i| {
                u8::from_str_radix(
                    &"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
                        [2 * i..2 * i + 2],
                    16,
                )
                .unwrap()
            })
            .collect();
        assert!(matches!(
            VerificationKey::from_jwk(&ed25519_jwk(&real)),
            Ok(Some(_))
        ));
        assert!(VerificationKey::from_jwk(&ed25519_jwk(&real[..31])).is_err());
    }
}
