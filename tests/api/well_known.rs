//! The published keys and documents, and health.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_jwks_holds_only_signing_keys_with_kid_alg_and_use() {
    let app = spawn_app().await;

    let response = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let cache_control = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    let jwks: Value = response.json().await.unwrap();

    assert!(
        cache_control.starts_with("public, max-age="),
        "{cache_control}"
    );
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4, "one per signing algorithm in use: {jwks}");
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string() && key["alg"].is_string(), "{key}");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published"
            );
        }
    }
    let algs: Vec<&str> = keys
        .iter()
        .map(|key| key["alg"].as_str().unwrap())
        .collect();
    assert!(algs.contains(&"RS256"));
}

#[tokio::test]
async fn the_encryption_keys_are_published_as_a_jwks_and_a_certificate() {
    let app = spawn_app().await;

    let jwks = app.get_json("/.well-known/encryption-keys.json").await;
    let pem = app
        .http
        .get(app.url("/encryption-key.pem"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["use"], "enc");
        assert!(key["kid"].is_string());
        assert!(key.get("d").is_none());
    }
    let rsa = keys.iter().find(|key| key["kty"] == "RSA").unwrap();
    assert_eq!(rsa["alg"], "RSA-OAEP-256");
    let certificate = openssl::x509::X509::from_pem(pem.as_bytes()).unwrap();
    let n = certificate
        .public_key()
        .unwrap()
        .rsa()
        .unwrap()
        .n()
        .to_vec();
    use base64::Engine;
    assert_eq!(
        rsa["n"],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n),
        "the certificate holds the same key"
    );
}

#[tokio::test]
async fn discovery_is_built_from_the_configured_issuer_not_the_host_header() {
    let app = spawn_app().await;

    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let document: Value = app
            .http
            .get(app.url(path))
            .header("host", "attacker.example")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["issuer"], app.base.as_str());
        assert_eq!(document["jwks_uri"], app.url("/.well-known/jwks.json"));
        assert_eq!(document["token_endpoint"], app.url("/exchange"));
        let grants = document["grant_types_supported"].as_array().unwrap();
        assert!(grants.iter().any(|grant| grant == GRANT));
        let auth = document["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        assert!(
            auth.iter().any(|m| m == "client_secret_basic")
                && auth.iter().any(|m| m == "client_secret_post")
        );
        let algs = document["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(algs.iter().any(|alg| alg == "RS256"));
    }
}

#[tokio::test]
async fn health_and_readiness_report_the_truth() {
    let app = spawn_app().await;

    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(
        ready.status(),
        503,
        "the \"other\" upstream is unreachable, so not ready"
    );
    let body: Value = ready.json().await.unwrap();
    assert!(body.to_string().contains("other"), "{body}");
}
