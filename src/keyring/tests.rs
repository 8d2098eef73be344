//! The schedule by the clock: which key signs, what is published, what decrypts, what the start
//! refuses and warns about, at each moment of a rotation.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::commands::generate_key;
use super::*;
use crate::clock::rfc3339;

const T: UnixTime = 1_796_277_600;

/// A config whose one client signs ES256 with `max_ttl` 5m, over `keys`; `{dir}` is `dir`.
fn config(dir: &Path, keys: &str) -> Config {
    let text = format!(
        r#"issuer = "https://tb.example"
[keys]
dir = "{dir}"
signing_alg = "ES256"
retire_leeway = "60s"
{keys}
[[upstream]]
name = "op"
issuer = "https://op.example"
[[client]]
id = "app"
secret = {{ sha256 = "{digest}" }}
upstreams = ["op"]
audiences = ["app"]
max_ttl = "5m"
"#,
        dir = dir.display(),
        keys = keys.replace("{dir}", &dir.display().to_string()),
        digest = "00".repeat(32),
    );
    crate::config::parse(&text, dir).unwrap_or_else(|err| panic!("{err}"))
}

fn kids_in(jwks: &str) -> Vec<String> {
    let jwks: serde_json::Value = serde_json::from_str(jwks).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn at(time: UnixTime) -> String {
    rfc3339::format(time)
}

#[test]
fn a_signing_rotation_follows_the_clock_from_next_to_gone() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate_key("ES256", &dir.path().join("a.pem"))
        .unwrap()
        .kid;
    let b = generate_key("ES256", &dir.path().join("b.pem"))
        .unwrap()
        .kid;
    let config = config(
        dir.path(),
        &format!(
            "[[keys.signing]]\nfile = \"a.pem\"\nalg = \"ES256\"\nretire_at = \"{}\"\n[[keys.signing]]\nfile = \"b.pem\"\nalg = \"ES256\"\nactivate_at = \"{}\"\n",
            at(T + 2000),
            at(T + 1500)
        ),
    );
    let ring = KeyRing::load(&config, T).unwrap();
    let signer_at = |now| ring.signer(JwsAlg::ES256, now).unwrap().kid().to_owned();

    // Before B's activation: A signs, B is published already, the signer first.
    assert_eq!(signer_at(T), a);
    assert_eq!(kids_in(ring.signing_jwks(T)), [a.clone(), b.clone()]);
    assert_eq!(signer_at(T + 1499), a);
    // From B's activate_at, B signs; both are published.
    assert_eq!(signer_at(T + 1500), b);
    assert_eq!(kids_in(ring.signing_jwks(T + 1500)), [b.clone(), a.clone()]);
    // From A's retire_at A never signs, and stays published while its tokens may live:
    // 5m max_ttl + 60s leeway.
    assert_eq!(signer_at(T + 2000), b);
    assert_eq!(
        kids_in(ring.signing_jwks(T + 2000 + 359)),
        [b.clone(), a.clone()]
    );
    assert_eq!(ring.own_keys(T + 2000 + 359).len(), 2);
    assert_eq!(kids_in(ring.signing_jwks(T + 2000 + 360)), [b]);
    assert_eq!(ring.own_keys(T + 2000 + 360).len(), 1);

    let states = |now| -> Vec<KeyState> {
        ring.statuses(now)
            .into_iter()
            .map(|status| status.state)
            .collect()
    };
    assert_eq!(states(T)[..2], [KeyState::Active, KeyState::Next]);
    assert_eq!(states(T + 2000)[..2], [KeyState::Retired, KeyState::Active]);
    assert_eq!(states(T + 2360)[..2], [KeyState::Gone, KeyState::Active]);
    let first = &ring.statuses(T)[0];
    assert_eq!(
        (first.usage, first.retire_at, first.leaves_jwks_at),
        (KeyUsage::Sig, Some(T + 2000), Some(T + 2360))
    );
    assert_eq!(first.alg, "ES256");
}

#[test]
fn the_most_recently_activated_key_signs_and_retired_true_only_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let old = generate_key("ES256", &dir.path().join("old.pem"))
        .unwrap()
        .kid;
    let first = generate_key("ES256", &dir.path().join("first.pem"))
        .unwrap()
        .kid;
    let later = generate_key("ES256", &dir.path().join("later.pem"))
        .unwrap()
        .kid;
    let config = config(
        dir.path(),
        &format!(
            "[[keys.signing]]\nfile = \"old.pem\"\nalg = \"ES256\"\nretired = true\n[[keys.signing]]\nfile = \"first.pem\"\nalg = \"ES256\"\n[[keys.signing]]\nfile = \"later.pem\"\nalg = \"ES256\"\nactivate_at = \"{}\"\n",
            at(T - 10)
        ),
    );
    let ring = KeyRing::load(&config, T).unwrap();
    assert_eq!(ring.signer(JwsAlg::ES256, T).unwrap().kid(), later);
    assert_eq!(ring.signer(JwsAlg::ES256, T - 11).unwrap().kid(), first);
    assert_eq!(
        kids_in(ring.signing_jwks(T + 10_000_000)),
        [later, old, first]
    );
    assert_eq!(ring.statuses(T)[0].state, KeyState::Retired);
    assert_eq!(ring.statuses(T)[0].leaves_jwks_at, None);
    // No default file is made: a configured key is active.
    assert!(!dir.path().join("signing-ES256.pem").exists());
}

