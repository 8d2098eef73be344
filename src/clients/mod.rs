//! The client registry: who may exchange, with which secret, under which rules.

mod failed_auth;
mod rate_limit;

use std::collections::HashMap;
use std::sync::Arc;

pub use failed_auth::FailedAuthLimiter;
pub use rate_limit::{RateLimited, TokenBucket};

use crate::clock::Clock;
use crate::config::ClientConfig;
use crate::oauth::{ClientSecret, SecretDigest};

/// A configured client with its live rate-limit state.
pub struct Client {
    pub config: ClientConfig,
    pub bucket: TokenBucket,
}

/// Credentials as the request presented them (RFC 6749 §2.3.1).
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: ClientSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no client credentials")]
    Missing,
    #[error("malformed client credentials: {0}")]
    Malformed(&'static str),
    #[error("unknown client {0:?}")]
    UnknownClient(String),
    #[error("wrong secret for client {0:?}")]
    WrongSecret(String),
}

pub struct ClientRegistry {
    by_id: HashMap<String, Arc<Client>>,
    /// Compared against when the client is unknown, so that an unknown id costs what a wrong
    /// secret costs and response times don't reveal which ids exist.
    decoy: SecretDigest,
}

impl ClientRegistry {
    pub fn new(configs: Vec<ClientConfig>, clock: &dyn Clock) -> ClientRegistry {
        let by_id = configs
            .into_iter()
            .map(|config| {
                let bucket = TokenBucket::new(config.rate_limit, clock.monotonic());
                (config.id.clone(), Arc::new(Client { config, bucket }))
            })
            .collect();
        ClientRegistry {
            by_id,
            decoy: SecretDigest::of(b"tokenbridge decoy secret: never matches a presented digest"),
        }
    }

    /// A client by id, unauthenticated: for operator tools (`explain`), never for requests.
    pub fn by_id_unauthenticated(&self, id: &str) -> Option<Arc<Client>> {
        self.by_id.get(id).cloned()
    }

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
