//! `{front}/backchannel-logout`: the demo IdP's logout token is verified, re-signed as the front
//! and POSTed to a relying party's receiver on loopback; the IdP hears 200 only when the RP took
//! it (a 2xx), with `sub` and `sid` as the claim rules shape them. The refusals are in
//! front_backchannel_refusals.rs.

use std::sync::Arc;

use serde_json::{Value, json};
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::IdpKey;
use tokenbridge::jose::alg::JwsAlg;

use crate::helpers::*;

pub(crate) const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The demo IdP as the front's upstream, another IdP the client may also use, the RP's receiver.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) rp: Receiver,
    pub(crate) other: DemoIdp,
    pub(crate) other_key: Arc<IdpKey>,
}

pub(crate) async fn world() -> World {
    let rp = Receiver::start().await;
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
secret = {{ sha256 = "{bookstack}" }}
upstreams = ["idp", "other"]
audiences = ["bookstack"]

[[front]]
client = "bookstack"
upstream = "idp"
backchannel_logout_uri = "{rp}"

[[client]]
id = "mirotalk"
secret = {{ sha256 = "{mirotalk}" }}
upstreams = ["idp"]
audiences = ["mirotalk"]

[[front]]
client = "mirotalk"
upstream = "idp"

[[client]]
id = "grafana"
secret = {{ sha256 = "{grafana}" }}
upstreams = ["idp"]
audiences = ["grafana"]
claims = [{{ sub_from = "preferred_username" }}]

[[front]]
client = "grafana"
upstream = "idp"
backchannel_logout_uri = "{rp}"

[[client]]
id = "wiki"
secret = {{ sha256 = "{wiki}" }}
upstreams = ["idp"]
audiences = ["wiki"]
claims = [{{ drop = ["sid"] }}]
max_ttl = "60s"

[[front]]
client = "wiki"
upstream = "idp"
backchannel_logout_uri = "{rp}"
"#,
        other = other.issuer(),
        bookstack = digest("bookstack"),
        mirotalk = digest("mirotalk"),
        grafana = digest("grafana"),
        wiki = digest("wiki"),
        rp = rp.url,
    );
    let app = spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await;
    World {
        app,
        rp,
        other,
        other_key,
    }
}

