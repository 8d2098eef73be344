//! An IdP's discovery document (OIDC Discovery 1.0 §4): fetched once, its `issuer` checked, then
//! kept; and the rule for the endpoints it names: on the issuer's host unless configured otherwise.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use url::Url;

use super::fetch::{FetchError, Fetcher};
use crate::config::UpstreamConfig;

/// The most of a discovery document that is read. Real ones are a few KiB; this is the JWKS
/// default cap the two shared until they were split, so no document that was read is refused now.
pub(super) const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

pub struct Discovery {
    config: UpstreamConfig,
    fetcher: Fetcher,
    document: RwLock<Option<Arc<Map<String, Value>>>>,
}

impl Discovery {
    pub fn new(config: &UpstreamConfig, fetcher: Fetcher) -> Discovery {
        Discovery {
            config: config.clone(),
            fetcher,
            document: RwLock::new(None),
        }
    }

    /// The IdP's discovery document: fetched on first use (its `issuer` checked), then kept.
    pub async fn document(&self) -> Result<Arc<Map<String, Value>>, FetchError> {
        if let Some(document) = self.document.read().ok().and_then(|slot| slot.clone()) {
            return Ok(document);
        }
        let discovery_url = Url::parse(&self.config.discovery_url())
            .map_err(|err| FetchError::Invalid(format!("discovery URL: {err}")))?;
        let document = self
            .fetcher
            .get_json(
                &self.config.route(&discovery_url),
                self.config.fetch_timeout,
                MAX_DISCOVERY_BYTES,
                self.config.is_http_allowed,
            )
            .await?;
        // OIDC Discovery §4.3: the document's issuer must be exactly the one we asked about.
        let issuer = document.get("issuer").and_then(Value::as_str);
        if issuer != Some(self.config.issuer.as_str()) {
            return Err(FetchError::Invalid(format!(
                "discovery at {discovery_url} names issuer {issuer:?}, not {:?}",
                self.config.issuer
            )));
        }
        let document = Arc::new(document);
        if let Ok(mut slot) = self.document.write() {
            *slot = Some(document.clone());
        }
        Ok(document)
    }

    /// The `jwks_uri` the document names, refused when it is on another host than the issuer
    /// and the operator has not allowed that: discovery must not choose whom tokenbridge trusts.
    pub async fn jwks_uri(&self) -> Result<Url, FetchError> {
        self.endpoint("jwks_uri").await
    }

    /// The `introspection_endpoint` the document names (RFC 8414 §2), by the same host rule: an
    /// opaque token is sent there, so discovery must not choose where.
    pub async fn introspection_endpoint(&self) -> Result<Url, FetchError> {
        self.endpoint("introspection_endpoint").await
    }

    async fn endpoint(&self, name: &str) -> Result<Url, FetchError> {
        let document = self.document().await?;
        let uri = document
            .get(name)
            .and_then(Value::as_str)
            .and_then(|uri| Url::parse(uri).ok())
            .ok_or_else(|| {
                FetchError::Invalid(format!("the discovery document has no valid {name}"))
            })?;
        if !self.is_on_issuer_host(&uri) && !self.config.is_jwks_on_other_host_allowed {
            return Err(FetchError::Invalid(format!(
                "the discovery document names {name} {uri} on another host than the issuer; set danger_allow_jwks_on_other_host = true to accept it"
            )));
        }
        Ok(uri)
    }

    /// Whether `url` is on the issuer's host.
    pub fn is_on_issuer_host(&self, url: &Url) -> bool {
        let issuer_host = Url::parse(&self.config.issuer)
            .ok()
            .and_then(|issuer| issuer.host_str().map(str::to_owned));
        url.host_str() == issuer_host.as_deref()
    }
}
