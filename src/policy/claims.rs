//! The claims of the issued token: identity claims carried over, registered claims made anew.

use serde_json::{Map, Value};

use crate::clock::UnixTime;

/// Claims whose value only tokenbridge decides. The subject token's values never pass through:
/// they are about the subject token (its issuer, its audiences, its lifetime, its hashes over
/// another token's bytes), not about the token tokenbridge signs.
pub(crate) const PROTECTED_CLAIMS: [&str; 10] = [
    "iss", "aud", "exp", "iat", "nbf", "jti", "azp", "at_hash", "c_hash", "s_hash",
];

/// What tokenbridge decided about the token it issues.
pub(crate) struct IssuedClaims<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) issued_at: UnixTime,
    pub(crate) expires_at: UnixTime,
    pub(crate) jti: &'a str,
    /// RFC 9068 §2.2: an access token names the client that requested it.
    pub(crate) access_token_client_id: Option<&'a str>,
}

/// The subject token's claims minus the protected ones, then the decided values. Takes the
/// claims by value: they are edited in place, not copied.
pub(crate) fn issued_claims(
    mut claims: Map<String, Value>,
    decided: &IssuedClaims<'_>,
) -> Map<String, Value> {
    let had_nbf = claims.contains_key("nbf");
    claims.retain(|name, _| !PROTECTED_CLAIMS.contains(&name.as_str()));
    claims.insert("iss".into(), decided.issuer.into());
    claims.insert("aud".into(), decided.audience.into());
    claims.insert("iat".into(), decided.issued_at.into());
    claims.insert("exp".into(), decided.expires_at.into());
    claims.insert("jti".into(), decided.jti.into());
    if had_nbf {
        claims.insert("nbf".into(), decided.issued_at.into());
    }
    if let Some(client_id) = decided.access_token_client_id {
        claims.insert("client_id".into(), client_id.into());
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_claims_pass_and_registered_claims_are_replaced() {
        let subject = json!({
            "iss": "https://idp", "aud": ["a", "b"], "azp": "b", "exp": 9999, "iat": 1, "nbf": 1,
            "jti": "old", "at_hash": "x", "c_hash": "y", "sub": "alice", "email": "a@example.com",
            "nonce": "n-0S6", "auth_time": 5, "amr": ["pwd"]
        });
        let Value::Object(subject) = subject else {
            unreachable!()
        };
        let decided = IssuedClaims {
            issuer: "https://tb",
            audience: "a",
            issued_at: 100,
            expires_at: 400,
            jti: "new",
            access_token_client_id: None,
        };
        let claims = issued_claims(subject.clone(), &decided);
        assert_eq!(claims["iss"], "https://tb");
        assert_eq!(claims["aud"], "a");
        assert_eq!(claims["exp"], 400);
        assert_eq!(claims["iat"], 100);
        assert_eq!(claims["nbf"], 100);
        assert_eq!(claims["jti"], "new");
        for dropped in ["azp", "at_hash", "c_hash", "client_id"] {
            assert!(!claims.contains_key(dropped), "{dropped}");
        }
        for kept in ["sub", "email", "nonce", "auth_time", "amr"] {
            assert_eq!(claims[kept], subject[kept], "{kept}");
        }
    }
}