impl World {
    /// A good logout token's claims from the demo IdP, with `changes` (null removes a claim).
    pub(crate) fn claims(&self, changes: Value) -> Value {
        let now = self.app.now();
        let mut claims = json!({
            "iss": self.app.idp.issuer(),
            "aud": "bookstack",
            "iat": now,
            "exp": now + 120,
            "jti": format!("idp-jti-{}", rand_suffix()),
            "events": { (EVENT): {} },
            "sub": "user-1",
            "sid": "session-1",
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    pub(crate) fn logout_token(&self, changes: Value) -> String {
        idp_key(JwsAlg::RS256)
            .sign(&self.claims(changes), &json!({"typ": "logout+jwt"}))
            .unwrap()
    }

    /// A good logout token for another front's relying party.
    pub(crate) fn logout_token_for(&self, aud: &str, changes: Value) -> String {
        let mut claims = self.claims(changes);
        claims["aud"] = json!(aud);
        idp_key(JwsAlg::RS256)
            .sign(&claims, &json!({"typ": "logout+jwt"}))
            .unwrap()
    }

    pub(crate) async fn post(&self, front: &str, token: &str) -> Answer {
        send(
            self.app
                .http
                .post(self.app.url(&format!("/front/{front}/backchannel-logout")))
                .form(&[("logout_token", token)]),
        )
        .await
    }

    /// Posts `token` and checks that it was refused and that nothing reached the RP.
    pub(crate) async fn assert_refused(&self, token: &str) {
        let answer = self.post("bookstack", token).await;
        answer.assert_refused(400, "invalid_request");
        assert_eq!(answer.headers["cache-control"], "no-store");
        assert!(self.rp.received().is_empty(), "{:?}", self.rp.received());
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", now(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The relayed logout token, verified by jsonwebtoken against tokenbridge's published JWKS.
async fn verify_relayed(app: &TestApp, token: &str) -> (jsonwebtoken::Header, Value) {
    verify_relayed_for(app, "bookstack", token).await
}

async fn verify_relayed_for(
    app: &TestApp,
    front: &str,
    token: &str,
) -> (jsonwebtoken::Header, Value) {
    use jsonwebtoken::{DecodingKey, Validation, decode_header, jwk::JwkSet};
    let jwks: JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap();
    let header = decode_header(token).unwrap();
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[front]);
    validation.set_issuer(&[app.url(&format!("/front/{front}"))]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    (header, claims)
}

fn relayed_token(body: &str) -> String {
    form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .unwrap()
}

#[tokio::test]
async fn the_idps_logout_token_reaches_the_rp_re_signed_by_the_front() {
    let world = world().await;
    let token = world.logout_token(json!({}));
    let original_jti = decode(&token).1["jti"].clone();

    let answer = world.post("bookstack", &token).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let received = world.rp.received();
    assert_eq!(received.len(), 1);
    let (content_type, body) = &received[0];
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let relayed = relayed_token(body);
    let (header, claims) = verify_relayed(&world.app, &relayed).await;
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(claims["iss"], world.app.url("/front/bookstack"));
    assert_eq!(claims["aud"], "bookstack");
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["sid"], "session-1");
    assert_eq!(claims["events"], json!({ (EVENT): {} }));
    assert!(claims["jti"].is_string() && claims["jti"] != original_jti);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn the_relayed_token_passes_express_openid_connects_own_checks_with_npm_jose() {
    let world = world().await;
    assert_eq!(
        world
            .post("bookstack", &world.logout_token(json!({})))
            .await
            .status,
        200
    );
    let relayed = relayed_token(&world.rp.received()[0].1);

    let mut node = std::process::Command::new("node");
    node.arg("logout_token_validator.mjs")
        .current_dir(interop_dir());
    let input = json!({
        "issuer": world.app.url("/front/bookstack"),
        "audience": "bookstack",
        "token": relayed,
    });
    let verdicts = run_to_json(node, Some(input)).await;

    let results = verdicts["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{verdicts}");
    for result in results {
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["typ"], "logout+jwt", "{result}");
    }
}

#[tokio::test]
async fn the_idp_hears_200_only_when_the_rp_took_it_and_may_then_retry() {
    let world = world().await;
    let token = world.logout_token(json!({}));
    for refusal in [400, 500, 302] {
        world.rp.answer_next(refusal);
    }
    // express-openid-connect answers a logout it took with 204.
    world.rp.answer_next(204);

    let mut refused = Vec::new();
    for _ in 0..3 {
        refused.push(world.post("bookstack", &token).await);
    }
    let retried = world.post("bookstack", &token).await;
    let replayed = world.post("bookstack", &token).await;

    for refused in refused {
        refused.assert_refused(400, "temporarily_unavailable");
    }
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.headers["cache-control"], "no-store");
    replayed.assert_refused(400, "invalid_request");
    assert_eq!(
        world.rp.received().len(),
        4,
        "the replay never reached the RP"
    );
}

#[tokio::test]
async fn discovery_advertises_back_channel_logout_only_where_it_is_relayed() {
    let world = world().await;

    let relayed = world
        .app
        .get_json("/front/bookstack/.well-known/openid-configuration")
        .await;
    let not_relayed = world
        .app
        .get_json("/front/mirotalk/.well-known/openid-configuration")
        .await;

    assert_eq!(relayed["backchannel_logout_supported"], true);
    assert_eq!(relayed["backchannel_logout_session_supported"], true);
    assert!(not_relayed.get("backchannel_logout_supported").is_none());
    assert!(
        not_relayed
            .get("backchannel_logout_session_supported")
            .is_none()
    );
}

#[tokio::test]
async fn a_sub_the_claim_rules_derive_from_another_claim_is_left_out_and_sid_carries_the_logout() {
    let world = world().await;

    let with_sid = world
        .post("grafana", &world.logout_token_for("grafana", json!({})))
        .await;
    let sub_only = world
        .post(
            "grafana",
            &world.logout_token_for("grafana", json!({"sid": null})),
        )
        .await;

    assert_eq!(with_sid.status, 200, "{}", with_sid.body);
    sub_only.assert_refused(400, "invalid_request");
    let received = world.rp.received();
    assert_eq!(received.len(), 1, "the sub-only token never reached the RP");
    let (_, claims) =
        verify_relayed_for(&world.app, "grafana", &relayed_token(&received[0].1)).await;
    assert_eq!(claims["sid"], "session-1");
    assert!(claims.get("sub").is_none(), "{claims}");
}

#[tokio::test]
async fn a_client_rule_that_drops_sid_drops_it_from_the_relayed_token_too_and_max_ttl_caps_it() {
    let world = world().await;

    let answer = world
        .post("wiki", &world.logout_token_for("wiki", json!({})))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let received = world.rp.received();
    let (_, claims) = verify_relayed_for(&world.app, "wiki", &relayed_token(&received[0].1)).await;
    assert_eq!(claims["sub"], "user-1");
    assert!(claims.get("sid").is_none(), "{claims}");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 60, "the client's max_ttl caps the relayed token");
}

#[tokio::test]
async fn a_logout_token_taken_before_a_reload_is_still_a_replay_after_it() {
    let world = world().await;
    let token = world.logout_token(json!({}));
    assert_eq!(world.post("bookstack", &token).await.status, 200);

    world.app.reloader.reload().await.unwrap();

    world
        .post("bookstack", &token)
        .await
        .assert_refused(400, "invalid_request");
    assert_eq!(
        world.rp.received().len(),
        1,
        "the replay never reached the RP"
    );
}
