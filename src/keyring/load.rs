//! Reading every key the config names (and the default files in `keys.dir`) into schedule
//! entries; every problem named by its key.

use std::path::Path;
use std::sync::Arc;

use super::files::{KeyFileError, LoadedKey, load_or_generate, load_private_key};
use super::schedule::{DecryptionEntry, SigningEntry, Window};
use crate::clock::UnixTime;
use crate::config::{Config, ConfigErrors, ConfigProblem};
use crate::jose::alg::{JwsAlg, KeyKind};
use crate::jose::cert::self_signed_pem;
use crate::jose::decrypt::DecryptionKey;
use crate::jose::private_key::{public_jwk_members, thumbprint};
use crate::jose::sign::Signer;

/// Every key loaded, and what `check` reports beside them.
pub(super) struct LoadedKeys {
    pub(super) signing: Vec<SigningEntry>,
    pub(super) decryption: Vec<DecryptionEntry>,
    /// A note for each default key that `serve` would generate.
    pub(super) notes: Vec<String>,
    /// The algorithms whose default key `serve` would generate: it will sign them, so no gap in
    /// the schedule is checked for them.
    pub(super) covered_by_generated: Vec<JwsAlg>,
}

/// Loads the `[keys]` of `config`, generating missing default keys when `may_generate`.
/// A default `signing-<alg>.pem` is loaded for an algorithm in use when no configured key for it
/// is active at `now`.
pub(super) fn load_keys(
    config: &Config,
    now: UnixTime,
    may_generate: bool,
) -> Result<LoadedKeys, ConfigErrors> {
    let keys = &config.keys;
    let hold = config.longest_max_ttl().saturating_add(keys.retire_leeway);
    let hold = i64::try_from(hold.as_secs()).unwrap_or(i64::MAX);
    let mut notes = Vec::new();
    let mut covered_by_generated = Vec::new();
    let mut missing = Vec::new();
    // With `keys.generate = false` a missing default key is an error for serve and check alike:
    // replicas must never each make their own.
    let mut would_generate = |path: &Path, purpose: &str| -> bool {
        if path.exists() {
            return false;
        }
        if !keys.is_generated_when_missing {
            missing.push(ConfigProblem {
                key: "keys.generate".into(),
                message: missing_key_message(path, purpose),
            });
            return true;
        }
        if !may_generate {
            notes.push(format!(
                "{} does not exist: serve will generate a {purpose} key there",
                path.display()
            ));
        }
        !may_generate
    };
    let mut problems = Vec::new();
    let mut problem = |key: String, err: KeyFileError| {
        problems.push(ConfigProblem {
            key,
            message: err.to_string(),
        })
    };

    let mut signing: Vec<SigningEntry> = Vec::new();
    for (index, key) in keys.signing.iter().enumerate() {
        let name = format!("keys.signing[{index}]");
        match load_private_key(&key.file)
            .and_then(|loaded| signer(key.alg, key.kid.clone(), &loaded))
        {
            Ok(signer) => signing.push(SigningEntry {
                name,
                signer: Arc::new(signer),
                window: Window {
                    activate_at: key.activate_at,
                    retire_at: key.retire_at,
                },
                is_retired: key.is_retired,
                is_default: false,
                leaves_jwks_at: key.retire_at.map(|retire| retire.saturating_add(hold)),
            }),
            Err(err) => problem(name, err),
        }
    }
    for alg in config.signing_algs_in_use() {
        let is_active_now = keys.signing.iter().any(|key| {
            key.alg == alg
                && !key.is_retired
                && key.activate_at.is_none_or(|at| at <= now)
                && key.retire_at.is_none_or(|at| now < at)
        });
        if is_active_now {
            continue;
        }
        let path = keys.dir.join(format!("signing-{alg}.pem"));
        if would_generate(&path, "signing") {
            covered_by_generated.push(alg);
            continue;
        }
        match load_or_generate(&path, alg.key_kind()).and_then(|loaded| {
            warn_if_generated(&loaded, &path, "signing");
            signer(alg, None, &loaded)
        }) {
            Ok(signer) => signing.push(SigningEntry {
                name: format!("keys.dir ({})", path.display()),
                signer: Arc::new(signer),
                window: Window::FOREVER,
                is_retired: false,
                is_default: true,
                leaves_jwks_at: None,
            }),
            Err(err) => problem(format!("keys.dir ({})", path.display()), err),
        }
    }

    let mut decryption = Vec::new();
    let mut add_decryption_key = |name: String,
                                  loaded: Result<LoadedKey, KeyFileError>,
                                  kid: Option<String>,
                                  window| {
        let made = loaded.and_then(|loaded| {
            let kid = kid_for(&loaded, kid)?;
            let key = DecryptionKey::new(
                kid.clone(),
                &loaded.key.pkey,
                loaded.key.kind,
                &keys.decryption_algs,
            )?;
            let certificate = match loaded.key.kind {
                KeyKind::Rsa => Some(self_signed_pem(&loaded.key.pkey, &kid).map_err(|err| {
                    KeyFileError::Key(crate::jose::private_key::PrivateKeyError::Generate(
                        format!("cannot make the encryption certificate: {err}"),
                    ))
                })?),
                _ => None,
            };
            Ok(DecryptionEntry {
                key: Arc::new(key),
                window,
                certificate,
            })
        });
        match made {
            Ok(entry) => decryption.push(entry),
            Err(err) => problems.push(ConfigProblem {
                key: name,
                message: err.to_string(),
            }),
        }
    };
    let default_decryption = keys.dir.join("decryption-rsa.pem");
    if keys.decryption.is_empty() && !would_generate(&default_decryption, "decryption") {
        let path = default_decryption;
        let loaded = load_or_generate(&path, KeyKind::Rsa)
            .inspect(|loaded| warn_if_generated(loaded, &path, "decryption"));
        add_decryption_key(
            format!("keys.dir ({})", path.display()),
            loaded,
            None,
            Window::FOREVER,
        );
    }
    for (index, key) in keys.decryption.iter().enumerate() {
        add_decryption_key(
            format!("keys.decryption[{index}]"),
            load_private_key(&key.file),
            key.kid.clone(),
            Window {
                activate_at: key.activate_at,
                retire_at: key.retire_at,
            },
        );
    }
    problems.extend(missing);
    if !problems.is_empty() {
        return Err(ConfigErrors(problems));
    }
    Ok(LoadedKeys {
        signing,
        decryption,
        notes,
        covered_by_generated,
    })
}

