//! tokenbridge's own keys: generated when missing (0600, RFC 7638 kid, stable across restarts),
//! or read from PEM and JWK files with the file's `kid`.

use std::os::unix::fs::PermissionsExt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::KeyPair as _;
use serde_json::{Value, json};
use tokenbridge::demo::mint::encrypt;
use tokenbridge::jose::alg::{JweAlg, JweEnc};

use crate::helpers::*;

/// RFC 7638, computed here independently of the service.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str().unwrap() {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let canonical = members
        .iter()
        .map(|member| format!("\"{member}\":{}", jwk[member]))
        .collect::<Vec<_>>()
        .join(",");
    let digest = openssl::sha::sha256(format!("{{{canonical}}}").as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

fn generating(dir: &std::path::Path) -> Options {
    let policy = default_policy();
    Options {
        policy,
        keys: Some(format!("[keys]\ndir = \"{}\"\n", dir.display())),
        ..Options::default()
    }
}

#[tokio::test]
async fn missing_keys_are_generated_owner_only_with_thumbprint_kids_and_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();

    let first = spawn_app_with(generating(dir.path())).await;
    let jwks = first.get_json("/.well-known/jwks.json").await;
    let encryption = first.get_json("/.well-known/encryption-keys.json").await;
    drop(first);
    let second = spawn_app_with(generating(dir.path())).await;
    let jwks_again = second.get_json("/.well-known/jwks.json").await;

    for file in [
        "signing-RS256.pem",
        "signing-PS256.pem",
        "signing-ES256.pem",
        "signing-EdDSA.pem",
        "decryption-rsa.pem",
    ] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let keys = jwks["keys"].as_array().unwrap();
    for key in keys.iter().chain(encryption["keys"].as_array().unwrap()) {
        assert_eq!(key["kid"], thumbprint(key).as_str(), "{key}");
    }
    let by_alg = |alg: &str| keys.iter().find(|key| key["alg"] == alg).unwrap().clone();
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(by_alg("RS256")["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256,
        "RSA 2048"
    );
    assert_eq!(by_alg("ES256")["crv"], "P-256");
    assert_eq!(by_alg("EdDSA")["crv"], "Ed25519");
    assert_eq!(encryption["keys"][0]["kty"], "RSA");
    assert_eq!(jwks, jwks_again, "a restart keeps the keys");
    let captured = captured_logs();
    assert!(
        captured.contains("was generated"),
        "a warning says keys were generated"
    );
}

#[tokio::test]
async fn a_key_exported_from_an_idp_as_a_jwk_file_keeps_its_kid_for_signing_and_decryption() {
    let dir = tempfile::tempdir().unwrap();
    let mut signing = josekit::jws::RS256
        .generate_key_pair(2048)
        .unwrap()
        .to_jwk_key_pair();
    signing.set_key_id("exported-signing-key");
    let mut decryption = josekit::jwe::RSA_OAEP_256
        .generate_key_pair(2048)
        .unwrap()
        .to_jwk_key_pair();
    decryption.set_key_id("exported-decryption-key");
    std::fs::write(dir.path().join("signing.jwk"), signing.to_string()).unwrap();
    std::fs::write(dir.path().join("decryption.jwk"), decryption.to_string()).unwrap();
    let keys = format!(
        "[keys]\ndir = \"{dir}\"\n\n[[keys.signing]]\nfile = \"{dir}/signing.jwk\"\nalg = \"RS256\"\n\n[[keys.decryption]]\nfile = \"{dir}/decryption.jwk\"\n",
        dir = dir.path().display()
    );
    let policy = default_policy()
        .replace("signing_alg = \"PS256\"", "")
        .replace("signing_alg = \"ES256\"", "")
        .replace("signing_alg = \"EdDSA\"", "");
    let app = spawn_app_with(Options {
        keys: Some(keys),
        policy,
        ..Options::default()
    })
    .await;

    let jwks = app.get_json("/.well-known/jwks.json").await;
    let recipient = app.encryption_key("RSA").await;
    let inner = app.id_token(json!("app"), json!({}));
    let token = encrypt(
        &inner,
        &recipient,
        JweAlg::RsaOaep256,
        JweEnc::A256Gcm,
        &json!({}),
    )
    .unwrap();
    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(jwks["keys"][0]["kid"], "exported-signing-key");
    assert_eq!(recipient["kid"], "exported-decryption-key");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(decode(answer.token()).0["kid"], "exported-signing-key");
}
