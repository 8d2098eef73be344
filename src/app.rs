//! Building the application from a `Config`: keys loaded, upstream keys fetched, listener bound;
//! and building each later state a reload swaps in, carrying over what the config left alone.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
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
use crate::keyring::{KeyRing, load_or_generate_state_key, missing_key_message};
use crate::metrics::Metrics;
use crate::reload::{Refreshers, ReloadStatus, Reloader};
use crate::state::{AppState, LiveState};
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
    /// SIGHUP could not be taken over, so a reload signal would kill the process.
    #[error("cannot handle SIGHUP: {0}")]
    Signal(std::io::Error),
}

/// A bound, running tokenbridge, its background key refreshers and, when it was built from a
/// file, what reloads it.
pub struct App {
    server: Server,
    /// `telemetry.listen`'s server and its port; it stops with the main one.
    telemetry: Option<(ServerHandle, u16)>,
    live: Arc<LiveState>,
    /// Owns the upstream key refreshers, and swaps in a new state on each good reload.
    reloader: Arc<Reloader>,
    /// The reload triggers (SIGHUP, the file watch); none without a file.
    triggers: Vec<JoinHandle<()>>,
}

impl App {
    /// What `serve` runs: the config file at `path`, on its `listen` address, with the system
    /// clock, reloaded on SIGHUP and when a file it names changes.
    pub async fn build(path: &Path) -> Result<App, StartError> {
        let config = Config::load(path)?;
        let listener = TcpListener::bind(config.listen).map_err(|source| StartError::Listen {
            addr: config.listen.to_string(),
            source,
        })?;
        App::start(
            config,
            SystemClock::shared(),
            listener,
            Some(path.to_owned()),
        )
        .await
    }

    /// `build` on a listener bound by the caller (tests, which need the port in the file before
    /// it exists): reloadable, `listen` in the file not used.
    pub async fn build_from_file_on(
        path: &Path,
        clock: SharedClock,
        listener: TcpListener,
    ) -> Result<App, StartError> {
        let config = Config::load(path)?;
        App::start(config, clock, listener, Some(path.to_owned())).await
    }

    /// Builds on a listener bound by the caller, who may need its port before the config exists
    /// (the demo and tests put the port into `issuer`). `config.listen` is not used, and with no
    /// file behind the config there is nothing to reload.
    pub async fn build_on(
        config: Config,
        clock: SharedClock,
        listener: TcpListener,
    ) -> Result<App, StartError> {
        App::start(config, clock, listener, None).await
    }

    async fn start(
        config: Config,
        clock: SharedClock,
        listener: TcpListener,
        source: Option<PathBuf>,
    ) -> Result<App, StartError> {
        let addr = listener
            .local_addr()
            .map(|addr| addr.to_string())
            .unwrap_or_default();
        let state = Arc::new(build_state(&config, clock.clone())?);
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
        warn_about_dangers(&config);
        let mut refreshers = Refreshers::default();
        let fetched = refreshers.fetch_new(&state.pipeline.upstreams).await;
        refreshers.replace(&state.pipeline.upstreams, fetched);

        let port = listener.local_addr().map(|addr| addr.port()).unwrap_or(0);
        let issuer = state.pipeline.issuer.clone();
        let workers = config.workers;
        let is_proxy_protocol = config.is_proxy_protocol;
        let telemetry = config.telemetry;
        let loaded = ReloadStatus {
            last_success_at: Some(clock.now()),
            ..ReloadStatus::default()
        };
        let live = Arc::new(LiveState::new(state, loaded));
        let data = web::Data::from(live.clone());
        let telemetry_server = match telemetry.listen {
            Some(addr) => Some(start_telemetry(addr, data.clone())?),
            None => None,
        };
        let application = move || {
            actix_web::App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(
                    http::request_id::tag_request,
                ))
                .configure(http::routes)
                .configure(|routes| {
                    if telemetry.is_metrics_on_main_port {
                        http::metrics_route(routes);
                    }
                })
        };
        let server = http::listener::serve(application, listener, workers, is_proxy_protocol)
            .map_err(|source| StartError::Listen { addr, source })?;
        let reloader = Arc::new(Reloader::new(
            source,
            clock,
            live.clone(),
            config,
            refreshers,
        ));
        let triggers = reloader.start_triggers()?;
        tracing::info!(issuer = %issuer, port, "tokenbridge is listening");
        Ok(App {
            server,
            telemetry: telemetry_server,
            live,
            reloader,
            triggers,
        })
    }

    /// The telemetry listener's port, when `telemetry.listen` is set.
    pub fn telemetry_port(&self) -> Option<u16> {
        self.telemetry.as_ref().map(|(_, port)| *port)
    }

    /// Stops the server: new connections refused, in-flight requests finish within the deadline.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// What reloads this app (its `reload` refuses when the app was built from a `Config`
    /// rather than a file).
    pub fn reloader(&self) -> Arc<Reloader> {
        self.reloader.clone()
    }

    /// The state being served, and how reloads went.
    pub fn live_state(&self) -> Arc<LiveState> {
        self.live.clone()
    }

    /// Serves until stopped by a signal (SIGINT/SIGTERM: graceful) or through `handle()`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some((telemetry, _)) = self.telemetry {
            telemetry.stop(true).await;
        }
        for trigger in self.triggers {
            trigger.abort();
        }
        self.reloader.stop().await;
        result
    }
}

