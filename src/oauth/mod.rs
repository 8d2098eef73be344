//! The protocol's nouns, parsed once at the edge. No I/O here.

mod error;
mod secret;
mod token_type;

pub use error::ErrorCode;
pub use secret::{ClientSecret, SecretDigest};
pub use token_type::TokenType;

/// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
pub const GRANT_TYPE_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
