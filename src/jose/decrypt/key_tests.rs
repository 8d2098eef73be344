//! Content-key recovery: inputs that can't be meant for a key are refused (`None`) before any
//! cryptography; inputs that fit but don't unwrap give a random key of the right length.

use std::sync::OnceLock;

use serde_json::json;

use super::*;
use crate::jose::private_key::generate;

struct Keys {
    rsa: DecryptionKey,
    p256: DecryptionKey,
    /// A P-256 public key, as a valid `epk`.
    p256_epk: Value,
    /// A P-384 public key: an `epk` on the wrong curve for `p256`.
    p384_epk: Value,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |kid: &str, kind| {
            DecryptionKey::new(kid.into(), &generate(kind).unwrap(), kind, &JweAlg::ALL).unwrap()
        };
        let epk = |kind| Value::Object(public_jwk_members(&generate(kind).unwrap(), kind).unwrap());
        Keys {
            rsa: key("rsa", KeyKind::Rsa),
            p256: key("p256", KeyKind::EcP256),
            p256_epk: epk(KeyKind::EcP256),
            p384_epk: epk(KeyKind::EcP384),
        }
    })
}

fn header_with_epk(epk: &Value) -> JoseHeader {
    serde_json::from_value(json!({ "alg": "ECDH-ES", "epk": epk })).unwrap()
}

fn header_without_epk() -> JoseHeader {
    serde_json::from_value(json!({ "alg": "RSA-OAEP-256" })).unwrap()
}

#[test]
fn an_rsa_encrypted_key_of_any_length_but_the_modulus_is_refused_before_decryption() {
    let rsa = &keys().rsa;
    let header = header_without_epk();
    for len in [0, 32, 255, 257, 512] {
        assert!(
            rsa.recover_cek(JweAlg::RsaOaep256, JweEnc::A256Gcm, &vec![7; len], &header)
                .is_none(),
            "{len} bytes"
        );
    }
    // The right length, but not a real wrapped key: a random key, so the tag check fails later.
    let fallback = rsa.recover_cek(JweAlg::RsaOaep256, JweEnc::A256Gcm, &[7; 256], &header);
    assert_eq!(fallback.map(|cek| cek.len()), Some(32));
}

#[test]
fn direct_key_agreement_refuses_a_non_empty_encrypted_key() {
    let keys = keys();
    let header = header_with_epk(&keys.p256_epk);
    assert!(
        keys.p256
            .recover_cek(JweAlg::EcdhEs, JweEnc::A128Gcm, &[0; 16], &header)
            .is_none()
    );
    let derived = keys
        .p256
        .recover_cek(JweAlg::EcdhEs, JweEnc::A128Gcm, &[], &header);
    assert_eq!(derived.map(|cek| cek.len()), Some(16));
}

#[test]
fn a_wrapped_key_must_be_one_block_longer_than_the_content_key() {
    let keys = keys();
    let header = header_with_epk(&keys.p256_epk);
    let enc = JweEnc::A256CbcHs512;
    for len in [0, enc.key_len(), enc.key_len() + 16, 40] {
        assert!(
            keys.p256
                .recover_cek(JweAlg::EcdhEsA256Kw, enc, &vec![1; len], &header)
                .is_none(),
            "{len} bytes"
        );
    }
    let fallback = keys.p256.recover_cek(
        JweAlg::EcdhEsA256Kw,
        enc,
        &vec![1; enc.key_len() + 8],
        &header,
    );
    assert_eq!(fallback.map(|cek| cek.len()), Some(enc.key_len()));
}

#[test]
fn an_epk_on_another_curve_or_with_short_coordinates_is_refused() {
    let keys = keys();
    let mut short = keys.p256_epk.clone();
    short["x"] = json!("AAAA");
    let mut not_ec = keys.p256_epk.clone();
    not_ec["kty"] = json!("OKP");
    for epk in [&keys.p384_epk, &short, &not_ec] {
        assert!(
            keys.p256
                .recover_cek(JweAlg::EcdhEs, JweEnc::A128Gcm, &[], &header_with_epk(epk))
                .is_none(),
            "{epk}"
        );
    }
    assert!(
        keys.p256
            .recover_cek(JweAlg::EcdhEs, JweEnc::A128Gcm, &[], &header_without_epk())
            .is_none(),
        "no epk at all"
    );
}

#[test]
fn a_key_recovers_nothing_for_an_algorithm_of_another_family() {
    let keys = keys();
    let header = header_with_epk(&keys.p256_epk);
    assert!(!keys.p256.unwraps(JweAlg::RsaOaep));
    assert!(
        keys.p256
            .recover_cek(JweAlg::RsaOaep, JweEnc::A128Gcm, &[0; 32], &header)
            .is_none()
    );
    assert!(!keys.rsa.unwraps(JweAlg::EcdhEs));
    assert!(
        keys.rsa
            .recover_cek(JweAlg::EcdhEs, JweEnc::A128Gcm, &[], &header)
            .is_none()
    );
}

#[test]
fn a_key_with_no_allowed_algorithm_of_its_family_is_refused_at_start() {
    let pkey = generate(KeyKind::EcP256).unwrap();
    let made = DecryptionKey::new(
        "ec".into(),
        &pkey,
        KeyKind::EcP256,
        &[JweAlg::RsaOaep, JweAlg::RsaOaep256],
    );
    assert!(matches!(made, Err(PrivateKeyError::WrongKind { .. })));
}

#[test]
fn the_published_jwk_names_the_preferred_algorithm_the_config_allows() {
    let pkey = generate(KeyKind::EcP256).unwrap();
    let only_direct =
        DecryptionKey::new("ec".into(), &pkey, KeyKind::EcP256, &[JweAlg::EcdhEs]).unwrap();
    assert_eq!(only_direct.public_jwk()["alg"], "ECDH-ES");
    assert_eq!(keys().p256.public_jwk()["alg"], "ECDH-ES+A256KW");
    assert_eq!(keys().rsa.public_jwk()["alg"], "RSA-OAEP-256");
    assert_eq!(keys().rsa.public_jwk()["use"], "enc");
}
