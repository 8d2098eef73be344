//! JWE decryption (RFC 7516) of nested JWTs with tokenbridge's own keys: the header's choices
//! checked against the allowlists, every length checked, then `key` recovers the content key and
//! `content` does the rest.

mod agreement;
mod key;
mod key_wrap;

use std::borrow::Borrow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use key::DecryptionKey;
pub use key_wrap::josekit_enc;

use super::JoseError;
use super::alg::{JweAlg, JweEnc};
use super::compact::JoseHeader;
use super::content::SealedContent;

/// Decrypts a compact JWE whose plaintext must be a compact JWS (a nested JWT, RFC 7519 §5.2).
///
/// Every length is checked before any cryptography. Every failure after the header checks is the
/// same `Undecryptable`, whichever key or step failed, so the caller learns nothing about the
/// keys; and it takes the same path whichever step failed: a key that doesn't unwrap yields a
/// random content key (RFC 7516 §11.5), which then fails the tag check like any tampering.
///
/// `keys` are ours, in the order they are tried: a plain slice, or the key ring's shared ones.
pub fn decrypt_nested<K: Borrow<DecryptionKey>>(
    token: &str,
    header: &JoseHeader,
    keys: &[K],
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
    let keys = keys.iter().map(Borrow::borrow);
    let named = header.key_id().and_then(|kid| {
        keys.clone()
            .find(|key: &&DecryptionKey| key.kid() == kid && key.unwraps(alg))
    });
    // A `kid` only narrows the search among our configured keys; it never brings in a key.
    let (only_named, all) = match named {
        Some(key) => (Some(key), None),
        None => (None, Some(keys)),
    };
    for key in only_named.into_iter().chain(all.into_iter().flatten()) {
        let Some(cek) = key.recover_cek(alg, enc, &parts.encrypted_key, header) else {
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
mod tests;
