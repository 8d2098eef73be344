//! A front's plain JSON userinfo: the IdP's claims about the user pass, shaped by the same rules
//! as the ID token; what only tokenbridge decides (the ten protected claims) never does.

use serde_json::json;

use crate::helpers::*;

fn plain_userinfo_front() -> Options {
    Options {
        policy: format!(
            r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true

[[client]]
id = "bookstack"
secret = {{ sha256 = "{digest}" }}
upstreams = ["idp"]
audiences = ["bookstack"]
claims = [{{ copy = "groups", to = "roles" }}]

[[front]]
client = "bookstack"
upstream = "idp"
"#,
            digest = digest("bookstack"),
        ),
        ..Options::default()
    }
}

#[tokio::test]
async fn the_protected_claims_of_an_idps_userinfo_never_reach_the_relying_party() {
    let app = spawn_app_with(plain_userinfo_front()).await;
    app.idp.answer_userinfo(
        200,
        "application/json",
        r#"{"sub":"user-1","email":"ada@example.com","groups":["g"],
        "iss":"x","aud":"y","exp":1,"iat":1,"nbf":1,"jti":"j",
        "azp":"another-client","at_hash":"a","c_hash":"c","s_hash":"s"}"#,
    );

    let answer = send(
        app.http
            .get(app.url("/front/bookstack/userinfo"))
            .bearer_auth("user-access-token"),
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "sub": "user-1", "email": "ada@example.com", "groups": ["g"], "roles": ["g"] })
    );
}
