//! A client with valid credentials can wrap a content key of its own choosing under the key
//! tokenbridge publishes, then send any IV, tag or encrypted key it likes. Each case here is such
//! a token: every one must be the same clean `400 invalid_request` as any other decryption
//! failure — never a 200 on a shortened tag, never a 500 from a panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokenbridge::demo::mint::encrypt;
use tokenbridge::jose::alg::{JweAlg, JweEnc};

use crate::helpers::*;

/// `token` with its part `index` (0 header, 1 encrypted key, 2 IV, 3 ciphertext, 4 tag) replaced.
fn with_part(token: &str, index: usize, bytes: &[u8]) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = URL_SAFE_NO_PAD.encode(bytes);
    parts.join(".")
}

fn part(token: &str, index: usize) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.split('.').nth(index).unwrap())
        .unwrap()
}

/// What every crypto failure answers: the refusal of a token with one flipped tag bit.
async fn uniform_refusal(app: &TestApp, token: &str) -> Value {
    let mut tag = part(token, 4);
    tag[0] ^= 1;
    let answer = app.exchange("app", &with_part(token, 4, &tag), &[]).await;
    answer.assert_refused(400, "invalid_request");
    answer.body
}

async fn assert_refused_like(app: &TestApp, token: &str, refusal: &Value, case: &str) {
    let answer = app.exchange("app", token, &[]).await;
    assert_eq!(answer.status, 400, "{case}: {}", answer.body);
    assert_eq!(
        &answer.body, refusal,
        "{case}: the refusal tells nothing apart"
    );
}

/// `token`'s part `index` cut or cycled to each of `lengths`: every one refused like `refusal`.
async fn assert_each_length_refused(
    app: &TestApp,
    token: &str,
    index: usize,
    lengths: impl IntoIterator<Item = usize>,
    refusal: &Value,
    case: &str,
) {
    let original = part(token, index);
    let filler = if original.is_empty() {
        vec![0x5a]
    } else {
        original
    };
    for len in lengths {
        let resized: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
        let tampered = with_part(token, index, &resized);
        assert_refused_like(app, &tampered, refusal, &format!("{case}, {len} bytes")).await;
    }
}

fn jwe(app: &TestApp, recipient: &Value, alg: JweAlg, enc: JweEnc) -> String {
    let inner = app.id_token(json!("app"), json!({}));
    encrypt(&inner, recipient, alg, enc, &json!({})).unwrap()
}

#[tokio::test]
async fn a_gcm_tag_shortened_to_any_length_from_0_to_15_bytes_is_refused() {
    let app = spawn_app().await;
    let rsa = app.encryption_key("RSA").await;
    for enc in [JweEnc::A128Gcm, JweEnc::A192Gcm, JweEnc::A256Gcm] {
        let token = jwe(&app, &rsa, JweAlg::RsaOaep256, enc);
        assert_eq!(app.exchange("app", &token, &[]).await.status, 200, "{enc}");
        let refusal = uniform_refusal(&app, &token).await;
        assert_eq!(part(&token, 4).len(), 16);
        // Cut to each shorter length: a prefix of the right tag, which OpenSSL alone accepted.
        let case = format!("{enc} tag");
        assert_each_length_refused(&app, &token, 4, 0..16, &refusal, &case).await;
    }
}

#[tokio::test]
async fn an_iv_of_any_wrong_length_is_refused_for_each_enc() {
    let app = spawn_app().await;
    let rsa = app.encryption_key("RSA").await;
    for enc in JweEnc::ALL {
        let token = jwe(&app, &rsa, JweAlg::RsaOaep256, enc);
        let refusal = uniform_refusal(&app, &token).await;
        let right = part(&token, 2).len();
        let lengths = (0..=32).filter(|&len| len != right);
        assert_each_length_refused(&app, &token, 2, lengths, &refusal, &format!("{enc} IV")).await;
    }
}

