//! OIDC fronts: for relying parties that run a code flow themselves (BookStack, MiroTalk), an
//! issuer of tokenbridge's per relying party. The browser still logs in at the IdP; the front's
//! token endpoint forwards the grant and passes the returned ID token through the exchange
//! pipeline, so the relying party's only change is its issuer URL.

mod backchannel;
mod discovery;
mod endpoint;
mod forward;
mod logout;
mod logout_token;
mod outcome;
mod relay;
mod replay;
mod seal;
mod token;
mod userinfo;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use url::Url;

pub(crate) use backchannel::backchannel_logout;
pub(crate) use discovery::front_discovery;
pub(crate) use endpoint::EndpointRules;
pub(crate) use forward::{Forwarded, Forwarder};
pub(crate) use logout::{logout, logout_callback};
pub(crate) use outcome::{FrontOutcome, FrontRefusal};
pub(crate) use relay::{authorize, callback};
pub(crate) use token::token;
pub(crate) use userinfo::userinfo;

use crate::clients::{Client, ClientRegistry};
use crate::config::FrontConfig;
use crate::keyring::STATE_KEY_BYTES;
use crate::metrics::Metrics;
use crate::upstream::{FetchError, Upstream, Upstreams};
use replay::SeenJtis;
use seal::StateSeal;

/// One front, wired to its client and upstream.
pub(crate) struct Front {
    pub config: FrontConfig,
    /// `{issuer}/front/{client}`: the `iss` of the tokens it issues.
    pub issuer: String,
    pub client: Arc<Client>,
    pub upstream: Arc<Upstream>,
    /// The upstream's rules for the endpoints its discovery names, made once.
    pub endpoint_rules: EndpointRules,
    /// Seals the state a relay or logout sends through the browser; `None` only offline
    /// (`explain`), where no key file may be written.
    pub(crate) state_seal: Option<Arc<StateSeal>>,
    /// The `jti`s of the logout tokens taken, until each token is unusable (this replica's).
    pub(crate) logout_jtis: SeenJtis,
}

#[derive(Default)]
pub(crate) struct Fronts {
    by_client: HashMap<String, Arc<Front>>,
}

impl Fronts {
    /// Config validation made sure each front's client and upstream exist.
    pub(crate) fn new(
        configs: &[FrontConfig],
        issuer: &str,
        clients: &ClientRegistry,
        upstreams: &Upstreams,
        state_key: Option<&[u8; STATE_KEY_BYTES]>,
        previous: Option<&Fronts>,
    ) -> Fronts {
        let state_seal = state_key.map(|key| Arc::new(StateSeal::new(key)));
        let by_client = configs
            .iter()
            .filter_map(|config| {
                let client = clients.by_id_unauthenticated(&config.client)?;
                let upstream = upstreams.by_name(&config.upstream)?.clone();
                let front = Front {
                    issuer: format!("{issuer}/front/{}", config.client),
                    endpoint_rules: EndpointRules::of(&upstream.config),
                    state_seal: state_seal.clone(),
                    // A reload must not forget which logout tokens were taken.
                    logout_jtis: previous
                        .and_then(|previous| previous.get(&config.client))
                        .map_or_else(SeenJtis::new, |old| old.logout_jtis.clone()),
                    config: config.clone(),
                    client,
                    upstream,
                };
                Some((config.client.clone(), Arc::new(front)))
            })
            .collect();
        Fronts { by_client }
    }

    pub(crate) fn get(&self, client: &str) -> Option<&Arc<Front>> {
        self.by_client.get(client)
    }
}

