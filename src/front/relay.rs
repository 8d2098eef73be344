//! The login relay (`mode = "relay"`): the front's own authorization endpoint and callback stand
//! between the relying party and the IdP, so the authorization response the RP gets names the
//! front as its `iss` (RFC 9207), as RPs that check it require. The RP's `redirect_uri` and
//! `state` travel to the IdP and back sealed inside the IdP's `state`: no server-side session.

use std::collections::HashMap;

use serde_json::json;
use url::Url;

use super::seal::SealError;
use super::{Front, FrontOutcome, FrontRefusal};
use crate::clock::UnixTime;

/// How long a person may take at the IdP before the relay forgets the RP's `state`.
const AUTHORIZE_STATE_TTL_SECS: i64 = 600;
/// The seal's purpose: an authorize seal opens only at the callback.
const AUTHORIZE_PURPOSE: &str = "authorize";

/// Authorization-request parameters the front sets itself; every other one passes to the IdP
/// unchanged (PKCE, `nonce`, `prompt`, `max_age`, `login_hint`, `ui_locales`, `acr_values`, …).
const REPLACED: [&str; 2] = ["redirect_uri", "state"];

/// Authorization-response parameters the RP gets from the IdP's answer (RFC 6749 §4.1.2,
/// §4.1.2.1); `state` and `iss` are the front's to set.
const RESPONSE_PASSED_ON: [&str; 4] = ["code", "error", "error_description", "error_uri"];

/// Query parameters, each at most once (RFC 6749 §3.1): `None` when one repeats.
fn query_params(query: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return None;
        }
    }
    Some(params)
}

impl Front {
    /// `{front}/callback`: where the IdP sends the browser back.
    pub(crate) fn callback_uri(&self) -> String {
        format!("{}/callback", self.issuer)
    }

    /// The RP's client id at the IdP: the audience of everything this front issues.
    pub(crate) fn rp_client_id(&self) -> Option<String> {
        self.client.config.audience.primary()
    }
}

/// `GET {front}/authorize`: checks `client_id` and `redirect_uri` (exactly one of the front's
/// `redirect_uris`; until both are known good nothing redirects, so the front is never an open
/// redirector), then sends the browser to the IdP with the front's callback and the RP's
/// `redirect_uri` and `state` sealed into the IdP's `state`.
pub(crate) async fn authorize(front: &Front, query: &str, now: UnixTime) -> FrontOutcome {
    let Some(params) = query_params(query) else {
        tracing::info!(front = %front.config.client, "authorize: a parameter is repeated");
        return FrontOutcome::Refused(FrontRefusal::InvalidAuthorizationRequest);
    };
    let client_id = params.get("client_id");
    if client_id.is_none() || client_id.cloned() != front.rp_client_id() {
        tracing::info!(front = %front.config.client, client_id = ?client_id, "authorize: not this front's client_id");
        return FrontOutcome::Refused(FrontRefusal::InvalidAuthorizationRequest);
    }
    let Some(rp_redirect) = params
        .get("redirect_uri")
        .filter(|uri| front.config.redirect_uris.contains(uri))
    else {
        tracing::info!(front = %front.config.client, redirect_uri = ?params.get("redirect_uri"), "authorize: redirect_uri is not one of the front's redirect_uris");
        return FrontOutcome::Refused(FrontRefusal::InvalidAuthorizationRequest);
    };
    let rp_state = params.get("state").map(String::as_str);
    // From here on the RP's redirect_uri is known good: errors go back to it (RFC 6749 §4.1.2.1).
    let error = |code: &str| {
        FrontOutcome::Redirect(front.rp_answer(rp_redirect, rp_state, &[("error", code)]))
    };
    if params.get("response_type").map(String::as_str) != Some("code") {
        return error("unsupported_response_type");
    }
    if params
        .get("response_mode")
        .is_some_and(|mode| mode != "query")
    {
        return error("invalid_request");
    }
    // A request object would carry its own redirect_uri and state past the front.
    if params.contains_key("request") {
        return error("request_not_supported");
    }
    if params.contains_key("request_uri") {
        return error("request_uri_not_supported");
    }
    let Some(sealed) = front.seal_state(
        AUTHORIZE_PURPOSE,
        json!({ "r": rp_redirect, "s": rp_state }),
        now.saturating_add(AUTHORIZE_STATE_TTL_SECS),
    ) else {
        return error("server_error");
    };
    let mut idp = match front.idp_endpoint("authorization_endpoint").await {
        Ok(url) => url,
        Err(err) => {
            front.unavailable(&err);
            return error("temporarily_unavailable");
        }
    };
    {
        let mut query = idp.query_pairs_mut();
        for (name, value) in &params {
            if !REPLACED.contains(&name.as_str()) {
                query.append_pair(name, value);
            }
        }
        query.append_pair("redirect_uri", &front.callback_uri());
        query.append_pair("state", &sealed);
    }
    FrontOutcome::Redirect(idp)
}

