//! Client authentication data from the request: `client_secret_basic` xor `client_secret_post`
//! (RFC 6749 §2.3.1), never both.

use actix_web::HttpRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use crate::clients::{AuthError, ClientCredentials};
use crate::exchange::{ExchangeError, RequestError, RequestParams};
use crate::oauth::ClientSecret;

/// The request's one `Authorization` header, if it has one. Two are refused rather than one
/// picked: RFC 9110 §5.3 lets only list-valued fields repeat, which Authorization is not, and a
/// proxy in front could have checked the other one.
pub(super) fn single_authorization(
    request: &HttpRequest,
) -> Result<Option<&HeaderValue>, RequestError> {
    let mut values = request.headers().get_all(AUTHORIZATION);
    let first = values.next();
    if values.next().is_some() {
        return Err(RequestError::RepeatedAuthorization);
    }
    Ok(first)
}

pub(super) fn client_credentials(
    request: &HttpRequest,
    params: &RequestParams,
) -> Result<ClientCredentials, ExchangeError> {
    let Some(header) = single_authorization(request)? else {
        return match (params.get("client_id"), params.get("client_secret")) {
            (Some(client_id), Some(secret)) => Ok(ClientCredentials {
                client_id: client_id.to_owned(),
                secret: ClientSecret::new(secret.to_owned()),
            }),
            _ => Err(AuthError::Missing.into()),
        };
    };
    if params.get("client_secret").is_some() {
        return Err(RequestError::TwoAuthMethods.into());
    }
    let credentials = basic_credentials(header.to_str().unwrap_or_default())?;
    if params
        .get("client_id")
        .is_some_and(|client_id| client_id != credentials.client_id)
    {
        return Err(RequestError::ClientIdMismatch.into());
    }
    Ok(credentials)
}

fn basic_credentials(header: &str) -> Result<ClientCredentials, AuthError> {
    let (scheme, encoded) = header
        .split_once(' ')
        .ok_or(AuthError::Malformed("no scheme"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::Malformed("not the Basic scheme"));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthError::Malformed("not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed("not UTF-8"))?;
    let (client_id, secret) = decoded
        .split_once(':')
        .ok_or(AuthError::Malformed("no ':'"))?;
    Ok(ClientCredentials {
        client_id: form_decode(client_id)?,
        secret: ClientSecret::new(form_decode(secret)?),
    })
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined by ':'.
fn form_decode(text: &str) -> Result<String, AuthError> {
    percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| AuthError::Malformed("bad percent-encoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:p%3Ass+word"));
        let credentials = basic_credentials(&header).unwrap();
        assert_eq!(credentials.client_id, "my app");
        assert!(
            credentials
                .secret
                .digest()
                .matches(&ClientSecret::new("p:ss word".into()).digest())
        );
    }

    #[test]
    fn other_schemes_and_garbage_are_malformed() {
        for header in [
            "Bearer abc",
            "Basic !!!",
            "Basic",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            assert!(basic_credentials(header).is_err(), "{header}");
        }
    }
}
