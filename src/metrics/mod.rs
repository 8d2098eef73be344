//! Prometheus metrics: what the hot path counts (`Metrics`, one per process, carried across
//! reloads), and what a scrape reads from the state being served (`scrape`) and the process
//! (`process`). Every label value comes from the config (client ids, upstream and front names,
//! our own keys) or from a fixed list (outcomes, endpoints, RFC error codes): a token can't add a
//! series, so cardinality is bounded by the config.

mod labels;
mod process;
mod scrape;

use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use labels::{CacheLookup, IntrospectionResult, PipelineStep};

use crate::clock::UnixTime;
use crate::state::LiveState;

/// Latency buckets from 100 µs to about 13 s: an RSA exchange takes about a millisecond, one
/// that waits on an IdP up to its fetch timeout.
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0001, 2.0, 18)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExchangeLabels {
    client: String,
    upstream: String,
    outcome: &'static str,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    client: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FrontLabels {
    front: String,
    endpoint: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IdpAnswerLabels {
    front: String,
    endpoint: &'static str,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientLabel {
    client: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    client: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntrospectionLabels {
    upstream: String,
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// The text formats a scrape can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0, what Prometheus asks for first.
    OpenMetrics,
    /// The Prometheus text format 0.0.4, for tools that read only it (promtool, older
    /// scrapers, a person with curl).
    PrometheusText,
}

impl Exposition {
    /// OpenMetrics when `accept` names it, else the Prometheus text format.
    pub fn negotiate(accept: Option<&str>) -> Exposition {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => {
                Exposition::OpenMetrics
            }
            _ => Exposition::PrometheusText,
        }
    }

    /// The `Content-Type` of a scrape in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::PrometheusText => prometheus_text::CONTENT_TYPE,
        }
    }
}

/// How one exchange ended, as its metrics label it.
pub struct ExchangeOutcome<'a> {
    /// The authenticated client's id; `""` when no client was authenticated.
    pub client: &'a str,
    /// The configured name of the upstream the token came from; `""` before one was found.
    pub upstream: &'a str,
    /// `None` when a token was issued, else the RFC error code.
    pub error: Option<&'static str>,
    /// The whole request.
    pub duration: Duration,
}

