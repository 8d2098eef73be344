//! The IdPs' ID tokens the demo shows: Authentik's (a JWS inside a JWE) for MiroTalk, and
//! Zitadel's with five audiences for BookStack, both as those IdPs shape their claims.

use serde_json::{Value, json};

use super::mint::{IdpKey, MintError, encrypt_like_authentik};

pub(super) const MIROTALK: &str = "mirotalk";
pub(super) const BOOKSTACK: &str = "bookstack";
/// Zitadel's `aud`: the project id and the client ids of other apps in the project, BookStack's
/// among them.
pub(super) const ZITADEL_AUDIENCES: [&str; 5] = [
    "295633918734829312",
    "295634102486564608@tokenbridge",
    BOOKSTACK,
    "295634155003445504@grafana",
    "295634201564815616@wiki-api",
];

pub(super) fn authentik_id_token(
    key: &IdpKey,
    issuer: &str,
    recipient: &Value,
    now: i64,
) -> Result<String, MintError> {
    encrypt_like_authentik(&authentik_signed_id_token(key, issuer, now)?, recipient)
}

/// The JWS inside Authentik's JWE.
pub(super) fn authentik_signed_id_token(
    key: &IdpKey,
    issuer: &str,
    now: i64,
) -> Result<String, MintError> {
    key.sign(
        &json!({
            "iss": issuer,
            "sub": "8d1c0fbb2b6a4c6e9f0e3a1d",
            "aud": MIROTALK,
            "azp": MIROTALK,
            "iat": now,
            "auth_time": now - 5,
            "exp": now + 3600,
            "nonce": "n-0S6_WzA2Mj",
            "email": "ada@example.com",
            "email_verified": true,
            "name": "Ada Lovelace",
            "preferred_username": "ada",
            "groups": ["authentik Admins", "mirotalk-hosts"],
        }),
        &json!({}),
    )
}

pub(super) fn zitadel_id_token(key: &IdpKey, issuer: &str, now: i64) -> Result<String, MintError> {
    key.sign(
        &json!({
            "iss": issuer,
            "sub": "295633781350334464",
            "aud": ZITADEL_AUDIENCES,
            "azp": "295634102486564608@tokenbridge",
            "iat": now,
            "auth_time": now - 5,
            "exp": now + 3600,
            "amr": ["pwd"],
            "email": "grace@example.com",
            "email_verified": true,
            "name": "Grace Hopper",
            "preferred_username": "grace",
            "urn:zitadel:iam:org:project:roles": { "editor": { "295633918734829312": "example.zitadel.cloud" } },
        }),
        &json!({}),
    )
}
