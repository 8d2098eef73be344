//! An upstream's internal origin (`internal_url`; Keycloak calls it the backchannel hostname). In
//! compose or Kubernetes the IdP's public issuer often doesn't resolve from tokenbridge's network,
//! so the calls tokenbridge itself makes to the IdP go to an origin that does. Only where a request
//! is *sent* changes: every check (the tokens' `iss`, the discovery document's `issuer`, which hosts
//! its endpoints may be on) still reads the public URLs, and URLs the browser follows are never
//! routed.

use std::borrow::Cow;

use url::{Origin, Url};

/// Routes URLs on the public issuer's origin to the internal origin, path and query kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InternalOrigin {
    /// The issuer's scheme, host and port (a default port made explicit, RFC 6454 §4).
    public: Origin,
    /// An origin-only URL (config validation refused a path, query, fragment or user info).
    internal: Url,
}

impl InternalOrigin {
    pub(crate) fn new(issuer: &Url, internal: Url) -> InternalOrigin {
        InternalOrigin {
            public: issuer.origin(),
            internal,
        }
    }

    /// Where the request for `url` is sent: on the internal origin when `url` is on the public
    /// one, else `url` itself — an endpoint the IdP names on another host is reached as named.
    pub(crate) fn route<'a>(&self, url: &'a Url) -> Cow<'a, Url> {
        if url.origin() != self.public {
            return Cow::Borrowed(url);
        }
        let mut routed = self.internal.clone();
        routed.set_path(url.path());
        routed.set_query(url.query());
        Cow::Owned(routed)
    }

    /// The internal origin, as logs show it.
    pub(crate) fn shown(&self) -> String {
        self.internal.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn routing(issuer: &str, internal: &str) -> InternalOrigin {
        InternalOrigin::new(&url(issuer), url(internal))
    }

    fn routed(origin: &InternalOrigin, text: &str) -> String {
        origin.route(&url(text)).as_str().to_owned()
    }

    #[test]
    fn a_url_on_the_public_origin_goes_to_the_internal_one_with_its_path_and_query() {
        let origin = routing(
            "https://auth.example.com/application/o/wiki/",
            "http://authentik-server:9000",
        );

        assert_eq!(
            routed(
                &origin,
                "https://auth.example.com/application/o/wiki/.well-known/openid-configuration"
            ),
            "http://authentik-server:9000/application/o/wiki/.well-known/openid-configuration"
        );
        assert_eq!(
            routed(&origin, "https://auth.example.com/jwks?client=a%20b&x=1"),
            "http://authentik-server:9000/jwks?client=a%20b&x=1"
        );
        assert_eq!(
            routed(&origin, "https://auth.example.com"),
            "http://authentik-server:9000/"
        );
    }

    #[test]
    fn a_default_port_is_the_same_origin_written_or_not() {
        let origin = routing("https://idp.example", "http://10.0.0.5:8080");

        assert_eq!(
            routed(&origin, "https://idp.example:443/token"),
            "http://10.0.0.5:8080/token"
        );
        let written = routing("https://idp.example:443", "http://10.0.0.5:8080");
        assert_eq!(
            routed(&written, "https://idp.example/token"),
            "http://10.0.0.5:8080/token"
        );
        assert_eq!(origin, written);
    }

    #[test]
    fn a_url_on_another_origin_is_left_alone() {
        let origin = routing("https://idp.example", "http://idp-internal:8080");
        for other in [
            "https://keys.example/jwks",
            "https://idp.example.evil.example/jwks",
            "https://sub.idp.example/jwks",
            "https://idp.example:8443/jwks",
        ] {
            assert_eq!(routed(&origin, other), other);
            assert!(matches!(origin.route(&url(other)), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn the_same_host_on_another_scheme_is_another_origin() {
        let origin = routing("https://idp.example", "http://idp-internal:8080");

        assert_eq!(
            routed(&origin, "http://idp.example/jwks"),
            "http://idp.example/jwks"
        );
        assert_eq!(
            routed(&origin, "http://idp.example:443/jwks"),
            "http://idp.example:443/jwks"
        );
    }

    #[test]
    fn the_internal_origin_is_shown_without_a_trailing_slash() {
        assert_eq!(
            routing("https://idp.example", "http://idp-internal:8080/").shown(),
            "http://idp-internal:8080"
        );
    }
}
