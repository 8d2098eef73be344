//! Every JWE `alg`/`enc` pair and every JWS `alg` the contract lists, through the whole service.

use serde_json::json;
use tokenbridge::demo::mint::{encrypt, encrypt_like_authentik};
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg};

use crate::helpers::*;

#[tokio::test]
async fn every_jws_algorithm_of_the_contract_is_verified() {
    let app = spawn_app().await;
    for alg in JwsAlg::ALL {
        let token = app.id_token_signed(
            &idp_key(alg),
            json!("app"),
            json!({ "sub": format!("signed-{}", alg.name()) }),
        );

        let answer = app.exchange("app", &token, &[]).await;

        assert_eq!(
            answer.status,
            200,
            "{}: {}\n{}",
            alg.name(),
            answer.body,
            captured_logs()
        );
        let claims = verify_issued(&app, answer.token(), "app").await;
        assert_eq!(claims["sub"], format!("signed-{}", alg.name()));
    }
}

#[tokio::test]
async fn every_jwe_alg_and_enc_pair_of_the_contract_is_decrypted() {
    let app = spawn_app().await;
    let rsa = app.encryption_key("RSA").await;
    let ec = app.encryption_key("EC").await;
    for alg in JweAlg::ALL {
        let recipient = if alg.is_rsa() { &rsa } else { &ec };
        for enc in JweEnc::ALL {
            let case = format!("{} + {}", alg.name(), enc.name());
            let inner = app.id_token(json!("app"), json!({ "sub": case.clone() }));
            let token = encrypt(&inner, recipient, alg, enc, &json!({ "cty": "JWT" })).unwrap();

            let answer = app.exchange("app", &token, &[]).await;

            assert_eq!(answer.status, 200, "{case}: {}", answer.body);
            let claims = verify_issued(&app, answer.token(), "app").await;
            assert_eq!(claims["sub"], case.as_str());
        }
    }
}

#[tokio::test]
async fn authentiks_shape_with_an_empty_kid_and_no_cty_is_accepted() {
    let app = spawn_app().await;
    let inner = app.id_token(json!("app"), json!({ "sub": "authentik-user" }));
    let token = encrypt_like_authentik(&inner, &app.encryption_key("RSA").await).unwrap();

    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        verify_issued(&app, answer.token(), "app").await["sub"],
        "authentik-user"
    );
}

#[tokio::test]
async fn a_jwe_with_an_unknown_kid_is_tried_with_every_key() {
    let app = spawn_app().await;
    let inner = app.id_token(json!("app"), json!({}));
    let token = encrypt(
        &inner,
        &app.encryption_key("RSA").await,
        JweAlg::RsaOaep256,
        JweEnc::A128CbcHs256,
        &json!({ "kid": "rotated-away" }),
    )
    .unwrap();

    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
}
