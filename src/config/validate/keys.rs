//! `[keys]`: tokenbridge's own key files and the JWE algorithms it accepts.

use std::path::Path;

use super::values::{names_to_algs, signing_alg};
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
        .map(|(index, key)| SigningKeyConfig {
            file: base.join(&key.file),
            alg: signing_alg(
                Some(&key.alg),
                &format!("keys.signing[{index}].alg"),
                problems,
            ),
            kid: key.kid,
            is_retired: key.retired,
        })
        .collect();
    let decryption = file
        .decryption
        .into_iter()
        .map(|key| DecryptionKeyConfig {
            file: base.join(&key.file),
            kid: key.kid,
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
    KeysConfig {
        front_state_key,
        dir,
        default_signing_alg,
        signing,
        decryption,
        decryption_algs,
        content_encryption,
    }
}
