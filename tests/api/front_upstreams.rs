//! A front takes tokens from its own upstream only, even when its client may use another: the
//! ID token in a token answer and a signed userinfo answer from the other upstream are refused,
//! though `/exchange` takes the very same token for that client.

use std::sync::Arc;

use serde_json::{Value, json};
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::IdpKey;

use crate::helpers::*;

/// The main demo IdP (the front's upstream) and a second one the client may also use.
struct TwoUpstreams {
    app: TestApp,
    other: DemoIdp,
    other_key: Arc<IdpKey>,
}

async fn two_upstreams() -> TwoUpstreams {
    let other_key = rotated_idp_key();
    let other = DemoIdp::start(&[&other_key]).unwrap();
    let policy = format!(
        r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true

[[upstream]]
name = "other"
issuer = "{other}"
danger_allow_http = true

[[client]]
id = "bookstack"
secret = {{ sha256 = "{digest}" }}
upstreams = ["idp", "other"]
audiences = ["bookstack"]

[[front]]
client = "bookstack"
upstream = "idp"
"#,
        other = other.issuer(),
        digest = digest("bookstack"),
    );
    let app = spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await;
    TwoUpstreams {
        app,
        other,
        other_key,
    }
}

impl TwoUpstreams {
    /// A token of the other upstream, signed with its key.
    fn others_token(&self) -> String {
        let mut claims = self.app.claims(json!("bookstack"), json!({}));
        claims["iss"] = Value::String(self.other.issuer().to_owned());
        self.other_key.sign(&claims, &json!({})).unwrap()
    }
}

#[tokio::test]
async fn an_id_token_from_the_clients_other_upstream_is_refused_by_the_front() {
    let world = two_upstreams().await;
    let app = &world.app;
    let token = world.others_token();
    app.idp.answer_token(
        200,
        &json!({ "access_token": "at", "token_type": "Bearer", "id_token": token }),
    );

    let front = send(
        app.http
            .post(app.url("/front/bookstack/token"))
            .basic_auth("bookstack", Some("the-rps-own-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=authorization_code&code=c"),
    )
    .await;
    let exchanged = app.exchange("bookstack", &token, &[]).await;

    front.assert_refused(400, "invalid_grant");
    assert_eq!(
        exchanged.status, 200,
        "the same token is good for the client at /exchange: {}",
        exchanged.body
    );
    let logs = captured_logs();
    assert!(
        logs.lines().any(|line| line.contains("front token")
            && line.contains("may not exchange tokens from upstream")
            && line.contains("other")),
        "the audit line names the other upstream"
    );
}

#[tokio::test]
async fn a_signed_userinfo_from_the_clients_other_upstream_is_refused_by_the_front() {
    let world = two_upstreams().await;
    let app = &world.app;
    let userinfo = |token: String| async move {
        app.idp.answer_userinfo(200, "application/jwt", &token);
        send(
            app.http
                .get(app.url("/front/bookstack/userinfo"))
                .bearer_auth("user-access-token"),
        )
        .await
    };

    let from_other = userinfo(world.others_token()).await;
    let from_own = userinfo(app.id_token(json!("bookstack"), json!({}))).await;

    from_other.assert_refused(502, "server_error");
    assert_eq!(from_own.status, 200, "{}", from_own.body);
    assert_eq!(from_own.body["sub"], "user-1");
}
