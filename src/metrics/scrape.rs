//! What a scrape reads from the state being served, at the moment of the scrape: each
//! upstream's keys, our keys and their schedule, how the reloads went, the build. Nothing here
//! is on a request's path.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::keyring::{KeyState, KeyUsage};
use crate::state::LiveState;

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabel {
    upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    upstream: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyInfoLabels {
    kid: String,
    alg: String,
    #[prometheus(flatten)]
    usage: UseLabel,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UseLabel {
    r#use: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    kid: String,
    #[prometheus(flatten)]
    usage: UseLabel,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlgLabel {
    alg: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

fn usage_label(usage: KeyUsage) -> UseLabel {
    UseLabel {
        r#use: match usage {
            KeyUsage::Sig => "sig",
            KeyUsage::Enc => "enc",
        },
    }
}

/// The state's metrics, made fresh for one scrape.
pub(super) fn state_registry(live: &LiveState) -> Registry {
    let state = live.current();
    let pipeline = &state.pipeline;
    let now = pipeline.clock.now();
    let mut registry = Registry::with_prefix("tokenbridge");

    let build = Family::<VersionLabel, Gauge>::default();
    build
        .get_or_create(&VersionLabel {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
    registry.register("build_info", "The running build", build);

    let keys_held = Family::<UpstreamLabel, Gauge>::default();
    let keys_age = Family::<UpstreamLabel, FloatGauge>::default();
    // Counted by each key cache; a fresh counter here carries the count into this scrape.
    let refreshes = Family::<RefreshLabels, Counter>::default();
    let refetches = Family::<UpstreamLabel, Counter>::default();
    for upstream in pipeline.upstreams.all() {
        let name = UpstreamLabel {
            upstream: upstream.config.name.clone(),
        };
        let held = upstream.jwks.current().map_or(0, |set| set.len());
        keys_held
            .get_or_create(&name)
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        if let Some(age) = upstream.jwks.age() {
            keys_age.get_or_create(&name).set(age.as_secs_f64());
        }
        let counts = &upstream.jwks.counts;
        for (result, count) in [("ok", &counts.succeeded), ("error", &counts.failed)] {
            refreshes
                .get_or_create(&RefreshLabels {
                    upstream: name.upstream.clone(),
                    result,
                })
                .inc_by(count.load(Ordering::Relaxed));
        }
        refetches
            .get_or_create(&name)
            .inc_by(counts.unknown_kid_refetches.load(Ordering::Relaxed));
    }
    registry.register(
        "upstream_keys",
        "Usable verification keys held for each upstream (0: none, exchanges from it fail)",
        keys_held,
    );
    registry.register(
        "upstream_keys_age_seconds",
        "How long ago the upstream's key set in use was fetched",
        keys_age,
    );
    registry.register(
        "upstream_key_refreshes",
        "JWKS fetches by upstream and result (ok, error)",
        refreshes,
    );
    registry.register(
        "upstream_unknown_kid_refetches",
        "JWKS refetches caused by a token with an unknown kid",
        refetches,
    );

    let key_info = Family::<KeyInfoLabels, Gauge>::default();
    let activates = Family::<KeyLabels, Gauge>::default();
    let retires = Family::<KeyLabels, Gauge>::default();
    for status in pipeline.key_ring.statuses(now) {
        let state = match status.state {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Gone => continue,
        };
        let usage = usage_label(status.usage);
        key_info
            .get_or_create(&KeyInfoLabels {
                kid: status.kid.clone(),
                alg: status.alg.clone(),
                usage: usage.clone(),
                state,
            })
            .set(1);
        let labels = KeyLabels {
            kid: status.kid,
            usage,
        };
        if let Some(at) = status.activate_at {
            activates.get_or_create(&labels).set(at);
        }
        if let Some(at) = status.retire_at {
            retires.get_or_create(&labels).set(at);
        }
    }
    registry.register(
        "key_info",
        "tokenbridge's own keys by kid, alg, use (sig, enc) and state (next, active, retired)",
        key_info,
    );
    registry.register(
        "key_activate_timestamp_seconds",
        "A key's activate_at",
        activates,
    );
    registry.register("key_retire_timestamp_seconds", "A key's retire_at", retires);

    let active_until = Family::<AlgLabel, FloatGauge>::default();
    let mut algs: Vec<_> = state
        .clients
        .all()
        .map(|client| client.config.signing_alg)
        .collect();
    algs.sort_by_key(|alg| alg.name());
    algs.dedup();
    for alg in algs {
        let until = pipeline
            .key_ring
            .active_until(alg, now)
            .map_or(f64::INFINITY, |at| at as f64);
        active_until
            .get_or_create(&AlgLabel { alg: alg.name() })
            .set(until);
    }
    registry.register(
        "signing_active_until_timestamp_seconds",
        "Until when the key schedule has an active signing key for each algorithm a client uses (+Inf: for ever)",
        active_until,
    );

    let reload = live.reload_status();
    let reloads = Family::<ResultLabel, Counter>::default();
    reloads
        .get_or_create(&ResultLabel { result: "success" })
        .inc_by(reload.generation);
    reloads
        .get_or_create(&ResultLabel { result: "failure" })
        .inc_by(reload.failures);
    registry.register(
        "config_reloads",
        "Config reloads by result (success, failure)",
        reloads,
    );
    let last_success = FloatGauge::default();
    if let Some(at) = reload.last_success_at {
        last_success.set(at as f64);
    }
    registry.register(
        "config_last_reload_success_timestamp_seconds",
        "When the config being served was loaded (the start, or the last good reload)",
        last_success,
    );
    let last_failed = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    last_failed.set(i64::from(reload.last_failure.is_some()));
    registry.register(
        "config_last_reload_failed",
        "1 while the last reload was refused (the file is newer than the config served), else 0",
        last_failed,
    );
    registry
}
