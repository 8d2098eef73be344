//! The attack suite: each case is a way to make tokenbridge sign what it shouldn't, or fall
//! over, and each asserts the exact status and error code. (Expired, not-yet-valid, wrong
//! issuer, unknown kid, a key not in the JWKS, audience not allowed, a forbidden upstream and the
//! uniform crypto failures are in errors.rs; the refetch behaviour in upstream.rs.)

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwk::KeyPair as _;
use serde_json::{Value, json};
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::{IdpKey, encrypt};
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg};

use crate::helpers::*;

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// An HS256 JWS over `claims` with `secret` as the HMAC key, built by hand (no library would
/// let us sign with a public key, which is the point).
fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[tokio::test]
async fn alg_none_in_the_token_and_inside_a_jwe_is_refused() {
    let app = spawn_app().await;
    let claims = app.claims(json!("app"), json!({}));
    let unsigned = format!("{}.{}.", b64(&json!({ "alg": "none" })), b64(&claims));
    let unsigned_with_kid = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "kid": "idp-RS256" })),
        b64(&claims)
    );
    let nested = app.rsa_jwe(&unsigned).await;

    for token in [&unsigned, &unsigned_with_kid, &nested] {
        app.exchange("app", token, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
}

#[tokio::test]
async fn alg_confusion_with_the_rsa_public_key_as_hmac_secret_is_refused() {
    let app = spawn_app().await;
    let jwk = idp_key(JwsAlg::RS256).public_jwk().clone();
    let rsa_n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let public_pem = {
        let n = openssl::bn::BigNum::from_slice(&rsa_n).unwrap();
        let e = openssl::bn::BigNum::from_slice(
            &URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        openssl::rsa::Rsa::from_public_components(n, e)
            .unwrap()
            .public_key_to_pem()
            .unwrap()
    };
    let claims = app.claims(json!("app"), json!({}));

    for secret in [
        public_pem.as_slice(),
        rsa_n.as_slice(),
        jwk.to_string().as_bytes(),
    ] {
        for alg in ["HS256", "HS384", "HS512"] {
            let token = hs256(
                &json!({ "alg": alg, "kid": "idp-RS256", "typ": "JWT" }),
                &claims,
                secret,
            );
            app.exchange("app", &token, &[])
                .await
                .assert_refused(400, "invalid_request");
        }
    }
}

#[tokio::test]
async fn an_rsa_key_never_verifies_an_es256_token_and_kid_only_looks_up() {
    let app = spawn_app().await;
    // Signed with the IdP's EC key but naming the RSA key's kid: the RSA key can't verify ES256.
    let claims = app.claims(json!("app"), json!({}));
    let token = idp_key(JwsAlg::ES256)
        .sign(&claims, &json!({ "kid": "idp-RS256" }))
        .unwrap();

    app.exchange("app", &token, &[])
        .await
        .assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn attacker_keys_in_jku_jwk_x5u_and_x5c_are_never_used() {
    let app = spawn_app().await;
    let attacker_pair = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let attacker =
        IdpKey::from_private_jwk(JwsAlg::RS256, "attacker", attacker_pair.to_jwk_key_pair())
            .unwrap();
    let attacker_host = DemoIdp::start(&[&attacker]).unwrap();
    let attacker_jwks = format!("{}/jwks", attacker_host.issuer());
    let certificate = {
        let pkey =
            openssl::pkey::PKey::private_key_from_der(&attacker_pair.to_der_private_key()).unwrap();
        let pem = tokenbridge::jose::cert::self_signed_pem(&pkey, "attacker").unwrap();
        STANDARD.encode(
            openssl::x509::X509::from_pem(pem.as_bytes())
                .unwrap()
                .to_der()
                .unwrap(),
        )
    };
    let claims = app.claims(json!("app"), json!({}));
    let headers = [
        json!({ "jku": attacker_jwks }),
        json!({ "jku": attacker_jwks, "kid": "idp-RS256" }),
        json!({ "jwk": attacker.public_jwk() }),
        json!({ "jwk": attacker.public_jwk(), "kid": "idp-RS256" }),
        json!({ "x5u": format!("{}/cert.pem", attacker_host.issuer()) }),
        json!({ "x5c": [certificate] }),
        json!({ "x5c": [certificate], "kid": null }),
    ];

    for header in headers {
        let token = attacker.sign(&claims, &header).unwrap();
        let answer = app.exchange("app", &token, &[]).await;
        answer.assert_refused(400, "invalid_request");
    }
    assert_eq!(
        attacker_host.jwks_requests(),
        0,
        "a token's jku was fetched"
    );
}

#[tokio::test]
async fn an_unknown_crit_is_refused_even_when_the_signature_is_good() {
    let app = spawn_app().await;
    let claims = app.claims(json!("app"), json!({}));
    let key = idp_key(JwsAlg::RS256);

    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("b64")] {
        let token = key
            .sign(&claims, &json!({ "crit": crit, "exp": 1, "b64": true }))
            .unwrap();
        app.exchange("app", &token, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
}

#[tokio::test]
async fn a_tampered_jwe_fails_the_same_way_whichever_part_was_touched() {
    let app = spawn_app().await;
    let inner = app.id_token(json!("app"), json!({}));
    let jwe = app.rsa_jwe(&inner).await;
    let parts: Vec<&str> = jwe.split('.').collect();
    let flip = |part: &str| -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(part).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let with = |index: usize, replacement: String| {
        let mut tampered: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        tampered[index] = replacement;
        tampered.join(".")
    };
    let header_tampered = {
        let mut header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        header["kid"] = json!("other");
        b64(&header)
    };
    let cases = [
        ("header", with(0, header_tampered)),
        ("encrypted key", with(1, flip(parts[1]))),
        ("iv", with(2, flip(parts[2]))),
        ("ciphertext", with(3, flip(parts[3]))),
        ("tag", with(4, flip(parts[4]))),
    ];

    let mut bodies = Vec::new();
    for (case, token) in cases {
        let answer = app.exchange("app", &token, &[]).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{case}: {}",
            answer.body
        );
        bodies.push(answer.body);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "bodies differ: {bodies:?}"
    );
}

#[tokio::test]
#[allow(deprecated)] // josekit deprecates RSA1_5; the attacker uses it anyway.
async fn rsa1_5_is_refused() {
    let app = spawn_app().await;
    let inner = app.id_token(json!("app"), json!({}));
    let mut recipient = app.encryption_key("RSA").await;
    recipient.as_object_mut().unwrap().remove("alg");
    let jwk = josekit::jwk::Jwk::from_bytes(recipient.to_string().as_bytes()).unwrap();
    let encrypter = josekit::jwe::RSA1_5.encrypter_from_jwk(&jwk).unwrap();
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A128CBC-HS256");
    let token = josekit::jwe::serialize_compact(inner.as_bytes(), &header, &encrypter).unwrap();

    app.exchange("app", &token, &[])
        .await
        .assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn an_ecdh_es_ephemeral_key_off_the_curve_is_refused() {
    let app = spawn_app().await;
    let inner = app.id_token(json!("app"), json!({}));
    let jwe = encrypt(
        &inner,
        &app.encryption_key("EC").await,
        JweAlg::EcdhEs,
        JweEnc::A256Gcm,
        &json!({}),
    )
    .unwrap();
    let (header_b64, rest) = jwe.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
    let off_curve = [
        (
            URL_SAFE_NO_PAD.encode([0u8; 32]),
            URL_SAFE_NO_PAD.encode([0u8; 32]),
        ),
        (
            URL_SAFE_NO_PAD.encode([1u8; 32]),
            URL_SAFE_NO_PAD.encode([1u8; 32]),
        ),
    ];

    for (x, y) in off_curve {
        header["epk"]["x"] = json!(x);
        header["epk"]["y"] = json!(y);
        let token = format!("{}.{rest}", b64(&header));
        app.exchange("app", &token, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
    header["epk"]["crv"] = json!("P-384");
    let token = format!("{}.{rest}", b64(&header));
    app.exchange("app", &token, &[])
        .await
        .assert_refused(400, "invalid_request");
}

/// A DEFLATE stream of `size` zero bytes: tiny compressed, huge inflated.
fn zip_bomb(size: usize) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &vec![0u8; size]).unwrap();
    encoder.finish().unwrap()
}

/// A compact JWE with `zip: DEF` over `plaintext` compressed, or over `raw` deflate bytes.
fn zipped_jwe(recipient: &Value, deflated: &[u8]) -> String {
    let mut recipient = recipient.clone();
    recipient.as_object_mut().unwrap().remove("alg");
    let jwk = josekit::jwk::Jwk::from_bytes(recipient.to_string().as_bytes()).unwrap();
    let encrypter = josekit::jwe::RSA_OAEP_256.encrypter_from_jwk(&jwk).unwrap();
    // Encrypt the already-deflated bytes with a header that says DEF: what an attacker sends.
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_claim("zip", Some(json!("DEF"))).unwrap();
    let mut context = josekit::jwe::JweContext::new();
    context.remove_compression("DEF");
    context.add_compression(Box::new(Passthrough));
    context
        .serialize_compact(deflated, &header, &encrypter)
        .unwrap()
}

/// Lets the test hand josekit bytes that are already deflated.
#[derive(Debug, Clone)]
struct Passthrough;

impl josekit::jwe::JweCompression for Passthrough {
    fn name(&self) -> &str {
        "DEF"
    }
    fn compress(&self, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        Ok(message.to_vec())
    }
    fn decompress(&self, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        Ok(message.to_vec())
    }
    fn box_clone(&self) -> Box<dyn josekit::jwe::JweCompression> {
        Box::new(self.clone())
    }
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn zip_is_refused_unless_enabled_and_a_zip_bomb_is_refused_when_it_is() {
    let closed = spawn_app().await;
    let open = spawn_app_with(Options {
        limits: "[limits]\ndanger_allow_zip = true\n".into(),
        ..Options::default()
    })
    .await;
    let bomb = zip_bomb(64 * 1024 * 1024);
    assert!(
        bomb.len() < 100 * 1024,
        "the bomb is small on the wire: {}",
        bomb.len()
    );

    let small_for_closed = zipped_jwe(
        &closed.encryption_key("RSA").await,
        &deflate(closed.id_token(json!("app"), json!({})).as_bytes()),
    );
    let small_for_open = zipped_jwe(
        &open.encryption_key("RSA").await,
        &deflate(open.id_token(json!("app"), json!({})).as_bytes()),
    );
    let bomb_for_open = zipped_jwe(&open.encryption_key("RSA").await, &bomb);

    closed
        .exchange("app", &small_for_closed, &[])
        .await
        .assert_refused(400, "invalid_request");
    assert_eq!(
        open.exchange("app", &small_for_open, &[]).await.status,
        200,
        "zip works when enabled"
    );
    let answer = open.exchange("app", &bomb_for_open, &[]).await;
    assert!(matches!(answer.status, 400 | 413), "{}", answer.body);
    assert_eq!(answer.error(), "invalid_request");
}

#[tokio::test]
async fn deeply_nested_and_oversized_inputs_are_refused_before_parsing() {
    let app = spawn_app().await;
    let key = idp_key(JwsAlg::RS256);
    let deep_claims = format!(
        "{{\"iss\":\"{}\",\"sub\":\"u\",\"aud\":\"app\",\"exp\":{},\"x\":{}1{}}}",
        app.idp.issuer(),
        now() + 600,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let deep_token = {
        let header = b64(&json!({ "alg": "RS256", "kid": "idp-RS256" }));
        format!(
            "{header}.{}.{}",
            URL_SAFE_NO_PAD.encode(&deep_claims),
            "c2ln"
        )
    };
    let deep_header = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(format!(
            "{{\"alg\":\"RS256\",\"x\":{}1{}}}",
            "[".repeat(64),
            "]".repeat(64)
        )),
        b64(&json!({}))
    );
    let many_claims = key
        .sign(
            &app.claims(
                json!("app"),
                Value::Object((0..200).map(|i| (format!("c{i}"), json!(i))).collect()),
            ),
            &json!({}),
        )
        .unwrap();
    let many_auds = key
        .sign(
            &app.claims(
                json!((0..40).map(|i| format!("a{i}")).collect::<Vec<_>>()),
                json!({}),
            ),
            &json!({}),
        )
        .unwrap();

    app.exchange("app", &deep_token, &[])
        .await
        .assert_refused(413, "invalid_request");
    app.exchange("app", &deep_header, &[])
        .await
        .assert_refused(413, "invalid_request");
    app.exchange("app", &many_claims, &[])
        .await
        .assert_refused(413, "invalid_request");
    app.exchange("app", &many_auds, &[])
        .await
        .assert_refused(400, "invalid_request");
    let huge = "A".repeat(20 * 1024);
    app.exchange("app", &format!("{huge}.{huge}.{huge}"), &[])
        .await
        .assert_refused(413, "invalid_request");
}

#[tokio::test]
async fn garbage_in_every_field_is_a_clean_400() {
    let app = spawn_app().await;
    let garbage = [
        "",
        ".",
        "..",
        "....",
        "a.b.c",
        "a.b.c.d",
        "a.b.c.d.e.f",
        "\u{0}\u{1}",
        "eyJhbGciOiJSUzI1NiJ9..",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
        "e30.e30.e30",
        "%%%.%%%.%%%",
        "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.AAAA.AAAA.AAAA.AAAA",
    ];
    for token in garbage {
        let answer = app.exchange("app", token, &[]).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{token:?}: {}",
            answer.body
        );
    }
    let json_garbage = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .header("content-type", "application/json")
            .body("{\"subject_token\": [1,2,3], \"deep\": ".to_owned() + &"[".repeat(10000)),
    )
    .await;
    json_garbage.assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn repeated_failed_authentication_from_one_address_is_slowed_down_before_checking() {
    let app = spawn_app_with(Options {
        limits: "[limits]\nfailed_auth = { per_second = 0.01, burst = 3 }\n".into(),
        ..Options::default()
    })
    .await;
    let token = app.id_token(json!("app"), json!({}));
    let form = [
        ("grant_type", GRANT),
        ("subject_token", token.as_str()),
        ("subject_token_type", ID_TOKEN),
    ];
    let guess = |secret: &'static str| {
        send(
            app.http
                .post(app.url("/exchange"))
                .basic_auth("app", Some(secret))
                .form(&form),
        )
    };

    for _ in 0..3 {
        guess("wrong-guess-0123456789")
            .await
            .assert_refused(401, "invalid_client");
    }
    let blocked = guess("wrong-guess-0123456789").await;
    let right_guess_while_blocked = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .form(&form),
    )
    .await;

    blocked.assert_refused(429, "slow_down");
    assert!(blocked.headers.contains_key("retry-after"));
    right_guess_while_blocked.assert_refused(429, "slow_down");
}

#[tokio::test]
async fn a_discovered_jwks_uri_on_another_host_is_refused_unless_allowed() {
    let attacker = DemoIdp::start(&[&attacker_key()]).unwrap();
    let foreign = format!("http://localhost:{}/jwks", attacker.port());
    let policy = |allow: bool| {
        only_the_demo_idp(&format!("danger_allow_jwks_on_other_host = {allow}")).policy
    };
    let app = spawn_app_with(Options {
        policy: policy(false),
        is_idp_down_at_start: true,
        ..Options::default()
    })
    .await;
    app.idp.announce("jwks_uri", &foreign);
    app.idp.set_failing(false);
    let token = app.id_token(json!("app"), json!({}));

    let answer = app.exchange("app", &token, &[]).await;
    let ready = app.ready_status().await;

    assert_eq!(
        (answer.status, answer.error()),
        (503, "temporarily_unavailable"),
        "{}",
        answer.body
    );
    assert_eq!(ready, 503);
    assert_eq!(
        attacker.jwks_requests(),
        0,
        "the foreign jwks_uri was fetched"
    );
    assert!(captured_logs().contains("on another host than the issuer"));

    let allowed = spawn_app_with(Options {
        policy: policy(true),
        is_idp_down_at_start: true,
        ..Options::default()
    })
    .await;
    allowed.idp.announce("jwks_uri", &foreign);
    allowed.idp.set_failing(false);
    let _ = allowed
        .exchange("app", &allowed.id_token(json!("app"), json!({})), &[])
        .await;
    let ready = allowed.ready_status().await;
    assert_eq!(ready, 200, "allowed: the keys come from the other host");
    assert!(attacker.jwks_requests() >= 1);
}

#[tokio::test]
async fn a_small_order_ed25519_key_in_the_jwks_verifies_nothing() {
    let app = spawn_app().await;
    let mut keys = app.idp.jwks()["keys"].as_array().unwrap().clone();
    let identity = {
        let mut point = [0u8; 32];
        point[0] = 1;
        point
    };
    let identity_with_sign_bit = {
        let mut point = identity;
        point[31] = 0x80;
        point
    };
    for (kid, point) in [
        ("identity", identity),
        ("identity-sign-bit", identity_with_sign_bit),
    ] {
        keys.push(json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(point),
        }));
    }
    app.idp.publish_raw(json!({ "keys": keys }));
    let claims = app.claims(json!("app"), json!({}));
    // R = the identity, S = 0: [S]B = R + [k]A holds for every message when A is the identity.
    let mut signature = [0u8; 64];
    signature[0] = 1;
    for kid in ["identity", "identity-sign-bit"] {
        let forged = format!(
            "{}.{}.{}",
            b64(&json!({ "alg": "EdDSA", "kid": kid })),
            b64(&claims),
            URL_SAFE_NO_PAD.encode(signature)
        );
        app.exchange("app", &forged, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
    let genuine = app.id_token_signed(&idp_key(JwsAlg::EdDSA), json!("app"), json!({}));
    assert_eq!(
        app.exchange("app", &genuine, &[]).await.status,
        200,
        "the rest of the JWKS still verifies"
    );
}
