//! The opt-in exchange cache (`cache = true`) as a caller and an operator see it: a repeat gets
//! the same token with less `expires_in` and costs no key operation; anything that would make
//! the fresh answer differ (another request, half the lifetime gone, a reload, a key that
//! changed) gets a fresh exchange; refusals are never kept; the rate limit still counts.

use std::time::Duration;

use serde_json::json;
use tokenbridge::clock::rfc3339;
use tokenbridge::jose::alg::JwsAlg;
use tokenbridge::keyring::commands::generate_key;

use crate::helpers::*;

const CACHED: &str = "cache = true";

/// The demo IdP as upstream "idp" (with `upstream_extra` lines), and a client per entry: its
/// id and its lines (audiences "app", "a1" and "a2" allowed).
fn policy(upstream_extra: &str, clients: &[(&str, &str)]) -> String {
    let mut text = format!(
        "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\nalgorithms = [{}]\n{upstream_extra}\n\n",
        every_jws_alg()
    );
    for (id, extra) in clients {
        text.push_str(&format!(
            "[[client]]\nid = \"{id}\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\", \"a1\", \"a2\"]\n{extra}\n\n",
            digest(id)
        ));
    }
    text
}

/// The app on a manual clock with the telemetry listener, `policy`, and `keys` if given.
async fn app_with(policy: String, keys: Option<String>) -> TestApp {
    spawn_app_with(Options {
        policy,
        limits: TELEMETRY_LISTENER.into(),
        keys,
        is_clock_manual: true,
        ..Options::default()
    })
    .await
}

/// The value of the sample whose name and labels are exactly `series`; 0 when it is absent.
async fn sample(app: &TestApp, series: &str) -> f64 {
    let (_, text) = app.scrape_metrics(None).await;
    metric_sample(&text, series).unwrap_or(0.0)
}

async fn lookups(app: &TestApp, client: &str, result: &str) -> f64 {
    sample(
        app,
        &format!(
            "tokenbridge_exchange_cache_lookups_total{{client=\"{client}\",result=\"{result}\"}}"
        ),
    )
    .await
}

/// How often each of decrypt, verify and sign has run.
async fn step_counts(app: &TestApp) -> [f64; 3] {
    let mut counts = [0.0; 3];
    for (count, step) in counts.iter_mut().zip(["decrypt", "verify", "sign"]) {
        *count = sample(
            app,
            &format!("tokenbridge_exchange_step_duration_seconds_count{{step=\"{step}\"}}"),
        )
        .await;
    }
    counts
}

fn jti(answer: &Answer) -> String {
    decode(answer.token()).1["jti"].as_str().unwrap().to_owned()
}

fn advance(app: &TestApp, seconds: u64) {
    app.clock().advance(Duration::from_secs(seconds));
}

