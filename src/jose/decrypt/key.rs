//! One of tokenbridge's decryption keys and how it recovers a content key: RSA-OAEP and ECDH-ES
//! (direct or with AES key wrap) on aws-lc-rs, each fed only inputs whose lengths fit the key.

use aws_lc_rs::rsa::{self, OaepAlgorithm, OaepPrivateDecryptingKey};
use openssl::pkey::{PKey, Private};
use serde_json::Value;
use zeroize::Zeroizing;

use super::agreement::StaticKey;
use super::key_wrap::unwrap_aes_kw;
use crate::jose::alg::{JweAlg, JweEnc, KeyKind};
use crate::jose::compact::JoseHeader;
use crate::jose::private_key::{PrivateKeyError, public_jwk_members};

/// One of tokenbridge's decryption keys, parsed once, with the way each allowed key-management
/// algorithm recovers a content key with it.
pub struct DecryptionKey {
    kid: String,
    kind: KeyKind,
    unwrappers: Vec<(JweAlg, Unwrapper)>,
    /// The RSA key, parsed once, for both OAEP variants.
    rsa: Option<OaepPrivateDecryptingKey>,
    /// The EC key, parsed once, for ECDH-ES with and without key wrap.
    agreement: Option<StaticKey>,
    public_jwk: Value,
}

/// How a key-management algorithm recovers the content key.
enum Unwrapper {
    /// On aws-lc-rs, whose OAEP failure returns as cheaply as its success (josekit's openssl path
    /// gathered an error stack, ≈ 10 µs, on failure only): an observable "OAEP decoding failed" is
    /// Manger's oracle, which decrypts a wrapped key a query at a time (RFC 7516 §11.5).
    RsaOaep(&'static OaepAlgorithm),
    /// ECDH-ES key agreement and Concat KDF, fed only length-checked inputs. Direct agreement
    /// (`None`) derives the content key; with a wrapping key of this many bytes, what it derives
    /// unwraps the content key (RFC 3394) with OpenSSL's `AES_unwrap_key`, which fails without
    /// allocating — josekit's own unwrap built an error on failure only, ≈ 5 µs slower.
    Agreement(Option<usize>),
}

impl DecryptionKey {
    /// Parses `pkey` once for each algorithm in `allowed` that its kind can serve (RSA-OAEP for
    /// RSA, ECDH-ES for P-256, P-384 and P-521) and builds its public JWK. `WrongKind` if it
    /// serves none of them.
    pub fn new(
        kid: String,
        pkey: &PKey<Private>,
        kind: KeyKind,
        allowed: &[JweAlg],
    ) -> Result<DecryptionKey, PrivateKeyError> {
        let der = pkey
            .private_key_to_pkcs8()
            .map_err(|err| PrivateKeyError::Generate(err.to_string()))?;
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
                JweAlg::EcdhEsA128Kw if is_ec => Unwrapper::Agreement(Some(16)),
                JweAlg::EcdhEsA192Kw if is_ec => Unwrapper::Agreement(Some(24)),
                JweAlg::EcdhEsA256Kw if is_ec => Unwrapper::Agreement(Some(32)),
                _ => continue,
            };
            unwrappers.push((alg, unwrapper));
        }
        if unwrappers.is_empty() {
            return Err(PrivateKeyError::WrongKind {
                key: format!("decryption key {kid}"),
                found: format!("{kind:?}"),
                wanted: "an RSA or EC (P-256/P-384/P-521) key for an allowed JWE algorithm".into(),
            });
        }
        let agreement = if is_ec {
            Some(StaticKey::from_pkcs8(&der, kind).ok_or_else(|| {
                PrivateKeyError::Generate(format!("decryption key {kid}: not a usable EC key"))
            })?)
        } else {
            None
        };
        let rsa = match kind {
            KeyKind::Rsa => Some(
                rsa::PrivateDecryptingKey::from_pkcs8(&der)
                    .map_err(|err| PrivateKeyError::Generate(err.to_string()))
                    .and_then(|key| {
                        OaepPrivateDecryptingKey::new(key)
                            .map_err(|err| PrivateKeyError::Generate(err.to_string()))
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

    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's family: an RSA key serves the OAEP algorithms, an EC key ECDH-ES.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The public key as `/.well-known/encryption-keys.json` publishes it.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// Whether this key recovers content keys for `alg`.
    pub(super) fn unwraps(&self, alg: JweAlg) -> bool {
        self.unwrapper(alg).is_some()
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
    pub(super) fn recover_cek(
        &self,
        alg: JweAlg,
        enc: JweEnc,
        encrypted_key: &[u8],
        header: &JoseHeader,
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
        let ephemeral_point = match unwrapper {
            Unwrapper::Agreement(_) => Some(self.agreement.as_ref()?.ephemeral_point(header)?),
            Unwrapper::RsaOaep(_) => None,
        };
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
                let agreement = self.agreement.as_ref()?;
                let point = ephemeral_point?;
                match wrapping {
                    None => agreement.derive(point, header, enc.name(), enc.key_len()),
                    Some(wrapping_key_len) => agreement
                        .derive(point, header, alg.name(), *wrapping_key_len)
                        .and_then(|key| unwrap_aes_kw(&key, encrypted_key)),
                }
            }
        };
        recovered
            .filter(|cek| cek.len() == enc.key_len())
            .or(fallback)
    }
}

fn random_key(len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    aws_lc_rs::rand::fill(&mut key).ok()?;
    Some(key)
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

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