/// The counters and histograms requests update. Made once per process; a reload keeps it.
pub struct Metrics {
    registry: Registry,
    exchanges: Family<ExchangeLabels, Counter>,
    exchange_duration: Histograms<DurationLabels>,
    steps: Histograms<StepLabels>,
    front_requests: Family<FrontLabels, Counter>,
    idp_answers: Family<IdpAnswerLabels, Counter>,
    rate_limited: Family<ClientLabel, Counter>,
    cache_lookups: Family<CacheLabels, Counter>,
    introspections: Family<IntrospectionLabels, Counter>,
    failed_auth_blocked: Counter,
    failed_authentications: Counter,
    started_at: UnixTime,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every family; `started_at` is the process's start (`process_start_time_seconds`).
    pub fn new(started_at: UnixTime) -> Metrics {
        let mut registry = Registry::with_prefix("tokenbridge");
        let exchanges = Family::default();
        registry.register(
            "exchanges",
            "Token exchanges by client, upstream, outcome (issued, refused) and RFC error code",
            exchanges.clone(),
        );
        let exchange_duration: Histograms<DurationLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "exchange_duration_seconds",
            "Whole /exchange requests, from the first byte read to the answer",
            exchange_duration.clone(),
        );
        let steps: Histograms<StepLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "exchange_step_duration_seconds",
            "The decrypt, verify and sign steps of exchanges and front token answers",
            steps.clone(),
        );
        let front_requests = Family::default();
        registry.register(
            "front_requests",
            "Requests to the OIDC fronts by front, endpoint and outcome (ok, refused, upstream_error)",
            front_requests.clone(),
        );
        let idp_answers = Family::default();
        registry.register(
            "front_idp_responses",
            "The IdP's answers to the fronts' server-side calls, by status class, timeout or error",
            idp_answers.clone(),
        );
        let rate_limited = Family::default();
        registry.register(
            "rate_limited",
            "Exchanges refused by the client's rate limit",
            rate_limited.clone(),
        );
        let cache_lookups = Family::default();
        registry.register(
            "exchange_cache_lookups",
            "Look-ups in the exchange cache of clients with cache = true, by result (hit, miss, stale)",
            cache_lookups.clone(),
        );
        let introspections = Family::default();
        registry.register(
            "introspections",
            "Opaque subject tokens checked by introspection, by upstream and result (cached, active, inactive, unavailable)",
            introspections.clone(),
        );
        let failed_auth_blocked = Counter::default();
        registry.register(
            "failed_auth_blocked",
            "Requests refused before authentication because their address failed too often (limits.failed_auth)",
            failed_auth_blocked.clone(),
        );
        let failed_authentications = Counter::default();
        registry.register(
            "failed_authentications",
            "Client authentications that failed",
            failed_authentications.clone(),
        );
        Metrics {
            registry,
            exchanges,
            exchange_duration,
            steps,
            front_requests,
            idp_answers,
            rate_limited,
            cache_lookups,
            introspections,
            failed_auth_blocked,
            failed_authentications,
            started_at,
        }
    }

    /// One `/exchange` answered.
    pub fn exchange(&self, outcome: &ExchangeOutcome<'_>) {
        let result = if outcome.error.is_some() {
            "refused"
        } else {
            "issued"
        };
        self.exchanges
            .get_or_create(&ExchangeLabels {
                client: outcome.client.to_owned(),
                upstream: outcome.upstream.to_owned(),
                outcome: result,
                error: outcome.error.unwrap_or(""),
            })
            .inc();
        self.exchange_duration
            .get_or_create(&DurationLabels {
                client: outcome.client.to_owned(),
                outcome: result,
            })
            .observe(outcome.duration.as_secs_f64());
    }

    /// One pipeline step, timed.
    pub fn step(&self, step: PipelineStep, duration: Duration) {
        self.steps
            .get_or_create(&StepLabels { step: step.name() })
            .observe(duration.as_secs_f64());
    }

    /// One request to a front's `endpoint`; `outcome` is `ok`, `refused` or `upstream_error`.
    pub fn front_request(&self, front: &str, endpoint: &'static str, outcome: &'static str) {
        self.front_requests
            .get_or_create(&FrontLabels {
                front: front.to_owned(),
                endpoint,
                outcome,
            })
            .inc();
    }

    /// The IdP's answer to a front's server-side call: a status, or `None` when there was none
    /// (`is_timeout` says whether it timed out).
    pub fn idp_answer(
        &self,
        front: &str,
        endpoint: &'static str,
        status: Option<u16>,
        is_timeout: bool,
    ) {
        let class = match (status, is_timeout) {
            (Some(200..=299), _) => "2xx",
            (Some(300..=399), _) => "3xx",
            (Some(400..=499), _) => "4xx",
            (Some(_), _) => "5xx",
            (None, true) => "timeout",
            (None, false) => "error",
        };
        self.idp_answers
            .get_or_create(&IdpAnswerLabels {
                front: front.to_owned(),
                endpoint,
                class,
            })
            .inc();
    }

    /// An exchange refused by `client`'s rate limit.
    pub fn rate_limited(&self, client: &str) {
        self.rate_limited
            .get_or_create(&ClientLabel {
                client: client.to_owned(),
            })
            .inc();
    }

    /// One look-up in `client`'s exchange cache.
    pub fn cache_lookup(&self, client: &str, result: CacheLookup) {
        self.cache_lookups
            .get_or_create(&CacheLabels {
                client: client.to_owned(),
                result: result.name(),
            })
            .inc();
    }

    /// One opaque token's introspection at `upstream`.
    pub fn introspection(&self, upstream: &str, result: IntrospectionResult) {
        self.introspections
            .get_or_create(&IntrospectionLabels {
                upstream: upstream.to_owned(),
                result: result.name(),
            })
            .inc();
    }

    /// A request refused because its address failed authentication too often.
    pub fn failed_auth_blocked(&self) {
        self.failed_auth_blocked.inc();
    }

    /// A failed client authentication.
    pub fn failed_authentication(&self) {
        self.failed_authentications.inc();
    }

    /// The scrape: the counters above, then what the state being served and the process say
    /// now.
    pub fn render(&self, live: &LiveState, format: Exposition) -> String {
        let registries = [
            &self.registry,
            &scrape::state_registry(live),
            &process::registry(self.started_at),
        ];
        let mut text = String::with_capacity(16 * 1024);
        // Writing to a String can't fail; a family that could not be written is left out.
        for registry in registries {
            let _ = match format {
                Exposition::OpenMetrics => encode_registry(&mut text, registry),
                Exposition::PrometheusText => prometheus_text::encode(&mut text, registry),
            };
        }
        if format == Exposition::OpenMetrics {
            let _ = encode_eof(&mut text);
        }
        if !text.ends_with('\n') {
            let _ = writeln!(text);
        }
        text
    }
}
