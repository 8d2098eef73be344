//! The checked-in test keys (tests/fixtures, made by tests/fixtures/make-keys.sh): tokenbridge's
//! key files, and the demo IdP's signing keys loaded once per test binary.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use josekit::jwk::{Jwk, KeyPair as _};
use josekit::jws;
use tokenbridge::demo::mint::IdpKey;
use tokenbridge::jose::alg::JwsAlg;

/// tests/fixtures, where the checked-in test keys live.
fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// tokenbridge's key files: `decryption-rsa.pem` (PKCS#1), `decryption-ec.pem` (SEC1, P-256)
/// and `signing-{alg}.pem` (PKCS#8) for every algorithm in `JwsAlg::SIGNING`.
pub(crate) fn fixture_keys() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = fixtures_dir().join("keys");
        assert!(
            dir.join("decryption-rsa.pem").is_file(),
            "{} holds no keys: run tests/fixtures/make-keys.sh",
            dir.display()
        );
        dir
    })
}

/// The IdP keys, one per JWS algorithm (kid `idp-{alg}`), loaded once per test binary.
pub(crate) fn idp_key(alg: JwsAlg) -> Arc<IdpKey> {
    static KEYS: OnceLock<Vec<Arc<IdpKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        JwsAlg::ALL
            .iter()
            .map(|&alg| {
                let name = format!("idp-{}", alg.name());
                Arc::new(load_idp_key(alg, &name, &name))
            })
            .collect()
    });
    keys.iter().find(|key| key.alg() == alg).unwrap().clone()
}

/// A second RSA key the IdP rotates to.
pub(crate) fn rotated_idp_key() -> Arc<IdpKey> {
    static KEY: OnceLock<Arc<IdpKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(load_idp_key(JwsAlg::RS256, "rotated", "idp-rotated")))
        .clone()
}

/// An attacker's key: valid, but not in any configured JWKS (with the kid of the IdP's RS256 key).
pub(crate) fn attacker_key() -> Arc<IdpKey> {
    static KEY: OnceLock<Arc<IdpKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(attacker_key_with_kid("idp-RS256")))
        .clone()
}

/// The attacker's RSA key under a `kid` of the test's choosing (one no JWKS names).
pub(crate) fn attacker_key_with_kid(kid: &str) -> IdpKey {
    load_idp_key(JwsAlg::RS256, "attacker", kid)
}

/// tokenbridge's own fixture signing key for `alg` (tests/fixtures/keys), named `kid`: for
/// tokens tokenbridge could have signed but didn't (another `iss`, `aud` or `typ`).
pub(crate) fn tokenbridge_key(alg: JwsAlg, kid: &str) -> IdpKey {
    let path = fixture_keys().join(format!("signing-{}.pem", alg.name()));
    load_key_at(alg, &path, kid)
}

/// tests/fixtures/idp-keys/{file}.pem as a signing key for `alg` named `kid`.
fn load_idp_key(alg: JwsAlg, file: &str, kid: &str) -> IdpKey {
    let path = fixtures_dir().join("idp-keys").join(format!("{file}.pem"));
    load_key_at(alg, &path, kid)
}

fn load_key_at(alg: JwsAlg, path: &Path, kid: &str) -> IdpKey {
    let pem = std::fs::read(path).unwrap_or_else(|err| {
        panic!(
            "{}: {err} (tests/fixtures/make-keys.sh makes it)",
            path.display()
        )
    });
    let private: Jwk = match alg {
        JwsAlg::RS256
        | JwsAlg::RS384
        | JwsAlg::RS512
        | JwsAlg::PS256
        | JwsAlg::PS384
        | JwsAlg::PS512 => jws::RS256
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
        JwsAlg::ES256 => jws::ES256
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
        JwsAlg::ES384 => jws::ES384
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
        JwsAlg::ES512 => jws::ES512
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
        JwsAlg::EdDSA => jws::EdDSA
            .key_pair_from_pem(&pem)
            .unwrap()
            .to_jwk_key_pair(),
    };
    IdpKey::from_private_jwk(alg, kid, private).unwrap()
}
