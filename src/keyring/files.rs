//! Key files: a private key read from a PEM or JWK file, or generated once and written with mode
//! 0600. The only file I/O for keys; parsing is `jose::private_key`'s.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::jose::alg::KeyKind;
use crate::jose::private_key::{PrivateKey, PrivateKeyError, generate, parse_private_key};

/// Why a key could not be read from its file, or generated into it.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read: missing, or not readable by this process.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, as the message shows it.
        path: String,
        /// What the read failed with.
        source: std::io::Error,
    },
    /// A generated key's directory or file could not be created or written. A file another
    /// replica created meanwhile is no error: its key is read instead.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file, as the message shows it.
        path: String,
        /// What the write failed with.
        source: std::io::Error,
    },
    /// The file holds neither a PEM private key nor a JWK of a supported type and curve.
    #[error(
        "{path} holds no private key tokenbridge can use (PEM PKCS#1/PKCS#8/SEC1 or JWK): {reason}"
    )]
    Parse {
        /// The file, as the message shows it.
        path: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The key parsed but cannot serve its purpose (the wrong kind for its algorithm), or
    /// generating or preparing one failed.
    #[error(transparent)]
    Key(#[from] PrivateKeyError),
}

/// A private key as loaded from a file.
pub struct LoadedKey {
    /// The key, with its kind and the `kid` its JWK named, if any.
    pub key: PrivateKey,
    pub(crate) is_generated: bool,
}

/// Reads a private key, or (when the file does not exist) generates one of `kind_if_missing`.
/// `create_new` keeps two replicas starting at once from overwriting each other's key.
pub(super) fn load_or_generate(
    path: &Path,
    kind_if_missing: KeyKind,
) -> Result<LoadedKey, KeyFileError> {
    if path.exists() {
        return load_private_key(path);
    }
    let pkey = generate(kind_if_missing)?;
    let pem = pkey
        .private_key_to_pem_pkcs8()
        .map_err(|err| PrivateKeyError::Generate(err.to_string()))?;
    let display = path.display().to_string();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| KeyFileError::Write {
            path: display.clone(),
            source,
        })?;
    }
    match write_new(path, &pem) {
        Ok(()) => Ok(LoadedKey {
            key: PrivateKey {
                pkey,
                kind: kind_if_missing,
                named_kid: None,
            },
            is_generated: true,
        }),
        // Another replica won the race: use its key.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => load_private_key(path),
        Err(source) => Err(KeyFileError::Write {
            path: display,
            source,
        }),
    }
}

/// Writes `bytes` to a file that must not exist yet, readable by its owner only (0600):
/// `create_new` never overwrites, so a key is never replaced by accident or by a racing replica.
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
}

/// Reads a private key file (PEM or JWK).
pub fn load_private_key(path: &Path) -> Result<LoadedKey, KeyFileError> {
    let display = path.display().to_string();
    let bytes = fs::read(path).map_err(|source| KeyFileError::Read {
        path: display.clone(),
        source,
    })?;
    let key = parse_private_key(&bytes).map_err(|err| match err {
        PrivateKeyError::Unparseable(reason) => KeyFileError::Parse {
            path: display,
            reason,
        },
        other => KeyFileError::Key(other),
    })?;
    Ok(LoadedKey {
        key,
        is_generated: false,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::jose::private_key::public_jwk_members;

    #[test]
    fn a_missing_key_is_generated_with_owner_only_permissions_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-ES256.pem");
        let first = load_or_generate(&path, KeyKind::EcP256).unwrap();
        assert!(first.is_generated);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let second = load_or_generate(&path, KeyKind::EcP256).unwrap();
        assert!(!second.is_generated);
        assert_eq!(
            public_jwk_members(&first.key.pkey, first.key.kind).unwrap(),
            public_jwk_members(&second.key.pkey, second.key.kind).unwrap()
        );
    }

    #[test]
    fn a_file_that_holds_no_key_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.pem");
        fs::write(&path, b"not a key").unwrap();
        let err = load_private_key(&path).err().unwrap().to_string();
        assert!(
            err.starts_with(&format!("{} holds no private key", path.display())),
            "{err}"
        );
    }
}
