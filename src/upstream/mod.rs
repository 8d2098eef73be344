//! The IdPs tokenbridge trusts: found by exact issuer (or one of its exact other issuers), each
//! with its discovery document and its JWKS cached.

mod discovery;
pub(crate) mod fetch;
mod internal_origin;
mod introspection;
mod jwks;

use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use discovery::Discovery;
pub(crate) use fetch::{FetchError, Fetcher};
pub(crate) use internal_origin::InternalOrigin;
pub(crate) use introspection::{IntrospectionError, Introspector};
pub(crate) use jwks::{JwksCache, KeyLookupError};

use crate::clock::SharedClock;
use crate::config::{IssuerForm, UpstreamConfig};

/// A trusted IdP.
pub struct Upstream {
    pub config: UpstreamConfig,
    /// Its discovery document, and which hosts the endpoints in it may be on.
    pub discovery: Arc<Discovery>,
    /// Its verification keys. Shared with the next state by a reload that leaves the upstream's
    /// fetch settings as they were, so its keys are not fetched again.
    pub jwks: Arc<JwksCache>,
    /// `[upstream.introspection]`: where opaque tokens are checked. Made anew by every reload:
    /// no answer outlives the config it was asked under.
    pub(crate) introspector: Option<Introspector>,
}

/// Every configured upstream, by name and by exact issuer.
pub struct Upstreams {
    by_issuer: HashMap<String, IssuerEntry>,
    all: Vec<Arc<Upstream>>,
    fetcher: Fetcher,
}

/// What an exact `iss` names: the upstream, and the other form it is, if not the `issuer`.
struct IssuerEntry {
    upstream: Arc<Upstream>,
    form: Option<IssuerForm>,
}

/// One upstream's readiness, as `/readyz` reports it.
pub struct UpstreamStatus {
    pub name: String,
    pub key_count: usize,
    pub last_error: Option<String>,
}

impl Upstreams {
    pub fn new(configs: Vec<UpstreamConfig>, fetcher: Fetcher, clock: SharedClock) -> Upstreams {
        Upstreams::carrying(configs, fetcher, clock, None)
    }

    /// The upstreams of a reloaded config: each one `previous` had under the same name and
    /// fetches the same way keeps its discovery document and cached keys (and the connection
    /// pool is kept), so a reload causes no refetch; the others start empty.
    pub(crate) fn carrying(
        configs: Vec<UpstreamConfig>,
        fetcher: Fetcher,
        clock: SharedClock,
        previous: Option<&Upstreams>,
    ) -> Upstreams {
        let fetcher = previous.map_or(fetcher, |previous| previous.fetcher.clone());
        let all: Vec<Arc<Upstream>> = configs
            .into_iter()
            .map(|config| {
                let kept = previous
                    .and_then(|previous| previous.by_name(&config.name))
                    .filter(|old| old.config.fetches_like(&config));
                let (discovery, jwks) = match kept {
                    Some(old) => (old.discovery.clone(), old.jwks.clone()),
                    None => {
                        if let Some(origin) = &config.internal_origin {
                            tracing::info!(upstream = %config.name, internal_origin = %origin.shown(), "calls to the issuer's origin go through the internal origin (internal_url); iss is still checked against the public issuer");
                        }
                        let discovery = Arc::new(Discovery::new(&config, fetcher.clone()));
                        let jwks = Arc::new(JwksCache::new(
                            &config,
                            fetcher.clone(),
                            clock.clone(),
                            discovery.clone(),
                        ));
                        (discovery, jwks)
                    }
                };
                let introspector = config.introspection.clone().map(|introspection| {
                    Introspector::new(introspection, &config, discovery.clone(), fetcher.clone())
                });
                Arc::new(Upstream {
                    jwks,
                    discovery,
                    introspector,
                    config,
                })
            })
            .collect();
        let mut by_issuer = HashMap::new();
        for upstream in &all {
            let entry = |form| IssuerEntry {
                upstream: upstream.clone(),
                form,
            };
            by_issuer.insert(upstream.config.issuer.clone(), entry(None));
            for other in &upstream.config.other_issuers {
                by_issuer.insert(other.issuer.clone(), entry(Some(other.form.clone())));
            }
        }
        Upstreams {
            by_issuer,
            all,
            fetcher,
        }
    }

    /// Exact string comparison (OIDC Core §3.1.3.7 step 2): no normalisation, no trailing-slash
    /// forgiveness.
    pub fn by_issuer(&self, issuer: &str) -> Option<&Arc<Upstream>> {
        self.by_issuer.get(issuer).map(|entry| &entry.upstream)
    }

    /// `by_issuer`, with the form of the issuer that named the upstream: a tenant's issuer must
    /// then be checked against the token's `tid`.
    pub(crate) fn by_token_issuer(
        &self,
        issuer: &str,
    ) -> Option<(&Arc<Upstream>, Option<&IssuerForm>)> {
        self.by_issuer
            .get(issuer)
            .map(|entry| (&entry.upstream, entry.form.as_ref()))
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.all
            .iter()
            .find(|upstream| upstream.config.name == name)
    }

    /// The connection pool every upstream fetches through.
    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.fetcher
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
