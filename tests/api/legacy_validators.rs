//! A real OpenID provider's tokens, the validators legacy relying parties run, side by side:
//! oidc-provider (npm) issues ID tokens after a real authorization-code login over HTTP (no
//! browser); the raw tokens go to node `jsonwebtoken`, openid-client as express-openid-connect
//! sets it up, and PyJWT with `PyJWKClient`; then the same tokens are exchanged at `/exchange`
//! and the issued ones go to the same validators. Needs `tests/setup.sh`.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// Runs every legacy validator, configured for `issuer` and `audience`, over `tokens`; returns
/// one verdict per validator and token, each naming its `validator` and `case`.
pub(crate) async fn legacy_verdicts(issuer: &str, audience: &str, tokens: &[Value]) -> Vec<Value> {
    let input = json!({ "issuer": issuer, "audience": audience, "tokens": tokens });
    let mut node = Command::new("node");
    node.arg("validators.mjs").current_dir(interop_dir());
    let mut python = Command::new(venv_python());
    python.arg("pyjwt_validate.py").current_dir(interop_dir());
    let (node, python) = tokio::join!(
        run_to_json(node, Some(input.clone())),
        run_to_json(python, Some(input)),
    );
    let mut verdicts = node["results"].as_array().unwrap().clone();
    verdicts.extend(python["results"].as_array().unwrap().iter().cloned());
    assert_eq!(
        verdicts.len(),
        tokens.len() * 4,
        "jsonwebtoken, openid-client, PyJWT and PyJWT strict_aud judged every token"
    );
    verdicts
}

fn verdict<'a>(verdicts: &'a [Value], validator: &str, case: &str) -> &'a Value {
    verdicts
        .iter()
        .find(|v| v["validator"] == validator && v["case"] == case)
        .unwrap_or_else(|| panic!("no verdict of {validator} on {case}"))
}

