//! The test IdP and token minter of the HTTP load benchmark (`benches/load.sh`).
//!
//! `cargo run --example load-idp -- OUT_DIR TTL_SECONDS DISTINCT`
//!
//! Starts the demo IdP on a loopback port with the fixture IdP keys (tests/fixtures/idp-keys), so
//! tokenbridge's upstream is the same on every run. Mints the pipelines' subject tokens into
//! OUT_DIR, each valid for TTL_SECONDS (the whole run plus margin, so no token expires under
//! load), plus DISTINCT different RS256 tokens (one per line) to fill an exchange cache. The JWEs
//! are encrypted to tokenbridge's fixture decryption keys (tests/fixtures/keys), under the `kid`
//! tokenbridge derives for them, as an IdP that read `/.well-known/encryption-keys.json` would.
//! Writes `OUT_DIR/issuer` last: once it exists, everything else is in place. Then serves until
//! killed.

// A benchmark helper: a failed setup is a broken fixture, and aborting with the reason is right.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout)]

use std::fs;
use std::path::{Path, PathBuf};

use josekit::jwk::{Jwk, KeyPair as _};
use josekit::jws;
use serde_json::{Value, json};
use tokenbridge::clock::SystemClock;
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::{IdpKey, encrypt};
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg, KeyKind};
use tokenbridge::jose::private_key::{public_jwk_members, thumbprint};
use tokenbridge::keyring::load_private_key;

/// The `aud` of every subject token; the bench clients accept it.
const AUDIENCE: &str = "bench-rp";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// An IdP signing key from tests/fixtures/idp-keys, with the kid the tests give it.
fn idp_key(alg: JwsAlg) -> IdpKey {
    let path = fixtures()
        .join("idp-keys")
        .join(format!("idp-{}.pem", alg.name()));
    let pem = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let private: Jwk = match alg {
        JwsAlg::RS256 => jws::RS256
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
        JwsAlg::ES256 => jws::ES256
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
        other => panic!("the bench mints no {other:?} tokens"),
    };
    IdpKey::from_private_jwk(alg, &format!("idp-{}", alg.name()), private).unwrap()
}

/// The public JWK of one of tokenbridge's fixture decryption keys, under the kid tokenbridge
/// publishes for a PEM key (its RFC 7638 thumbprint).
fn recipient(file: &str, kind: KeyKind) -> Value {
    let loaded = load_private_key(&fixtures().join("keys").join(file)).unwrap();
    let mut members = public_jwk_members(&loaded.key.pkey, kind).unwrap();
    let kid = thumbprint(&members);
    members.insert("kid".into(), json!(kid));
    Value::Object(members)
}

fn claims(issuer: &str, now: i64, ttl: i64, sub: &str) -> Value {
    json!({
        "iss": issuer,
        "sub": sub,
        "aud": AUDIENCE,
        "iat": now,
        "auth_time": now,
        "exp": now + ttl,
        "jti": format!("bench-{sub}"),
        "nonce": "n-0S6_WzA2Mj",
        "email": "ada@example.com",
        "email_verified": true,
        "name": "Ada Lovelace",
        "preferred_username": "ada",
        "groups": ["bench-users"],
    })
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap_or_else(|err| panic!("{name}: {err}"));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, out, ttl, distinct] = args.as_slice() else {
        panic!("usage: load-idp OUT_DIR TTL_SECONDS DISTINCT");
    };
    let out = PathBuf::from(out);
    let ttl: i64 = ttl.parse().expect("TTL_SECONDS");
    let distinct: usize = distinct.parse().expect("DISTINCT");
    fs::create_dir_all(&out).unwrap();

    let rs256 = idp_key(JwsAlg::RS256);
    let es256 = idp_key(JwsAlg::ES256);
    let idp = DemoIdp::start(&[&rs256, &es256]).unwrap();
    let issuer = idp.issuer().to_owned();
    let now = SystemClock::shared().now();
    let rsa = recipient("decryption-rsa.pem", KeyKind::Rsa);
    let ec = recipient("decryption-ec.pem", KeyKind::EcP256);
    let cty = json!({ "cty": "JWT" });

    let jws_rs256 = rs256
        .sign(&claims(&issuer, now, ttl, "bench-user"), &json!({}))
        .unwrap();
    let jws_es256 = es256
        .sign(&claims(&issuer, now, ttl, "bench-user"), &json!({}))
        .unwrap();
    let jwe_rsa = encrypt(&jws_rs256, &rsa, JweAlg::RsaOaep256, JweEnc::A256Gcm, &cty).unwrap();
    let jwe_ec = encrypt(&jws_es256, &ec, JweAlg::EcdhEsA256Kw, JweEnc::A256Gcm, &cty).unwrap();
    write(&out, "jwe-rsa-oaep-256.jwt", &jwe_rsa);
    write(&out, "jwe-ecdh-es-a256kw.jwt", &jwe_ec);
    write(&out, "jws-rs256.jwt", &jws_rs256);

    // Each token differs in sub and jti, so a cache keyed on the subject token holds one entry
    // per line. Two threads: RSA signing is what takes the time here.
    let lines: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|half| {
                let (rs256, issuer) = (&rs256, &issuer);
                scope.spawn(move || {
                    (0..distinct)
                        .filter(|i| i % 2 == half)
                        .map(|i| {
                            rs256
                                .sign(&claims(issuer, now, ttl, &format!("user-{i}")), &json!({}))
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|half| half.join().unwrap())
            .collect()
    });
    write(&out, "distinct-rs256.txt", &(lines.join("\n") + "\n"));

    write(&out, "issuer", &issuer);
    println!("load-idp: {issuer}, tokens in {}", out.display());
    // Serves discovery and the JWKS until the bench kills it.
    std::future::pending::<()>().await;
}
