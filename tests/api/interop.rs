//! Interop with an implementation we didn't write: npm `jose` makes the IdP's tokens (every JWS
//! alg, every JWE alg/enc pair, Authentik's shape) for tokenbridge to take, and checks every token
//! tokenbridge issues against its published JWKS. Needs `npm ci --prefix tests/e2e`.

use serde_json::{Value, json};

use crate::helpers::*;

async fn jose(command: &str, input: Value) -> Value {
    run_node(vec![
        "interop.mjs".into(),
        command.into(),
        input.to_string(),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_made_by_npm_jose_are_exchanged_and_tokenbridges_tokens_verify_with_it() {
    let app = spawn_app_with(only_the_demo_idp("algorithms = [\"RS256\", \"RS384\", \"RS512\", \"PS256\", \"PS384\", \"PS512\", \"ES256\", \"ES384\", \"ES512\", \"EdDSA\"]")).await;
    let encryption_keys = app.get_json("/.well-known/encryption-keys.json").await["keys"].clone();
    let minted = jose("mint", json!({ "issuer": app.idp.issuer(), "audience": "app", "encryption_keys": encryption_keys })).await;
    app.idp.publish_raw(minted["jwks"].clone());
    let cases = minted["tokens"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        10 + 36 + 1,
        "every JWS alg, every JWE pair, Authentik's shape"
    );

    let mut issued = Vec::new();
    for case in cases {
        let name = case["case"].as_str().unwrap();
        let answer = app
            .exchange("app", case["token"].as_str().unwrap(), &[])
            .await;
        assert_eq!(
            answer.status, 200,
            "made by jose ({name}), refused by tokenbridge: {}",
            answer.body
        );
        issued.push(json!({ "case": name, "token": answer.token(), "alg": "RS256" }));
    }
    let checked = jose(
        "verify",
        json!({
            "jwks_uri": app.url("/.well-known/jwks.json"),
            "issuer": app.base,
            "audience": "app",
            "tokens": issued,
        }),
    )
    .await;

    for result in checked["results"].as_array().unwrap() {
        assert_eq!(
            result["ok"], true,
            "made by tokenbridge from {}, refused by jose: {result}",
            result["case"]
        );
        assert_eq!(result["aud"], "app");
        assert!(
            result["sub"].as_str().unwrap().starts_with("made-by-jose"),
            "{result}"
        );
    }
    assert_eq!(checked["results"].as_array().unwrap().len(), 47);
}
