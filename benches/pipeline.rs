//! The exchange pipeline, timed in-process without HTTP, and next to it the bare public-key
//! operations it contains: jsonwebtoken/aws-lc-rs verification and aws-lc-rs signing as the
//! service does them, and josekit's JWE key management, which the service replaced with
//! aws-lc-rs (RSA-OAEP, ECDH-ES), kept as the comparison the README quotes.
//!
//! Nothing touches the network: the upstream's JWKS is installed directly, and the clock stands
//! still so the tokens stay valid for the whole run.
//!
//! `cargo bench --bench pipeline`; results in `target/criterion/{pipeline,crypto,runtime}`.

// Benches abort on setup failure: an unwrap here is a broken fixture, never a request path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// criterion_group! makes an undocumented pub fn; a bench has no API to document.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use josekit::jwe::{self, JweContentEncryption, JweDecrypter, JweHeader};
use serde_json::{Map, Value, json};
use tempfile::TempDir;
use tokenbridge::metrics::ExchangeOutcome;
use tokio::runtime::Runtime;

use tokenbridge::app::build_state;
use tokenbridge::clients::{Client, ClientCredentials};
use tokenbridge::clock::{ManualClock, UnixTime};
use tokenbridge::config;
use tokenbridge::demo::mint::{IdpKey, encrypt};
use tokenbridge::exchange::{ExchangeRequest, Issued, Trace, exchange};
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg, KeyKind};
use tokenbridge::jose::compact::{CompactToken, parse_compact};
use tokenbridge::jose::decrypt::decrypt_nested;
use tokenbridge::jose::private_key::generate;
use tokenbridge::jose::verify::VerificationKey;
use tokenbridge::keyring::load_private_key;
use tokenbridge::oauth::{ClientSecret, TokenType};
use tokenbridge::state::AppState;

#[path = "pipeline/refusal_timing.rs"]
mod refusal_timing;

const NOW: UnixTime = 1_750_000_000;
const IDP_ISSUER: &str = "https://idp.bench.example";
const AUDIENCE: &str = "app.bench.example";
const SECRET: &str = "bench-client-secret-0123456789";

/// The algorithms an IdP may sign subject tokens with.
const SUBJECT_ALGS: [JwsAlg; 4] = [JwsAlg::RS256, JwsAlg::PS256, JwsAlg::ES256, JwsAlg::EdDSA];
/// What encrypted subject tokens carry inside: RS256, as Authentik and Keycloak sign by default.
const NESTED_ALG: JwsAlg = JwsAlg::RS256;
const JWE_ALGS: [JweAlg; 4] = [
    JweAlg::RsaOaep,
    JweAlg::RsaOaep256,
    JweAlg::EcdhEs,
    JweAlg::EcdhEsA256Kw,
];
const JWE_ENCS: [JweEnc; 2] = [JweEnc::A256Gcm, JweEnc::A256CbcHs512];
/// The clients' `signing_alg`: what the issued token is signed with.
const ISSUED_ALGS: [JwsAlg; 2] = [JwsAlg::RS256, JwsAlg::ES256];

/// One tokenbridge, built once from a config file's text, with its upstream's keys installed.
struct World {
    /// Holds the key files; removed when the run ends.
    _dir: TempDir,
    keys_dir: PathBuf,
    runtime: Runtime,
    state: Arc<AppState>,
    /// By `signing_alg`.
    clients: HashMap<JwsAlg, Arc<Client>>,
    idp_keys: Vec<IdpKey>,
}

impl World {
    fn build() -> World {
        let dir = TempDir::new().unwrap();
        let keys_dir = dir.path().join("keys");
        std::fs::create_dir_all(&keys_dir).unwrap();
        write_key(&keys_dir.join("decryption-rsa.pem"), KeyKind::Rsa);
        write_key(&keys_dir.join("decryption-p256.pem"), KeyKind::EcP256);
        let config = config::parse_with_env(&config_text(), dir.path(), &|name| {
            (name == "BENCH_SECRET").then(|| SECRET.to_owned())
        })
        .unwrap();
        // Current-thread, like each actix worker, which runs every operation inline.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = {
            let _entered = runtime.enter();
            Arc::new(build_state(&config, ManualClock::at(NOW)).unwrap())
        };

