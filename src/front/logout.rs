//! `{front}/logout` and `{front}/logout/callback`: RP-Initiated Logout 1.0 through the front.
//!
//! The relying party holds tokenbridge's ID token, so the IdP can't take it as `id_token_hint`
//! (§2: the OP must check that it issued the hint). The front checks the request as the OP would
//! (its own hint, its own client, its registered `post_logout_redirect_uri`), then sends the
//! browser to the IdP's end-session endpoint with the front's `client_id` so the IdP session
//! really ends. When the relying party wants the browser back, the IdP returns it to
//! `{front}/logout/callback` with the relying party's URI and `state` sealed in its `state`: no
//! server-side session. Without its own ID token as hint, the IdP may ask the person to confirm
//! (Keycloak, oidc-provider do).

mod hint;

use serde_json::{Value, json};
use url::Url;

use super::{Front, FrontOutcome, FrontRefusal};
use crate::exchange::Pipeline;
use hint::Hint;

/// The seal's purpose: a logout state opens for nothing else.
const PURPOSE: &str = "logout";
/// How long the person may stay at the IdP's logout (its confirmation page) before the way back
/// to the relying party closes.
const STATE_LIFETIME_SECS: i64 = 600;
/// The longest value of any parameter but the hint (whose caps are the compact parser's): the
/// relying party's `state` travels inside the seal, which must fit a URL.
const MAX_PARAMETER_CHARS: usize = 1024;

/// The parameters of RP-Initiated Logout 1.0 §2, each present at most once; an empty one counts
/// as absent (RFC 6749 §3.1), an unknown one is ignored.
#[derive(Debug, Default, PartialEq, Eq)]
struct LogoutRequest {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    ui_locales: Option<String>,
    logout_hint: Option<String>,
}

impl LogoutRequest {
    /// From a query string or a form body.
    fn parse(parameters: &[u8], max_hint_bytes: usize) -> Result<LogoutRequest, &'static str> {
        let mut request = LogoutRequest::default();
        let mut seen = [false; 6];
        for (name, value) in form_urlencoded::parse(parameters) {
            let (index, slot, max) = match name.as_ref() {
                "id_token_hint" => (0, &mut request.id_token_hint, max_hint_bytes),
                "post_logout_redirect_uri" => (
                    1,
                    &mut request.post_logout_redirect_uri,
                    MAX_PARAMETER_CHARS,
                ),
                "state" => (2, &mut request.state, MAX_PARAMETER_CHARS),
                "client_id" => (3, &mut request.client_id, MAX_PARAMETER_CHARS),
                "ui_locales" => (4, &mut request.ui_locales, MAX_PARAMETER_CHARS),
                "logout_hint" => (5, &mut request.logout_hint, MAX_PARAMETER_CHARS),
                _ => continue,
            };
            // RFC 6749 §3.1: a parameter is sent at most once, even an empty one.
            if std::mem::replace(&mut seen[index], true) {
                return Err("a repeated parameter");
            }
            if value.len() > max {
                return Err("a parameter over its length limit");
            }
            if !value.is_empty() {
                *slot = Some(value.into_owned());
            }
        }
        Ok(request)
    }
}

/// `GET|POST {front}/logout`: `parameters` is the query string, or the form body of a POST.
pub(crate) async fn logout(pipeline: &Pipeline, front: &Front, parameters: &[u8]) -> FrontOutcome {
    match redirect_to_idp(pipeline, front, parameters).await {
        Ok(url) => FrontOutcome::Redirect(url),
        Err(refusal) => FrontOutcome::Refused(refusal),
    }
}

async fn redirect_to_idp(
    pipeline: &Pipeline,
    front: &Front,
    parameters: &[u8],
) -> Result<Url, FrontRefusal> {
    let name = &front.config.client;
    let refuse = |refusal: FrontRefusal, reason: &str| {
        tracing::info!(front = %name, reason, "logout refused");
        refusal
    };
    let request = LogoutRequest::parse(parameters, pipeline.compact_limits.max_token_bytes)
        .map_err(|reason| refuse(FrontRefusal::LogoutRequestInvalid, reason))?;
    let audience = front.client.config.audience.primary().ok_or_else(|| {
        refuse(
            FrontRefusal::LogoutRequestInvalid,
            "the front has no audience",
        )
    })?;
    if let Some(token) = request.id_token_hint.as_deref() {
        let hint = Hint {
            token,
            issuer: &front.issuer,
            audience: &audience,
        };
        hint.check(
            pipeline.key_ring.own_keys(pipeline.clock.now()),
            &pipeline.compact_limits,
        )
        .map_err(|err| refuse(FrontRefusal::IdTokenHintRefused, &err.to_string()))?;
    }
    // With a hint too, the two agree: the hint's `aud` holds the front's audience (checked
    // above) and `client_id` is that audience.
    if let Some(client_id) = request.client_id.as_deref()
        && client_id != audience
    {
        tracing::info!(front = %name, client_id, "logout refused: client_id is not the front's");
        return Err(FrontRefusal::LogoutClientMismatch);
    }
    if let Some(uri) = request.post_logout_redirect_uri.as_deref() {
        // §3: the OP must know which client asks before it redirects anywhere.
        if request.id_token_hint.is_none() && request.client_id.is_none() {
            return Err(refuse(
                FrontRefusal::LogoutRequestInvalid,
                "post_logout_redirect_uri without id_token_hint or client_id",
            ));
        }
        if !front
            .config
            .post_logout_redirect_uris
            .iter()
            .any(|listed| listed == uri)
        {
            tracing::info!(front = %name, uri, "logout refused: post_logout_redirect_uri not listed");
            return Err(FrontRefusal::PostLogoutRedirectUriNotListed);
        }
    }
    let mut url = match front.idp_endpoint("end_session_endpoint").await {
        Ok(url) => url,
        Err(super::FrontError::NoEndpoint(_)) => {
            return Err(refuse(
                FrontRefusal::NoIdpLogout,
                "the IdP's discovery has no usable end_session_endpoint",
            ));
        }
        Err(err) => return Err(front.unavailable(&err)),
    };
    let state = match request.post_logout_redirect_uri {
        Some(uri) => Some(seal_way_back(pipeline, front, uri, request.state)?),
        None => None,
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("client_id", &audience);
        if let Some(state) = &state {
            query.append_pair("post_logout_redirect_uri", &callback_uri(front));
            query.append_pair("state", state);
        }
        if let Some(ui_locales) = &request.ui_locales {
            query.append_pair("ui_locales", ui_locales);
        }
        if let Some(logout_hint) = &request.logout_hint {
            query.append_pair("logout_hint", logout_hint);
        }
    }
    tracing::info!(front = %name, is_returning = state.is_some(), "logout sent to the IdP");
    Ok(url)
}

