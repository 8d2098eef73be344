//! The token exchange request (RFC 8693 §2.1), from a form or a JSON body.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::oauth::{GRANT_TYPE_TOKEN_EXCHANGE, TokenType};

/// What is wrong with the request itself (not its token); the name is the one the caller sent.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The body is not a form or a JSON object of strings (the payload names which).
    #[error("the body is not valid {0}")]
    Malformed(&'static str),
    /// The name is the request's: quoted, so that it reads as one value wherever it is shown.
    #[error("parameter {0:?} is repeated")]
    Repeated(String),
    /// A required parameter is absent or empty.
    #[error("parameter {0} is required")]
    Missing(&'static str),
    /// `grant_type` is not RFC 8693's.
    #[error("grant_type {0:?} is not token exchange")]
    UnsupportedGrantType(String),
    /// A token type URN tokenbridge does not take or issue.
    #[error("{field} {value:?} is not a supported token type")]
    UnsupportedTokenType {
        /// `subject_token_type` or `requested_token_type`.
        field: &'static str,
        /// The URN as sent.
        value: String,
    },
    /// `actor_token` or `actor_token_type`: delegation is not supported.
    #[error("parameter {0} is not supported by this deployment")]
    Unsupported(&'static str),
    /// RFC 6749 §5.2 `invalid_scope`: no scope is issued here.
    #[error("parameter scope is not supported by this deployment")]
    UnsupportedScope,
    /// RFC 8693 §2.2.2 `invalid_target`: no token is issued for a resource here.
    #[error("parameter resource is not supported by this deployment")]
    UnsupportedResource,
    /// Two `Authorization` headers: refused rather than one picked.
    #[error("the Authorization header is repeated")]
    RepeatedAuthorization,
    /// Two client authentication methods at once (RFC 6749 §2.3).
    #[error("client_secret in the body and HTTP Basic together")]
    TwoAuthMethods,
    /// A body `client_id` that is not the Basic one.
    #[error("client_id in the body differs from the HTTP Basic one")]
    ClientIdMismatch,
}

/// Request parameters, each present at most once. RFC 6749 §3.2: unknown parameters are ignored,
/// repeated ones refused, empty ones treated as absent.
#[derive(Debug, Default)]
pub struct RequestParams(HashMap<String, String>);

impl RequestParams {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<RequestParams, RequestError> {
        RequestParams::from_pairs(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned())),
        )
    }

    /// A JSON object of strings. Duplicate members are refused here too, which serde_json's own
    /// map would silently collapse.
    pub fn from_json(body: &[u8]) -> Result<RequestParams, RequestError> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let pairs = deserializer
            .deserialize_map(PairsVisitor)
            .map_err(|_| RequestError::Malformed("JSON object of string members"))?;
        deserializer
            .end()
            .map_err(|_| RequestError::Malformed("JSON"))?;
        let mut strings = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            match value {
                Value::String(text) => strings.push((name, text)),
                Value::Null => {}
                _ => return Err(RequestError::Malformed("JSON object of string members")),
            }
        }
        RequestParams::from_pairs(strings.into_iter())
    }

    fn from_pairs(
        pairs: impl Iterator<Item = (String, String)>,
    ) -> Result<RequestParams, RequestError> {
        let mut params = HashMap::new();
        for (name, value) in pairs {
            if params.contains_key(&name) {
                return Err(RequestError::Repeated(name));
            }
            params.insert(name, value);
        }
        params.retain(|_, value| !value.is_empty());
        Ok(RequestParams(params))
    }

    /// The parameter's value, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            pairs.push((name, value));
        }
        Ok(pairs)
    }
}

/// A parsed token exchange request.
#[derive(Debug)]
pub struct ExchangeRequest {
    /// The IdP's token, compact JWS or JWE.
    pub subject_token: String,
    /// What the caller says it is; checked against the token's own marks.
    pub subject_token_type: TokenType,
    /// The one audience asked for, an emitted value (after `rewrite`).
    pub audience: Option<String>,
    /// What to issue; the subject's type when absent.
    pub requested_token_type: Option<TokenType>,
}