        let idp_keys: Vec<IdpKey> = SUBJECT_ALGS
            .iter()
            .map(|&alg| IdpKey::generate(alg, &format!("idp-{alg}")).unwrap())
            .collect();
        let public: Vec<&Value> = idp_keys.iter().map(IdpKey::public_jwk).collect();
        let jwks: Map<String, Value> = serde_json::from_value(json!({ "keys": public })).unwrap();
        let upstream = state.pipeline.upstreams.by_issuer(IDP_ISSUER).unwrap();
        upstream.jwks.install(&jwks).unwrap();

        let clients = ISSUED_ALGS
            .iter()
            .map(|&alg| {
                let credentials = ClientCredentials {
                    client_id: client_id(alg),
                    secret: ClientSecret::new(SECRET.to_owned()),
                };
                (alg, state.clients.authenticate(&credentials).unwrap())
            })
            .collect();
        World {
            _dir: dir,
            keys_dir,
            runtime,
            state,
            clients,
            idp_keys,
        }
    }

    fn idp_key(&self, alg: JwsAlg) -> &IdpKey {
        self.idp_keys.iter().find(|key| key.alg() == alg).unwrap()
    }

    fn jws(&self, alg: JwsAlg) -> String {
        self.idp_key(alg)
            .sign(&subject_claims(), &json!({}))
            .unwrap()
    }

    /// A JWE to tokenbridge's published key for `alg` (RSA or P-256), a JWS inside.
    fn jwe(&self, alg: JweAlg, enc: JweEnc) -> String {
        let wanted = if alg.is_rsa() {
            KeyKind::Rsa
        } else {
            KeyKind::EcP256
        };
        let recipient = self
            .state
            .pipeline
            .key_ring
            .decryption_keys(self.state.pipeline.clock.now())
            .iter()
            .find(|key| key.kind() == wanted)
            .unwrap()
            .public_jwk();
        encrypt(
            &self.jws(NESTED_ALG),
            recipient,
            alg,
            enc,
            &json!({ "cty": "JWT" }),
        )
        .unwrap()
    }

    /// Runs an exchange that must be refused; returns the error code, for the bench to hold.
    fn refuse(&self, token: &str) -> &'static str {
        let request = ExchangeRequest {
            subject_token: token.to_owned(),
            subject_token_type: TokenType::IdToken,
            audience: None,
            requested_token_type: None,
        };
        let client = &self.clients[&JwsAlg::ES256];
        let mut trace = Trace::default();
        match self
            .runtime
            .block_on(exchange(&self.state.pipeline, client, request, &mut trace))
        {
            Ok(_) => panic!("a tampered token was exchanged"),
            Err(err) => err.code().as_str(),
        }
    }

    fn exchange(&self, issued: JwsAlg, token: &str) -> Issued {
        let request = ExchangeRequest {
            subject_token: token.to_owned(),
            subject_token_type: TokenType::IdToken,
            audience: None,
            requested_token_type: None,
        };
        let client = &self.clients[&issued];
        let mut trace = Trace::default();
        self.runtime
            .block_on(exchange(&self.state.pipeline, client, request, &mut trace))
            .unwrap()
    }
}

fn client_id(alg: JwsAlg) -> String {
    format!("bench-{}", alg.name().to_lowercase())
}

fn config_text() -> String {
    let mut text = format!(
        r#"
issuer = "https://tokenbridge.bench.example"
listen = "127.0.0.1:0"

[keys]
dir = "keys"
signing_alg = "RS256"

[[keys.decryption]]
file = "keys/decryption-rsa.pem"
kid = "enc-rsa"

[[keys.decryption]]
file = "keys/decryption-p256.pem"
kid = "enc-p256"

[[upstream]]
name = "idp"
issuer = "{IDP_ISSUER}"
algorithms = ["RS256", "PS256", "ES256", "EdDSA"]
"#
    );
    for alg in ISSUED_ALGS {
        text.push_str(&format!(
            r#"
[[client]]
id = "{id}"
secret = {{ env = "BENCH_SECRET" }}
upstreams = ["idp"]
audiences = ["{AUDIENCE}"]
signing_alg = "{alg}"
"#,
            id = client_id(alg),
        ));
    }
    text
}

fn write_key(path: &Path, kind: KeyKind) {
    let pem = generate(kind).unwrap().private_key_to_pem_pkcs8().unwrap();
    std::fs::write(path, pem).unwrap();
}

