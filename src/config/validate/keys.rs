//! `[keys]`: tokenbridge's own key files, their schedule, and the JWE algorithms it accepts.

use std::path::Path;

use super::values::{duration, names_to_algs, signing_alg};
use crate::clock::{UnixTime, rfc3339};
use crate::config::error::Problems;
use crate::config::file::KeysFile;
use crate::config::{DecryptionKeyConfig, KeysConfig, SigningKeyConfig, defaults};
use crate::jose::alg::{JweAlg, JweEnc};

pub(super) fn validate_keys(file: KeysFile, base: &Path, problems: &mut Problems) -> KeysConfig {
    let dir = base.join(file.dir.as_deref().unwrap_or(defaults::KEYS_DIR));
    let default_signing_alg =
        signing_alg(file.signing_alg.as_deref(), "keys.signing_alg", problems);
    let signing = file
        .signing
        .into_iter()
        .enumerate()
        .map(|(index, key)| {
            let name = format!("keys.signing[{index}]");
            let (activate_at, retire_at) =
                schedule(key.activate_at, key.retire_at, &name, problems);
            if key.retired && (activate_at.is_some() || retire_at.is_some()) {
                problems.add(
                    format!("{name}.retired"),
                    "retired = true means retired since ever: drop it, or drop activate_at and retire_at",
                );
            }
            SigningKeyConfig {
                file: base.join(&key.file),
                alg: signing_alg(Some(&key.alg), &format!("{name}.alg"), problems),
                kid: key.kid,
                is_retired: key.retired,
                activate_at,
                retire_at,
            }
        })
        .collect();
    let decryption = file
        .decryption
        .into_iter()
        .enumerate()
        .map(|(index, key)| {
            let name = format!("keys.decryption[{index}]");
            let (activate_at, retire_at) =
                schedule(key.activate_at, key.retire_at, &name, problems);
            DecryptionKeyConfig {
                file: base.join(&key.file),
                kid: key.kid,
                activate_at,
                retire_at,
            }
        })
        .collect();
    let decryption_algs = match file.decryption_algs {
        None => defaults::DECRYPTION_ALGS.to_vec(),
        Some(names) => names_to_algs(&names, "keys.decryption_algs", JweAlg::parse, problems),
    };
    let content_encryption = match file.content_encryption {
        None => defaults::CONTENT_ENCRYPTION.to_vec(),
        Some(names) => names_to_algs(&names, "keys.content_encryption", JweEnc::parse, problems),
    };
    let front_state_key = match file.front_state_key.as_deref() {
        Some(path) => base.join(path),
        None => dir.join(defaults::FRONT_STATE_KEY_FILE),
    };
    let retire_leeway = duration(
        file.retire_leeway.as_deref(),
        defaults::RETIRE_LEEWAY,
        "keys.retire_leeway",
        problems,
    );
    KeysConfig {
        front_state_key,
        dir,
        default_signing_alg,
        signing,
        decryption,
        decryption_algs,
        content_encryption,
        retire_leeway,
        is_generated_when_missing: file.generate.unwrap_or(defaults::GENERATE_KEYS),
    }
}

/// An entry's `activate_at` and `retire_at`, each RFC 3339, the second later than the first.
fn schedule(
    activate_at: Option<toml::Value>,
    retire_at: Option<toml::Value>,
    name: &str,
    problems: &mut Problems,
) -> (Option<UnixTime>, Option<UnixTime>) {
    let activate_at =
        activate_at.and_then(|value| time(&value, &format!("{name}.activate_at"), problems));
    let retire_at =
        retire_at.and_then(|value| time(&value, &format!("{name}.retire_at"), problems));
    if let (Some(activate), Some(retire)) = (activate_at, retire_at)
        && retire <= activate
    {
        problems.add(
            format!("{name}.retire_at"),
            format!(
                "{} is not later than activate_at ({}): the key would never be active",
                rfc3339::format(retire),
                rfc3339::format(activate)
            ),
        );
    }
    (activate_at, retire_at)
}

/// An RFC 3339 time with its UTC offset, written as a string or as a TOML offset date-time.
fn time(value: &toml::Value, key: &str, problems: &mut Problems) -> Option<UnixTime> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) => datetime.to_string(),
        other => other.to_string(),
    };
    let parsed = rfc3339::parse(&text);
    if parsed.is_none() {
        problems.add(
            key,
            format!(
                "{text:?} is not an RFC 3339 time with a UTC offset, such as \"2026-12-03T06:00:00Z\""
            ),
        );
    }
    parsed
}

#[cfg(test)]
mod tests;
