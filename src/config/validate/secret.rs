//! A client secret by reference (`env`, `file` or `sha256`), never inline, read at start and kept
//! only as its digest.

use std::path::Path;

use crate::config::error::Problems;
use crate::config::file::SecretFile;
use crate::oauth::SecretDigest;

/// Shorter secrets are guessable offline from a leaked SHA-256, and online faster than a rate
/// limit can stop.
const MIN_SECRET_LEN: usize = 16;

pub(super) fn validate_secret(
    file: &SecretFile,
    key: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> SecretDigest {
    let placeholder = SecretDigest::of(b"");
    let secret = match (&file.env, &file.file, &file.sha256) {
        (Some(_), None, None) | (None, Some(_), None) => {
            match read_referenced(file, key, base, env, problems) {
                Some(secret) => secret,
                None => return placeholder,
            }
        }
        (None, None, Some(hex)) => {
            return SecretDigest::from_hex(hex).unwrap_or_else(|| {
                problems.add(
                    format!("{key}.sha256"),
                    "must be 64 hex digits (the SHA-256 of the secret)",
                );
                placeholder
            });
        }
        _ => {
            problems.add(
                key,
                "give exactly one of { env = \"VAR\" }, { file = \"path\" }, { sha256 = \"hex\" }",
            );
            return placeholder;
        }
    };
    if secret.len() < MIN_SECRET_LEN {
        problems.add(
            key,
            format!("the secret is shorter than {MIN_SECRET_LEN} characters"),
        );
    }
    SecretDigest::of(secret.as_bytes())
}

/// The secret an `env` or `file` reference names (the one of them that is set), or `None` with
/// the problem recorded.
pub(super) fn read_referenced(
    file: &SecretFile,
    key: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<String> {
    if let Some(name) = &file.env {
        let value = env(name);
        if value.is_none() {
            problems.add(
                format!("{key}.env"),
                format!("environment variable {name} is not set"),
            );
        }
        return value;
    }
    let path = file.file.as_deref()?;
    match std::fs::read_to_string(base.join(path)) {
        // Secret files written by `echo` end in a newline that is not part of the secret.
        Ok(value) => Some(value.trim_end_matches(['\r', '\n']).to_owned()),
        Err(err) => {
            problems.add(format!("{key}.file"), format!("cannot read {path}: {err}"));
            None
        }
    }
}