/// Why a front couldn't serve: the IdP is unreachable, slow, answered 5xx, or its discovery lacks
/// an endpoint. The relying party gets `temporarily_unavailable`; the log gets this.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrontError {
    #[error("{0}")]
    Upstream(#[from] FetchError),
    #[error("the IdP's discovery has no usable {0}")]
    NoEndpoint(&'static str),
    #[error("the IdP answered {0}")]
    ServerError(u16),
}

/// A relying party's request, to be forwarded to an IdP endpoint.
pub(crate) struct RelyingPartyRequest<'a> {
    pub is_post: bool,
    pub body: Vec<u8>,
    pub content_type: Option<&'a str>,
    /// Passed through and never kept.
    pub authorization: Option<&'a str>,
}

impl Front {
    /// Forwards to the IdP endpoint `name` from its discovery, reading at most `max_bytes` of
    /// the answer. The IdP failing the front (unreachable, slow, a 5xx, a redirect, which is
    /// never followed) is the relying party's `temporarily_unavailable`; any other answer is the
    /// caller's to pass on or to use.
    pub(crate) async fn forward(
        &self,
        forwarder: &Forwarder,
        metrics: &Metrics,
        max_bytes: usize,
        name: &'static str,
        request: RelyingPartyRequest<'_>,
    ) -> Result<Forwarded, FrontRefusal> {
        let endpoint = self
            .idp_endpoint(name)
            .await
            .map_err(|err| self.unavailable(&err))?;
        // Checked by `EndpointRules` on the URL discovery names, then routed: this call is the
        // front's own, never the browser's.
        let forwarded = forwarder
            .send(forward::Outgoing {
                url: &self.upstream.config.route(&endpoint),
                is_post: request.is_post,
                body: request.body,
                content_type: request.content_type,
                authorization: request.authorization,
                timeout: self.upstream.config.fetch_timeout,
                max_bytes,
            })
            .await;
        let endpoint_label = match name {
            "token_endpoint" => "token",
            "userinfo_endpoint" => "userinfo",
            _ => "other",
        };
        let status = forwarded.as_ref().ok().map(|answer| answer.status);
        let is_timeout = matches!(&forwarded, Err(FetchError::Outbound(err)) if err.is_timeout());
        metrics.idp_answer(&self.config.client, endpoint_label, status, is_timeout);
        let forwarded = forwarded.map_err(|err| self.unavailable(&err.into()))?;
        if forwarded.status >= 500 || (300..400).contains(&forwarded.status) {
            return Err(self.unavailable(&FrontError::ServerError(forwarded.status)));
        }
        Ok(forwarded)
    }

    /// `payload` sealed for this front and `purpose` until `expires_at`, to travel through the
    /// browser. `None`, logged, when there is no state key (offline) or no randomness.
    pub(crate) fn seal_state(
        &self,
        purpose: &str,
        payload: serde_json::Value,
        expires_at: crate::clock::UnixTime,
    ) -> Option<String> {
        let Some(seal) = &self.state_seal else {
            tracing::error!(front = %self.config.client, purpose, "no state key: the state can't be sealed");
            return None;
        };
        seal.seal(&self.config.client, purpose, payload, expires_at)
            .map_err(|err| {
                tracing::error!(front = %self.config.client, purpose, error = %err, "sealing the state failed");
            })
            .ok()
    }

    /// Logs why the IdP couldn't serve this front; the relying party learns only that.
    pub(crate) fn unavailable(&self, err: &FrontError) -> FrontRefusal {
        tracing::warn!(front = %self.config.client, error = %err, "the IdP could not serve the front");
        FrontRefusal::IdpUnavailable
    }

    /// An endpoint from the IdP's discovery: an absolute URL, https unless the upstream allows
    /// http, on the issuer's host unless the upstream allows others.
    pub(crate) async fn idp_endpoint(&self, name: &'static str) -> Result<Url, FrontError> {
        let discovery = self.upstream.discovery.document().await?;
        self.endpoint_in(&discovery, name)
            .ok_or(FrontError::NoEndpoint(name))
    }

    fn endpoint_in(&self, discovery: &Map<String, Value>, name: &str) -> Option<Url> {
        self.endpoint_rules.endpoint_in(discovery, name)
    }
}
