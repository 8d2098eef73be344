//! The IdPs tokenbridge trusts: found by exact issuer, each with its discovery document and its
//! JWKS cached.

mod discovery;
pub(crate) mod fetch;
mod internal_origin;
mod jwks;

use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use discovery::Discovery;
pub(crate) use fetch::{FetchError, Fetcher};
pub(crate) use internal_origin::InternalOrigin;
pub(crate) use jwks::{JwksCache, KeyLookupError};

use crate::clock::SharedClock;
use crate::config::UpstreamConfig;

/// A trusted IdP.
pub struct Upstream {
    pub config: UpstreamConfig,
    /// Its discovery document, and which hosts the endpoints in it may be on.
    pub discovery: Arc<Discovery>,
    /// Its verification keys.
    pub jwks: JwksCache,
}

/// Every configured upstream, by name and by exact issuer.
pub struct Upstreams {
    by_issuer: HashMap<String, Arc<Upstream>>,
    all: Vec<Arc<Upstream>>,
}

/// One upstream's readiness, as `/readyz` reports it.
pub struct UpstreamStatus {
    pub name: String,
    pub key_count: usize,
    pub last_error: Option<String>,
}

impl Upstreams {
    pub fn new(configs: Vec<UpstreamConfig>, fetcher: Fetcher, clock: SharedClock) -> Upstreams {
        let all: Vec<Arc<Upstream>> = configs
            .into_iter()
            .map(|config| {
                if let Some(origin) = &config.internal_origin {
                    tracing::info!(upstream = %config.name, internal_origin = %origin.shown(), "calls to the issuer's origin go through the internal origin (internal_url); iss is still checked against the public issuer");
                }
                let discovery = Arc::new(Discovery::new(&config, fetcher.clone()));
                Arc::new(Upstream {
                    jwks: JwksCache::new(
                        &config,
                        fetcher.clone(),
                        clock.clone(),
                        discovery.clone(),
                    ),
                    discovery,
                    config,
                })
            })
            .collect();
        let by_issuer = all
            .iter()
            .map(|upstream| (upstream.config.issuer.clone(), upstream.clone()))
            .collect();
        Upstreams { by_issuer, all }
    }

    /// Exact string comparison (OIDC Core §3.1.3.7 step 2): no normalisation, no trailing-slash
    /// forgiveness.
    pub fn by_issuer(&self, issuer: &str) -> Option<&Arc<Upstream>> {
        self.by_issuer.get(issuer)
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.all
            .iter()
            .find(|upstream| upstream.config.name == name)
    }

    pub fn all(&self) -> &[Arc<Upstream>] {
        &self.all
    }

    pub fn statuses(&self) -> Vec<UpstreamStatus> {
        self.all
            .iter()
            .map(|upstream| UpstreamStatus {
                name: upstream.config.name.clone(),
                key_count: upstream.jwks.current().map_or(0, |set| set.len()),
                last_error: upstream.jwks.last_error(),
            })
            .collect()
    }

    pub fn is_ready(&self) -> bool {
        self.all
            .iter()
            .all(|upstream| upstream.jwks.current().is_some())
    }
}