/// `GET {front}/callback`: opens the sealed state (a missing, tampered or expired one is refused,
/// and nothing redirects), checks the IdP's `iss` when it sends one (RFC 9207: a mix-up defence),
/// and sends the browser to the RP with the IdP's code or error, the RP's `state`, and
/// `iss` = the front.
pub(crate) fn callback(front: &Front, query: &str, now: UnixTime) -> FrontOutcome {
    let Some(params) = query_params(query) else {
        tracing::info!(front = %front.config.client, "callback: a parameter is repeated");
        return FrontOutcome::Refused(FrontRefusal::InvalidState);
    };
    let opened = match (&front.state_seal, params.get("state")) {
        (Some(seal), Some(sealed)) => {
            seal.open(&front.config.client, AUTHORIZE_PURPOSE, sealed, now)
        }
        (None, _) => Err(SealError::NotAuthentic),
        (_, None) => Err(SealError::Malformed),
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(err) => {
            tracing::info!(front = %front.config.client, reason = %err, "callback: the state was refused");
            return FrontOutcome::Refused(FrontRefusal::InvalidState);
        }
    };
    let Some(rp_redirect) = opened["r"].as_str().filter(|uri| {
        front
            .config
            .redirect_uris
            .iter()
            .any(|listed| listed == uri)
    }) else {
        // Sealed by us for a redirect_uri no longer configured.
        tracing::info!(front = %front.config.client, "callback: the sealed redirect_uri is no longer listed");
        return FrontOutcome::Refused(FrontRefusal::InvalidState);
    };
    if let Some(iss) = params.get("iss")
        && *iss != front.upstream.config.issuer
    {
        tracing::info!(front = %front.config.client, iss = %iss, "callback: the response names another issuer");
        return FrontOutcome::Refused(FrontRefusal::InvalidState);
    }
    let passed: Vec<(&str, &str)> = RESPONSE_PASSED_ON
        .iter()
        .filter_map(|name| params.get(*name).map(|value| (*name, value.as_str())))
        .collect();
    FrontOutcome::Redirect(front.rp_answer(rp_redirect, opened["s"].as_str(), &passed))
}

impl Front {
    /// The RP's redirect URI with `parameters`, its `state` and `iss` = the front (RFC 9207).
    fn rp_answer(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        parameters: &[(&str, &str)],
    ) -> Url {
        // Listed redirect URIs were checked to be absolute URLs at start.
        let mut url = Url::parse(redirect_uri).unwrap_or_else(|_| unreachable!());
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in parameters {
                query.append_pair(name, value);
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        url
    }
}

/// The token request's form with `redirect_uri` (the RP's, which must be one of the front's) put
/// back to the front's callback, the one the IdP bound the code to. A code grant must carry it
/// exactly once (RFC 6749 §4.1.3: the authorization request had one); a refresh grant has none.
/// `None` when that doesn't hold. Every other field is passed on unchanged, in order.
pub(crate) fn relayed_token_request(
    front: &Front,
    body: &[u8],
    is_code_grant: bool,
) -> Option<Vec<u8>> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    let mut redirects = 0;
    for (name, value) in form_urlencoded::parse(body) {
        if name == "redirect_uri" {
            if !front.config.redirect_uris.iter().any(|uri| *uri == value) {
                return None;
            }
            redirects += 1;
            form.append_pair("redirect_uri", &front.callback_uri());
        } else {
            form.append_pair(&name, &value);
        }
    }
    let expected = usize::from(is_code_grant);
    (redirects == expected).then(|| form.finish().into_bytes())
}
