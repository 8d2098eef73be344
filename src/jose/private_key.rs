//! Private keys as bytes: parsed from PEM (PKCS#1, PKCS#8, SEC1) or a JWK, or generated; the
//! public JWK members they publish and their RFC 7638 thumbprint. Reading and writing key files
//! is `keyring`'s.

use josekit::jwk::Jwk;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jwk::alg::ed::EdKeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use serde_json::{Map, Value, json};

use super::alg::KeyKind;
use super::compact::encode_part;

/// Why a private key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivateKeyError {
    /// The bytes are neither a PEM private key (PKCS#1, PKCS#8, SEC1) nor a JWK, or the key's
    /// type or curve has no `KeyKind`; holds the reason.
    #[error("no private key tokenbridge can use (PEM PKCS#1/PKCS#8/SEC1 or JWK): {0}")]
    Unparseable(String),
    /// The key is of a family its purpose cannot use.
    #[error("{key} holds a {found} key, but {wanted} is needed")]
    WrongKind {
        /// The purpose, as the message names it: `the RS256 signing key`, `decryption key <kid>`.
        key: String,
        /// The key's `KeyKind`, as `Debug` writes it.
        found: String,
        /// The kind, or kinds, the purpose needs.
        wanted: String,
    },
    /// OpenSSL or aws-lc-rs failed to generate the key, export it, or prepare a signer or
    /// decrypter from it; holds the library's message. Despite the name, not only generation.
    #[error("key generation failed: {0}")]
    Generate(String),
}

/// A parsed private key, with the `kid` a JWK named (PEM names none).
pub struct PrivateKey {
    /// The key as OpenSSL parsed it.
    pub pkey: PKey<Private>,
    pub(crate) kind: KeyKind,
    pub(crate) named_kid: Option<String>,
}

/// Parses a private key from a PEM or JWK document.
pub fn parse_private_key(bytes: &[u8]) -> Result<PrivateKey, PrivateKeyError> {
    let trimmed = bytes.trim_ascii_start();
    let (pkey, named_kid) = if trimmed.starts_with(b"{") {
        pkey_from_jwk(bytes).map_err(PrivateKeyError::Unparseable)?
    } else {
        let pkey = PKey::private_key_from_pem(bytes)
            .map_err(|err| PrivateKeyError::Unparseable(err.to_string()))?;
        (pkey, None)
    };
    let kind = key_kind(&pkey)
        .ok_or_else(|| PrivateKeyError::Unparseable("unsupported key type or curve".into()))?;
    Ok(PrivateKey {
        pkey,
        kind,
        named_kid,
    })
}

fn pkey_from_jwk(bytes: &[u8]) -> Result<(PKey<Private>, Option<String>), String> {
    let jwk = Jwk::from_bytes(bytes).map_err(|err| err.to_string())?;
    let der = match jwk.key_type() {
        "RSA" => RsaKeyPair::from_jwk(&jwk)
            .map_err(|e| e.to_string())?
            .to_der_private_key(),
        "EC" => EcKeyPair::from_jwk(&jwk)
            .map_err(|e| e.to_string())?
            .to_der_private_key(),
        "OKP" => EdKeyPair::from_jwk(&jwk)
            .map_err(|e| e.to_string())?
            .to_der_private_key(),
        other => return Err(format!("kty {other} is not supported")),
    };
    let pkey = PKey::private_key_from_der(&der).map_err(|err| err.to_string())?;
    let kid = jwk
        .key_id()
        .filter(|kid| !kid.is_empty())
        .map(str::to_owned);
    Ok((pkey, kid))
}

/// A new private key of `kind`: 2048-bit RSA, or a key on the named curve.
pub fn generate(kind: KeyKind) -> Result<PKey<Private>, PrivateKeyError> {
    let generated = match kind {
        KeyKind::Rsa => Rsa::generate(2048).and_then(PKey::from_rsa),
        KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => {
            let nid = curve_nid(kind).unwrap_or(Nid::X9_62_PRIME256V1);
            EcGroup::from_curve_name(nid)
                .and_then(|group| EcKey::generate(&group))
                .and_then(PKey::from_ec_key)
        }
        KeyKind::Ed25519 => PKey::generate_ed25519(),
    };
    generated.map_err(|err| PrivateKeyError::Generate(err.to_string()))
}

fn curve_nid(kind: KeyKind) -> Option<Nid> {
    match kind {
        KeyKind::EcP256 => Some(Nid::X9_62_PRIME256V1),
        KeyKind::EcP384 => Some(Nid::SECP384R1),
        KeyKind::EcP521 => Some(Nid::SECP521R1),
        KeyKind::Rsa | KeyKind::Ed25519 => None,
    }
}

pub(crate) fn key_kind<T: openssl::pkey::HasPublic>(pkey: &PKey<T>) -> Option<KeyKind> {
    match pkey.id() {
        Id::RSA => Some(KeyKind::Rsa),
        Id::ED25519 => Some(KeyKind::Ed25519),
        Id::EC => {
            let nid = pkey.ec_key().ok()?.group().curve_name()?;
            match nid {
                Nid::X9_62_PRIME256V1 => Some(KeyKind::EcP256),
                Nid::SECP384R1 => Some(KeyKind::EcP384),
                Nid::SECP521R1 => Some(KeyKind::EcP521),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The public members of a JWK (RFC 7518 §6, RFC 8037 §2), without `kid`, `use` or `alg`.
pub fn public_jwk_members(
    pkey: &PKey<Private>,
    kind: KeyKind,
) -> Result<Map<String, Value>, PrivateKeyError> {
    let failed = |err: openssl::error::ErrorStack| PrivateKeyError::Generate(err.to_string());
    let members = match kind {
        KeyKind::Rsa => {
            let rsa = pkey.rsa().map_err(failed)?;
            json!({"kty": "RSA", "n": encode_part(&rsa.n().to_vec()), "e": encode_part(&rsa.e().to_vec())})
        }
        KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => {
            let ec = pkey.ec_key().map_err(failed)?;
            let mut ctx = openssl::bn::BigNumContext::new().map_err(failed)?;
            let mut x = openssl::bn::BigNum::new().map_err(failed)?;
            let mut y = openssl::bn::BigNum::new().map_err(failed)?;
            ec.public_key()
                .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                .map_err(failed)?;
            // RFC 7518 §6.2.1.2: coordinates are padded to the full field size.
            let size = i32::try_from(ec.group().degree().div_ceil(8)).unwrap_or(66);
            let x = x.to_vec_padded(size).map_err(failed)?;
            let y = y.to_vec_padded(size).map_err(failed)?;
            json!({"kty": "EC", "crv": kind.curve_name(), "x": encode_part(&x), "y": encode_part(&y)})
        }
        KeyKind::Ed25519 => {
            let raw = pkey.raw_public_key().map_err(failed)?;
            json!({"kty": "OKP", "crv": "Ed25519", "x": encode_part(&raw)})
        }
    };
    match members {
        Value::Object(map) => Ok(map),
        _ => Err(PrivateKeyError::Generate(
            "JWK members are not an object".into(),
        )),
    }
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no spaces.
pub fn thumbprint(members: &Map<String, Value>) -> String {
    let required: &[&str] = match members.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let canonical: Vec<String> = required
        .iter()
        .map(|name| {
            let value = members
                .get(*name)
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!("\"{name}\":\"{value}\"")
        })
        .collect();
    let json = format!("{{{}}}", canonical.join(","));
    encode_part(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_the_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let Value::Object(members) = jwk else {
            unreachable!()
        };
        assert_eq!(
            thumbprint(&members),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