/// RFC 8693 fields this deployment does not act on: refused, never silently ignored.
const UNSUPPORTED: [&str; 2] = ["actor_token", "actor_token_type"];

impl ExchangeRequest {
    /// `is_grant_type_required`: form requests must carry `grant_type` (RFC 6749 §4); JSON ones may
    /// leave it out, since the endpoint does one grant only.
    pub fn parse(
        params: &RequestParams,
        is_grant_type_required: bool,
    ) -> Result<ExchangeRequest, RequestError> {
        match params.get("grant_type") {
            Some(GRANT_TYPE_TOKEN_EXCHANGE) => {}
            Some(other) => return Err(RequestError::UnsupportedGrantType(other.to_owned())),
            None if is_grant_type_required => return Err(RequestError::Missing("grant_type")),
            None => {}
        }
        if params.get("scope").is_some() {
            return Err(RequestError::UnsupportedScope);
        }
        if params.get("resource").is_some() {
            return Err(RequestError::UnsupportedResource);
        }
        if let Some(field) = UNSUPPORTED
            .into_iter()
            .find(|field| params.get(field).is_some())
        {
            return Err(RequestError::Unsupported(field));
        }
        let subject_token = params
            .get("subject_token")
            .ok_or(RequestError::Missing("subject_token"))?;
        let subject_token_type = token_type(params, "subject_token_type")?
            .ok_or(RequestError::Missing("subject_token_type"))?;
        Ok(ExchangeRequest {
            subject_token: subject_token.to_owned(),
            subject_token_type,
            audience: params.get("audience").map(str::to_owned),
            requested_token_type: token_type(params, "requested_token_type")?,
        })
    }
}

fn token_type(
    params: &RequestParams,
    field: &'static str,
) -> Result<Option<TokenType>, RequestError> {
    params
        .get(field)
        .map(|urn| {
            TokenType::parse(urn).ok_or_else(|| RequestError::UnsupportedTokenType {
                field,
                value: urn.to_owned(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=a.b.c&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token";

    #[test]
    fn a_form_request_parses() {
        let request =
            ExchangeRequest::parse(&RequestParams::from_form(FORM.as_bytes()).unwrap(), true)
                .unwrap();
        assert_eq!(request.subject_token, "a.b.c");
        assert_eq!(request.subject_token_type, TokenType::IdToken);
        assert_eq!(request.audience, None);
    }

    #[test]
    fn repeated_parameters_are_refused_in_both_encodings() {
        let form = format!("{FORM}&audience=a&audience=b");
        assert!(matches!(
            RequestParams::from_form(form.as_bytes()),
            Err(RequestError::Repeated(_))
        ));
        let json = br#"{"subject_token":"a","subject_token":"b"}"#;
        assert!(matches!(
            RequestParams::from_json(json),
            Err(RequestError::Repeated(_))
        ));
    }

    #[test]
    fn json_members_must_be_strings() {
        assert!(RequestParams::from_json(br#"{"audience":["a","b"]}"#).is_err());
        assert!(RequestParams::from_json(br#"["a"]"#).is_err());
        assert!(RequestParams::from_json(br#"{"a":"b"} x"#).is_err());
    }

    #[test]
    fn unsupported_fields_are_refused_not_ignored() {
        let form = format!("{FORM}&scope=openid");
        let params = RequestParams::from_form(form.as_bytes()).unwrap();
        assert!(matches!(
            ExchangeRequest::parse(&params, true),
            Err(RequestError::UnsupportedScope)
        ));
    }

    #[test]
    fn grant_type_is_required_in_forms_only() {
        let body = br#"{"subject_token":"a.b.c","subject_token_type":"urn:ietf:params:oauth:token-type:jwt"}"#;
        let params = RequestParams::from_json(body).unwrap();
        assert!(ExchangeRequest::parse(&params, false).is_ok());
        assert!(matches!(
            ExchangeRequest::parse(&params, true),
            Err(RequestError::Missing("grant_type"))
        ));
    }
}
