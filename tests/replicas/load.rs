//! A bounded load through HAProxy: a few loops of exchanges, each bounded by a count and a
//! deadline, every answer recorded with when its request started and ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokenbridge::clock::SharedClock;

use crate::helpers::{GRANT, ID_TOKEN, secret_of};

/// Concurrent loops: the most requests the load can have in flight at once.
pub(crate) const CONCURRENCY: usize = 4;
/// Each loop stops after this many exchanges, or `DEADLINE`, whichever comes first.
const MAX_PER_LOOP: usize = 4000;
const DEADLINE: Duration = Duration::from_secs(40);
/// A pause between one loop's requests, so the replicas keep some CPU for starting up.
const PAUSE: Duration = Duration::from_millis(10);

/// One exchange: when (on the test's monotonic clock) it started and ended, and what failed.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub started: Duration,
    pub ended: Duration,
    pub failure: Option<String>,
}

/// The load's loops, running until `stop` (or their bounds).
pub(crate) struct Load {
    is_stopping: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    loops: Vec<tokio::task::JoinHandle<Vec<Outcome>>>,
}

impl Load {
    pub(crate) fn start(url: String, token: Arc<String>, clock: SharedClock) -> Load {
        let is_stopping = Arc::new(AtomicBool::new(false));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let loops = (0..CONCURRENCY)
            .map(|_| {
                let (url, token, clock) = (url.clone(), token.clone(), clock.clone());
                let (is_stopping, in_flight) = (is_stopping.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::builder()
                        .no_proxy()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap();
                    let from = clock.monotonic();
                    let mut outcomes = Vec::new();
                    while outcomes.len() < MAX_PER_LOOP
                        && clock.monotonic() - from < DEADLINE
                        && !is_stopping.load(Ordering::Relaxed)
                    {
                        let started = clock.monotonic();
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let failure = exchange(&http, &url, &token).await.err();
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        outcomes.push(Outcome {
                            started,
                            ended: clock.monotonic(),
                            failure,
                        });
                        tokio::time::sleep(PAUSE).await;
                    }
                    outcomes
                })
            })
            .collect();
        Load {
            is_stopping,
            in_flight,
            loops,
        }
    }

    /// Waits (every millisecond, at most a second) until at least `count` exchanges are in
    /// flight, so that a kill is likely to catch one inside the replica it kills.
    pub(crate) async fn wait_for_in_flight(&self, count: usize) {
        for _ in 0..1000 {
            if self.in_flight.load(Ordering::SeqCst) >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops the loops; every exchange they made.
    pub(crate) async fn stop(self) -> Vec<Outcome> {
        self.is_stopping.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for each in self.loops {
            all.extend(each.await.unwrap());
        }
        all.sort_by_key(|outcome| outcome.started);
        all
    }
}

/// One exchange as `app`; a non-200, or a transport error twice, is a failure. A request that
/// got no answer at all is sent once more, as an HTTP client does with a safe request on a kept-
/// alive connection the balancer closed as it was reused (seen about once in ten runs on the
/// client's side of HAProxy, which logged no request for it).
async fn exchange(http: &reqwest::Client, url: &str, token: &str) -> Result<(), String> {
    let send = || {
        http.post(url)
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", token),
                ("subject_token_type", ID_TOKEN),
            ])
            .send()
    };
    let response = match send().await {
        Ok(response) => response,
        Err(first) => {
            eprintln!("no answer ({first}); sent once more");
            send()
                .await
                .map_err(|err| format!("transport, twice: {first}; {err}"))?
        }
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status == 200 && body.contains("access_token") {
        Ok(())
    } else {
        Err(format!("{status}: {body}"))
    }
}
