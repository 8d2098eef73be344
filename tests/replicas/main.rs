//! Replicas behind a load balancer, for real: three `tokenbridge serve` processes sharing one
//! key directory behind HAProxy running deploy/haproxy/haproxy.cfg. A relying party's validator
//! (PyJWT) that fetched the JWKS once through the balancer verifies what every replica issues,
//! including a front login that leaves through one replica and comes back through another; under
//! a bounded load, a rolling restart fails no exchange and a `kill -9` fails only what the dead
//! replica had in flight.
//!
//! haproxy comes from Debian's `haproxy` package (.ci/run installs it); PyJWT from ./.venv
//! (tests/setup.sh). Only loopback; every wait is bounded in count and time.
// Tests abort on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

mod cluster;
mod load;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tokenbridge::clock::SystemClock;
use tokenbridge::jose::alg::JwsAlg;
use url::Url;

use cluster::{Cluster, RP_CALLBACK};
use helpers::{GRANT, ID_TOKEN, decode, idp_key, run_to_json, secret_of, venv_python};
use load::{CONCURRENCY, Load};

/// One cluster at a time: two would share two cores with six replicas and miss their checks.
static ONE_CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const VERIFIER: &str = "verifier-43-characters-long-aaaaaaaaaaaaaaaa";

fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn encoded(pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    query.finish()
}

/// GETs `url` without following; the status and the `Location`.
async fn redirect(cluster: &Cluster, url: &str) -> (u16, Option<Url>) {
    let response = cluster.http.get(url).send().await.unwrap();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Url::parse(value).ok());
    (response.status().as_u16(), location)
}

