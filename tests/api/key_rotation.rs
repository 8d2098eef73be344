//! A key rotation driven by a manual clock, through HTTP: the next signing key is published
//! before it signs, signs from its `activate_at`, the retired one stays published while its
//! tokens live and then leaves the JWKS; decryption keys decrypt from load until their
//! `retire_at`, the newest active first.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokenbridge::clock::rfc3339;
use tokenbridge::demo::mint::encrypt;
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg};
use tokenbridge::keyring::commands::generate_key;

use crate::helpers::*;

/// B activates 25 minutes after the start (past jwks_max_age + 15 minutes, so no warning);
/// A retires 33 minutes after; tokens live 5 minutes, the leeway is 1 minute.
const B_ACTIVATES: i64 = 1500;
const A_RETIRES: i64 = 2000;
const A_LEAVES: i64 = A_RETIRES + 300 + 60;

struct Rotation {
    app: TestApp,
    t0: i64,
    b_kid: String,
    new_enc_kid: String,
    _keys: tempfile::TempDir,
}

async fn start_rotation() -> Rotation {
    let keys = tempfile::tempdir().unwrap();
    let b_file = keys.path().join("b.pem");
    let b_kid = generate_key("RS256", &b_file).unwrap().kid;
    let new_enc_file = keys.path().join("enc-new.pem");
    let new_enc_kid = generate_key("RSA-OAEP-256", &new_enc_file).unwrap().kid;
    let t0 = now();
    let fixtures = fixture_keys();
    let at = |offset: i64| rfc3339::format(t0 + offset);
    let others: String = [JwsAlg::PS256, JwsAlg::ES256, JwsAlg::EdDSA]
        .iter()
        .map(|alg| {
            format!(
                "[[keys.signing]]\nfile = \"{}\"\nalg = \"{alg}\"\n\n",
                fixtures.join(format!("signing-{alg}.pem")).display()
            )
        })
        .collect();
    let section = format!(
        r#"
[keys]
dir = "{{dir}}"
retire_leeway = "60s"

[[keys.signing]]
file = "{a}"
alg = "RS256"
kid = "key-a"
retire_at = "{a_retires}"

[[keys.signing]]
file = "{b}"
alg = "RS256"
activate_at = "{b_activates}"

{others}
[[keys.decryption]]
file = "{old_enc}"
kid = "enc-old"
retire_at = "{a_retires}"

[[keys.decryption]]
file = "{ec}"

[[keys.decryption]]
file = "{new_enc}"
activate_at = "{b_activates}"
"#,
        a = fixtures.join("signing-RS256.pem").display(),
        b = b_file.display(),
        old_enc = fixtures.join("decryption-rsa.pem").display(),
        ec = fixtures.join("decryption-ec.pem").display(),
        new_enc = new_enc_file.display(),
        a_retires = at(A_RETIRES),
        b_activates = at(B_ACTIVATES),
    );
    let app = spawn_app_with(Options {
        keys: Some(section),
        is_clock_manual: true,
        ..Options::default()
    })
    .await;
    Rotation {
        app,
        t0,
        b_kid,
        new_enc_kid,
        _keys: keys,
    }
}

impl Rotation {
    /// Moves the service's clock to `t0 + offset`.
    fn move_to(&self, offset: i64) {
        let by = self.t0 + offset - self.app.now();
        assert!(by >= 0, "the clock only moves forward");
        self.app.clock().advance(Duration::from_secs(by as u64));
    }

