//! tokenbridge's own keys, loaded (or generated) once at start, and the documents that publish
//! their public halves, rendered once. Reading and writing the key files is `files`'s.

mod files;
mod state_key;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::config::{Config, ConfigErrors, ConfigProblem, KeysConfig};
use crate::jose::alg::{JwsAlg, KeyKind};
use crate::jose::cert::self_signed_pem;
use crate::jose::decrypt::DecryptionKey;
use crate::jose::private_key::{public_jwk_members, thumbprint};
use crate::jose::sign::Signer;
use crate::jose::verify::{VerificationKey, VerificationKeySet};
use files::load_or_generate;
pub use files::{KeyFileError, LoadedKey, load_private_key};
pub(crate) use state_key::{STATE_KEY_BYTES, load_or_generate_state_key};

/// tokenbridge's own keys and the documents that publish them, built once at start from the
/// `[keys]` section.
pub struct KeyRing {
    /// The key each algorithm signs with.
    signers: HashMap<JwsAlg, Arc<Signer>>,
    /// The keys that decrypt JWE subject tokens: the `[[keys.decryption]]` entries, or when there
    /// are none, `decryption-rsa.pem` in `keys.dir`. Tried in this order unless the JWE's `kid`
    /// names one.
    pub decryption: Vec<DecryptionKey>,
    /// `/.well-known/jwks.json`: every signing key, active or retired, and nothing else.
    pub signing_jwks: String,
    /// `/.well-known/encryption-keys.json`.
    pub encryption_jwks: String,
    /// `/encryption-key.pem`: the first RSA decryption key as a certificate.
    pub encryption_certificate: Option<String>,
    /// The public halves of `signing_jwks`, parsed once: what verifies a token tokenbridge
    /// issued itself (a front's `id_token_hint`), and nothing else.
    own_keys: VerificationKeySet,
}

/// What `tokenbridge check` does for the fronts' state key: reads it if it exists (a bad file is a
/// problem naming `keys.front_state_key`), writes nothing. Returns a note when `serve` would
/// generate it. Without a front no key is needed.
pub fn check_front_state_key(config: &Config) -> Result<Option<String>, ConfigErrors> {
    if config.fronts.is_empty() {
        return Ok(None);
    }
    let path = &config.keys.front_state_key;
    match load_or_generate_state_key(path, false) {
        Ok(Some(_)) => Ok(None),
        Ok(None) => Ok(Some(format!(
            "{} does not exist: serve will generate the fronts' state key there",
            path.display()
        ))),
        Err(err) => Err(ConfigErrors(vec![ConfigProblem {
            key: "keys.front_state_key".into(),
            message: err.to_string(),
        }])),
    }
}

impl KeyRing {
    /// The key that signs `alg` tokens: the first `[[keys.signing]]` entry for `alg` that is not
    /// retired, else `signing-<alg>.pem` in `keys.dir`. `None` when neither was loaded: no such
    /// entry and `alg` not among the algorithms in use, or `load_existing` found no file.
    pub fn signer(&self, alg: JwsAlg) -> Option<&Arc<Signer>> {
        self.signers.get(&alg)
    }

    /// Every signing key's public half, active or retired (as `signing_jwks` publishes them).
    pub(crate) fn own_keys(&self) -> &VerificationKeySet {
        &self.own_keys
    }

    /// Loads every key, generating (and writing) the default ones that don't exist yet.
    pub fn load(config: &KeysConfig, algs_in_use: &[JwsAlg]) -> Result<KeyRing, ConfigErrors> {
        KeyRing::load_with(config, algs_in_use, true).map(|(ring, _)| ring)
    }

    /// Loads the keys that exist and generates none (operator tools that must not write).
    pub fn load_existing(
        config: &KeysConfig,
        algs_in_use: &[JwsAlg],
    ) -> Result<KeyRing, ConfigErrors> {
        KeyRing::load_with(config, algs_in_use, false).map(|(ring, _)| ring)
    }

    /// What `tokenbridge check` does: loads every key that exists and writes nothing. Returns a
    /// note for each default key that `serve` would generate.
    pub fn check(config: &KeysConfig, algs_in_use: &[JwsAlg]) -> Result<Vec<String>, ConfigErrors> {
        KeyRing::load_with(config, algs_in_use, false).map(|(_, notes)| notes)
    }