#[test]
fn the_default_key_signs_until_a_scheduled_key_activates() {
    let dir = tempfile::tempdir().unwrap();
    let next = generate_key("ES256", &dir.path().join("next.pem"))
        .unwrap()
        .kid;
    let config = config(
        dir.path(),
        &format!(
            "[[keys.signing]]\nfile = \"next.pem\"\nalg = \"ES256\"\nactivate_at = \"{}\"\n",
            at(T + 3600)
        ),
    );
    let ring = KeyRing::load(&config, T).unwrap();
    let default = ring.signer(JwsAlg::ES256, T).unwrap().kid().to_owned();
    assert_ne!(default, next);
    assert!(dir.path().join("signing-ES256.pem").exists());
    assert_eq!(ring.signer(JwsAlg::ES256, T + 3600).unwrap().kid(), next);
    assert_eq!(kids_in(ring.signing_jwks(T + 3600)), [next, default]);
}

#[test]
fn a_schedule_that_leaves_an_algorithm_without_a_key_is_refused_with_the_moment() {
    let dir = tempfile::tempdir().unwrap();
    generate_key("ES256", &dir.path().join("a.pem")).unwrap();
    generate_key("ES256", &dir.path().join("b.pem")).unwrap();
    let keys = format!(
        "[[keys.signing]]\nfile = \"a.pem\"\nalg = \"ES256\"\nretire_at = \"{}\"\n[[keys.signing]]\nfile = \"b.pem\"\nalg = \"ES256\"\nactivate_at = \"{}\"\n",
        at(T + 100),
        at(T + 200)
    );
    let config = config(dir.path(), &keys);
    for refused in [
        KeyRing::load(&config, T).err(),
        KeyRing::check(&config, T).err(),
    ] {
        let problems = refused.expect("refused").0;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "keys.signing");
        assert!(
            problems[0]
                .message
                .contains("no ES256 key is active from 2026-12-03T06:01:40Z"),
            "{}",
            problems[0].message
        );
    }
    // After the gap has passed there is nothing to refuse.
    assert!(KeyRing::check(&config, T + 200).is_ok());
}

#[test]
fn a_key_activating_sooner_than_the_caches_allow_is_warned_about_once_published() {
    let dir = tempfile::tempdir().unwrap();
    generate_key("ES256", &dir.path().join("a.pem")).unwrap();
    let soon = generate_key("ES256", &dir.path().join("soon.pem"))
        .unwrap()
        .kid;
    let keys = format!(
        "[[keys.signing]]\nfile = \"a.pem\"\nalg = \"ES256\"\n[[keys.signing]]\nfile = \"soon.pem\"\nalg = \"ES256\"\nactivate_at = \"{}\"\n",
        at(T + 1199)
    );
    let config = config(dir.path(), &keys);
    let warnings = KeyRing::check(&config, T).unwrap().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "keys.signing[1].activate_at: key {soon} activates at"
        )),
        "{}",
        warnings[0]
    );
    let ring = KeyRing::load(&config, T).unwrap();
    let max_age = Duration::from_secs(300);
    // 5m + 15m is enough; a key published earlier, or already active, is not warned about.
    assert!(
        ring.schedule_warnings(T - 1, max_age, &ring.kids())
            .is_empty()
    );
    assert!(
        ring.schedule_warnings(T, max_age, &HashSet::new())
            .is_empty()
    );
    assert!(
        ring.schedule_warnings(T + 1199, max_age, &ring.kids())
            .is_empty()
    );
}

#[test]
fn decryption_keys_decrypt_from_load_until_retire_at_the_newest_active_first() {
    let dir = tempfile::tempdir().unwrap();
    let old = generate_key("RSA-OAEP-256", &dir.path().join("old.pem"))
        .unwrap()
        .kid;
    let ec = generate_key("ECDH-ES", &dir.path().join("ec.pem"))
        .unwrap()
        .kid;
    let new = generate_key("RSA-OAEP-256", &dir.path().join("new.pem"))
        .unwrap()
        .kid;
    let keys = format!(
        "[[keys.decryption]]\nfile = \"old.pem\"\nretire_at = \"{}\"\n[[keys.decryption]]\nfile = \"ec.pem\"\nactivate_at = \"{}\"\n[[keys.decryption]]\nfile = \"new.pem\"\nactivate_at = \"{}\"\n",
        at(T + 300),
        at(T - 100),
        at(T + 100)
    );
    let config = config(dir.path(), &keys);
    let ring = KeyRing::load(&config, T).unwrap();
    let decrypting = |now| -> Vec<String> {
        ring.decryption_keys(now)
            .iter()
            .map(|key| key.kid().to_owned())
            .collect()
    };
    let certificate_of = |now| ring.encryption_certificate(now).map(str::to_owned);
    // Before `new` activates: it decrypts already, listed after the active ones.
    assert_eq!(decrypting(T), [ec.clone(), old.clone(), new.clone()]);
    assert_eq!(kids_in(ring.encryption_jwks(T)), decrypting(T));
    let old_certificate = certificate_of(T).unwrap();
    // Activated: newest first, and the certificate is the newest active RSA key's.
    assert_eq!(decrypting(T + 100), [new.clone(), ec.clone(), old.clone()]);
    let new_certificate = certificate_of(T + 100).unwrap();
    assert_ne!(old_certificate, new_certificate);
    // Retired: `old` no longer decrypts nor is published.
    assert_eq!(decrypting(T + 300), [new.clone(), ec.clone()]);
    assert_eq!(kids_in(ring.encryption_jwks(T + 300)), [new, ec]);
    let states: Vec<KeyState> = ring.statuses(T).iter().skip(1).map(|s| s.state).collect();
    assert_eq!(states, [KeyState::Active, KeyState::Active, KeyState::Next]);
    assert_eq!(ring.statuses(T + 300)[1].state, KeyState::Gone);
    assert_eq!(ring.statuses(T)[1].alg, "RSA-OAEP-256");
}
