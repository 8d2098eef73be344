//! Token type identifiers (RFC 8693 §3).

use std::fmt;

/// A `subject_token_type` or `requested_token_type`; its `Display` is the URN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:id_token`: an OpenID Connect ID token.
    IdToken,
    /// `urn:ietf:params:oauth:token-type:access_token`: an OAuth access token.
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:jwt`: a JWT of no more specific kind.
    Jwt,
}

impl TokenType {
    pub(crate) fn parse(urn: &str) -> Option<TokenType> {
        match urn {
            "urn:ietf:params:oauth:token-type:id_token" => Some(TokenType::IdToken),
            "urn:ietf:params:oauth:token-type:access_token" => Some(TokenType::AccessToken),
            "urn:ietf:params:oauth:token-type:jwt" => Some(TokenType::Jwt),
            _ => None,
        }
    }

    pub(crate) fn urn(self) -> &'static str {
        match self {
            TokenType::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            TokenType::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            TokenType::Jwt => "urn:ietf:params:oauth:token-type:jwt",
        }
    }

    /// RFC 8693 §2.2.1: `Bearer` for access tokens, `N_A` for anything not usable as one.
    pub fn oauth_token_type(self) -> &'static str {
        match self {
            TokenType::AccessToken => "Bearer",
            TokenType::IdToken | TokenType::Jwt => "N_A",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.urn())
    }
}
