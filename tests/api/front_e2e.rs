//! The two seed failures, reproduced with the software that has them and then fixed by the front:
//! oidc-provider (npm) as the IdP, express-openid-connect (npm, what MiroTalk uses) as the relying
//! party, a headless login through the IdP's login and consent pages, all on loopback. Needs
//! `tests/setup.sh` (the README's test command runs it).

use serde_json::{Value, json};
use tokenbridge::demo::legacy::{self, Expectations};

use crate::helpers::*;

/// Logs in through the RP at `rp`; returns the driver's JSON verdict.
async fn log_in(rp: &str, refresh: bool) -> Value {
    let config = json!({ "rp": rp, "username": "ada", "password": "any", "refresh": refresh });
    run_node(vec!["login.mjs".into(), config.to_string()]).await
}

fn rp(issuer: &str, client: &str) -> Node {
    Node::start(
        "rp.mjs",
        &json!({ "port": 0, "issuerBaseURL": issuer, "clientID": client, "clientSecret": format!("{client}-idp-secret-0123456789"), "baseURL": null }),
    )
}

fn callback(node: &Node) -> String {
    format!("{}/callback", node.ready["baseURL"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_seed_failures_are_reproduced_at_the_idp_and_fixed_by_the_front() {
    // tokenbridge first (its listener bound, so its URLs are known), pointing at an IdP that
    // starts later: the upstream's keys are fetched on first use.
    let idp_port = free_port();
    let idp_issuer = format!("http://127.0.0.1:{idp_port}");
    let service = Service::beside(&idp_issuer, &["mirotalk", "bookstack"], true).await;
    let base = service.base.clone();

    // The relying parties: each app once straight at the IdP, once at its front.
    let mirotalk_direct = rp(&idp_issuer, "mirotalk");
    let mirotalk_front = rp(&format!("{base}/front/mirotalk"), "mirotalk");
    let bookstack_direct = rp(&idp_issuer, "bookstack");
    let bookstack_front = rp(&format!("{base}/front/bookstack"), "bookstack");

    // The IdP: MiroTalk's ID tokens encrypted to tokenbridge's published key (Authentik's case),
    // BookStack's with five audiences (Zitadel's case).
    let _idp = Node::start(
        "idp.mjs",
        &json!({
            "port": idp_port,
            "clients": [
                {
                    "client_id": "mirotalk", "client_secret": "mirotalk-idp-secret-0123456789",
                    "redirect_uris": [callback(&mirotalk_direct), callback(&mirotalk_front)],
                    "id_token_encrypted_response_alg": "RSA-OAEP-256",
                    "id_token_encrypted_response_enc": "A256CBC-HS512",
                    "jwks_uri": format!("{base}/.well-known/encryption-keys.json"),
                },
                {
                    "client_id": "bookstack", "client_secret": "bookstack-idp-secret-0123456789",
                    "redirect_uris": [callback(&bookstack_direct), callback(&bookstack_front)],
                    "extra_audiences": ["295633918734829312", "x@grafana", "y@wiki", "z@api"],
                },
            ],
            "account": { "sub": "ada-1815", "email": "ada@example.com", "name": "Ada Lovelace", "groups": ["hosts"] },
        }),
    );
    let jwks = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let url = |node: &Node| node.ready["baseURL"].as_str().unwrap().to_owned();

    // 1. MiroTalk (express-openid-connect) straight at an IdP that encrypts ID tokens: fails.
    let direct = log_in(&url(&mirotalk_direct), false).await;
    assert_eq!(direct["ok"], false, "{direct}");
    assert!(
        direct["error"]
            .as_str()
            .unwrap_or("")
            .contains("encrypted JWTs cannot be decoded"),
        "{direct}"
    );
    // … and through the front: the login succeeds and the app sees the user.
    let fronted = log_in(&url(&mirotalk_front), true).await;
    assert_eq!(fronted["ok"], true, "{fronted}");
    let claims = &fronted["me"]["claims"];
    assert_eq!(claims["iss"], format!("{base}/front/mirotalk"));
    assert_eq!(claims["aud"], "mirotalk");
    assert_eq!(claims["sub"], "ada-1815");
    assert_eq!(claims["email"], "ada@example.com");
    // Refresh through the front returns a normalised ID token too.
    let refreshed = &fronted["refresh"];
    assert_eq!(
        refreshed["claims"]["iss"],
        format!("{base}/front/mirotalk"),
        "{refreshed}"
    );
    assert_eq!(refreshed["claims"]["aud"], "mirotalk");

    // 2. BookStack's rules on the IdP's five-audience ID token: refused.
    let direct = log_in(&url(&bookstack_direct), false).await;
    assert_eq!(
        direct["ok"], true,
        "express-openid-connect itself accepts several audiences: {direct}"
    );
    let raw_id_token = direct["me"]["id_token"].as_str().unwrap();
    let discovery: Value = reqwest::get(format!("{idp_issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let idp_jwks: Value = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let now = now();
    let refused = legacy::bookstack(
        raw_id_token,
        &Expectations {
            issuer: &idp_issuer,
            client_id: "bookstack",
            jwks: &idp_jwks,
            now,
        },
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|reason| reason.contains("Token audience value has 5 values, Expected 1")),
        "{refused:?}"
    );
    assert_eq!(
        direct["me"]["claims"]["aud"].as_array().map(Vec::len),
        Some(5)
    );
    // … and through the front: accepted.
    let fronted = log_in(&url(&bookstack_front), false).await;
    assert_eq!(fronted["ok"], true, "{fronted}");
    let front_id_token = fronted["me"]["id_token"].as_str().unwrap();
    let accepted = legacy::bookstack(
        front_id_token,
        &Expectations {
            issuer: &format!("{base}/front/bookstack"),
            client_id: "bookstack",
            jwks: &jwks,
            now,
        },
    );
    assert!(accepted.is_ok(), "{accepted:?}");
}
