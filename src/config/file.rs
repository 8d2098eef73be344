//! The TOML file as written, mirrored by serde. Unknown keys are refused everywhere.

use std::collections::BTreeMap;

use serde::Deserialize;

pub(super) const TOP_LEVEL_KEYS: &[&str] = &[
    "issuer",
    "listen",
    "workers",
    "proxy_protocol",
    "keys",
    "limits",
    "reload",
    "telemetry",
    "upstream",
    "client",
    "front",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeysFile {
    pub dir: Option<String>,
    pub signing_alg: Option<String>,
    #[serde(default)]
    pub signing: Vec<SigningKeyFile>,
    #[serde(default)]
    pub decryption: Vec<DecryptionKeyFile>,
    pub decryption_algs: Option<Vec<String>>,
    pub content_encryption: Option<Vec<String>>,
    pub front_state_key: Option<String>,
    pub retire_leeway: Option<String>,
    pub generate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SigningKeyFile {
    pub file: String,
    pub alg: String,
    pub kid: Option<String>,
    #[serde(default)]
    pub retired: bool,
    /// RFC 3339, as a string or a TOML offset date-time.
    pub activate_at: Option<toml::Value>,
    /// RFC 3339, as a string or a TOML offset date-time.
    pub retire_at: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecryptionKeyFile {
    pub file: String,
    pub kid: Option<String>,
    /// RFC 3339, as a string or a TOML offset date-time.
    pub activate_at: Option<toml::Value>,
    /// RFC 3339, as a string or a TOML offset date-time.
    pub retire_at: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    pub max_body_bytes: Option<usize>,
    pub body_read_timeout: Option<String>,
    pub max_token_bytes: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub jwks_max_age: Option<String>,
    pub failed_auth: Option<RateLimitFile>,
    #[serde(default)]
    pub danger_allow_zip: bool,
    /// The old name of `danger_allow_zip`: accepted, with a warning.
    #[serde(default)]
    pub allow_zip: bool,
    pub max_inflated_bytes: Option<usize>,
    pub max_json_depth: Option<usize>,
    pub max_claims: Option<usize>,
    pub max_aud_values: Option<usize>,
    pub max_issued_claims: Option<usize>,
    pub max_issued_bytes: Option<usize>,
    pub trusted_proxies: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TelemetryFile {
    pub listen: Option<String>,
    #[serde(default)]
    pub metrics_on_main_port: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReloadFile {
    pub watch: Option<bool>,
    pub poll_interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpstreamFile {
    pub name: String,
    pub issuer: String,
    pub internal_url: Option<String>,
    pub jwks_uri: Option<String>,
    pub algorithms: Option<Vec<String>>,
    pub leeway: Option<String>,
    #[serde(default)]
    pub danger_allow_http: bool,
    #[serde(default)]
    pub danger_allow_jwks_on_other_host: bool,
    /// The old name of `danger_allow_jwks_on_other_host`: accepted, with a warning.
    #[serde(default)]
    pub allow_jwks_on_other_host: bool,
    pub refresh_interval: Option<String>,
    pub max_key_age: Option<String>,
    pub refetch_cooldown: Option<String>,
    pub fetch_timeout: Option<String>,
    pub max_jwks_bytes: Option<usize>,
    pub max_jwks_keys: Option<usize>,
    pub audience_claims: Option<Vec<String>>,
    pub issuer_aliases: Option<Vec<String>>,
    pub issuer_templates: Option<Vec<String>>,
    pub allowed_tenants: Option<Vec<String>>,
    pub introspection: Option<IntrospectionFile>,
    pub preset: Option<String>,
    #[serde(default)]
    pub claims: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientFile {
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
    pub id_token_from_access_token: Option<bool>,
    pub rate_limit: Option<RateLimitFile>,
    pub cache: Option<bool>,
    /// Signed, so that a negative size is reported by its key rather than as a type error.
    pub cache_size: Option<i64>,
    pub preset: Option<String>,
    #[serde(default)]
    pub claims: Vec<toml::Value>,
}

/// One claim rule as written: exactly one of the operation keys, and the options it takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    pub rename: Option<String>,
    pub copy: Option<String>,
    pub to: Option<String>,
    pub drop: Option<Vec<String>>,
    pub set: Option<String>,
    pub default: Option<String>,
    pub value: Option<toml::Value>,
    pub sub_from: Option<String>,
    pub if_missing: Option<String>,
    pub keep_only: Option<Vec<String>>,
    pub refuse_overage: Option<String>,
    #[serde(default)]
    pub keys: bool,
    pub split: Option<String>,
    pub filter: Option<Vec<String>>,
    pub map: Option<BTreeMap<String, String>>,
    pub unmapped: Option<String>,
    pub strip_prefix: Option<String>,
    pub prefix: Option<String>,
    #[serde(default)]
    pub lowercase: bool,
    pub join: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub overwrite: bool,
    #[serde(default)]
    pub keep_existing: bool,
}

/// A preset's file: its rules under `claims`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PresetFile {
    pub claims: Vec<toml::Value>,
}

/// `[upstream.introspection]`: tokenbridge's own credentials at the IdP's RFC 7662 endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IntrospectionFile {
    pub client_id: String,
    pub client_secret: SecretFile,
    pub endpoint: Option<String>,
    pub cache_ttl: Option<String>,
    pub cache_size: Option<u64>,
}

/// A client secret by reference, never inline: an environment variable, a file (docker and
/// Kubernetes secrets), or the hex SHA-256 of the secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretFile {
    pub env: Option<String>,
    pub file: Option<String>,
    pub sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RateLimitFile {
    pub per_second: f64,
    pub burst: u32,
}

/// An OIDC front: an issuer of tokenbridge's for one code-flow relying party.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontFile {
    pub client: String,
    pub upstream: String,
    pub userinfo: Option<String>,
    pub userinfo_ttl: Option<String>,
    #[serde(default)]
    pub normalize_access_token: bool,
    pub mode: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
}