/// The telemetry listener: `/metrics` and the probes on their own port (one worker: a scrape
/// every few seconds needs no more), so they can be reachable where `/exchange` is not.
fn start_telemetry(
    addr: std::net::SocketAddr,
    data: web::Data<LiveState>,
) -> Result<(ServerHandle, u16), StartError> {
    let listen_error = |source| StartError::Listen {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).map_err(listen_error)?;
    let port = listener.local_addr().map_err(listen_error)?.port();
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            .configure(http::telemetry_routes)
    })
    .workers(1)
    .shutdown_timeout(10)
    .listen(listener)
    .map_err(listen_error)?
    .run();
    let handle = server.handle();
    // The server runs once started; the task only waits for it to finish.
    tokio::spawn(server);
    tracing::info!(port, "the telemetry listener is listening");
    Ok((handle, port))
}

/// Logs, at start and after each reload, every setting that weakens a check.
pub(crate) fn warn_about_dangers(config: &Config) {
    if config.limits.is_zip_allowed {
        tracing::warn!(
            "danger_allow_zip is set: compressed JWEs are inflated (up to limits.max_inflated_bytes)"
        );
    }
    for upstream in &config.upstreams {
        if upstream.is_http_allowed {
            tracing::warn!(upstream = %upstream.name, "danger_allow_http is set: this upstream's keys are fetched over plain HTTP");
        }
        if upstream.is_jwks_on_other_host_allowed {
            tracing::warn!(upstream = %upstream.name, "danger_allow_jwks_on_other_host is set: a discovered jwks_uri may be on any host");
        }
    }
}

/// Everything a request needs, made once: keys parsed, documents rendered, clients registered.
pub fn build_state(config: &Config, clock: SharedClock) -> Result<AppState, StartError> {
    let now = clock.now();
    let keys = KeyRing::load(config, now)?;
    for warning in keys.schedule_warnings(now, config.jwks_max_age(), &keys.kids()) {
        tracing::warn!("{warning}");
    }
    state_with_keys(config, clock, keys, true, None)
}

/// The state a reload swaps in: built like the first, but sharing with `previous` whatever the
/// new config left as it was (upstream keys, rate-limit buckets, failed-auth counts, the logout
/// tokens already taken, the connection pools). The schedule is warned about for the keys it
/// publishes first.
pub(crate) fn build_next_state(
    config: &Config,
    clock: SharedClock,
    previous: &AppState,
) -> Result<AppState, StartError> {
    let now = clock.now();
    let keys = KeyRing::load(config, now)?;
    let published_before = previous.pipeline.key_ring.kids();
    let newly_published = keys
        .kids()
        .into_iter()
        .filter(|kid| !published_before.contains(kid))
        .collect();
    for warning in keys.schedule_warnings(now, config.jwks_max_age(), &newly_published) {
        tracing::warn!("{warning}");
    }
    state_with_keys(config, clock, keys, true, Some(previous))
}

/// The state for operator tools (`explain`): the keys that exist, none generated or written.
pub fn build_offline_state(config: &Config, clock: SharedClock) -> Result<AppState, StartError> {
    let keys = KeyRing::load_existing(config, clock.now())?;
    state_with_keys(config, clock, keys, false, None)
}

fn state_with_keys(
    config: &Config,
    clock: SharedClock,
    keys: KeyRing,
    may_generate: bool,
    previous: Option<&AppState>,
) -> Result<AppState, StartError> {
    let fetcher = match previous {
        Some(previous) => previous.pipeline.upstreams.fetcher().clone(),
        None => Fetcher::new()?,
    };
    let upstreams = Upstreams::carrying(
        config.upstreams.clone(),
        fetcher,
        clock.clone(),
        previous.map(|previous| &previous.pipeline.upstreams),
    );
    let clients = ClientRegistry::new(
        config.clients.clone(),
        clock.as_ref(),
        previous.map(|previous| &previous.clients),
    );
    // Only fronts send state through the browser; without one no key file is made.
    let state_key = if config.fronts.is_empty() {
        None
    } else {
        let path = &config.keys.front_state_key;
        let may_write = may_generate && config.keys.is_generated_when_missing;
        let key = load_or_generate_state_key(path, may_write).map_err(|err| {
            ConfigErrors(vec![ConfigProblem {
                key: "keys.front_state_key".into(),
                message: err.to_string(),
            }])
        })?;
        if key.is_none() && !config.keys.is_generated_when_missing {
            return Err(ConfigErrors(vec![ConfigProblem {
                key: "keys.generate".into(),
                message: missing_key_message(path, "fronts' state"),
            }])
            .into());
        }
        key
    };
    let fronts = Fronts::new(
        &config.fronts,
        &config.issuer,
        &clients,
        &upstreams,
        state_key.as_deref(),
        previous.map(|previous| &previous.fronts),
    );
    let failed_auth = match previous {
        Some(previous) if previous.failed_auth.limit() == config.limits.failed_auth => {
            previous.failed_auth.clone()
        }
        _ => Arc::new(FailedAuthLimiter::new(config.limits.failed_auth)),
    };
    let forwarder = match previous {
        Some(previous) => previous.forwarder.clone(),
        None => Forwarder::new()?,
    };
    let metrics = match previous {
        Some(previous) => previous.pipeline.metrics.clone(),
        None => Arc::new(Metrics::new(clock.now())),
    };
    let pipeline = Pipeline::new(
        config.issuer.clone(),
        keys,
        upstreams,
        clock,
        config.limits,
        config.keys.content_encryption.clone(),
        metrics,
    );
    Ok(AppState {
        pipeline: Arc::new(pipeline),
        discovery: http::well_known::discovery_document(
            &config.issuer,
            &config.signing_algs_in_use(),
        ),
        clients,
        failed_auth,
        fronts,
        forwarder,
        trusted_proxies: config.trusted_proxies.clone(),
    })
}