/// `{front}/logout/callback`: what the IdP must know as a post-logout redirect URI of the
/// relying party's client.
fn callback_uri(front: &Front) -> String {
    format!("{}/logout/callback", front.issuer)
}

/// The relying party's URI and `state`, sealed for this front's logout until the way back closes.
fn seal_way_back(
    pipeline: &Pipeline,
    front: &Front,
    uri: String,
    state: Option<String>,
) -> Result<String, FrontRefusal> {
    let name = &front.config.client;
    let expires_at = pipeline.clock.now().saturating_add(STATE_LIFETIME_SECS);
    let sealed = front
        .seal_state(PURPOSE, json!({ "u": uri, "s": state }), expires_at)
        .ok_or(FrontRefusal::StateNotSealed)?;
    if sealed.len() > super::seal::MAX_SEALED_CHARS {
        tracing::info!(front = %name, "logout refused: the sealed state would be too long");
        return Err(FrontRefusal::LogoutRequestInvalid);
    }
    Ok(sealed)
}

/// `GET {front}/logout/callback?state=…`: back from the IdP, on to the relying party's
/// `post_logout_redirect_uri` with its `state`.
pub(crate) fn logout_callback(pipeline: &Pipeline, front: &Front, query: &[u8]) -> FrontOutcome {
    match way_back(pipeline, front, query) {
        Ok(url) => FrontOutcome::Redirect(url),
        Err(refusal) => FrontOutcome::Refused(refusal),
    }
}

fn way_back(pipeline: &Pipeline, front: &Front, query: &[u8]) -> Result<Url, FrontRefusal> {
    let name = &front.config.client;
    let invalid = |reason: &str| {
        tracing::info!(front = %name, reason, "logout callback refused");
        FrontRefusal::LogoutStateInvalid
    };
    let sealed = super::token::form_value(query, "state")
        .ok_or_else(|| invalid("no state, or more than one"))?;
    let seal = front
        .state_seal
        .as_ref()
        .ok_or_else(|| invalid("no state key"))?;
    let opened = seal
        .open(name, PURPOSE, &sealed, pipeline.clock.now())
        .map_err(|err| invalid(&err.to_string()))?;
    let uri = opened["u"]
        .as_str()
        .ok_or_else(|| invalid("no URI in the sealed state"))?;
    // Sealed by this front from its list; checked again, so a URI taken off the list since is
    // not redirected to.
    if !front
        .config
        .post_logout_redirect_uris
        .iter()
        .any(|listed| listed == uri)
    {
        return Err(invalid("the sealed URI is no longer listed"));
    }
    let mut url = Url::parse(uri).map_err(|_| invalid("the sealed URI does not parse"))?;
    if let Value::String(state) = &opened["s"] {
        url.query_pairs_mut().append_pair("state", state);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<LogoutRequest, &'static str> {
        LogoutRequest::parse(text.as_bytes(), 100)
    }

    #[test]
    fn every_logout_parameter_is_read_once_and_empty_ones_count_as_absent() {
        let request = parsed(
            "id_token_hint=a.b.c&post_logout_redirect_uri=https%3A%2F%2Frp%2Fbye&state=s%2B1&client_id=rp&ui_locales=de%20en&logout_hint=ada&other=x&other=y",
        )
        .unwrap();
        assert_eq!(
            request,
            LogoutRequest {
                id_token_hint: Some("a.b.c".into()),
                post_logout_redirect_uri: Some("https://rp/bye".into()),
                state: Some("s+1".into()),
                client_id: Some("rp".into()),
                ui_locales: Some("de en".into()),
                logout_hint: Some("ada".into()),
            }
        );
        assert_eq!(
            parsed("state=&client_id=").unwrap(),
            LogoutRequest::default()
        );
        assert_eq!(parsed("").unwrap(), LogoutRequest::default());
    }

    #[test]
    fn a_repeated_or_overlong_parameter_is_refused() {
        assert!(parsed("state=a&state=b").is_err());
        assert!(parsed("client_id=rp&client_id=").is_err());
        assert!(parsed("state=&state=b").is_err());
        assert!(parsed(&format!("id_token_hint={}", "a".repeat(101))).is_err());
        assert!(parsed(&format!("state={}", "a".repeat(MAX_PARAMETER_CHARS + 1))).is_err());
        assert!(parsed(&format!("state={}", "a".repeat(MAX_PARAMETER_CHARS))).is_ok());
    }
}