/// Logs in at the IdP as the bare OAuth client `client`; returns the token response and nonce.
pub(crate) async fn log_in_directly(idp: &str, client: &str) -> (Value, String) {
    let args = json!({
        "idp": idp, "client_id": client, "client_secret": format!("{client}-idp-secret-0123456789"),
        "redirect_uri": REDIRECT_URI, "username": "ada", "password": "any",
    });
    let login = run_node(vec!["login.mjs".into(), args.to_string()]).await;
    assert_eq!(login["ok"], true, "login at the IdP as {client}: {login}");
    (
        login["tokens"].clone(),
        login["nonce"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_ops_tokens_fail_the_legacy_validators_and_pass_once_exchanged() {
    // tokenbridge first, so the IdP can fetch its encryption keys by URL as Keycloak does.
    let idp_port = free_port();
    let idp_issuer = format!("http://127.0.0.1:{idp_port}");
    let service = Service::beside(&idp_issuer, &["mirotalk", "bookstack"], false).await;
    let base = service.base.clone();

    // The IdP: mirotalk's ID tokens encrypted (RSA-OAEP-256) to the key oidc-provider fetches
    // from tokenbridge's /.well-known/encryption-keys.json (Authentik's case); bookstack's
    // signed with five audiences (Zitadel's case).
    let _idp = Node::start(
        "idp.mjs",
        &json!({
            "port": idp_port,
            "clients": [
                {
                    "client_id": "mirotalk", "client_secret": "mirotalk-idp-secret-0123456789",
                    "redirect_uris": [REDIRECT_URI],
                    "id_token_encrypted_response_alg": "RSA-OAEP-256",
                    "id_token_encrypted_response_enc": "A256CBC-HS512",
                    "jwks_uri": format!("{base}/.well-known/encryption-keys.json"),
                },
                {
                    "client_id": "bookstack", "client_secret": "bookstack-idp-secret-0123456789",
                    "redirect_uris": [REDIRECT_URI],
                    "extra_audiences": ["295633918734829312", "x@grafana", "y@wiki", "z@api"],
                },
            ],
            "account": { "sub": "ada-1815", "email": "ada@example.com", "name": "Ada Lovelace" },
        }),
    );

    // 1. Authentik's case: a JWE ID token from a real code-flow login.
    let (tokens, nonce) = log_in_directly(&idp_issuer, "mirotalk").await;
    let raw_jwe = tokens["id_token"].as_str().unwrap();
    let header = protected_header(raw_jwe);
    assert_eq!(
        raw_jwe.split('.').count(),
        5,
        "oidc-provider sent a compact JWE"
    );
    assert_eq!(header["alg"], "RSA-OAEP-256", "{header}");
    let raw = [json!({ "case": "raw JWE from oidc-provider", "token": raw_jwe, "nonce": nonce })];
    let refused = legacy_verdicts(&idp_issuer, "mirotalk", &raw).await;
    for v in &refused {
        assert_eq!(
            v["ok"], false,
            "made by oidc-provider (JWE), accepted by {}: {v}",
            v["validator"]
        );
    }
    assert!(
        verdict(&refused, "openid-client", "raw JWE from oidc-provider")["error"]
            .as_str()
            .unwrap()
            .contains("encrypted JWTs cannot be decoded"),
        "MiroTalk's failure, as its library words it: {refused:?}"
    );

    let answer = service.exchange("mirotalk", raw_jwe, &[]).await;
    assert_eq!(
        answer.status, 200,
        "made by oidc-provider (JWE), refused by tokenbridge: {}",
        answer.body
    );
    let issued = [json!({ "case": "the JWE, exchanged", "token": answer.token(), "nonce": nonce })];
    for v in legacy_verdicts(&base, "mirotalk", &issued).await {
        assert_eq!(
            v["ok"], true,
            "made by tokenbridge from oidc-provider's JWE, refused by {}: {v}",
            v["validator"]
        );
        assert_eq!(v["aud"], "mirotalk", "{v}");
        assert_eq!(v["sub"], "ada-1815", "{v}");
    }

    // 2. Zitadel's case: a signed ID token with five audiences.
    let (tokens, _) = log_in_directly(&idp_issuer, "bookstack").await;
    let raw_five = tokens["id_token"].as_str().unwrap();
    let case = "raw five-audience JWS from oidc-provider";
    let judged = legacy_verdicts(
        &idp_issuer,
        "bookstack",
        &[json!({ "case": case, "token": raw_five })],
    )
    .await;
    // The strict single-audience rule (BookStack's, PyJWT's strict_aud) refuses it …
    let strict = verdict(&judged, "PyJWT strict_aud", case);
    assert_eq!(
        strict["ok"], false,
        "made by oidc-provider (five audiences), accepted by PyJWT strict_aud: {strict}"
    );
    assert!(
        strict["error"]
            .as_str()
            .unwrap()
            .starts_with("InvalidAudienceError"),
        "{strict}"
    );
    // … while the any-match validators take it: their rule is "our client id is in aud" (and
    // openid-client's "azp is us"), which is why keeping aud[0] seemed to work, and why a token
    // meant for every app in the project passes them.
    for lenient in ["jsonwebtoken", "openid-client", "PyJWT"] {
        let v = verdict(&judged, lenient, case);
        assert_eq!(v["ok"], true, "{lenient} matches any audience: {v}");
        assert_eq!(v["aud"].as_array().map(Vec::len), Some(5), "{v}");
    }

    let answer = service.exchange("bookstack", raw_five, &[]).await;
    assert_eq!(
        answer.status, 200,
        "made by oidc-provider (five audiences), refused by tokenbridge: {}",
        answer.body
    );
    let issued = [json!({ "case": "the five-audience token, exchanged", "token": answer.token() })];
    for v in legacy_verdicts(&base, "bookstack", &issued).await {
        assert_eq!(
            v["ok"], true,
            "made by tokenbridge from oidc-provider's token, refused by {}: {v}",
            v["validator"]
        );
        assert_eq!(v["aud"], "bookstack", "one audience, a string: {v}");
    }
}