    async fn kids(&self, path: &str) -> Vec<String> {
        let set = self.app.get_json(path).await;
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    /// An RS256 token for "app", with the kid it was signed with.
    async fn issue(&self) -> (String, String) {
        let answer = self
            .app
            .exchange("app", &self.app.id_token(json!("app"), json!({})), &[])
            .await;
        let token = answer.token().to_owned();
        let kid = decode(&token).0["kid"].as_str().unwrap().to_owned();
        (token, kid)
    }

    /// Whether `token` verifies against the JWKS served now and has not expired by the
    /// service's clock (jsonwebtoken's own `exp` check reads the system clock, so it is off).
    async fn verifies_now(&self, token: &str) -> bool {
        use jsonwebtoken::{DecodingKey, Validation, decode_header, jwk::JwkSet};
        let jwks: JwkSet =
            serde_json::from_value(self.app.get_json("/.well-known/jwks.json").await).unwrap();
        let header = decode_header(token).unwrap();
        let Some(jwk) = jwks.find(header.kid.as_deref().unwrap()) else {
            return false;
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.set_audience(&["app"]);
        let claims =
            jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
                .unwrap()
                .claims;
        claims["exp"].as_i64().unwrap() > self.app.now()
    }

    /// A nested JWE for "app" encrypted to the published encryption key `kid`, exchanged now.
    async fn exchange_encrypted_to(&self, recipient: &Value) -> Answer {
        let inner = self.app.id_token(json!("app"), json!({}));
        let token = encrypt(
            &inner,
            recipient,
            JweAlg::RsaOaep256,
            JweEnc::A256Gcm,
            &json!({}),
        )
        .unwrap();
        self.app.exchange("app", &token, &[]).await
    }

    async fn encryption_key(&self, kid: &str) -> Value {
        let set = self.app.get_json("/.well-known/encryption-keys.json").await;
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kid"] == kid)
            .cloned()
            .unwrap_or_else(|| panic!("{kid} is not published: {set}"))
    }

    /// The RSA modulus of the certificate `/encryption-key.pem` serves now, base64url.
    async fn certificate_modulus(&self) -> String {
        let pem = self
            .app
            .http
            .get(self.app.url("/encryption-key.pem"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let certificate = openssl::x509::X509::from_pem(pem.as_bytes()).unwrap();
        let rsa = certificate.public_key().unwrap().rsa().unwrap();
        URL_SAFE_NO_PAD.encode(rsa.n().to_vec())
    }
}

#[tokio::test]
async fn a_scheduled_signing_key_is_published_first_signs_at_activation_and_the_old_one_leaves_after_its_tokens()
 {
    let rotation = start_rotation().await;
    let b = rotation.b_kid.clone();
    const JWKS: &str = "/.well-known/jwks.json";

    // Next: B is published before it signs; A signs.
    let kids = rotation.kids(JWKS).await;
    assert!(
        kids.contains(&b) && kids.contains(&"key-a".to_owned()),
        "{kids:?}"
    );
    let (first, kid) = rotation.issue().await;
    assert_eq!(kid, "key-a");
    rotation.move_to(B_ACTIVATES - 1);
    let (last_by_a, kid) = rotation.issue().await;
    assert_eq!(kid, "key-a");

    // Activation: B signs every token from its activate_at; A's tokens still verify.
    rotation.move_to(B_ACTIVATES);
    let (by_b, kid) = rotation.issue().await;
    assert_eq!(kid, b);
    assert!(rotation.verifies_now(&by_b).await);
    assert!(rotation.verifies_now(&last_by_a).await);
    assert!(!rotation.verifies_now(&first).await, "expired long ago");

    // Retired: A signs nothing and is still published.
    rotation.move_to(A_RETIRES);
    assert_eq!(rotation.issue().await.1, b);
    assert!(rotation.kids(JWKS).await.contains(&"key-a".to_owned()));
    rotation.move_to(A_LEAVES - 1);
    assert!(rotation.kids(JWKS).await.contains(&"key-a".to_owned()));

    // retire_at + max_ttl + leeway: A leaves the JWKS by itself.
    rotation.move_to(A_LEAVES);
    let kids = rotation.kids(JWKS).await;
    assert!(!kids.contains(&"key-a".to_owned()), "{kids:?}");
    assert!(kids.contains(&b));
    assert_eq!(rotation.issue().await.1, b);
}

#[tokio::test]
async fn decryption_keys_rotate_without_a_failed_exchange() {
    let rotation = start_rotation().await;
    let new = rotation.new_enc_kid.clone();
    const ENC: &str = "/.well-known/encryption-keys.json";
    let old_key = rotation.encryption_key("enc-old").await;
    let new_key = rotation.encryption_key(&new).await;

    // From load: the old key is preferred, the new one already decrypts.
    assert_eq!(rotation.kids(ENC).await[0], "enc-old");
    assert_eq!(
        rotation.certificate_modulus().await,
        old_key["n"].as_str().unwrap()
    );
    assert_eq!(rotation.exchange_encrypted_to(&old_key).await.status, 200);
    assert_eq!(rotation.exchange_encrypted_to(&new_key).await.status, 200);

    // Activated: newest first, and the certificate is the new key's; the old one still decrypts.
    rotation.move_to(B_ACTIVATES);
    let kids = rotation.kids(ENC).await;
    assert_eq!(kids[0], new, "{kids:?}");
    assert_eq!(kids[1], "enc-old", "{kids:?}");
    assert_eq!(
        rotation.certificate_modulus().await,
        new_key["n"].as_str().unwrap()
    );
    rotation.move_to(A_RETIRES - 1);
    assert_eq!(rotation.exchange_encrypted_to(&old_key).await.status, 200);

    // Retired: the old key neither decrypts nor is published.
    rotation.move_to(A_RETIRES);
    rotation
        .exchange_encrypted_to(&old_key)
        .await
        .assert_refused(400, "invalid_request");
    assert!(!rotation.kids(ENC).await.contains(&"enc-old".to_owned()));
    assert_eq!(rotation.exchange_encrypted_to(&new_key).await.status, 200);
}

#[tokio::test]
async fn the_start_warns_about_a_key_that_activates_before_relying_parties_can_know_it() {
    let soon = rfc3339::format(now() + 600);
    let _service = Service::start(&format!(
        "[keys]\ndir = \"{{dir}}\"\n{signing}[[keys.signing]]\nfile = \"{file}\"\nalg = \"RS256\"\nkid = \"early-bird\"\nactivate_at = \"{soon}\"\n\n[[upstream]]\nname = \"op\"\nissuer = \"https://127.0.0.1:1\"\n",
        signing = fixture_signing_keys(),
        file = fixture_keys().join("signing-PS256.pem").display(),
    ))
    .await;
    let logs = captured_logs();
    assert!(
        logs.contains(&format!(
            "keys.signing[4].activate_at: key early-bird activates at {soon}, only 600s after it is first published"
        )),
        "the start logged no warning: {}",
        logs.lines().filter(|line| line.contains("early-bird")).collect::<Vec<_>>().join("\n")
    );
}
