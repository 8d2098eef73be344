//! A front's discovery document: where the browser logs in (the IdP's authorization endpoint, or
//! the front's own in relay mode), the front's token and userinfo endpoints, tokenbridge's JWKS,
//! and only what the front can carry.

use serde_json::{Map, Value, json};

use super::{Front, FrontError};
use crate::config::FrontMode;

/// Members copied from the IdP's document when it has them: they describe the login, which
/// still happens at the IdP.
const FROM_IDP: [&str; 4] = [
    "end_session_endpoint",
    "scopes_supported",
    "claims_supported",
    "code_challenge_methods_supported",
];

/// The client authentication methods the front can carry to the IdP: it passes the RP's
/// `Authorization` header or form fields on. A `private_key_jwt` or `client_secret_jwt`
/// assertion would be made out to the front's issuer, which the IdP must refuse (RFC 7523 §3).
const CARRIED_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

pub(crate) async fn front_discovery(
    front: &Front,
    tokenbridge_issuer: &str,
) -> Result<Value, FrontError> {
    let idp = front.upstream.discovery.document().await?;
    let idp_authorization = front
        .endpoint_in(&idp, "authorization_endpoint")
        .ok_or(FrontError::NoEndpoint("authorization_endpoint"))?;
    let is_relay = front.config.mode == FrontMode::Relay;
    let authorization = if is_relay {
        format!("{}/authorize", front.issuer)
    } else {
        idp_authorization.to_string()
    };
    let issuer = &front.issuer;
    let mut document = Map::new();
    document.insert("issuer".into(), json!(issuer));
    document.insert("authorization_endpoint".into(), json!(authorization));
    for member in FROM_IDP {
        if let Some(value) = idp.get(member) {
            let is_endpoint = member.ends_with("_endpoint");
            if !is_endpoint || front.endpoint_in(&idp, member).is_some() {
                document.insert(member.into(), value.clone());
            }
        }
    }
    // RP-Initiated Logout: the relying party's hint is tokenbridge's ID token, which only the
    // front can check, so the front's own endpoint stands where the IdP's was (and only then).
    if document.remove("end_session_endpoint").is_some() {
        document.insert(
            "end_session_endpoint".into(),
            json!(format!("{issuer}/logout")),
        );
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
    // RFC 9207: in relay mode the front's callback answers the RP and names itself; in
    // pass-through the answer comes from the IdP and would name the IdP.
    document.insert(
        "authorization_response_iss_parameter_supported".into(),
        json!(is_relay),
    );
    // Only the code flow: implicit and hybrid would hand the IdP's raw tokens to the RP through
    // the browser, past the pipeline.
    document.insert("response_types_supported".into(), json!(["code"]));
    if is_relay {
        // The relay's callback reads the IdP's answer from the query.
        document.insert("response_modes_supported".into(), json!(["query"]));
    } else if let Some(modes) = idp.get("response_modes_supported") {
        document.insert("response_modes_supported".into(), modes.clone());
    }
    document.insert(
        "token_endpoint_auth_methods_supported".into(),
        json!(carried_auth_methods(&idp)),
    );
    if front.config.backchannel_logout_uri.is_some() {
        // Back-Channel Logout §2.1: the front relays the IdP's logout tokens, `sid` included.
        document.insert("backchannel_logout_supported".into(), json!(true));
        document.insert("backchannel_logout_session_supported".into(), json!(true));
    }
    Ok(Value::Object(document))
}

/// The IdP's token-endpoint auth methods the front can carry; RFC 8414 §2's default
/// (`client_secret_basic`) when the IdP lists none.
fn carried_auth_methods(idp: &Map<String, Value>) -> Vec<&'static str> {
    let listed = idp
        .get("token_endpoint_auth_methods_supported")
        .and_then(Value::as_array);
    match listed {
        None => vec!["client_secret_basic"],
        Some(methods) => CARRIED_AUTH_METHODS
            .into_iter()
            .filter(|carried| methods.iter().any(|method| method == carried))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn only_the_auth_methods_the_front_can_carry_are_advertised() {
        let methods = json!({ "token_endpoint_auth_methods_supported": [
            "private_key_jwt", "client_secret_jwt", "client_secret_post", "tls_client_auth",
            "client_secret_basic", "none"
        ]});
        assert_eq!(
            carried_auth_methods(&idp(methods)),
            vec!["client_secret_basic", "client_secret_post", "none"]
        );
        let only_jwt = json!({ "token_endpoint_auth_methods_supported": ["private_key_jwt"] });
        assert!(carried_auth_methods(&idp(only_jwt)).is_empty());
        assert_eq!(
            carried_auth_methods(&Map::new()),
            vec!["client_secret_basic"]
        );
    }
}