#[tokio::test]
async fn a_cbc_ciphertext_that_is_not_whole_blocks_is_refused() {
    let app = spawn_app().await;
    let rsa = app.encryption_key("RSA").await;
    for enc in [
        JweEnc::A128CbcHs256,
        JweEnc::A192CbcHs384,
        JweEnc::A256CbcHs512,
    ] {
        let token = jwe(&app, &rsa, JweAlg::RsaOaep, enc);
        let refusal = uniform_refusal(&app, &token).await;
        let whole = part(&token, 3).len();
        let lengths = [0, 1, 15, whole - 1, whole + 1];
        let case = format!("{enc} ciphertext");
        assert_each_length_refused(&app, &token, 3, lengths, &refusal, &case).await;
    }
}

#[tokio::test]
async fn an_encrypted_key_of_a_short_or_odd_length_is_refused_for_each_alg() {
    let app = spawn_app().await;
    let rsa = app.encryption_key("RSA").await;
    let ec = app.encryption_key("EC").await;
    for alg in JweAlg::ALL {
        let recipient = if alg.is_rsa() { &rsa } else { &ec };
        for enc in [JweEnc::A256Gcm, JweEnc::A128CbcHs256, JweEnc::A256CbcHs512] {
            let token = jwe(&app, recipient, alg, enc);
            assert_eq!(
                app.exchange("app", &token, &[]).await.status,
                200,
                "{alg} {enc}"
            );
            let refusal = uniform_refusal(&app, &token).await;
            let right = part(&token, 1).len();
            let lengths: Vec<usize> = if alg.is_rsa() {
                vec![0, 1, 8, 24, 128, right - 1, right + 1, 2 * right]
            } else {
                // AES-KW (RFC 3394) needs whole 64-bit blocks, at least three; ECDH-ES none.
                (0..=80).filter(|&len| len != right).collect()
            };
            let case = format!("{alg} {enc} encrypted key");
            assert_each_length_refused(&app, &token, 1, lengths, &refusal, &case).await;
        }
    }
}

#[tokio::test]
async fn an_epk_with_short_long_or_missing_coordinates_is_refused() {
    let app = spawn_app().await;
    let ec = app.encryption_key("EC").await;
    let token = jwe(&app, &ec, JweAlg::EcdhEsA256Kw, JweEnc::A256Gcm);
    let refusal = uniform_refusal(&app, &token).await;
    let header: Value = serde_json::from_slice(&part(&token, 0)).unwrap();
    let x = header["epk"]["x"].as_str().unwrap().to_owned();
    let short = URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(&x).unwrap()[..31]);
    let long = URL_SAFE_NO_PAD.encode([&URL_SAFE_NO_PAD.decode(&x).unwrap()[..], &[0]].concat());
    let cases = [
        ("a 31-byte x", json!(short)),
        ("a 33-byte x", json!(long)),
        ("no x", Value::Null),
        ("a numeric x", json!(7)),
    ];
    for (case, new_x) in cases {
        let mut header = header.clone();
        match new_x {
            Value::Null => {
                header["epk"].as_object_mut().unwrap().remove("x");
            }
            value => header["epk"]["x"] = value,
        }
        // The header is the AAD: a changed header fails the tag anyway, and must fail no louder.
        let token = with_part(&token, 0, header.to_string().as_bytes());
        assert_refused_like(&app, &token, &refusal, case).await;
    }
}

#[tokio::test]
async fn cty_is_compared_as_a_media_type() {
    let app = spawn_app().await;
    let rsa = app.encryption_key("RSA").await;
    let inner = app.id_token(json!("app"), json!({}));
    // RFC 7515 §4.1.10: "JWT" is short for "application/JWT"; media types ignore case.
    for cty in [
        "JWT",
        "jwt",
        "application/jwt",
        "application/JWT",
        "Application/Jwt",
    ] {
        let token = encrypt(
            &inner,
            &rsa,
            JweAlg::RsaOaep256,
            JweEnc::A256Gcm,
            &json!({ "cty": cty }),
        )
        .unwrap();
        let answer = app.exchange("app", &token, &[]).await;
        assert_eq!(answer.status, 200, "cty {cty}: {}", answer.body);
    }
    for cty in [
        "application/json",
        "JWS",
        "text/jwt",
        "application/jwt+x",
        "",
    ] {
        let token = encrypt(
            &inner,
            &rsa,
            JweAlg::RsaOaep256,
            JweEnc::A256Gcm,
            &json!({ "cty": cty }),
        )
        .unwrap();
        app.exchange("app", &token, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
}
