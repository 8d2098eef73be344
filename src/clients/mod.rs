//! The client registry: who may exchange, with which secret, under which rules.

mod failed_auth;
mod rate_limit;

use std::collections::HashMap;
use std::sync::Arc;

pub use failed_auth::FailedAuthLimiter;
pub use rate_limit::RateLimited;
pub(crate) use rate_limit::TokenBucket;

use crate::clock::Clock;
use crate::config::ClientConfig;
use crate::exchange::ExchangeCache;
use crate::oauth::{ClientSecret, SecretDigest};

/// A configured client with its live rate-limit state.
pub struct Client {
    pub(crate) config: ClientConfig,
    /// Its rate limit; kept by a reload that leaves the limit unchanged, so reloading never
    /// refills a bucket.
    pub(crate) bucket: Arc<TokenBucket>,
    /// Its exchange cache (`cache = true`). Never carried across a reload: every load starts
    /// empty, so nothing issued under an old config is handed out under a new one.
    pub(crate) cache: Option<ExchangeCache>,
}

/// Credentials as the request presented them (RFC 6749 §2.3.1).
#[derive(Debug)]
pub struct ClientCredentials {
    /// From the Basic user name, or else the `client_id` body parameter.
    pub client_id: String,
    /// From the Basic password, or else the `client_secret` body parameter.
    pub secret: ClientSecret,
}

/// Why a caller is not an authenticated client; all answer `invalid_client` (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, and not both `client_id` and `client_secret` in the body.
    #[error("no client credentials")]
    Missing,
    /// An `Authorization` header that isn't readable Basic credentials (another scheme, not
    /// base64 or UTF-8, no `:`, bad percent-encoding); the text says which.
    #[error("malformed client credentials: {0}")]
    Malformed(&'static str),
    /// No configured client has this id; the secret was still compared, against a decoy.
    #[error("unknown client {0:?}")]
    UnknownClient(String),
    /// The client exists but the secret's digest doesn't match.
    #[error("wrong secret for client {0:?}")]
    WrongSecret(String),
}

/// The configured clients by id, each with its rate-limit bucket.
pub struct ClientRegistry {
    by_id: HashMap<String, Arc<Client>>,
    /// Compared against when the client is unknown, so that an unknown id costs what a wrong
    /// secret costs and response times don't reveal which ids exist.
    decoy: SecretDigest,
}

impl ClientRegistry {
    pub(crate) fn new(
        configs: Vec<ClientConfig>,
        clock: &dyn Clock,
        previous: Option<&ClientRegistry>,
    ) -> ClientRegistry {
        let by_id = configs
            .into_iter()
            .map(|config| {
                let kept = previous
                    .and_then(|previous| previous.by_id.get(&config.id))
                    .filter(|old| old.config.rate_limit == config.rate_limit)
                    .map(|old| old.bucket.clone());
                let bucket = kept.unwrap_or_else(|| {
                    Arc::new(TokenBucket::new(config.rate_limit, clock.monotonic()))
                });
                let cache = config.cache_size.map(ExchangeCache::new);
                let client = Client {
                    config,
                    bucket,
                    cache,
                };
                (client.config.id.clone(), Arc::new(client))
            })
            .collect();
        ClientRegistry {
            by_id,
            decoy: SecretDigest::of(b"tokenbridge decoy secret: never matches a presented digest"),
        }
    }

    /// Every client, in no order: for what reports on the config (metrics), never for requests.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<Client>> {
        self.by_id.values()
    }

    /// A client by id, unauthenticated: for operator tools (`explain`), never for requests.
    pub fn by_id_unauthenticated(&self, id: &str) -> Option<Arc<Client>> {
        self.by_id.get(id).cloned()
    }

    /// The client these credentials prove, or why not. An unknown id costs the same comparison
    /// as a wrong secret. Failures aren't counted here: the caller records them in the
    /// `FailedAuthLimiter`.
    pub fn authenticate(&self, credentials: &ClientCredentials) -> Result<Arc<Client>, AuthError> {
        let presented = credentials.secret.digest();
        let client = self.by_id.get(&credentials.client_id);
        let expected = client.map_or(&self.decoy, |client| &client.config.secret);
        let is_match = presented.matches(expected);
        match client {
            Some(client) if is_match => Ok(client.clone()),
            Some(_) => Err(AuthError::WrongSecret(credentials.client_id.clone())),
            None => Err(AuthError::UnknownClient(credentials.client_id.clone())),
        }
    }
}
