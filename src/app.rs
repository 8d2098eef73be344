//! Building the application from a `Config`: keys loaded, upstream keys fetched, listener bound.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use tokio::task::JoinHandle;

use crate::clients::{ClientRegistry, FailedAuthLimiter};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigErrors, ConfigProblem};
use crate::exchange::Pipeline;
use crate::front::{Forwarder, Fronts};
use crate::http;
use crate::keyring::{KeyRing, load_or_generate_state_key};
use crate::state::AppState;
use crate::upstream::{Fetcher, Upstreams};

/// Why tokenbridge could not start; `serve` prints it and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config or a key file is wrong; every problem names its key.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address, as configured.
        addr: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The outbound HTTP client could not be built.
    #[error("{0}")]
    Fetcher(#[from] crate::upstream::FetchError),
}

/// A bound, running tokenbridge and its background key refreshers.
pub struct App {
    server: Server,
    refreshers: Vec<JoinHandle<()>>,
}

impl App {
    /// Builds on `config.listen` with the system clock: what `serve` runs.
    pub async fn build(config: Config) -> Result<App, StartError> {
        let listener = TcpListener::bind(config.listen).map_err(|source| StartError::Listen {
            addr: config.listen.to_string(),
            source,
        })?;
        App::build_on(config, SystemClock::shared(), listener).await
    }

    /// Builds on a listener bound by the caller, who may need its port before the config exists
    /// (the demo and tests put the port into `issuer`). `config.listen` is not used.
    pub async fn build_on(
        config: Config,
        clock: SharedClock,
        listener: TcpListener,
    ) -> Result<App, StartError> {
        let addr = listener
            .local_addr()
            .map(|addr| addr.to_string())
            .unwrap_or_default();
        let state = Arc::new(build_state(&config, clock)?);
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
        if config.limits.is_zip_allowed {
            tracing::warn!(
                "danger_allow_zip is set: compressed JWEs are inflated (up to limits.max_inflated_bytes)"
            );
        }
        for upstream in state.pipeline.upstreams.all() {
            if upstream.config.is_http_allowed {
                tracing::warn!(upstream = %upstream.config.name, "danger_allow_http is set: this upstream's keys are fetched over plain HTTP");
            }
            if upstream.config.is_jwks_on_other_host_allowed {
                tracing::warn!(upstream = %upstream.config.name, "danger_allow_jwks_on_other_host is set: a discovered jwks_uri may be on any host");
            }
        }
        let refreshes = state
            .pipeline
            .upstreams
            .all()
            .iter()
            .map(|upstream| upstream.jwks.refresh());
        let initial: Vec<bool> = futures_util::future::join_all(refreshes)
            .await
            .into_iter()
            .zip(state.pipeline.upstreams.all())
            .map(|(result, upstream)| match result {
                Ok(_) => true,
                Err(err) => {
                    tracing::warn!(upstream = %upstream.config.name, error = %err, "the upstream's keys could not be fetched at start; retrying in the background");
                    false
                }
            })
            .collect();
        let refreshers = state
            .pipeline
            .upstreams
            .all()
            .iter()
            .zip(initial)
            .map(|(upstream, is_fresh)| {
                let upstream = upstream.clone();
                tokio::spawn(async move { upstream.jwks.refresh_forever(is_fresh).await })
            })
            .collect();

        let port = listener.local_addr().map(|addr| addr.port()).unwrap_or(0);
        let issuer = state.pipeline.issuer.clone();
        let data = web::Data::from(state);
        let mut server = HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .configure(http::routes)
        })
        .shutdown_timeout(10);
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartError::Listen { addr, source })?
            .run();
        tracing::info!(issuer = %issuer, port, "tokenbridge is listening");
        Ok(App { server, refreshers })
    }

    /// Stops the server: new connections refused, in-flight requests finish within the deadline.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped by a signal (SIGINT/SIGTERM: graceful) or through `handle()`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for refresher in self.refreshers {
            refresher.abort();
        }
        result
    }
}

/// Everything a request needs, made once: keys parsed, documents rendered, clients registered.
pub fn build_state(config: &Config, clock: SharedClock) -> Result<AppState, StartError> {
    let now = clock.now();
    let keys = KeyRing::load(config, now)?;
    for warning in keys.schedule_warnings(now, config.jwks_max_age(), &keys.kids()) {
        tracing::warn!("{warning}");
    }
    state_with_keys(config, clock, keys, true)
}

/// The state for operator tools (`explain`): the keys that exist, none generated or written.
pub fn build_offline_state(config: &Config, clock: SharedClock) -> Result<AppState, StartError> {
    let keys = KeyRing::load_existing(config, clock.now())?;
    state_with_keys(config, clock, keys, false)
}

fn state_with_keys(
    config: &Config,
    clock: SharedClock,
    keys: KeyRing,
    may_generate: bool,
) -> Result<AppState, StartError> {
    let upstreams = Upstreams::new(config.upstreams.clone(), Fetcher::new()?, clock.clone());
    let clients = ClientRegistry::new(config.clients.clone(), clock.as_ref());
    // Only fronts send state through the browser; without one no key file is made.
    let state_key = if config.fronts.is_empty() {
        None
    } else {
        load_or_generate_state_key(&config.keys.front_state_key, may_generate).map_err(|err| {
            ConfigErrors(vec![ConfigProblem {
                key: "keys.front_state_key".into(),
                message: err.to_string(),
            }])
        })?
    };
    let fronts = Fronts::new(
        &config.fronts,
        &config.issuer,
        &clients,
        &upstreams,
        state_key.as_deref(),
    );
    let pipeline = Pipeline::new(
        config.issuer.clone(),
        keys,
        upstreams,
        clock,
        config.limits,
        config.keys.content_encryption.clone(),
    );
    Ok(AppState {
        pipeline: Arc::new(pipeline),
        discovery: http::well_known::discovery_document(
            &config.issuer,
            &config.signing_algs_in_use(),
        ),
        clients,
        failed_auth: FailedAuthLimiter::new(config.limits.failed_auth),
        fronts,
        forwarder: Forwarder::new()?,
    })
}