fn signer(alg: JwsAlg, kid: Option<String>, loaded: &LoadedKey) -> Result<Signer, KeyFileError> {
    let kid = kid_for(loaded, kid)?;
    Ok(Signer::new(alg, kid, &loaded.key.pkey, loaded.key.kind)?)
}

/// The configured `kid`, else the one the JWK file names, else the RFC 7638 thumbprint.
pub(super) fn kid_for(
    loaded: &LoadedKey,
    configured: Option<String>,
) -> Result<String, KeyFileError> {
    if let Some(kid) = configured.or_else(|| loaded.key.named_kid.clone()) {
        return Ok(kid);
    }
    Ok(thumbprint(&public_jwk_members(
        &loaded.key.pkey,
        loaded.key.kind,
    )?))
}

fn warn_if_generated(loaded: &LoadedKey, path: &Path, purpose: &str) {
    if loaded.is_generated {
        tracing::warn!(
            path = %path.display(),
            purpose,
            "no {purpose} key existed, so one was generated; keep this file (and share it between replicas) or relying parties will see a new key on every start"
        );
    }
}

/// Why a missing default key stops the start when `keys.generate = false`.
pub(crate) fn missing_key_message(path: &Path, purpose: &str) -> String {
    format!(
        "is false, and the {purpose} key {} does not exist: make it (tokenbridge keys generate) and give every replica the same file",
        path.display()
    )
}
