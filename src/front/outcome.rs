//! What a front answers the relying party, as values: `http` renders them (errors through the
//! one error renderer).

use serde_json::{Map, Value};

use super::Forwarded;
use crate::oauth::ErrorCode;

#[derive(Debug)]
pub(crate) enum FrontOutcome {
    /// The IdP's answer, unchanged in status, body and challenge.
    PassedOn(Forwarded),
    /// A JSON object the front made: normalised tokens, or userinfo claims.
    Json(Map<String, Value>),
    /// A userinfo answer signed by tokenbridge (`application/jwt`).
    SignedUserinfo(String),
    /// Send the browser on (303 See Other): to the IdP's end-session endpoint, or back to the
    /// relying party.
    Redirect(url::Url),
    Refused(FrontRefusal),
    /// The relying party took the back-channel logout: 200, no body (Back-Channel Logout §2.8).
    LoggedOut,
}

/// Why a front refuses; the precise reason has been logged where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrontRefusal {
    /// A grant other than `authorization_code` and `refresh_token`.
    UnsupportedGrantType,
    /// The IdP is unreachable, slow, answered 5xx or a redirect, or lacks the endpoint.
    IdpUnavailable,
    /// The IdP's keys can't be fetched, so its tokens can't be verified now.
    IdpKeysUnavailable,
    /// The grant was good at the IdP, but the tokens it returned can't be vouched for.
    TokensRefused,
    /// The IdP's userinfo answer can't be verified or shaped.
    UserinfoRefused,
    /// Signing the userinfo answer failed.
    UserinfoNotSigned,
    /// An authorization request whose `client_id` or `redirect_uri` is not the front's, or
    /// with a repeated parameter: refused without a redirect.
    InvalidAuthorizationRequest,
    /// A callback whose sealed state is missing, tampered, expired or not for this front, or
    /// whose `iss` names another issuer.
    InvalidState,
    /// A relayed code grant whose `redirect_uri` is missing or not one of the front's.
    RedirectUriMismatch,
    /// The endpoint exists only in `mode = "relay"`.
    NotRelaying,
    /// A logout request with a repeated or overlong parameter, or a `post_logout_redirect_uri`
    /// without a hint or `client_id`.
    LogoutRequestInvalid,
    /// The `id_token_hint` is not one this front issued.
    IdTokenHintRefused,
    /// A logout's `client_id` is not the front's.
    LogoutClientMismatch,
    /// A logout's `post_logout_redirect_uri` is not in the front's list.
    PostLogoutRedirectUriNotListed,
    /// The IdP's discovery has no end-session endpoint, so the front offers none.
    NoIdpLogout,
    /// The sealed logout state is missing, tampered with, for another front, or expired.
    LogoutStateInvalid,
    /// The state could not be sealed (no state key, or no randomness).
    StateNotSealed,
    /// The front has no `backchannel_logout_uri`.
    NoBackchannelLogout,
    /// The IdP's `logout_token` is missing, repeated, badly signed, invalid or replayed.
    LogoutTokenRefused,
    /// The relying party didn't answer the relayed logout with a 2xx (or not at all).
    LogoutNotRelayed,
    /// Signing the relayed logout token failed.
    LogoutNotSigned,
}

impl FrontRefusal {
    pub(crate) fn code(self) -> ErrorCode {
        match self {
            FrontRefusal::UnsupportedGrantType => ErrorCode::UnsupportedGrantType,
            FrontRefusal::IdpUnavailable | FrontRefusal::IdpKeysUnavailable => {
                ErrorCode::TemporarilyUnavailable
            }
            FrontRefusal::TokensRefused | FrontRefusal::RedirectUriMismatch => {
                ErrorCode::InvalidGrant
            }
            FrontRefusal::UserinfoRefused
            | FrontRefusal::UserinfoNotSigned
            | FrontRefusal::StateNotSealed
            | FrontRefusal::LogoutNotSigned => ErrorCode::ServerError,
            FrontRefusal::InvalidAuthorizationRequest
            | FrontRefusal::InvalidState
            | FrontRefusal::NotRelaying
            | FrontRefusal::LogoutRequestInvalid
            | FrontRefusal::IdTokenHintRefused
            | FrontRefusal::LogoutClientMismatch
            | FrontRefusal::PostLogoutRedirectUriNotListed
            | FrontRefusal::NoIdpLogout
            | FrontRefusal::LogoutStateInvalid
            | FrontRefusal::NoBackchannelLogout
            | FrontRefusal::LogoutTokenRefused => ErrorCode::InvalidRequest,
            FrontRefusal::LogoutNotRelayed => ErrorCode::TemporarilyUnavailable,
        }
    }