/// An ID token as IdPs issue them: a second audience, profile claims, a group list.
fn subject_claims() -> Value {
    json!({
        "iss": IDP_ISSUER,
        "sub": "248289761001",
        "aud": [AUDIENCE, "account"],
        "iat": NOW - 30,
        "auth_time": NOW - 60,
        "exp": NOW + 3600,
        "nonce": "n-0S6_WzA2Mj",
        "email": "jane.doe@bench.example",
        "email_verified": true,
        "name": "Jane Doe",
        "preferred_username": "jane",
        "groups": ["staff", "wiki-editors", "ops"],
    })
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn benchmarks(c: &mut Criterion) {
    let world = World::build();
    pipeline(c, &world);
    refusals(c, &world);
    decryption_failure_timing(c, &world);
    public_key_operations(c, &world);
    runtime_overhead(c, &world);
    metrics_overhead(c, &world);
}

/// What the metrics add to an exchange outside the pipeline: the `/exchange` handler's one
/// counter and one histogram; and what a scrape costs (never on a request's path).
fn metrics_overhead(c: &mut Criterion, world: &World) {
    let mut group = c.benchmark_group("metrics");
    let metrics = &world.state.pipeline.metrics;
    group.bench_function("record-exchange", |b| {
        b.iter(|| {
            metrics.exchange(&ExchangeOutcome {
                client: black_box("app"),
                upstream: "idp",
                error: None,
                duration: Duration::from_micros(900),
            })
        })
    });
    group.finish();
}

/// `exchange::exchange` end to end, per subject token shape and issued algorithm.
fn pipeline(c: &mut Criterion, world: &World) {
    let mut group = c.benchmark_group("pipeline");
    for issued in ISSUED_ALGS {
        for alg in SUBJECT_ALGS {
            let shape = format!("jws-{alg}");
            bench_exchange(&mut group, world, &shape, issued, &world.jws(alg));
        }
        for alg in JWE_ALGS {
            for enc in JWE_ENCS {
                let shape = format!("jwe-{alg}+{enc}-{NESTED_ALG}");
                bench_exchange(&mut group, world, &shape, issued, &world.jwe(alg, enc));
            }
        }
    }
    group.finish();
}

fn bench_exchange(
    group: &mut BenchmarkGroup<'_, WallTime>,
    world: &World,
    shape: &str,
    issued: JwsAlg,
    token: &str,
) {
    // A combination that fails would time the error path: check it once first.
    let header = header_of(&world.exchange(issued, token).access_token);
    assert_eq!(header["alg"], issued.name(), "{shape} issued {issued}");
    let id = BenchmarkId::new(shape, format!("issued-{issued}"));
    group.bench_function(id, |b| b.iter(|| world.exchange(issued, black_box(token))));
}

/// How long a refused JWE takes, by what was wrong with it: the caller sees the same error for
/// each, and the times should not tell them apart either.
fn refusals(c: &mut Criterion, world: &World) {
    let mut group = c.benchmark_group("refusal");
    let good = world.jwe(JweAlg::RsaOaep256, JweEnc::A256Gcm);
    let parts: Vec<&str> = good.split('.').collect();
    let flipped = |index: usize| {
        let mut bytes = decode(parts[index]);
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        let mut tampered: Vec<String> = parts.iter().map(|part| part.to_string()).collect();
        tampered[index] = URL_SAFE_NO_PAD.encode(bytes);
        tampered.join(".")
    };
    let stranger = IdpKey::generate(JwsAlg::RS256, "stranger").unwrap();
    let cases = [
        ("encrypted-key-flipped", flipped(1)),
        ("ciphertext-flipped", flipped(3)),
        ("tag-flipped", flipped(4)),
        (
            "to-another-key",
            encrypt(
                &world.jws(NESTED_ALG),
                stranger.public_jwk(),
                JweAlg::RsaOaep256,
                JweEnc::A256Gcm,
                &json!({}),
            )
            .unwrap(),
        ),
    ];
    for (name, token) in cases {
        assert_eq!(world.refuse(&token), "invalid_request", "{name}");
        group.bench_function(name, |b| b.iter(|| world.refuse(black_box(&token))));
    }
    group.finish();
}

/// `token` with byte `at` of part `part` (1 encrypted key, 2 IV, 3 ciphertext, 4 tag) XORed.
fn tampered(token: &str, part: usize, at: impl Fn(usize) -> usize, mask: u8) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = decode(&parts[part]);
    let index = at(bytes.len());
    bytes[index] ^= mask;
    parts[part] = URL_SAFE_NO_PAD.encode(bytes);
    parts.join(".")
}

