//! The fronts' state-sealing key: 32 random bytes, base64url in a file, generated once with
//! mode 0600 when missing. Every replica must read the same file, or a browser that leaves
//! through one replica and comes back through another is refused.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::KeyFileError;
use crate::jose::private_key::PrivateKeyError;

/// The key's length: AES-256.
pub(crate) const STATE_KEY_BYTES: usize = 32;

/// The key in `path`, or, when the file does not exist and `may_generate`, a new one written
/// there. `None` when the file is missing and nothing may be written (`check`, `explain`).
pub(crate) fn load_or_generate_state_key(
    path: &Path,
    may_generate: bool,
) -> Result<Option<Zeroizing<[u8; STATE_KEY_BYTES]>>, KeyFileError> {
    if path.exists() {
        return read_state_key(path).map(Some);
    }
    if !may_generate {
        return Ok(None);
    }
    let mut key = Zeroizing::new([0u8; STATE_KEY_BYTES]);
    SystemRandom::new()
        .fill(key.as_mut())
        .map_err(|_| PrivateKeyError::Generate("no randomness for the front state key".into()))?;
    let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(key.as_ref()) + "\n");
    let shown = path.display().to_string();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| KeyFileError::Write {
            path: shown.clone(),
            source,
        })?;
    }
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            tracing::warn!(path = %shown, "generated the fronts' state key; replicas must share this file");
            Ok(Some(key))
        }
        // Another replica won the race: use its key.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            read_state_key(path).map(Some)
        }
        Err(source) => Err(KeyFileError::Write {
            path: shown,
            source,
        }),
    }
}

fn read_state_key(path: &Path) -> Result<Zeroizing<[u8; STATE_KEY_BYTES]>, KeyFileError> {
    let shown = path.display().to_string();
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: shown.clone(),
            source,
        })?,
    );
    let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text.trim()).unwrap_or_default());
    let mut key = Zeroizing::new([0u8; STATE_KEY_BYTES]);
    if bytes.len() != STATE_KEY_BYTES {
        return Err(KeyFileError::Parse {
            path: shown,
            reason: format!("a state key is {STATE_KEY_BYTES} bytes, base64url without padding"),
        });
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_missing_key_is_generated_once_with_owner_only_permissions() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("keys/front-state.key");
        let first = load_or_generate_state_key(&path, true).unwrap().unwrap();
        let again = load_or_generate_state_key(&path, true).unwrap().unwrap();
        assert_eq!(*first, *again);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn without_permission_to_write_a_missing_key_is_none() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("front-state.key");
        assert!(load_or_generate_state_key(&path, false).unwrap().is_none());
        assert!(!path.exists());
    }

    #[test]
    fn a_key_of_the_wrong_length_names_its_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("front-state.key");
        fs::write(&path, "c2hvcnQ\n").unwrap();
        let err = load_or_generate_state_key(&path, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("front-state.key") && err.contains("32 bytes"),
            "{err}"
        );
    }
}
