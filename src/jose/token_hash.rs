//! `at_hash` / `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11): the left half of the hash of the
//! token's ASCII octets, with the hash the ID token's `alg` names, base64url-encoded.

use aws_lc_rs::digest;

use super::alg::JwsAlg;
use super::compact::encode_part;

/// The `at_hash` or `c_hash` value of `token`, for an ID token signed with `alg`.
pub fn left_half_hash(alg: JwsAlg, token: &str) -> String {
    let algorithm = match alg {
        JwsAlg::RS256 | JwsAlg::PS256 | JwsAlg::ES256 => &digest::SHA256,
        JwsAlg::RS384 | JwsAlg::PS384 | JwsAlg::ES384 => &digest::SHA384,
        // Ed25519 signs with SHA-512; OpenID implementations hash with it for EdDSA.
        JwsAlg::RS512 | JwsAlg::PS512 | JwsAlg::ES512 | JwsAlg::EdDSA => &digest::SHA512,
    };
    let hash = digest::digest(algorithm, token.as_bytes());
    let bytes = hash.as_ref();
    encode_part(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OIDC Core §A.3's example: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" with
    /// RS256 has at_hash "77QmUPtjPfzWtF2AnpK9RQ".
    #[test]
    fn matches_the_openid_connect_core_example() {
        assert_eq!(
            left_half_hash(JwsAlg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
