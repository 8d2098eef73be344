//! Opaque subject tokens checked by introspection (RFC 7662) at a real OpenID provider:
//! oidc-provider (npm) issues opaque access tokens after a real code-flow login and answers
//! introspection as tokenbridge's own client. Needs `tests/setup.sh`.

use std::time::Duration;

use serde_json::json;
use tokenbridge::clock::ManualClock;

use crate::helpers::*;
use crate::legacy_validators::log_in_directly;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const INTROSPECTION_SECRET: &str = "tokenbridge-idp-secret-0123456789";

fn sections(idp_issuer: &str, secret_file: &std::path::Path) -> String {
    format!(
        r#"{TELEMETRY_LISTENER}
[keys]
dir = "{{dir}}"

[[upstream]]
name = "op"
issuer = "{idp_issuer}"
danger_allow_http = true
# oidc-provider's opaque access tokens name their client in client_id; aud only with a resource.
audience_claims = ["aud", "client_id"]

[upstream.introspection]
client_id = "tokenbridge"
client_secret = {{ file = "{secret}" }}
cache_ttl = "30s"

[[client]]
id = "api"
secret = {{ sha256 = "{digest}" }}
upstreams = ["op"]
audiences = ["wiki"]
"#,
        secret = secret_file.display(),
        digest = digest("api"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opaque_access_token_is_introspected_cached_and_refused_when_inactive_or_unreachable() {
    let idp = Node::start(
        "idp.mjs",
        &json!({
            "port": 0,
            "clients": [
                { "client_id": "wiki", "client_secret": "wiki-idp-secret-0123456789", "redirect_uris": [REDIRECT_URI] },
                { "client_id": "tokenbridge", "client_secret": INTROSPECTION_SECRET, "redirect_uris": [REDIRECT_URI] },
            ],
            "account": { "sub": "ada-1815", "email": "ada@example.com", "name": "Ada Lovelace" },
        }),
    );
    let idp_issuer = idp.ready["issuer"].as_str().unwrap().to_owned();
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("introspection-secret");
    std::fs::write(&secret_file, format!("{INTROSPECTION_SECRET}\n")).unwrap();
    let clock = ManualClock::at(now());
    let service =
        Service::start_with_clock(&sections(&idp_issuer, &secret_file), clock.clone()).await;

    let (tokens, _) = log_in_directly(&idp_issuer, "wiki").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert!(
        !access_token.contains('.'),
        "oidc-provider's access token is opaque: {access_token}"
    );

    // Introspected: active, iss the upstream's, exp ahead, client_id the audience.
    let answer = service
        .exchange_typed("api", access_token, ACCESS_TOKEN, &[])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let (_, claims) = decode(answer.token());
    assert_eq!(claims["sub"], "ada-1815");
    assert_eq!(claims["aud"], "wiki");
    assert_eq!(claims["iss"], service.base);

    // Only as an access token: an ID token is a JWT.
    service
        .exchange_typed("api", access_token, ID_TOKEN, &[])
        .await
        .assert_refused(400, "invalid_request");
    // A refresh token is introspectable too, but is never a subject token.
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    service
        .exchange_typed("api", refresh_token, ACCESS_TOKEN, &[])
        .await
        .assert_refused(400, "invalid_request");
    // Unknown to the IdP: active false.
    service
        .exchange_typed("api", "Q2xlYXJseU5vdEFUb2tlbkl0S25vd3M", ACCESS_TOKEN, &[])
        .await
        .assert_refused(400, "invalid_request");
    let logs = captured_logs();
    assert!(
        logs.contains("says the token is not active"),
        "inactive is logged as such"
    );
    assert!(
        logs.contains("token_type is None"),
        "the refresh token's refusal says why"
    );

    // explain walks the same steps, introspection among them.
    let token_file = secrets.path().join("access-token");
    std::fs::write(&token_file, access_token).unwrap();
    let explained = crate::cli::tokenbridge()
        .args([
            "explain",
            "--client",
            "api",
            "--token-type",
            "access-token",
            "--config",
        ])
        .arg(&service.config_path)
        .arg("--token")
        .arg(&token_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&explained.stdout);
    for expected in [
        "ok      decryption: not a JWT: an opaque access token",
        "ok      introspection: active at upstream \"op\" (asked now)",
        "token client_id [\"wiki\"]",
        "result: would issue",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }

    // A configured endpoint is the one asked, not the discovered one: here nothing listens.
    let elsewhere = sections(&idp_issuer, &secret_file).replace(
        "cache_ttl = \"30s\"",
        "cache_ttl = \"30s\"\nendpoint = \"http://127.0.0.1:9/introspect\"",
    );
    let configured = Service::start(&elsewhere).await;
    configured
        .exchange_typed("api", access_token, ACCESS_TOKEN, &[])
        .await
        .assert_refused(503, "temporarily_unavailable");

    // A second token, answered 20 s later: its answer may be reused 20 s longer.
    let (later_tokens, _) = log_in_directly(&idp_issuer, "wiki").await;
    let later_token = later_tokens["access_token"].as_str().unwrap();
    clock.advance(Duration::from_secs(20));
    let later = service
        .exchange_typed("api", later_token, ACCESS_TOKEN, &[])
        .await;
    assert_eq!(later.status, 200, "{}", later.body);

    // The IdP goes away: the answers already given are reused …
    drop(idp);
    let again = service
        .exchange_typed("api", access_token, ACCESS_TOKEN, &[])
        .await;
    assert_eq!(again.status, 200, "a cached answer: {}", again.body);
    // … a token never asked about can't be checked: retry later …
    let unknown = service
        .exchange_typed("api", "QW5vdGhlck9wYXF1ZVRva2Vu", ACCESS_TOKEN, &[])
        .await;
    unknown.assert_refused(503, "temporarily_unavailable");
    // … a JWS never goes to introspection (malformed, not unavailable) …
    service
        .exchange_typed("api", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", ACCESS_TOKEN, &[])
        .await
        .assert_refused(400, "invalid_request");
    // … past its cache_ttl an answer is not reused, while a younger one still is …
    clock.advance(Duration::from_secs(11));
    service
        .exchange_typed("api", access_token, ACCESS_TOKEN, &[])
        .await
        .assert_refused(503, "temporarily_unavailable");
    let still = service
        .exchange_typed("api", later_token, ACCESS_TOKEN, &[])
        .await;
    assert_eq!(
        still.status, 200,
        "19 s old, within cache_ttl: {}",
        still.body
    );
    // … and no answer outlives a reload.
    service.reloader.reload().await.unwrap();
    service
        .exchange_typed("api", later_token, ACCESS_TOKEN, &[])
        .await
        .assert_refused(503, "temporarily_unavailable");

    // Every introspection is counted by its result: the access tokens and the refresh token
    // asked about while the IdP was up, the unknown one, the reuses, and the calls that failed.
    let (_, scrape) = service.scrape_metrics(None).await;
    for (result, expected) in [
        ("active", 3.0),
        ("inactive", 1.0),
        ("cached", 2.0),
        ("unavailable", 3.0),
    ] {
        let series =
            format!("tokenbridge_introspections_total{{upstream=\"op\",result=\"{result}\"}}");
        assert_eq!(
            metric_sample(&scrape, &series),
            Some(expected),
            "{series}\n{scrape}"
        );
    }
}

#[test]
fn a_client_may_not_have_two_upstreams_that_introspect() {
    let text = format!(
        r#"
issuer = "https://tokenbridge.example.com"

[[upstream]]
name = "a"
issuer = "https://a.example.com"
introspection = {{ client_id = "tb", client_secret = {{ file = "/dev/null" }} }}

[[upstream]]
name = "b"
issuer = "https://b.example.com"
introspection = {{ client_id = "tb", client_secret = {{ sha256 = "{zeros}" }}, endpoint = "http://b.example.com/introspect", cache_ttl = "2h" }}

[[client]]
id = "api"
secret = {{ sha256 = "{zeros}" }}
upstreams = ["a", "b"]
audiences = ["x"]
"#,
        zeros = "0".repeat(64)
    );
    let errors = tokenbridge::config::parse_with_env(&text, std::path::Path::new("/"), &|_| None)
        .unwrap_err();
    let keys: Vec<&str> = errors
        .0
        .iter()
        .map(|problem| problem.key.as_str())
        .collect();
    for key in [
        "upstream[0] (\"a\").introspection.client_secret",
        "upstream[1] (\"b\").introspection.client_secret",
        "upstream[1] (\"b\").introspection.endpoint",
        "upstream[1] (\"b\").introspection.cache_ttl",
        "client[0] (\"api\").upstreams",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
}
