//! Forwarding a relying party's request to the IdP: only to endpoints from the IdP's discovery,
//! never following redirects, with a timeout and a cap on the answer.

use std::time::Duration;

use url::Url;

use crate::outbound;
use crate::upstream::FetchError;

/// What the IdP answered, as it answered it.
#[derive(Debug)]
pub(crate) struct Forwarded {
    pub status: u16,
    pub content_type: Option<String>,
    /// The IdP's challenge on a 401 (RFC 6750 §3, RFC 6749 §5.2), for the relying party.
    pub www_authenticate: Option<String>,
    pub body: Vec<u8>,
}

/// What to send.
pub(crate) struct Outgoing<'a> {
    pub url: &'a Url,
    pub is_post: bool,
    pub body: Vec<u8>,
    pub content_type: Option<&'a str>,
    /// The relying party's own `Authorization` header, passed through and never kept.
    pub authorization: Option<&'a str>,
    pub timeout: Duration,
    pub max_bytes: usize,
}

#[derive(Clone)]
pub(crate) struct Forwarder {
    client: reqwest::Client,
}

impl Forwarder {
    pub(crate) fn new() -> Result<Forwarder, FetchError> {
        Ok(Forwarder {
            client: outbound::client()?,
        })
    }

    pub(crate) async fn send(&self, outgoing: Outgoing<'_>) -> Result<Forwarded, FetchError> {
        let shown = outgoing.url.as_str().to_owned();
        let mut request = if outgoing.is_post {
            self.client.post(outgoing.url.clone()).body(outgoing.body)
        } else {
            self.client.get(outgoing.url.clone())
        };
        request = request
            .timeout(outgoing.timeout)
            .header("accept", "application/json, application/jwt");
        if let Some(content_type) = outgoing.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(authorization) = outgoing.authorization {
            request = request.header("authorization", authorization);
        }
        let response = outbound::with_trace_context(request)
            .send()
            .await
            .map_err(|err| outbound::transport_error(&shown, &err))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let www_authenticate = header("www-authenticate");
        let body = outbound::read_body(response, outgoing.max_bytes, &shown).await?;
        Ok(Forwarded {
            status,
            content_type,
            www_authenticate,
            body,
        })
    }
}
