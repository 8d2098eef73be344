//! The JWKS cache against a tiny IdP on loopback, on a `ManualClock`: every age, cooldown and
//! due time moves only when the test moves the clock.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::clock::ManualClock;
use crate::jose::alg::KeyKind;
use crate::jose::private_key::{generate, public_jwk_members};

const START: i64 = 1_800_000_000;

/// An IdP that serves `/jwks` and a discovery document, counts requests, and fails on demand.
struct FakeIdp {
    port: u16,
    jwks_requests: AtomicUsize,
    discovery_requests: AtomicUsize,
    is_failing: Mutex<bool>,
    jwks: Mutex<String>,
    /// Padding in the discovery document, to make it larger than the JWKS cap.
    discovery_padding: usize,
    delay: Duration,
}

impl FakeIdp {
    async fn start(discovery_padding: usize, delay: Duration) -> Arc<FakeIdp> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = Arc::new(FakeIdp {
            port: listener.local_addr().unwrap().port(),
            jwks_requests: AtomicUsize::new(0),
            discovery_requests: AtomicUsize::new(0),
            is_failing: Mutex::new(false),
            jwks: Mutex::new(jwks_with(&["k1"])),
            discovery_padding,
            delay,
        });
        let serving = idp.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serving.clone().answer(stream));
            }
        });
        idp
    }

    async fn answer(self: Arc<Self>, mut stream: tokio::net::TcpStream) {
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
        let is_discovery = request.starts_with(b"GET /.well-known/openid-configuration ");
        let body = if is_discovery {
            self.discovery_requests.fetch_add(1, Ordering::SeqCst);
            json!({
                "issuer": self.issuer(),
                "jwks_uri": format!("{}/jwks", self.issuer()),
                "padding": "x".repeat(self.discovery_padding),
            })
            .to_string()
        } else {
            self.jwks_requests.fetch_add(1, Ordering::SeqCst);
            self.jwks.lock().unwrap().clone()
        };
        tokio::time::sleep(self.delay).await;
        let status = if *self.is_failing.lock().unwrap() {
            "500 Internal Server Error"
        } else {
            "200 OK"
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn jwks_requests(&self) -> usize {
        self.jwks_requests.load(Ordering::SeqCst)
    }

    fn set_failing(&self, is_failing: bool) {
        *self.is_failing.lock().unwrap() = is_failing;
    }
}

fn jwks_with(kids: &[&str]) -> String {
    let keys: Vec<Value> = kids
        .iter()
        .map(|kid| {
            let mut members =
                public_jwk_members(&generate(KeyKind::EcP256).unwrap(), KeyKind::EcP256).unwrap();
            members.insert("kid".into(), json!(kid));
            Value::Object(members)
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

/// A cache for `idp` with a 60 s refresh, 120 s key age and 30 s cooldown; `extra` is added to
/// the upstream's section.
fn cache_for(idp: &FakeIdp, clock: &Arc<ManualClock>, extra: &str) -> JwksCache {
    let text = format!(
        r#"
issuer = "http://localhost:8080"

[[upstream]]
name = "idp"
issuer = "{issuer}"
danger_allow_http = true
algorithms = ["ES256"]
refresh_interval = "60s"
max_key_age = "120s"
refetch_cooldown = "30s"
{extra}

[[client]]
id = "app"
secret = {{ env = "SECRET" }}
upstreams = ["idp"]
audiences = ["app"]
"#,
        issuer = idp.issuer()
    );
    let env = |_: &str| Some("a-long-enough-client-secret".to_owned());
    let config = crate::config::parse_with_env(&text, Path::new("/tmp"), &env)
        .unwrap_or_else(|err| panic!("{err}"));
    let upstream = &config.upstreams[0];
    let fetcher = Fetcher::new().unwrap();
    let discovery = Arc::new(Discovery::new(upstream, fetcher.clone()));
    JwksCache::new(upstream, fetcher, clock.clone(), discovery)
}

fn at_start() -> Arc<ManualClock> {
    ManualClock::at(START)
}

#[tokio::test]
async fn keys_are_used_until_max_key_age_and_not_after() {
    let idp = FakeIdp::start(0, Duration::ZERO).await;
    let clock = at_start();
    let cache = cache_for(&idp, &clock, "");
    cache.refresh().await.unwrap();

    clock.advance(Duration::from_millis(119_999));
    assert!(cache.current().is_some(), "younger than max_key_age");
    clock.advance(Duration::from_millis(1));
    assert!(cache.current().is_none(), "as old as max_key_age");
}

#[tokio::test]
async fn a_known_kid_never_fetches_and_an_unknown_one_refetches_once_per_cooldown() {
    let idp = FakeIdp::start(0, Duration::ZERO).await;
    let clock = at_start();
    let cache = cache_for(&idp, &clock, "");
    cache.refresh().await.unwrap();

    for _ in 0..3 {
        cache.key_set_for(Some("k1"), JwsAlg::ES256).await.unwrap();
    }
    assert_eq!(idp.jwks_requests(), 1, "a known kid");

    let unknown = cache.key_set_for(Some("k2"), JwsAlg::ES256).await;
    assert!(matches!(unknown, Err(KeyLookupError::UnknownKey { .. })));
    assert_eq!(idp.jwks_requests(), 2, "one refetch for the unknown kid");

    clock.advance(Duration::from_millis(29_999));
    let _ = cache.key_set_for(Some("k2"), JwsAlg::ES256).await;
    assert_eq!(idp.jwks_requests(), 2, "inside the cooldown");

    clock.advance(Duration::from_millis(1));
    *idp.jwks.lock().unwrap() = jwks_with(&["k1", "k2"]);
    cache.key_set_for(Some("k2"), JwsAlg::ES256).await.unwrap();
    assert_eq!(idp.jwks_requests(), 3, "after the cooldown");
}

#[tokio::test]
async fn concurrent_requests_for_an_unknown_kid_share_one_refetch() {
    let idp = FakeIdp::start(0, Duration::from_millis(200)).await;
    let clock = at_start();
    let cache = cache_for(&idp, &clock, "");
    cache.refresh().await.unwrap();

    let lookups = (0..10).map(|_| cache.key_set_for(Some("k2"), JwsAlg::ES256));
    let answers = futures_util::future::join_all(lookups).await;

    assert!(
        answers
            .iter()
            .all(|answer| matches!(answer, Err(KeyLookupError::UnknownKey { .. })))
    );
    assert_eq!(idp.jwks_requests(), 2);
}

#[tokio::test]
async fn while_the_idp_is_down_cached_keys_serve_until_they_are_too_old() {
    let idp = FakeIdp::start(0, Duration::ZERO).await;
    let clock = at_start();
    let cache = cache_for(&idp, &clock, "");
    cache.refresh().await.unwrap();
    idp.set_failing(true);

    clock.advance(Duration::from_secs(60));
    assert!(cache.refresh().await.is_err());
    assert!(
        cache
            .last_error()
            .is_some_and(|error| error.contains("500"))
    );
    cache.key_set_for(Some("k1"), JwsAlg::ES256).await.unwrap();

    clock.advance(Duration::from_secs(60));
    assert!(matches!(
        cache.key_set_for(Some("k1"), JwsAlg::ES256).await,
        Err(KeyLookupError::Unavailable(reason)) if reason.contains("500")
    ));
}

#[tokio::test]
async fn the_background_refresh_is_due_by_the_clock() {
    let idp = FakeIdp::start(0, Duration::ZERO).await;
    let clock = at_start();
    let cache = Arc::new(cache_for(&idp, &clock, ""));
    cache.refresh().await.unwrap();
    let refresher = tokio::spawn({
        let cache = cache.clone();
        async move { cache.refresh_forever(true).await }
    });

    tokio::time::sleep(CLOCK_POLL * 2).await;
    assert_eq!(idp.jwks_requests(), 1, "the clock has not moved");
    clock.advance(Duration::from_secs(60));
    let mut waited = Duration::ZERO;
    while idp.jwks_requests() < 2 && waited < CLOCK_POLL * 4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    refresher.abort();
    assert_eq!(
        idp.jwks_requests(),
        2,
        "due once the clock reached the interval"
    );
}

#[test]
fn the_refresh_schedule_backs_off_after_failures_and_resets_on_success() {
    let interval = Duration::from_secs(10);
    let at = Duration::from_secs;
    let fresh = RefreshSchedule::new(at(100), interval, true);
    assert_eq!(fresh.wait(at(100)), interval);
    let mut schedule = RefreshSchedule::new(at(100), interval, false);
    assert_eq!(schedule.wait(at(100)), at(1), "a failed start retries soon");
    assert_eq!(schedule.wait(at(101)), Duration::ZERO);

    let mut waits = Vec::new();
    for _ in 0..5 {
        schedule.record(at(200), false);
        waits.push(schedule.wait(at(200)).as_secs());
    }
    assert_eq!(waits, [2, 4, 8, 10, 10]);

    schedule.record(at(300), true);
    assert_eq!(schedule.wait(at(300)), interval);
    schedule.record(at(400), false);
    assert_eq!(
        schedule.wait(at(400)),
        at(2),
        "a success resets the backoff"
    );
}

#[tokio::test]
async fn discovery_has_its_own_cap_and_is_fetched_once() {
    let idp = FakeIdp::start(4000, Duration::ZERO).await;
    let clock = at_start();
    let cache = cache_for(&idp, &clock, "max_jwks_bytes = 1000");

    cache.refresh().await.unwrap();
    clock.advance(Duration::from_secs(60));
    cache.refresh().await.unwrap();

    assert_eq!(idp.discovery_requests.load(Ordering::SeqCst), 1);
    assert_eq!(idp.jwks_requests(), 2);
}

#[tokio::test]
async fn the_generation_changes_when_a_fetch_brings_other_keys_and_only_then() {
    let idp = FakeIdp::start(0, Duration::ZERO).await;
    let clock = at_start();
    let cache = cache_for(&idp, &clock, "");
    assert_eq!(cache.generation(), None, "no keys yet");
    cache.refresh().await.unwrap();
    let first = cache.generation().unwrap();

    cache.refresh().await.unwrap();
    assert_eq!(
        cache.generation(),
        Some(first),
        "the same keys fetched again"
    );

    *idp.jwks.lock().unwrap() = jwks_with(&["k1"]);
    cache.refresh().await.unwrap();
    let replaced = cache.generation().unwrap();
    assert_ne!(replaced, first, "a new key under the same kid");

    clock.advance(Duration::from_secs(120));
    assert_eq!(cache.generation(), None, "keys past max_key_age have none");
}