/// The audit lines of the issued token `jti`.
fn audit_lines(jti: &str) -> Vec<String> {
    captured_logs()
        .lines()
        .filter(|line| line.contains(jti))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn exchange_cache_a_repeat_gets_the_same_token_with_less_time_left_and_no_key_operation() {
    let app = app_with(policy("", &[("cached", CACHED)]), None).await;
    let jws = app.id_token(json!("app"), json!({ "sub": "cache-subject-1" }));
    let jwe = app.rsa_jwe(&jws).await;

    let first = app.exchange("cached", &jwe, &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let steps_after_first = step_counts(&app).await;
    assert_eq!(
        steps_after_first,
        [1.0, 1.0, 1.0],
        "decrypted, verified, signed"
    );
    advance(&app, 10);
    let second = app.exchange("cached", &jwe, &[]).await;

    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.token(), first.token(), "the same token");
    assert_eq!(first.body["expires_in"], 300);
    assert_eq!(second.body["expires_in"], 290, "its remaining lifetime");
    assert_eq!(second.body["issued_token_type"], ID_TOKEN);
    assert_eq!(
        step_counts(&app).await,
        steps_after_first,
        "no decryption, verification or signature for the repeat"
    );
    assert_eq!(lookups(&app, "cached", "miss").await, 1.0);
    assert_eq!(lookups(&app, "cached", "hit").await, 1.0);
    let lines = audit_lines(&jti(&first));
    assert_eq!(lines.len(), 2, "one audit line per exchange: {lines:?}");
    assert!(lines[0].contains("cached=false"), "{}", lines[0]);
    assert!(lines[1].contains("cached=true"), "{}", lines[1]);
    for expected in ["outcome=\"issued\"", "client=\"cached\"", "cache-subject-1"] {
        assert!(
            lines[1].contains(expected),
            "{expected} missing: {}",
            lines[1]
        );
    }
    assert!(lines[1].contains(app.idp.issuer()), "{}", lines[1]);
    verify_issued(&app, second.token(), "app").await;
}

#[tokio::test]
async fn exchange_cache_another_audience_token_type_or_client_gets_its_own_token() {
    let app = app_with(
        policy(
            "",
            &[
                ("cached", "cache = true\nselect = \"requested\""),
                ("cached-too", "cache = true\nselect = \"requested\""),
            ],
        ),
        None,
    )
    .await;
    let token = app.id_token(json!(["a1", "a2"]), json!({}));
    let requests: [(&str, &[(&str, &str)]); 4] = [
        ("cached", &[("audience", "a1")]),
        ("cached", &[("audience", "a2")]),
        (
            "cached",
            &[("audience", "a1"), ("requested_token_type", ACCESS_TOKEN)],
        ),
        ("cached-too", &[("audience", "a1")]),
    ];

    let mut tokens = Vec::new();
    for (client, extra) in requests {
        let answer = app.exchange(client, &token, extra).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        tokens.push(answer.token().to_owned());
    }

    for (i, earlier) in tokens.iter().enumerate() {
        for later in &tokens[i + 1..] {
            assert_ne!(earlier, later, "each request has its own token");
        }
    }
    assert_eq!(decode(&tokens[1]).1["aud"], "a2");
    assert_eq!(decode(&tokens[2]).0["typ"], "at+jwt");
    // Each is then repeated as it was, none mixed up with another.
    for ((client, extra), issued) in requests.into_iter().zip(&tokens) {
        assert_eq!(app.exchange(client, &token, extra).await.token(), issued);
    }
    assert_eq!(lookups(&app, "cached", "hit").await, 3.0);
    assert_eq!(lookups(&app, "cached-too", "hit").await, 1.0);
}

#[tokio::test]
async fn exchange_cache_is_off_by_default_and_each_exchange_has_a_fresh_jti() {
    let app = app_with(policy("", &[("plain", "")]), None).await;
    let token = app.id_token(json!("app"), json!({}));

    let first = app.exchange("plain", &token, &[]).await;
    let second = app.exchange("plain", &token, &[]).await;

    assert_ne!(jti(&first), jti(&second));
    assert_ne!(first.token(), second.token());
    assert_eq!(step_counts(&app).await[2], 2.0, "signed twice");
    let (_, text) = app.scrape_metrics(None).await;
    assert!(
        !text.contains("tokenbridge_exchange_cache_lookups_total{client=\"plain\""),
        "no look-up without cache = true"
    );
    assert!(audit_lines(&jti(&second))[0].contains("cached=false"));
}

#[tokio::test]
async fn exchange_cache_past_half_the_issued_lifetime_a_fresh_token_is_issued() {
    let app = app_with(policy("", &[("cached", CACHED)]), None).await;
    let token = app.id_token(json!("app"), json!({}));
    let first = app.exchange("cached", &token, &[]).await;

    advance(&app, 149);
    let within = app.exchange("cached", &token, &[]).await;
    advance(&app, 1);
    let past = app.exchange("cached", &token, &[]).await;

    assert_eq!(within.token(), first.token(), "149 s of 300: still served");
    assert_eq!(within.body["expires_in"], 151);
    assert_ne!(jti(&past), jti(&first), "150 s of 300: a fresh token");
    assert_eq!(past.body["expires_in"], 300);
    assert_eq!(lookups(&app, "cached", "stale").await, 1.0);
    assert_eq!(
        app.exchange("cached", &token, &[]).await.token(),
        past.token(),
        "the fresh one is served from then on"
    );
}

#[tokio::test]
async fn exchange_cache_a_reload_empties_it() {
    let policy = policy("", &[("cached", CACHED)]);
    let app = app_with(policy.clone(), None).await;
    let token = app.id_token(json!("app"), json!({}));
    let first = app.exchange("cached", &token, &[]).await;
    assert_eq!(
        app.exchange("cached", &token, &[]).await.token(),
        first.token()
    );

    // The same config: nothing changed but the load.
    app.write_policy(&policy);
    app.reloader.reload().await.unwrap();
    let after = app.exchange("cached", &token, &[]).await;

    assert_eq!(after.status, 200, "{}", after.body);
    assert_ne!(jti(&after), jti(&first));
    assert_eq!(
        app.exchange("cached", &token, &[]).await.token(),
        after.token()
    );
}

#[tokio::test]
async fn exchange_cache_a_new_active_signing_key_gets_a_fresh_token_signed_by_it() {
    let keys = tempfile::tempdir().unwrap();
    let b_file = keys.path().join("b.pem");
    let b_kid = generate_key("RS256", &b_file).unwrap().kid;
    let fixtures = fixture_keys();
    // B activates a minute after the start, well inside the cached token's half-life.
    let section = format!(
        "[keys]\ndir = \"{{dir}}\"\n\n[[keys.signing]]\nfile = \"{a}\"\nalg = \"RS256\"\nkid = \"key-a\"\n\n[[keys.signing]]\nfile = \"{b}\"\nalg = \"RS256\"\nactivate_at = \"{at}\"\n\n[[keys.decryption]]\nfile = \"{rsa}\"\n",
        a = fixtures.join("signing-RS256.pem").display(),
        b = b_file.display(),
        at = rfc3339::format(now() + 60),
        rsa = fixtures.join("decryption-rsa.pem").display(),
    );
    let app = app_with(policy("", &[("cached", CACHED)]), Some(section)).await;
    let token = app.id_token(json!("app"), json!({}));
    let first = app.exchange("cached", &token, &[]).await;
    assert_eq!(decode(first.token()).0["kid"], "key-a");
    assert_eq!(
        app.exchange("cached", &token, &[]).await.token(),
        first.token()
    );

    advance(&app, 61);
    let after = app.exchange("cached", &token, &[]).await;

    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(decode(after.token()).0["kid"], b_kid.as_str());
    assert_ne!(jti(&after), jti(&first));
    verify_issued(&app, after.token(), "app").await;
}

#[tokio::test]
async fn exchange_cache_replaced_upstream_keys_get_a_fresh_exchange_and_a_removed_key_is_refused() {
    let app = app_with(
        policy("refresh_interval = \"60s\"", &[("cached", CACHED)]),
        None,
    )
    .await;
    let old = idp_key(JwsAlg::RS256);
    let rotated = rotated_idp_key();
    let token = app.id_token(json!("app"), json!({}));
    let first = app.exchange("cached", &token, &[]).await;
    assert_eq!(
        app.exchange("cached", &token, &[]).await.token(),
        first.token()
    );

    // The IdP adds a key; a token signed by it makes tokenbridge refetch at once.
    app.idp.publish(&[&old, &rotated]);
    let by_rotated = app.id_token_signed(&rotated, json!("app"), json!({}));
    assert_eq!(app.exchange("cached", &by_rotated, &[]).await.status, 200);
    let after_rotation = app.exchange("cached", &token, &[]).await;
    assert_eq!(after_rotation.status, 200, "{}", after_rotation.body);
    assert_ne!(jti(&after_rotation), jti(&first), "verified again");

    // Then it removes the old key; the background refresh (every 60 s) fetches that.
    app.idp.publish(&[&rotated]);
    let fetches = app.idp.jwks_requests();
    advance(&app, 61);
    let mut waited = 0;
    while app.idp.jwks_requests() == fetches && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(app.idp.jwks_requests() > fetches, "the refresh ran");
    tokio::time::sleep(Duration::from_millis(300)).await;

    app.exchange("cached", &token, &[])
        .await
        .assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn exchange_cache_keeps_no_refusal() {
    let app = app_with(policy("", &[("cached", CACHED)]), None).await;
    let elsewhere = app.id_token(json!("somebody-else"), json!({}));
    for _ in 0..2 {
        app.exchange("cached", &elsewhere, &[])
            .await
            .assert_refused(400, "invalid_target");
    }
    assert_eq!(step_counts(&app).await[1], 2.0, "verified both times");
    // Not valid yet (nbf past the 60 s leeway): refused, then accepted once it is.
    let early = app.id_token(json!("app"), json!({ "nbf": app.now() + 120 }));

    let refused = app.exchange("cached", &early, &[]).await;
    advance(&app, 60);
    let accepted = app.exchange("cached", &early, &[]).await;

    refused.assert_refused(400, "invalid_request");
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(lookups(&app, "cached", "hit").await, 0.0);
    assert_eq!(lookups(&app, "cached", "miss").await, 4.0);
}

#[tokio::test]
async fn exchange_cache_repeats_still_count_against_the_rate_limit() {
    let limited = "cache = true\nrate_limit = { per_second = 0.01, burst = 2 }";
    let app = app_with(policy("", &[("limited", limited)]), None).await;
    let token = app.id_token(json!("app"), json!({}));
    let first = app.exchange("limited", &token, &[]).await;
    assert_eq!(
        app.exchange("limited", &token, &[]).await.token(),
        first.token()
    );

    let third = app.exchange("limited", &token, &[]).await;

    third.assert_refused(429, "slow_down");
    assert!(third.headers.contains_key("retry-after"));
    assert_eq!(lookups(&app, "limited", "hit").await, 1.0);
}

#[test]
fn exchange_cache_size_out_of_range_or_without_cache_is_a_config_error_naming_its_key() {
    let config = |lines: &str| {
        format!(
            "issuer = \"http://localhost:8080\"\n\n[[upstream]]\nname = \"idp\"\nissuer = \"https://idp.example.com\"\n\n[[client]]\nid = \"wiki\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"wiki\"]\n{lines}\n",
            digest("wiki")
        )
    };
    let problems = |lines: &str| -> Vec<(String, String)> {
        match tokenbridge::config::parse(&config(lines), std::path::Path::new("/tmp")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.into_iter().map(|p| (p.key, p.message)).collect(),
        }
    };
    let key = "client[0] (\"wiki\").cache_size".to_owned();

    for good in [
        "",
        "cache = true",
        "cache = false",
        "cache = true\ncache_size = 1",
        "cache = true\ncache_size = 1000000",
    ] {
        assert!(problems(good).is_empty(), "{good:?}: {:?}", problems(good));
    }
    for bad in [
        "cache = true\ncache_size = 0",
        "cache = true\ncache_size = 1000001",
        "cache = true\ncache_size = -5",
    ] {
        let found = problems(bad);
        assert_eq!(found.len(), 1, "{bad:?}: {found:?}");
        assert_eq!(found[0].0, key);
        assert!(found[0].1.contains("out of range"), "{found:?}");
    }
    for without in ["cache_size = 100", "cache = false\ncache_size = 100"] {
        let found = problems(without);
        assert_eq!(found.len(), 1, "{without:?}: {found:?}");
        assert_eq!(found[0].0, key);
        assert!(found[0].1.contains("cache = true"), "{found:?}");
    }
}