    fn load_with(
        config: &KeysConfig,
        algs_in_use: &[JwsAlg],
        may_generate: bool,
    ) -> Result<(KeyRing, Vec<String>), ConfigErrors> {
        let mut notes = Vec::new();
        let mut would_generate = |path: &Path, purpose: &str| -> bool {
            let is_missing = !may_generate && !path.exists();
            if is_missing {
                notes.push(format!(
                    "{} does not exist: serve will generate a {purpose} key there",
                    path.display()
                ));
            }
            is_missing
        };
        let mut problems = Vec::new();
        let mut problem = |key: String, err: KeyFileError| {
            problems.push(ConfigProblem {
                key,
                message: err.to_string(),
            })
        };

        let mut signers = HashMap::new();
        let mut published = Vec::new();
        for (index, key) in config.signing.iter().enumerate() {
            let name = format!("keys.signing[{index}]");
            match load_private_key(&key.file)
                .and_then(|loaded| signer(key.alg, key.kid.clone(), &loaded))
            {
                Ok(signer) => {
                    published.push(signer.public_jwk().clone());
                    if !key.is_retired {
                        signers.entry(key.alg).or_insert_with(|| Arc::new(signer));
                    }
                }
                Err(err) => problem(name, err),
            }
        }
        for &alg in algs_in_use {
            if signers.contains_key(&alg) {
                continue;
            }
            let path = config.dir.join(format!("signing-{alg}.pem"));
            if would_generate(&path, "signing") {
                continue;
            }
            match load_or_generate(&path, alg.key_kind()).and_then(|loaded| {
                warn_if_generated(&loaded, &path, "signing");
                signer(alg, None, &loaded)
            }) {
                Ok(signer) => {
                    published.push(signer.public_jwk().clone());
                    signers.insert(alg, Arc::new(signer));
                }
                Err(err) => problem(format!("keys.dir ({})", path.display()), err),
            }
        }

        let mut decryption = Vec::new();
        let mut certificate_key = None;
        let mut add_decryption_key =
            |name: String, loaded: Result<LoadedKey, KeyFileError>, kid: Option<String>| {
                let made = loaded.and_then(|loaded| {
                    let kid = kid_for(&loaded, kid)?;
                    let key = DecryptionKey::new(
                        kid.clone(),
                        &loaded.key.pkey,
                        loaded.key.kind,
                        &config.decryption_algs,
                    )?;
                    if loaded.key.kind == KeyKind::Rsa && certificate_key.is_none() {
                        certificate_key = Some((loaded.key.pkey.clone(), kid));
                    }
                    Ok(key)
                });
                match made {
                    Ok(key) => decryption.push(key),
                    Err(err) => problems.push(ConfigProblem {
                        key: name,
                        message: err.to_string(),
                    }),
                }
            };
        let default_decryption = config.dir.join("decryption-rsa.pem");
        if config.decryption.is_empty() && !would_generate(&default_decryption, "decryption") {
            let path = default_decryption;
            let loaded = load_or_generate(&path, KeyKind::Rsa)
                .inspect(|loaded| warn_if_generated(loaded, &path, "decryption"));
            add_decryption_key(format!("keys.dir ({})", path.display()), loaded, None);
        }
        for (index, key) in config.decryption.iter().enumerate() {
            add_decryption_key(
                format!("keys.decryption[{index}]"),
                load_private_key(&key.file),
                key.kid.clone(),
            );
        }

        let encryption_certificate = match certificate_key {
            Some((pkey, kid)) => match self_signed_pem(&pkey, &kid) {
                Ok(pem) => Some(pem),
                Err(err) => {
                    problems.push(ConfigProblem {
                        key: "keys.decryption".into(),
                        message: format!("cannot make the encryption certificate: {err}"),
                    });
                    None
                }
            },
            None => None,
        };
        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }
        let encryption_keys: Vec<Value> = decryption
            .iter()
            .map(|key| key.public_jwk().clone())
            .collect();
        // Our own JWKs always parse; one that didn't would verify nothing, which is safe.
        let own_keys = VerificationKeySet::new(
            published
                .iter()
                .filter_map(|jwk| VerificationKey::from_jwk(jwk).ok().flatten())
                .collect(),
        );
        let ring = KeyRing {
            signers,
            own_keys,
            signing_jwks: json!({ "keys": published }).to_string(),
            encryption_jwks: json!({ "keys": encryption_keys }).to_string(),
            decryption,
            encryption_certificate,
        };
        Ok((ring, notes))
    }
}

fn signer(alg: JwsAlg, kid: Option<String>, loaded: &LoadedKey) -> Result<Signer, KeyFileError> {
    let kid = kid_for(loaded, kid)?;
    Ok(Signer::new(alg, kid, &loaded.key.pkey, loaded.key.kind)?)
}

/// The configured `kid`, else the one the JWK file names, else the RFC 7638 thumbprint.
fn kid_for(loaded: &LoadedKey, configured: Option<String>) -> Result<String, KeyFileError> {
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
