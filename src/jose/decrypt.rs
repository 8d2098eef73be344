//! JWE decryption (RFC 7516) of nested JWTs with tokenbridge's own keys.

use josekit::jwe::{self, JweCompression, JweContext, JweDecrypter};
use openssl::pkey::{PKey, Private};
use serde_json::Value;

use super::JoseError;
use super::alg::{JweAlg, JweEnc, KeyKind};
use super::compact::JoseHeader;
use super::keys::{KeyError, public_jwk_members};

/// One of tokenbridge's decryption keys, with a josekit decrypter per allowed key-management
/// algorithm, each holding the key parsed once.
pub struct DecryptionKey {
    kid: String,
    kind: KeyKind,
    decrypters: Vec<(JweAlg, Box<dyn JweDecrypter>)>,
    public_jwk: Value,
}

impl DecryptionKey {
    pub fn new(
        kid: String,
        pkey: &PKey<Private>,
        kind: KeyKind,
        allowed: &[JweAlg],
    ) -> Result<DecryptionKey, KeyError> {
        let der = pkey
            .private_key_to_pkcs8()
            .map_err(|err| KeyError::Generate(err.to_string()))?;
        let failed = |err: josekit::JoseError| KeyError::Generate(err.to_string());
        let mut decrypters: Vec<(JweAlg, Box<dyn JweDecrypter>)> = Vec::new();
        for &alg in allowed {
            let decrypter: Box<dyn JweDecrypter> = match (alg, kind) {
                (JweAlg::RsaOaep, KeyKind::Rsa) => {
                    Box::new(jwe::RSA_OAEP.decrypter_from_der(&der).map_err(failed)?)
                }
                (JweAlg::RsaOaep256, KeyKind::Rsa) => {
                    Box::new(jwe::RSA_OAEP_256.decrypter_from_der(&der).map_err(failed)?)
                }
                (JweAlg::EcdhEs, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521) => {
                    Box::new(jwe::ECDH_ES.decrypter_from_der(&der).map_err(failed)?)
                }
                (JweAlg::EcdhEsA128Kw, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521) => {
                    Box::new(
                        jwe::ECDH_ES_A128KW
                            .decrypter_from_der(&der)
                            .map_err(failed)?,
                    )
                }
                (JweAlg::EcdhEsA192Kw, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521) => {
                    Box::new(
                        jwe::ECDH_ES_A192KW
                            .decrypter_from_der(&der)
                            .map_err(failed)?,
                    )
                }
                (JweAlg::EcdhEsA256Kw, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521) => {
                    Box::new(
                        jwe::ECDH_ES_A256KW
                            .decrypter_from_der(&der)
                            .map_err(failed)?,
                    )
                }
                _ => continue,
            };
            decrypters.push((alg, decrypter));
        }
        if decrypters.is_empty() {
            return Err(KeyError::WrongKind {
                path: format!("decryption key {kid}"),
                found: format!("{kind:?}"),
                wanted: "an RSA or EC (P-256/P-384/P-521) key for an allowed JWE algorithm".into(),
            });
        }
        let mut jwk = public_jwk_members(pkey, kind)?;
        jwk.insert("kid".into(), Value::String(kid.clone()));
        jwk.insert("use".into(), Value::String("enc".into()));
        jwk.insert(
            "alg".into(),
            Value::String(published_alg(kind, &decrypters).name().into()),
        );
        Ok(DecryptionKey {
            kid,
            kind,
            decrypters,
            public_jwk: Value::Object(jwk),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The public key as `/.well-known/encryption-keys.json` publishes it.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    fn decrypter(&self, alg: JweAlg) -> Option<&dyn JweDecrypter> {
        self.decrypters
            .iter()
            .find(|(candidate, _)| *candidate == alg)
            .map(|(_, decrypter)| decrypter.as_ref())
    }
}

/// The `alg` a JWKS entry advertises: an IdP that encrypts to this key should use it.
fn published_alg(kind: KeyKind, decrypters: &[(JweAlg, Box<dyn JweDecrypter>)]) -> JweAlg {
    let preferred = if kind == KeyKind::Rsa {
        JweAlg::RsaOaep256
    } else {
        JweAlg::EcdhEsA256Kw
    };
    if decrypters.iter().any(|(alg, _)| *alg == preferred) {
        preferred
    } else {
        decrypters.first().map_or(preferred, |(alg, _)| *alg)
    }
}

/// Decrypts a compact JWE whose plaintext must be a compact JWS (a nested JWT, RFC 7519 §5.2).
///
/// Every failure after the header checks is the same `Undecryptable`, whichever key or step
/// failed, so the caller learns nothing about the keys.
pub fn decrypt_nested(
    token: &str,
    header: &JoseHeader,
    keys: &[DecryptionKey],
    allowed_enc: &[JweEnc],
    max_inflated_bytes: Option<usize>,
) -> Result<String, JoseError> {
    let alg = JweAlg::parse(&header.alg)
        .ok_or_else(|| JoseError::UnsupportedAlgorithm(header.alg.clone()))?;
    let enc_name = header.enc.as_deref().unwrap_or_default();
    let enc = JweEnc::parse(enc_name)
        .ok_or_else(|| JoseError::UnsupportedAlgorithm(enc_name.to_owned()))?;
    if !allowed_enc.contains(&enc) {
        return Err(JoseError::UnsupportedAlgorithm(enc_name.to_owned()));
    }
    // Compression is refused unless enabled: an inflated plaintext is a denial-of-service lever
    // (RFC 8725 §3.6). When enabled, only DEF, and inflation stops at the limit.
    let context = match (header.zip.as_deref(), max_inflated_bytes) {
        (None, _) => None,
        (Some("DEF"), Some(limit)) => {
            let mut context = JweContext::new();
            context.remove_compression("DEF");
            context.add_compression(Box::new(BoundedDeflate { limit }));
            Some(context)
        }
        (Some(_), _) => return Err(JoseError::CompressionRefused),
    };
    // RFC 7519 §5.2: a nested JWT says "JWT" in cty; Authentik sends no cty at all.
    if header
        .cty
        .as_deref()
        .is_some_and(|cty| !cty.eq_ignore_ascii_case("JWT"))
    {
        return Err(JoseError::Malformed("cty is not JWT"));
    }
    let named = header.key_id().and_then(|kid| {
        keys.iter()
            .find(|key| key.kid() == kid && key.decrypter(alg).is_some())
    });
    let candidates: Vec<&DecryptionKey> = match named {
        Some(key) => vec![key],
        None => keys.iter().collect(),
    };
    for key in candidates {
        let Some(decrypter) = key.decrypter(alg) else {
            continue;
        };
        let decrypted = match &context {
            Some(context) => {
                context.deserialize_compact_with_selector(token, |_| Ok(Some(decrypter)))
            }
            None => jwe::deserialize_compact_with_selector(token, |_| Ok(Some(decrypter))),
        };
        let Ok((plaintext, returned)) = decrypted else {
            continue;
        };
        if returned.content_encryption() != Some(enc.name()) {
            return Err(JoseError::Undecryptable);
        }
        return String::from_utf8(plaintext)
            .map_err(|_| JoseError::Malformed("the JWE plaintext is not a compact JWS"));
    }
    Err(JoseError::Undecryptable)
}

/// RFC 7516 `zip: DEF` (raw DEFLATE, RFC 1951) that stops at `limit` bytes of output: a small
/// ciphertext can't make tokenbridge allocate what it claims to inflate to.
#[derive(Debug, Clone)]
struct BoundedDeflate {
    limit: usize,
}

impl JweCompression for BoundedDeflate {
    fn name(&self) -> &str {
        "DEF"
    }

    fn compress(&self, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, message)?;
        encoder.finish()
    }

    fn decompress(&self, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        let decoder = flate2::read::DeflateDecoder::new(message);
        let mut inflated = Vec::new();
        let cap = u64::try_from(self.limit)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        std::io::Read::read_to_end(&mut std::io::Read::take(decoder, cap), &mut inflated)?;
        if inflated.len() > self.limit {
            return Err(std::io::Error::other("inflates past the limit"));
        }
        Ok(inflated)
    }

    fn box_clone(&self) -> Box<dyn JweCompression> {
        Box::new(self.clone())
    }
}
