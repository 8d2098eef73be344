//! All cryptography, synchronous and free of I/O: algorithm allowlists, compact parsing with size
//! caps, JWE decryption (josekit for the key, aws-lc-rs for the content), JWS verification
//! (jsonwebtoken on aws-lc-rs), signing, private keys parsed from bytes (their files are
//! `keyring`'s).

pub mod alg;
pub mod cert;
pub mod compact;
pub(crate) mod content;
pub mod decrypt;
pub mod private_key;
pub mod sign;
pub mod token_hash;
pub mod verify;

/// What went wrong inside the cryptography. Precise, for the log; the caller only ever sees a
/// generic `invalid_request` (with status 413 for `TooLarge`), or `server_error` for `Signing`.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// A `CompactLimits` cap was passed (token or header bytes, JSON depth, claim count), or a
    /// `zip` plaintext inflated past its limit.
    #[error("token is larger than the configured limit")]
    TooLarge,
    /// Not well-formed: the alphabet, the number of parts, base64url, JSON, or a JWE whose `cty`
    /// is not JWT or whose plaintext is not UTF-8; says which.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// An `alg` or `enc` that the `jose::alg` allowlists do not name, or an `enc` this
    /// deployment does not allow; holds the name the token gave.
    #[error("algorithm {0:?} is not allowed")]
    UnsupportedAlgorithm(String),
    /// The header has a `crit` member: no extension is implemented, so RFC 7515 §4.1.11 requires
    /// refusing any.
    #[error("the token has a crit header, and no extension is supported")]
    UnsupportedCrit,
    /// A JWE with `zip` while compression is off, or with a `zip` other than `DEF`.
    #[error("compressed (zip) JWE is refused")]
    CompressionRefused,
    /// Every failure after a JWE's header checks, whichever key or step failed, so the caller
    /// learns nothing about the keys.
    #[error("no configured key decrypts the JWE")]
    Undecryptable,
    /// Serializing the header or the claims, or the signature itself, failed.
    #[error("signing failed")]
    Signing,
}
