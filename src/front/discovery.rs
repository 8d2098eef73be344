//! A front's discovery document: the IdP's authorization and logout endpoints (the browser logs
//! in there), the front's token and userinfo endpoints, tokenbridge's JWKS.

use serde_json::{Map, Value, json};

use super::{Front, FrontError};

/// Members copied from the IdP's document when it has them: they describe the login, which
/// still happens at the IdP.
const FROM_IDP: [&str; 7] = [
    "end_session_endpoint",
    "response_types_supported",
    "response_modes_supported",
    "scopes_supported",
    "claims_supported",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
];

pub(crate) async fn front_discovery(
    front: &Front,
    tokenbridge_issuer: &str,
) -> Result<Value, FrontError> {
    let idp = front.upstream.discovery.document().await?;
    let authorization = front
        .endpoint_in(&idp, "authorization_endpoint")
        .ok_or(FrontError::NoEndpoint("authorization_endpoint"))?;
    let issuer = &front.issuer;
    let mut document = Map::new();
    document.insert("issuer".into(), json!(issuer));
    document.insert(
        "authorization_endpoint".into(),
        json!(authorization.as_str()),
    );
    for member in FROM_IDP {
        if let Some(value) = idp.get(member) {
            let is_endpoint = member.ends_with("_endpoint");
            if !is_endpoint || front.endpoint_in(&idp, member).is_some() {
                document.insert(member.into(), value.clone());
            }
        }
    }
    document.insert("token_endpoint".into(), json!(format!("{issuer}/token")));
    document.insert(
        "userinfo_endpoint".into(),
        json!(format!("{issuer}/userinfo")),
    );
    document.insert(
        "jwks_uri".into(),
        json!(format!("{tokenbridge_issuer}/.well-known/jwks.json")),
    );
    document.insert(
        "grant_types_supported".into(),
        json!(["authorization_code", "refresh_token"]),
    );
    document.insert("subject_types_supported".into(), json!(["public"]));
    let alg = front.client.config.signing_alg.name();
    document.insert("id_token_signing_alg_values_supported".into(), json!([alg]));
    if front.config.is_userinfo_jwt {
        document.insert("userinfo_signing_alg_values_supported".into(), json!([alg]));
    }
    // RFC 9207: the authorization response comes from the IdP, so an `iss` in it would name the
    // IdP, not this front. Relying parties that check it would refuse the login.
    document.insert(
        "authorization_response_iss_parameter_supported".into(),
        json!(false),
    );
    if front.config.backchannel_logout_uri.is_some() {
        // Back-Channel Logout §2.1: the front relays the IdP's logout tokens, `sid` included.
        document.insert("backchannel_logout_supported".into(), json!(true));
        document.insert("backchannel_logout_session_supported".into(), json!(true));
    }
    document
        .entry("response_types_supported")
        .or_insert_with(|| json!(["code"]));
    Ok(Value::Object(document))
}