/// The decryption step alone, per kind of failure, interleaved and compared statistically: a
/// padding oracle or an unwrap-versus-tag difference would show as |t| > 4.5.
fn decryption_failure_timing(c: &mut Criterion, world: &World) {
    let stranger = IdpKey::generate(JwsAlg::RS256, "stranger").unwrap();
    let refuse = |token: &str| {
        let Ok(CompactToken::Jwe { header, token }) =
            parse_compact(token, &world.state.pipeline.compact_limits)
        else {
            panic!("not a JWE");
        };
        let decrypted = decrypt_nested(
            token,
            &header,
            world
                .state
                .pipeline
                .key_ring
                .decryption_keys(world.state.pipeline.clock.now()),
            &world.state.pipeline.content_encryption,
            None,
        );
        assert!(decrypted.is_err(), "a tampered token decrypted");
    };
    for enc in [JweEnc::A256CbcHs512, JweEnc::A256Gcm] {
        let good = world.jwe(JweAlg::RsaOaep256, enc);
        let mut cases = vec![
            refusal_timing::Case {
                name: "tag flipped",
                token: tampered(&good, 4, |_| 0, 1),
            },
            refusal_timing::Case {
                name: "IV flipped",
                token: tampered(&good, 2, |_| 0, 1),
            },
            refusal_timing::Case {
                name: "encrypted key flipped (unwrap)",
                token: tampered(&good, 1, |len| len / 2, 1),
            },
            refusal_timing::Case {
                name: "wrapped for another key",
                token: encrypt(
                    &world.jws(NESTED_ALG),
                    stranger.public_jwk(),
                    JweAlg::RsaOaep256,
                    enc,
                    &json!({}),
                )
                .unwrap(),
            },
        ];
        if enc.is_gcm() {
            cases.push(refusal_timing::Case {
                name: "ciphertext flipped",
                token: tampered(&good, 3, |len| len / 2, 1),
            });
        } else {
            // CBC: a change to the next-to-last block lands on the last block's padding bytes; a
            // change to the first block leaves the padding whole. A padding oracle tells them apart.
            cases.push(refusal_timing::Case {
                name: "padding broken (last byte)",
                token: tampered(&good, 3, |len| len - 17, 0x5a),
            });
            cases.push(refusal_timing::Case {
                name: "padding intact, MAC wrong",
                token: tampered(&good, 3, |_| 0, 0x5a),
            });
        }
        refusal_timing::compare(c, &format!("decrypt-failure/{enc}"), &cases, refuse);
    }
    // ECDH-ES with AES key wrap: an unwrap that fails RFC 3394's integrity check against a tag
    // that fails after a good unwrap.
    let good = world.jwe(JweAlg::EcdhEsA256Kw, JweEnc::A256Gcm);
    let cases = [
        refusal_timing::Case {
            name: "tag flipped",
            token: tampered(&good, 4, |_| 0, 1),
        },
        refusal_timing::Case {
            name: "encrypted key flipped (unwrap)",
            token: tampered(&good, 1, |len| len / 2, 1),
        },
        refusal_timing::Case {
            name: "IV flipped",
            token: tampered(&good, 2, |_| 0, 1),
        },
        refusal_timing::Case {
            name: "ciphertext flipped",
            token: tampered(&good, 3, |len| len / 2, 1),
        },
    ];
    refusal_timing::compare(c, "decrypt-failure/ECDH-ES+A256KW+A256GCM", &cases, refuse);
}

