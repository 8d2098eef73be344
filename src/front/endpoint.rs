//! Which of the IdP's advertised endpoints a front may send anything to: an absolute URL, https
//! unless the upstream allows http, on the issuer's host unless the upstream allows others. A
//! discovery document is fetched over the network, so its URLs are input like any other.

use serde_json::{Map, Value};
use url::Url;

use crate::config::UpstreamConfig;

/// An upstream's rules for the endpoints in its discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EndpointRules {
    /// The issuer's host; an issuer without one allows no endpoint on the host rule.
    pub issuer_host: Option<String>,
    pub is_http_allowed: bool,
    pub is_other_host_allowed: bool,
}

impl EndpointRules {
    pub(crate) fn of(upstream: &UpstreamConfig) -> EndpointRules {
        EndpointRules {
            issuer_host: Url::parse(&upstream.issuer)
                .ok()
                .and_then(|issuer| issuer.host_str().map(str::to_owned)),
            is_http_allowed: upstream.is_http_allowed,
            is_other_host_allowed: upstream.is_jwks_on_other_host_allowed,
        }
    }

    /// The endpoint `name` of `discovery`, if it is a URL these rules allow.
    pub(crate) fn endpoint_in(&self, discovery: &Map<String, Value>, name: &str) -> Option<Url> {
        let url = Url::parse(discovery.get(name)?.as_str()?).ok()?;
        let is_scheme_ok =
            url.scheme() == "https" || (url.scheme() == "http" && self.is_http_allowed);
        let is_host_ok = self.is_other_host_allowed
            || (self.issuer_host.is_some() && url.host_str() == self.issuer_host.as_deref());
        (is_scheme_ok && is_host_ok).then_some(url)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(is_http_allowed: bool, is_other_host_allowed: bool) -> EndpointRules {
        EndpointRules {
            issuer_host: Some("idp.example".into()),
            is_http_allowed,
            is_other_host_allowed,
        }
    }

    fn endpoint(rules: &EndpointRules, value: Value) -> Option<String> {
        let discovery = match json!({ "token_endpoint": value }) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        rules
            .endpoint_in(&discovery, "token_endpoint")
            .map(String::from)
    }

    #[test]
    fn an_https_endpoint_on_the_issuers_host_is_used() {
        assert_eq!(
            endpoint(
                &rules(false, false),
                json!("https://idp.example/oauth/token")
            )
            .as_deref(),
            Some("https://idp.example/oauth/token")
        );
    }

    #[test]
    fn plain_http_only_when_the_upstream_allows_it() {
        let url = json!("http://idp.example/token");
        assert_eq!(endpoint(&rules(false, false), url.clone()), None);
        assert!(endpoint(&rules(true, false), url).is_some());
        assert_eq!(
            endpoint(&rules(true, true), json!("ftp://idp.example/token")),
            None
        );
    }

    #[test]
    fn another_host_only_when_the_upstream_allows_it() {
        for other in [
            "https://evil.example/token",
            "https://idp.example.evil.example/token",
            "https://127.0.0.1/token",
        ] {
            assert_eq!(
                endpoint(&rules(false, false), json!(other)),
                None,
                "{other}"
            );
            assert!(
                endpoint(&rules(false, true), json!(other)).is_some(),
                "{other}"
            );
        }
    }

    #[test]
    fn a_missing_relative_or_non_string_endpoint_is_none() {
        let rules = rules(true, true);
        for value in [
            json!("/token"),
            json!(""),
            json!(7),
            json!(null),
            json!(["https://idp.example/t"]),
        ] {
            assert_eq!(endpoint(&rules, value.clone()), None, "{value}");
        }
        assert_eq!(rules.endpoint_in(&Map::new(), "token_endpoint"), None);
    }

    #[test]
    fn an_issuer_without_a_host_allows_no_endpoint_by_host() {
        let rules = EndpointRules {
            issuer_host: None,
            is_http_allowed: true,
            is_other_host_allowed: false,
        };
        assert_eq!(endpoint(&rules, json!("https://idp.example/token")), None);
    }
}
