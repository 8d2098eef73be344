//! Client secrets: never printed, never serialised, compared in constant time.

use std::fmt;

use aws_lc_rs::digest;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret a client presented. `Debug` is redacted and the bytes are wiped on drop.
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// Takes the `String` itself rather than a copy: its bytes are wiped when this drops.
    pub fn new(secret: String) -> ClientSecret {
        ClientSecret(Zeroizing::new(secret))
    }

    pub(crate) fn digest(&self) -> SecretDigest {
        SecretDigest::of(self.0.as_bytes())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// The SHA-256 of a client secret: what the registry keeps, so that the configured secret itself
/// never stays in memory and every comparison has the same length and cost.
#[derive(Clone)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The SHA-256 of `secret`: what a config's `secret = { sha256 = "…" }` holds, in hex.
    pub fn of(secret: &[u8]) -> SecretDigest {
        let hash = digest::digest(&digest::SHA256, secret);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(hash.as_ref());
        SecretDigest(bytes)
    }

    /// Parses 64 hex digits, as `secret = { sha256 = "…" }` gives them.
    pub fn from_hex(hex: &str) -> Option<SecretDigest> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(text, 16).ok()?;
        }
        Some(SecretDigest(bytes))
    }

    /// Lowercase hex, as `secret = { sha256 = "…" }` takes it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = ClientSecret::new("hunter2-hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn a_hex_digest_matches_the_secret_it_was_made_from() {
        let hex = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"; // sha256("secret")
        let configured = SecretDigest::from_hex(hex).unwrap();
        assert!(
            ClientSecret::new("secret".into())
                .digest()
                .matches(&configured)
        );
        assert!(
            !ClientSecret::new("Secret".into())
                .digest()
                .matches(&configured)
        );
        assert!(SecretDigest::from_hex("abc").is_none());
    }
}