/// The public-key operations inside the pipeline, each alone.
fn public_key_operations(c: &mut Criterion, world: &World) {
    let mut group = c.benchmark_group("crypto");

    for alg in SUBJECT_ALGS {
        let key = VerificationKey::from_jwk(world.idp_key(alg).public_jwk())
            .unwrap()
            .unwrap();
        let token = world.jws(alg);
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        assert!(key.verify(alg, signing_input.as_bytes(), signature));
        group.bench_function(format!("verify-{alg}"), |b| {
            b.iter(|| key.verify(alg, black_box(signing_input.as_bytes()), signature))
        });
    }

    // The claims the pipeline signs, taken from a token it issued.
    let issued = world.exchange(JwsAlg::RS256, &world.jws(JwsAlg::ES256));
    let claims = claims_of(&issued.access_token);
    for alg in ISSUED_ALGS {
        let signer = world
            .state
            .pipeline
            .key_ring
            .signer(alg, world.state.pipeline.clock.now())
            .unwrap();
        group.bench_function(format!("sign-{alg}"), |b| {
            b.iter(|| signer.sign_compact("JWT", black_box(&claims)).unwrap())
        });
    }

    // Only the key-management step of JWE decryption (RFC 7516 §5.2 steps 6–10): the CEK is
    // recovered, the content is not decrypted.
    for alg in JWE_ALGS {
        let enc = JweEnc::A256Gcm;
        let file = if alg.is_rsa() {
            "decryption-rsa.pem"
        } else {
            "decryption-p256.pem"
        };
        // The PKCS#8 DER the service's `DecryptionKey` is built from, through josekit's
        // constructor: the backend the service used before aws-lc-rs, for comparison.
        let der = load_private_key(&world.keys_dir.join(file))
            .unwrap()
            .key
            .pkey
            .private_key_to_pkcs8()
            .unwrap();
        let decrypter: Box<dyn JweDecrypter> = match alg {
            JweAlg::RsaOaep => Box::new(jwe::RSA_OAEP.decrypter_from_der(&der).unwrap()),
            JweAlg::RsaOaep256 => Box::new(jwe::RSA_OAEP_256.decrypter_from_der(&der).unwrap()),
            JweAlg::EcdhEs => Box::new(jwe::ECDH_ES.decrypter_from_der(&der).unwrap()),
            JweAlg::EcdhEsA256Kw => Box::new(jwe::ECDH_ES_A256KW.decrypter_from_der(&der).unwrap()),
            other => panic!("no bare benchmark for {other}"),
        };
        let token = world.jwe(alg, enc);
        let mut parts = token.split('.');
        let header = JweHeader::from_bytes(&decode(parts.next().unwrap())).unwrap();
        let encrypted_key = decode(parts.next().unwrap());
        let encrypted_key = (!encrypted_key.is_empty()).then_some(encrypted_key.as_slice());
        let content: &dyn JweContentEncryption = &jwe::enc::A256GCM;
        decrypter.decrypt(encrypted_key, content, &header).unwrap();
        let name = match alg {
            JweAlg::RsaOaep | JweAlg::RsaOaep256 => format!("decrypt-cek-{alg}-rsa2048"),
            _ => format!("decrypt-cek-{alg}-p256"),
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                decrypter
                    .decrypt(black_box(encrypted_key), content, &header)
                    .unwrap()
                    .into_owned()
            })
        });
    }
    group.finish();
}

/// What moving work off the reactor would cost: the pipeline once handed each RSA private-key
/// operation to the blocking pool and waited for it, and now runs it inline; this is that round
/// trip with no work in it, and with an RS256 signature.
fn runtime_overhead(c: &mut Criterion, world: &World) {
    let mut group = c.benchmark_group("runtime");
    group.bench_function("spawn_blocking-round-trip", |b| {
        b.iter(|| {
            world
                .runtime
                .block_on(async { tokio::task::spawn_blocking(|| black_box(1)).await })
                .unwrap()
        })
    });
    // The same round trip around the RS256 signature the pipeline sends there: compared with
    // `crypto/sign-RS256`, what a wake-up after ~0.25 ms of idling costs on this host.
    let signer = world
        .state
        .pipeline
        .key_ring
        .signer(JwsAlg::RS256, world.state.pipeline.clock.now())
        .unwrap()
        .clone();
    let issued = world.exchange(JwsAlg::RS256, &world.jws(JwsAlg::ES256));
    let claims = Arc::new(claims_of(&issued.access_token));
    group.bench_function("spawn_blocking-sign-RS256", |b| {
        b.iter(|| {
            let (signer, claims) = (signer.clone(), claims.clone());
            world
                .runtime
                .block_on(async {
                    tokio::task::spawn_blocking(move || signer.sign_compact("JWT", &claims)).await
                })
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
}

fn decode(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap()
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&decode(token.split('.').next().unwrap())).unwrap()
}

fn claims_of(token: &str) -> Map<String, Value> {
    serde_json::from_slice(&decode(token.split('.').nth(1).unwrap())).unwrap()
}

criterion_group! {
    name = benches;
    config = config();
    targets = benchmarks
}
criterion_main!(benches);