/// The PyJWT relying party: discovers `issuer` (through HAProxy), fetches its JWKS once, through
/// HAProxy too, and verifies each token against that one key set, never refetching; every result
/// must be a pass.
async fn assert_pyjwt_accepts(
    cluster: &Cluster,
    issuer: &str,
    audience: &str,
    tokens: Vec<(String, String)>,
) {
    let mut command = Command::new(venv_python());
    command.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/pyjwt_one_jwks.py"
    ));
    let tokens: Vec<Value> = tokens
        .into_iter()
        .map(|(case, token)| json!({ "case": case, "token": token }))
        .collect();
    let count = tokens.len();
    let answer = run_to_json(
        command,
        Some(json!({ "issuer": issuer, "audience": audience, "tokens": tokens })),
    )
    .await;
    let jwks_uri = answer["jwks_uri"].as_str().unwrap();
    assert!(jwks_uri.starts_with(&cluster.balancer), "{jwks_uri}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), count, "{answer}");
    for result in results {
        assert_eq!(result["ok"], true, "{result}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_with_the_jwks_from_the_balancer_verifies_every_replica_and_a_login_across_two()
{
    let _one = ONE_CLUSTER.lock().await;
    let cluster = Cluster::start(SystemClock::shared()).await;
    let subject = cluster.subject_token();

    // An exchange straight at each replica: the validator can't tell which one signed.
    let mut tokens = Vec::new();
    for (index, replica) in cluster.replicas.iter().enumerate() {
        let response = cluster
            .http
            .post(replica.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", subject.as_str()),
                ("subject_token_type", ID_TOKEN),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "replica {}", index + 1);
        let body: Value = response.json().await.unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        tokens.push((format!("replica {}", index + 1), token));
    }

    // The login relay: authorize on replica 1, the IdP's callback on replica 2.
    let front = cluster.url("/front/bookstack");
    let authorize = encoded(&[
        ("client_id", "bookstack"),
        ("response_type", "code"),
        ("redirect_uri", RP_CALLBACK),
        ("scope", "openid email"),
        ("state", "rp-state-123"),
        ("nonce", "n-0S6"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let (status, to_idp) = redirect(
        &cluster,
        &cluster.replicas[0].url(&format!("/front/bookstack/authorize?{authorize}")),
    )
    .await;
    assert_eq!(status, 303);
    let to_idp = query_of(&to_idp.unwrap());
    assert_eq!(to_idp["redirect_uri"], format!("{front}/callback"));
    let callback = encoded(&[
        ("code", "c0de"),
        ("state", &to_idp["state"]),
        ("iss", cluster.idp.issuer()),
    ]);
    let (status, to_rp) = redirect(
        &cluster,
        &cluster.replicas[1].url(&format!("/front/bookstack/callback?{callback}")),
    )
    .await;
    assert_eq!(status, 303, "replica 2 opens replica 1's seal");
    let to_rp = to_rp.unwrap();
    assert!(to_rp.as_str().starts_with(RP_CALLBACK), "{to_rp}");
    assert_eq!(
        query_of(&to_rp),
        HashMap::from([
            ("code".to_owned(), "c0de".to_owned()),
            ("state".to_owned(), "rp-state-123".to_owned()),
            ("iss".to_owned(), front.clone()),
        ])
    );

    // The RP redeems the code through the balancer, wherever that lands.
    let now = cluster.clock.now();
    let raw = idp_key(JwsAlg::RS256)
        .sign(
            &json!({
                "iss": cluster.idp.issuer(), "sub": "user-1", "aud": "bookstack",
                "iat": now, "exp": now + 600, "nonce": "n-0S6",
            }),
            &json!({}),
        )
        .unwrap();
    cluster.idp.answer_token(
        200,
        &json!({ "access_token": "at", "token_type": "Bearer", "id_token": raw }),
    );
    let response = cluster
        .http
        .post(cluster.url("/front/bookstack/token"))
        .basic_auth("bookstack", Some("the-rps-own-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded(&[
            ("grant_type", "authorization_code"),
            ("code", "c0de"),
            ("redirect_uri", RP_CALLBACK),
            ("code_verifier", VERIFIER),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap().to_owned();
    assert_eq!(decode(&id_token).1["nonce"], "n-0S6");

    assert_pyjwt_accepts(&cluster, &cluster.balancer, "app", tokens).await;
    assert_pyjwt_accepts(
        &cluster,
        &front,
        "bookstack",
        vec![("front login".into(), id_token)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_fails_no_exchange_and_kill_9_fails_only_what_was_in_flight() {
    let _one = ONE_CLUSTER.lock().await;
    let mut cluster = Cluster::start(SystemClock::shared()).await;
    let clock = cluster.clock.clone();
    let load = Load::start(
        cluster.url("/exchange"),
        cluster.subject_token(),
        clock.clone(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Rolling restart: each replica drained by SIGTERM, started again on its port, back in the
    // balancer before the next one goes.
    let rolling_from = clock.monotonic();
    for index in 0..3 {
        // The waits for a process block: off the async threads, which carry the load.
        let replica = &mut cluster.replicas[index];
        let status = tokio::task::block_in_place(|| replica.terminate());
        assert!(status.success(), "replica {} exited {status}", index + 1);
        tokio::task::block_in_place(|| replica.restart());
        cluster.wait_until_ready(index).await;
        cluster.wait_for_state(index, "UP").await;
    }
    let rolled_in = clock.monotonic() - rolling_from;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // kill -9 of one replica under the same load, when most loops have an exchange in flight.
    load.wait_for_in_flight(CONCURRENCY - 1).await;
    let killed_at = clock.monotonic();
    tokio::task::block_in_place(|| cluster.replicas[2].kill());
    let marked_down_after = cluster.wait_for_state(2, "DOWN").await;
    let down_at = killed_at + marked_down_after;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let outcomes = load.stop().await;

    let before_kill: Vec<_> = outcomes.iter().filter(|o| o.ended < killed_at).collect();
    let rolling_failures: Vec<_> = before_kill.iter().filter(|o| o.failure.is_some()).collect();
    let after_kill: Vec<_> = outcomes.iter().filter(|o| o.ended >= killed_at).collect();
    let kill_failures: Vec<_> = after_kill.iter().filter(|o| o.failure.is_some()).collect();
    let in_flight = outcomes
        .iter()
        .filter(|o| o.started <= killed_at && o.ended >= killed_at)
        .count();
    let failed_after_down = kill_failures.iter().filter(|o| o.started > down_at).count();
    eprintln!(
        "rolling restart: {} exchanges in {rolled_in:?}, {} failed; kill -9: {in_flight} in \
         flight, {} of {} exchanges failed, marked down after {marked_down_after:?}, {failed_after_down} \
         failed after that",
        before_kill.len(),
        rolling_failures.len(),
        kill_failures.len(),
        after_kill.len(),
    );

    assert!(
        before_kill.len() >= 50,
        "the load ran: {} exchanges",
        before_kill.len()
    );
    assert!(
        rolling_failures.is_empty(),
        "a rolling restart fails nothing: {rolling_failures:#?}\n{}",
        cluster.haproxy_log()
    );
    assert!(
        kill_failures.len() <= CONCURRENCY,
        "kill -9 fails at most what was in flight: {kill_failures:#?}"
    );
    assert_eq!(failed_after_down, 0, "{kill_failures:#?}");
    assert!(
        marked_down_after <= Duration::from_secs(2),
        "down within fall × inter and slack: {marked_down_after:?}"
    );
    assert!(!after_kill.is_empty(), "the load went on after the kill");
}

/// `count` wrong guesses through HAProxy from the loopback address `from`: the statuses.
async fn wrong_guesses(cluster: &Cluster, from: &str, count: usize) -> Vec<u16> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = cluster.subject_token();
    let mut statuses = Vec::new();
    for _ in 0..count {
        let status = http
            .post(cluster.url("/exchange"))
            .basic_auth("app", Some("wrong-guess-0123456789"))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", token.as_str()),
                ("subject_token_type", ID_TOKEN),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
    }
    statuses
}

/// Two clients on their own loopback addresses guess wrong through HAProxy (which connects to
/// the replicas from 127.0.0.1 and appends the client to `X-Forwarded-For`). Trusted, HAProxy's
/// header names each client, so one blocked client leaves the other free; untrusted, every
/// client is HAProxy, and the first client's failures block the second. The same again with
/// HAProxy's PROXY v2 header (`send-proxy-v2`, checks included) to replicas that require it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_haproxy_the_failed_auth_limit_counts_the_real_client_only_when_it_is_trusted() {
    let _one = ONE_CLUSTER.lock().await;
    let trusted = "trusted_proxies = [\"127.0.0.1\"]\n";
    // The PROXY protocol needs a trusted balancer; untrusted, only a 10.x one would be.
    let untrusted = "trusted_proxies = [\"10.0.0.0/8\"]\n";
    for (trusted, is_proxy_protocol, second_client_gets) in [
        (trusted, false, 401),
        ("", false, 429),
        (trusted, true, 401),
        (untrusted, true, 429),
    ] {
        let limits =
            format!("[limits]\nfailed_auth = {{ per_second = 0.01, burst = 1 }}\n{trusted}");
        let cluster = Cluster::start_with(SystemClock::shared(), &limits, is_proxy_protocol).await;

        // One failure per replica's bucket, and round robin over three: blocked everywhere.
        let first = wrong_guesses(&cluster, "127.0.0.2", 9).await;
        let second = wrong_guesses(&cluster, "127.0.0.3", 1).await;

        assert!(
            first.iter().all(|status| [401, 429].contains(status)) && first.contains(&429),
            "{trusted:?}, PROXY {is_proxy_protocol}: {first:?}"
        );
        assert_eq!(
            second,
            [second_client_gets],
            "{trusted:?}, PROXY {is_proxy_protocol}: the other client"
        );
    }
}
