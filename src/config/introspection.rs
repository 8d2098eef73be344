//! `[upstream.introspection]` as read: where and as whom tokenbridge asks the IdP about an
//! opaque token (RFC 7662), and how long an answer may be reused.

use std::time::Duration;

use url::Url;
use zeroize::Zeroizing;

/// A secret tokenbridge presents to an IdP, read at start from `env` or `file`. Kept in memory
/// as given (it is sent, not compared), wiped on drop, and never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct OutboundSecret(pub(crate) Zeroizing<String>);

impl std::fmt::Debug for OutboundSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboundSecret(…)")
    }
}

/// One upstream's introspection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntrospectionConfig {
    /// tokenbridge's client id at the IdP (HTTP Basic, RFC 7662 §2.1).
    pub client_id: String,
    pub client_secret: OutboundSecret,
    /// The endpoint; when absent, the discovery document's `introspection_endpoint`.
    pub endpoint: Option<Url>,
    /// The longest an `active: true` answer is reused (never past the token's `exp`).
    pub cache_ttl: Duration,
    /// The most answers kept.
    pub cache_size: u64,
}
