//! tokenbridge's own keys on their schedule: loaded (or generated) at start (`load`), cut into
//! time segments with their documents rendered once (`schedule`), and what the schedule says about
//! each key (`status`). Reading and writing the key files is `files`'s; the `keys` commands are
//! `commands`'s.

pub mod commands;
mod files;
mod load;
mod schedule;
mod state_key;
mod status;

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::config::{Config, ConfigErrors, ConfigProblem};
use crate::jose::alg::JwsAlg;
use crate::jose::decrypt::DecryptionKey;
use crate::jose::sign::Signer;
use crate::jose::verify::VerificationKeySet;
pub use files::{KeyFileError, LoadedKey, load_private_key};
pub(crate) use load::missing_key_message;
use load::{LoadedKeys, load_keys};
use schedule::{DecryptionEntry, Schedule, SigningEntry};
pub(crate) use state_key::{STATE_KEY_BYTES, load_or_generate_state_key};
pub use status::{KeyState, KeyStatus, KeyUsage, RELYING_PARTY_CACHE_MARGIN};

/// tokenbridge's own keys and the documents that publish them, for every moment of their
/// schedule. Every lookup takes `now`: the answer follows the clock, not the time of loading.
pub struct KeyRing {
    /// The signing keys: the `[[keys.signing]]` entries in order, then default files.
    signing: Vec<SigningEntry>,
    /// The decryption keys: the default file or the `[[keys.decryption]]` entries in order.
    decryption: Vec<DecryptionEntry>,
    schedule: Schedule,
}

/// What `tokenbridge check` reports about the keys when there is no problem.
#[derive(Debug, Default)]
pub struct KeyCheck {
    /// Each default key `serve` would generate.
    pub notes: Vec<String>,
    /// The schedule's warnings (`KeyRing::schedule_warnings` for every key).
    pub warnings: Vec<String>,
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
        Ok(None) if !config.keys.is_generated_when_missing => {
            Err(ConfigErrors(vec![ConfigProblem {
                key: "keys.generate".into(),
                message: missing_key_message(path, "fronts' state"),
            }]))
        }
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
    /// The key that signs `alg` tokens at `now`: of the `[[keys.signing]]` entries for `alg`
    /// active then, the most recently activated (ties: the first listed), else
    /// `signing-<alg>.pem` in `keys.dir` if it was loaded. `None` when no key is active.
    pub fn signer(&self, alg: JwsAlg, now: UnixTime) -> Option<&Arc<Signer>> {
        self.schedule
            .at(now)
            .signers
            .iter()
            .find_map(|(signs, signer)| (*signs == alg).then_some(signer))
    }

    /// Which state of the schedule holds at `now`: equal for two moments exactly when no key
    /// changed state between them (the same signer per algorithm, the same decryption keys).
    /// Only comparable within one key ring.
    pub(crate) fn state_generation(&self, now: UnixTime) -> usize {
        self.schedule.index_at(now)
    }

    /// `/.well-known/jwks.json` at `now`: every signing key that is next, active, or retired
    /// but still needed by a live token (the signing ones first), and nothing else.
    pub fn signing_jwks(&self, now: UnixTime) -> &str {
        &self.schedule.at(now).signing_jwks
    }

    /// The public halves of `signing_jwks(now)`, parsed once: what verifies a token tokenbridge
    /// issued itself (a front's `id_token_hint`), and nothing else.
    pub fn own_keys(&self, now: UnixTime) -> &VerificationKeySet {
        &self.schedule.at(now).own_keys
    }

    /// The keys that decrypt JWE subject tokens at `now`, in the order they are tried (unless
    /// the JWE's `kid` names one): every key not yet past its `retire_at`, the active ones first,
    /// most recently activated first, then those still to activate.
    pub fn decryption_keys(&self, now: UnixTime) -> &[Arc<DecryptionKey>] {
        &self.schedule.at(now).decryption
    }

    /// `/.well-known/encryption-keys.json` at `now`: the `decryption_keys(now)`, in that order.
    pub fn encryption_jwks(&self, now: UnixTime) -> &str {
        &self.schedule.at(now).encryption_jwks
    }

    /// `/encryption-key.pem` at `now`: the most recently activated active RSA decryption key, as
    /// a self-signed certificate.
    pub fn encryption_certificate(&self, now: UnixTime) -> Option<&str> {
        self.schedule.at(now).encryption_certificate.as_deref()
    }

    /// Loads every key, generating (and writing) the default ones that don't exist yet. Refuses a
    /// schedule that leaves an algorithm some client signs with without a key at some moment
    /// from `now` on.
    pub fn load(config: &Config, now: UnixTime) -> Result<KeyRing, ConfigErrors> {
        KeyRing::load_checked(config, now, true).map(|(ring, _)| ring)
    }

    /// Loads the keys that exist and generates none (operator tools that must not write).
    pub fn load_existing(config: &Config, now: UnixTime) -> Result<KeyRing, ConfigErrors> {
        KeyRing::load_checked(config, now, false).map(|(ring, _)| ring)
    }

    /// What `tokenbridge check` does: loads every key that exists, writes nothing, and checks the
    /// schedule from `now` on.
    pub fn check(config: &Config, now: UnixTime) -> Result<KeyCheck, ConfigErrors> {
        let (ring, notes) = KeyRing::load_checked(config, now, false)?;
        Ok(KeyCheck {
            notes,
            warnings: ring.schedule_warnings(now, config.jwks_max_age(), &ring.kids()),
        })
    }

    fn load_checked(
        config: &Config,
        now: UnixTime,
        may_generate: bool,
    ) -> Result<(KeyRing, Vec<String>), ConfigErrors> {
        let (ring, loaded_notes, gaps) = KeyRing::load_unchecked(config, now, may_generate)?;
        if gaps.is_empty() {
            Ok((ring, loaded_notes))
        } else {
            Err(ConfigErrors(gaps))
        }
    }

    /// The ring, the notes, and the schedule's gaps (not yet refused).
    fn load_unchecked(
        config: &Config,
        now: UnixTime,
        may_generate: bool,
    ) -> Result<(KeyRing, Vec<String>, Vec<ConfigProblem>), ConfigErrors> {
        let LoadedKeys {
            signing,
            decryption,
            notes,
            covered_by_generated,
        } = load_keys(config, now, may_generate)?;
        let schedule = Schedule::new(&signing, &decryption);
        let ring = KeyRing {
            signing,
            decryption,
            schedule,
        };
        let algs: Vec<JwsAlg> = config
            .signing_algs_in_use()
            .into_iter()
            .filter(|alg| !covered_by_generated.contains(alg))
            .collect();
        let gaps = ring.schedule_gaps(now, &algs);
        Ok((ring, notes, gaps))
    }
}

#[cfg(test)]
mod tests;