    /// The description the relying party sees: fixed per kind, never the precise reason.
    pub(crate) fn description(self) -> &'static str {
        match self {
            FrontRefusal::UnsupportedGrantType => "only authorization_code and refresh_token",
            FrontRefusal::IdpUnavailable => "the identity provider is unavailable; retry later",
            FrontRefusal::IdpKeysUnavailable => {
                "the identity provider's keys are unavailable; retry later"
            }
            FrontRefusal::TokensRefused => "the identity provider's tokens were refused",
            FrontRefusal::UserinfoRefused => "the identity provider's userinfo was refused",
            FrontRefusal::UserinfoNotSigned => "the userinfo could not be signed",
            FrontRefusal::InvalidAuthorizationRequest => {
                "unknown client_id or redirect_uri for this front, or a repeated parameter"
            }
            FrontRefusal::InvalidState => "the state is invalid or expired; start the login again",
            FrontRefusal::RedirectUriMismatch => {
                "redirect_uri is missing or is not the one the login used"
            }
            FrontRefusal::NotRelaying => "this front does not relay the login",
            FrontRefusal::LogoutRequestInvalid => {
                "the logout request is malformed, or names a post_logout_redirect_uri without id_token_hint or client_id"
            }
            FrontRefusal::IdTokenHintRefused => "the id_token_hint was not issued by this front",
            FrontRefusal::LogoutClientMismatch => "client_id is not this front's client",
            FrontRefusal::PostLogoutRedirectUriNotListed => {
                "post_logout_redirect_uri is not registered for this front"
            }
            FrontRefusal::NoIdpLogout => {
                "this front offers no logout: the identity provider has no end_session_endpoint"
            }
            FrontRefusal::LogoutStateInvalid => "the logout state is invalid or expired",
            FrontRefusal::StateNotSealed => "the state could not be sealed",
            FrontRefusal::NoBackchannelLogout => "this front relays no back-channel logout",
            FrontRefusal::LogoutTokenRefused => "the logout token was refused",
            FrontRefusal::LogoutNotRelayed => {
                "the relying party did not accept the logout; retry later"
            }
            FrontRefusal::LogoutNotSigned => "the logout token could not be signed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [FrontRefusal; 21] = [
        FrontRefusal::InvalidAuthorizationRequest,
        FrontRefusal::InvalidState,
        FrontRefusal::RedirectUriMismatch,
        FrontRefusal::NotRelaying,
        FrontRefusal::UnsupportedGrantType,
        FrontRefusal::IdpUnavailable,
        FrontRefusal::IdpKeysUnavailable,
        FrontRefusal::TokensRefused,
        FrontRefusal::UserinfoRefused,
        FrontRefusal::UserinfoNotSigned,
        FrontRefusal::LogoutRequestInvalid,
        FrontRefusal::IdTokenHintRefused,
        FrontRefusal::LogoutClientMismatch,
        FrontRefusal::PostLogoutRedirectUriNotListed,
        FrontRefusal::NoIdpLogout,
        FrontRefusal::LogoutStateInvalid,
        FrontRefusal::StateNotSealed,
        FrontRefusal::NoBackchannelLogout,
        FrontRefusal::LogoutTokenRefused,
        FrontRefusal::LogoutNotRelayed,
        FrontRefusal::LogoutNotSigned,
    ];

    #[test]
    fn a_refused_grant_is_invalid_grant_and_an_idp_outage_temporarily_unavailable() {
        assert_eq!(FrontRefusal::TokensRefused.code(), ErrorCode::InvalidGrant);
        assert_eq!(
            FrontRefusal::UnsupportedGrantType.code(),
            ErrorCode::UnsupportedGrantType
        );
        for outage in [
            FrontRefusal::IdpUnavailable,
            FrontRefusal::IdpKeysUnavailable,
        ] {
            assert_eq!(outage.code(), ErrorCode::TemporarilyUnavailable);
        }
    }

    #[test]
    fn every_refusal_has_its_own_description() {
        let descriptions: std::collections::HashSet<&str> =
            ALL.iter().map(|refusal| refusal.description()).collect();
        assert_eq!(descriptions.len(), ALL.len());
        assert!(descriptions.iter().all(|text| !text.is_empty()));
    }
}
