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
/// generic `invalid_request`.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    #[error("token is larger than the configured limit")]
    TooLarge,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} is not allowed")]
    UnsupportedAlgorithm(String),
    #[error("the token has a crit header, and no extension is supported")]
    UnsupportedCrit,
    #[error("compressed (zip) JWE is refused")]
    CompressionRefused,
    #[error("no configured key decrypts the JWE")]
    Undecryptable,
    #[error("signing failed")]
    Signing,
}
