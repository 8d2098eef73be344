//! What a front sends through the browser and must get back unchanged (the RP's `redirect_uri`
//! and `state` while the person is at the IdP), sealed with AES-256-GCM under the fronts' state
//! key: no server-side session, so any replica that shares the key opens it. The additional
//! data binds a seal to its front and its purpose, and the sealed text carries its expiry.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::clock::UnixTime;
use crate::keyring::STATE_KEY_BYTES;

/// The format's version, first in every seal, so a later format can tell old seals apart.
const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// A seal travels in a URL: anything longer is refused before it is decoded.
pub(crate) const MAX_SEALED_CHARS: usize = 4096;

/// Why a seal did not open. The caller learns only that the state is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SealError {
    /// Too long, not base64url, too short for its nonce and tag, or an unknown version.
    #[error("the sealed state is malformed")]
    Malformed,
    /// The tag does not verify: tampered, sealed with another key, or for another front or
    /// purpose.
    #[error("the sealed state is not authentic")]
    NotAuthentic,
    /// Authentic, but past its expiry.
    #[error("the sealed state expired")]
    Expired,
    /// The system has no randomness for a nonce.
    #[error("no randomness for a nonce")]
    NoRandomness,
}

/// Seals and opens the fronts' browser-borne state.
pub(crate) struct StateSeal {
    key: LessSafeKey,
}

impl std::fmt::Debug for StateSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSeal(..)")
    }
}

impl StateSeal {
    pub(crate) fn new(key: &[u8; STATE_KEY_BYTES]) -> StateSeal {
        // A 32-byte key is always a valid AES-256 key.
        let unbound = UnboundKey::new(&AES_256_GCM, key).unwrap_or_else(|_| unreachable!());
        StateSeal {
            key: LessSafeKey::new(unbound),
        }
    }

    /// `payload`, sealed for `front` and `purpose` until `expires_at`.
    pub(crate) fn seal(
        &self,
        front: &str,
        purpose: &str,
        payload: Value,
        expires_at: UnixTime,
    ) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::NoRandomness)?;
        let mut sealed = json!({ "exp": expires_at, "v": payload })
            .to_string()
            .into_bytes();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(additional_data(front, purpose)),
                &mut sealed,
            )
            .map_err(|_| SealError::NoRandomness)?;
        let mut framed = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        framed.push(VERSION);
        framed.extend_from_slice(&nonce);
        framed.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(framed))
    }

    /// The payload, if `sealed` is authentic for `front` and `purpose` and not expired at `now`.
    pub(crate) fn open(
        &self,
        front: &str,
        purpose: &str,
        sealed: &str,
        now: UnixTime,
    ) -> Result<Value, SealError> {
        if sealed.len() > MAX_SEALED_CHARS {
            return Err(SealError::Malformed);
        }
        let mut framed = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Malformed)?;
        if framed.len() < 1 + NONCE_LEN + TAG_LEN || framed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&framed[1..=NONCE_LEN]);
        let plaintext = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(additional_data(front, purpose)),
                &mut framed[1 + NONCE_LEN..],
            )
            .map_err(|_| SealError::NotAuthentic)?;
        let mut opened: Value =
            serde_json::from_slice(plaintext).map_err(|_| SealError::Malformed)?;
        let expires_at = opened["exp"].as_i64().ok_or(SealError::Malformed)?;
        if now >= expires_at {
            return Err(SealError::Expired);
        }
        Ok(opened["v"].take())
    }
}

/// What a seal is bound to: a seal made for one front or purpose opens for no other.
fn additional_data(front: &str, purpose: &str) -> Vec<u8> {
    format!("tokenbridge front state\0{front}\0{purpose}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_900_000_000;

    fn seal() -> StateSeal {
        StateSeal::new(&[7u8; STATE_KEY_BYTES])
    }

    fn sealed() -> String {
        seal()
            .seal(
                "bookstack",
                "authorize",
                json!({ "r": "https://rp/cb" }),
                NOW + 60,
            )
            .unwrap()
    }

    #[test]
    fn a_seal_opens_for_its_front_and_purpose_until_it_expires() {
        let text = sealed();
        assert_eq!(
            seal().open("bookstack", "authorize", &text, NOW + 59),
            Ok(json!({ "r": "https://rp/cb" }))
        );
        assert_eq!(
            seal().open("bookstack", "authorize", &text, NOW + 60),
            Err(SealError::Expired)
        );
    }

    #[test]
    fn a_seal_opens_for_no_other_front_purpose_or_key() {
        let text = sealed();
        assert_eq!(
            seal().open("mirotalk", "authorize", &text, NOW),
            Err(SealError::NotAuthentic)
        );
        assert_eq!(
            seal().open("bookstack", "logout", &text, NOW),
            Err(SealError::NotAuthentic)
        );
        let other_key = StateSeal::new(&[8u8; STATE_KEY_BYTES]);
        assert_eq!(
            other_key.open("bookstack", "authorize", &text, NOW),
            Err(SealError::NotAuthentic)
        );
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let bytes = URL_SAFE_NO_PAD.decode(sealed()).unwrap();
        for index in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[index] ^= 1;
            let text = URL_SAFE_NO_PAD.encode(&tampered);
            assert!(
                seal().open("bookstack", "authorize", &text, NOW).is_err(),
                "byte {index}"
            );
        }
    }

    #[test]
    fn malformed_seals_are_refused_before_any_cryptography() {
        for text in [
            String::new(),
            "not base64!".to_owned(),
            URL_SAFE_NO_PAD.encode([VERSION; 20]),
            "A".repeat(MAX_SEALED_CHARS + 1),
        ] {
            assert_eq!(
                seal().open("bookstack", "authorize", &text, NOW),
                Err(SealError::Malformed),
                "{text:.40}"
            );
        }
        let mut wrong_version = URL_SAFE_NO_PAD.decode(sealed()).unwrap();
        wrong_version[0] = 2;
        assert_eq!(
            seal().open(
                "bookstack",
                "authorize",
                &URL_SAFE_NO_PAD.encode(wrong_version),
                NOW
            ),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn two_seals_of_the_same_payload_differ() {
        assert_ne!(sealed(), sealed());
    }
}
