//! `decrypt_nested` end to end: JWEs sealed by josekit, then each header check on its own.

use std::io::Write;
use std::sync::OnceLock;

use josekit::jwe::{self, JweEncrypter};
use josekit::jwk::Jwk;

use josekit::jwe::JweHeader;

use super::*;
use crate::jose::alg::KeyKind;
use crate::jose::compact::{CompactLimits, CompactToken, parse_compact};
use crate::jose::private_key::generate;

const NESTED: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

/// An EC key first, so a token that names no usable key must try the RSA key after it.
fn keys() -> &'static [DecryptionKey] {
    static KEYS: OnceLock<Vec<DecryptionKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [("ec", KeyKind::EcP256), ("rsa", KeyKind::Rsa)]
            .into_iter()
            .map(|(kid, kind)| {
                DecryptionKey::new(kid.into(), &generate(kind).unwrap(), kind, &JweAlg::ALL)
                    .unwrap()
            })
            .collect()
    })
}

fn encrypter(alg: JweAlg) -> Box<dyn JweEncrypter> {
    let kid = if alg.is_rsa() { "rsa" } else { "ec" };
    let key = keys().iter().find(|key| key.kid() == kid).unwrap();
    // The published `alg` names one algorithm; josekit refuses the key for the others.
    let mut members = key.public_jwk().clone();
    members.as_object_mut().unwrap().remove("alg");
    let jwk = Jwk::from_bytes(members.to_string()).unwrap();
    match alg {
        JweAlg::RsaOaep => Box::new(jwe::RSA_OAEP.encrypter_from_jwk(&jwk).unwrap()),
        JweAlg::RsaOaep256 => Box::new(jwe::RSA_OAEP_256.encrypter_from_jwk(&jwk).unwrap()),
        JweAlg::EcdhEs => Box::new(jwe::ECDH_ES.encrypter_from_jwk(&jwk).unwrap()),
        JweAlg::EcdhEsA128Kw => Box::new(jwe::ECDH_ES_A128KW.encrypter_from_jwk(&jwk).unwrap()),
        JweAlg::EcdhEsA192Kw => Box::new(jwe::ECDH_ES_A192KW.encrypter_from_jwk(&jwk).unwrap()),
        JweAlg::EcdhEsA256Kw => Box::new(jwe::ECDH_ES_A256KW.encrypter_from_jwk(&jwk).unwrap()),
    }
}

/// Seals `NESTED` with josekit; `edit` sets the header's optional members.
fn seal(alg: JweAlg, enc: JweEnc, edit: impl FnOnce(&mut JweHeader)) -> String {
    let mut header = JweHeader::new();
    header.set_content_encryption(enc.name());
    edit(&mut header);
    jwe::serialize_compact(NESTED.as_bytes(), &header, &*encrypter(alg)).unwrap()
}

fn open(token: &str, allowed_enc: &[JweEnc]) -> Result<String, JoseError> {
    let Ok(CompactToken::Jwe { header, token }) = parse_compact(token, &CompactLimits::default())
    else {
        panic!("not a JWE: {token}");
    };
    decrypt_nested(token, &header, keys(), allowed_enc, None)
}

#[test]
fn every_allowed_algorithm_and_encryption_opens_to_the_nested_jws() {
    for alg in JweAlg::ALL {
        for enc in JweEnc::ALL {
            let token = seal(alg, enc, |header| header.set_content_type("JWT"));
            assert_eq!(
                open(&token, &JweEnc::ALL)
                    .map_err(|err| err.to_string())
                    .as_deref(),
                Ok(NESTED),
                "{alg} {enc}"
            );
        }
    }
}

#[test]
fn an_enc_outside_the_allowlist_is_refused_by_name() {
    let token = seal(JweAlg::RsaOaep256, JweEnc::A128CbcHs256, |_| {});
    assert!(matches!(
        open(&token, &[JweEnc::A256Gcm]),
        Err(JoseError::UnsupportedAlgorithm(name)) if name == "A128CBC-HS256"
    ));
}

#[test]
fn cty_may_say_jwt_in_any_case_or_be_absent_and_nothing_else() {
    for cty in ["JWT", "jwt", "application/JWT", "application/jwt"] {
        let token = seal(JweAlg::EcdhEsA128Kw, JweEnc::A256Gcm, |header| {
            header.set_content_type(cty)
        });
        assert_eq!(
            open(&token, &JweEnc::ALL)
                .map_err(|err| err.to_string())
                .as_deref(),
            Ok(NESTED),
            "{cty}"
        );
    }
    let token = seal(JweAlg::EcdhEsA128Kw, JweEnc::A256Gcm, |_| {});
    assert_eq!(
        open(&token, &JweEnc::ALL)
            .map_err(|err| err.to_string())
            .as_deref(),
        Ok(NESTED),
        "no cty"
    );
    for cty in ["JSON", "application/json", "JWT+", "text/jwt"] {
        let token = seal(JweAlg::EcdhEsA128Kw, JweEnc::A256Gcm, |header| {
            header.set_content_type(cty)
        });
        assert!(
            matches!(
                open(&token, &JweEnc::ALL),
                Err(JoseError::Malformed("cty is not JWT"))
            ),
            "{cty}"
        );
    }
}

#[test]
fn a_kid_naming_a_key_of_another_family_falls_back_to_every_key() {
    let token = seal(JweAlg::RsaOaep, JweEnc::A128Gcm, |header| {
        header.set_key_id("ec")
    });
    assert_eq!(
        open(&token, &JweEnc::ALL)
            .map_err(|err| err.to_string())
            .as_deref(),
        Ok(NESTED)
    );
}

#[test]
fn compression_is_refused_unless_a_limit_is_given_and_only_def() {
    let token = seal(JweAlg::RsaOaep256, JweEnc::A256Gcm, |_| {});
    let Ok(CompactToken::Jwe { mut header, token }) =
        parse_compact(&token, &CompactLimits::default())
    else {
        panic!("not a JWE");
    };
    header.zip = Some("DEF".into());
    assert!(matches!(
        decrypt_nested(token, &header, keys(), &JweEnc::ALL, None),
        Err(JoseError::CompressionRefused)
    ));
    header.zip = Some("GZIP".into());
    assert!(matches!(
        decrypt_nested(token, &header, keys(), &JweEnc::ALL, Some(1024)),
        Err(JoseError::CompressionRefused)
    ));
}

#[test]
fn inflation_stops_at_the_limit() {
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflater.write_all(&[b'a'; 10_000]).unwrap();
    let deflated = deflater.finish().unwrap();

    assert_eq!(
        inflate_bounded(&deflated, 10_000)
            .map(|text| text.len())
            .ok(),
        Some(10_000)
    );
    assert!(matches!(
        inflate_bounded(&deflated, 9_999),
        Err(JoseError::TooLarge)
    ));
    assert!(matches!(
        inflate_bounded(b"not deflate at all", 100),
        Err(JoseError::Undecryptable)
    ));
}

#[test]
fn a_token_opened_by_no_key_is_undecryptable() {
    let token = seal(JweAlg::RsaOaep256, JweEnc::A256Gcm, |_| {});
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    // Another ciphertext of the same length: the tag no longer matches.
    parts[3] = parts[3].chars().rev().collect();
    assert!(matches!(
        open(&parts.join("."), &JweEnc::ALL),
        Err(JoseError::Undecryptable)
    ));
}
