//! The TOML file as written, mirrored by serde. Unknown keys are refused everywhere.

use std::collections::BTreeMap;

use serde::Deserialize;

pub const TOP_LEVEL_KEYS: &[&str] = &[
    "issuer", "listen", "workers", "keys", "limits", "upstream", "client",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    pub dir: Option<String>,
    pub signing_alg: Option<String>,
    #[serde(default)]
    pub signing: Vec<SigningKeyFile>,
    #[serde(default)]
    pub decryption: Vec<DecryptionKeyFile>,
    pub decryption_algs: Option<Vec<String>>,
    pub content_encryption: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyFile {
    pub file: String,
    pub alg: String,
    pub kid: Option<String>,
    #[serde(default)]
    pub retired: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionKeyFile {
    pub file: String,
    pub kid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    pub max_body_bytes: Option<usize>,
    pub max_token_bytes: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub jwks_max_age: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamFile {
    pub name: String,
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub algorithms: Option<Vec<String>>,
    pub leeway: Option<String>,
    #[serde(default)]
    pub danger_allow_http: bool,
    pub refresh_interval: Option<String>,
    pub max_key_age: Option<String>,
    pub refetch_cooldown: Option<String>,
    pub fetch_timeout: Option<String>,
    pub max_jwks_bytes: Option<usize>,
    pub max_jwks_keys: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    pub id: String,
    pub secret: SecretFile,
    pub upstreams: Vec<String>,
    pub audiences: Vec<String>,
    pub select: Option<String>,
    #[serde(default)]
    pub rewrite: BTreeMap<String, String>,
    pub max_ttl: Option<String>,
    pub signing_alg: Option<String>,
    pub access_token_typ: Option<String>,
    pub rate_limit: Option<RateLimitFile>,
}

/// A client secret by reference, never inline: an environment variable, a file (docker and
/// Kubernetes secrets), or the hex SHA-256 of the secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretFile {
    pub env: Option<String>,
    pub file: Option<String>,
    pub sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFile {
    pub per_second: f64,
    pub burst: u32,
}
