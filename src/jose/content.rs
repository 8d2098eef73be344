//! JWE content decryption (RFC 7518 §5) on aws-lc-rs, with every length checked first.
//!
//! `decrypt` recovers the content encryption key; this step is ours, because the checks that
//! keep it sound are the ones a general library leaves to its caller: GCM's tag is exactly 128 bits
//! (OpenSSL accepts 1 to 16 bytes, so a one-byte tag is forged in 256 tries), and CBC-HMAC's tag is
//! verified in constant time before a single block is decrypted, so padding can never be an oracle
//! (RFC 7518 §5.2.2.2).

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{self, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey};
use aws_lc_rs::{constant_time, hmac};

use super::alg::JweEnc;

/// AES block size: CBC's IV length and the unit of its ciphertext.
const AES_BLOCK: usize = 16;

/// Why the content step refused. Never shown to a caller: every variant becomes the same
/// `Undecryptable` as a failed key unwrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ContentError {
    #[error("content encryption key of the wrong length")]
    KeyLength,
    #[error("initialization vector of the wrong length")]
    IvLength,
    #[error("authentication tag of the wrong length")]
    TagLength,
    #[error("ciphertext of an impossible length")]
    CiphertextLength,
    #[error("authentication tag does not match")]
    Tag,
    #[error("padding is wrong after a valid tag")]
    Padding,
}

/// The pieces of a compact JWE that the content step authenticates and decrypts.
#[derive(Clone, Copy)]
pub(crate) struct SealedContent<'a> {
    /// `ASCII(BASE64URL(UTF8(JWE Protected Header)))`, as it appeared in the token (RFC 7516 §5.2
    /// step 14).
    pub(crate) aad: &'a [u8],
    pub(crate) iv: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: &'a [u8],
}

impl SealedContent<'_> {
    /// The checks that need no key: they run before any key is unwrapped.
    pub(crate) fn check_lengths(&self, enc: JweEnc) -> Result<(), ContentError> {
        if self.iv.len() != enc.iv_len() {
            return Err(ContentError::IvLength);
        }
        if self.tag.len() != enc.tag_len() {
            return Err(ContentError::TagLength);
        }
        // PKCS #7 always pads, so CBC ciphertext is one block or more, whole blocks only.
        if !enc.is_gcm()
            && (self.ciphertext.is_empty() || !self.ciphertext.len().is_multiple_of(AES_BLOCK))
        {
            return Err(ContentError::CiphertextLength);
        }
        Ok(())
    }

    /// Authenticates, then decrypts. `cek` must have `enc.key_len()` bytes.
    pub(crate) fn open(&self, enc: JweEnc, cek: &[u8]) -> Result<Vec<u8>, ContentError> {
        self.check_lengths(enc)?;
        if cek.len() != enc.key_len() {
            return Err(ContentError::KeyLength);
        }
        if enc.is_gcm() {
            self.open_gcm(enc, cek)
        } else {
            self.open_cbc_hmac(enc, cek)
        }
    }

    fn open_gcm(&self, enc: JweEnc, cek: &[u8]) -> Result<Vec<u8>, ContentError> {
        let algorithm = match enc {
            JweEnc::A128Gcm => &aead::AES_128_GCM,
            JweEnc::A192Gcm => &aead::AES_192_GCM,
            _ => &aead::AES_256_GCM,
        };
        let key = UnboundKey::new(algorithm, cek).map_err(|_| ContentError::KeyLength)?;
        let nonce =
            Nonce::try_assume_unique_for_key(self.iv).map_err(|_| ContentError::IvLength)?;
        let mut plaintext = self.ciphertext.to_vec();
        let opened = LessSafeKey::new(key)
            .open_in_place_separate_tag(nonce, Aad::from(self.aad), self.tag, &mut plaintext)
            .map_err(|_| ContentError::Tag)?
            .len();
        plaintext.truncate(opened);
        Ok(plaintext)
    }

    /// RFC 7518 §5.2.2.2: MAC over `AAD || IV || ciphertext || AL`, compared in constant time;
    /// only a matching tag lets the ciphertext be decrypted.
    fn open_cbc_hmac(&self, enc: JweEnc, cek: &[u8]) -> Result<Vec<u8>, ContentError> {
        let (mac_key, enc_key) = cek.split_at(enc.key_len() / 2);
        let (mac, aes) = match enc {
            JweEnc::A128CbcHs256 => (hmac::HMAC_SHA256, &cipher::AES_128),
            JweEnc::A192CbcHs384 => (hmac::HMAC_SHA384, &cipher::AES_192),
            _ => (hmac::HMAC_SHA512, &cipher::AES_256),
        };
        let aad_bits = u64::try_from(self.aad.len())
            .ok()
            .and_then(|len| len.checked_mul(8))
            .ok_or(ContentError::CiphertextLength)?;
        let mut context = hmac::Context::with_key(&hmac::Key::new(mac, mac_key));
        context.update(self.aad);
        context.update(self.iv);
        context.update(self.ciphertext);
        context.update(&aad_bits.to_be_bytes());
        let full_mac = context.sign();
        let expected = full_mac
            .as_ref()
            .get(..enc.tag_len())
            .ok_or(ContentError::TagLength)?;
        constant_time::verify_slices_are_equal(expected, self.tag)
            .map_err(|_| ContentError::Tag)?;

        let key = UnboundCipherKey::new(aes, enc_key).map_err(|_| ContentError::KeyLength)?;
        let decrypting =
            PaddedBlockDecryptingKey::cbc_pkcs7(key).map_err(|_| ContentError::KeyLength)?;
        let iv: [u8; AES_BLOCK] = self.iv.try_into().map_err(|_| ContentError::IvLength)?;
        let mut plaintext = self.ciphertext.to_vec();
        let opened = decrypting
            .decrypt(&mut plaintext, DecryptionContext::Iv128(iv.into()))
            .map_err(|_| ContentError::Padding)?
            .len();
        plaintext.truncate(opened);
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests;
