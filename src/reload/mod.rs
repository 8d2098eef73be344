//! Live reload: on SIGHUP, or when a watched file changes, the config and every file it names
//! are read and checked again. A good result is swapped in whole, sharing with the old state
//! what it left as it was; a bad one changes nothing but the reload status, and the log gets
//! every problem with its key.

mod refreshers;
mod summary;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::app::{StartError, build_next_state, warn_about_dangers};
use crate::clock::{SharedClock, UnixTime};
use crate::config::{Config, ConfigErrors, ConfigProblem, TelemetryConfig};
use crate::state::LiveState;
pub(crate) use refreshers::Refreshers;
pub use summary::{Changes, ReloadSummary};
use watch::{Fingerprint, watched_files};

/// After a change is seen, it is read again this long after, and the reload waits until two
/// reads agree: a file written in several steps is not loaded half-written.
const SETTLE: Duration = Duration::from_millis(200);
/// At most this many settle rounds; a file still changing after them is loaded as it is then.
const MAX_SETTLE_ROUNDS: usize = 10;

/// How the reloads have gone since the start: what `/readyz` shows.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Good reloads so far; the state being served is this generation (0: the start's).
    pub generation: u64,
    /// Reloads refused so far.
    pub failures: u64,
    /// When the config being served was loaded (Unix seconds): the start, or the last good
    /// reload.
    pub last_success_at: Option<UnixTime>,
    /// The last refused reload, if it came after the last good one: the config being served is
    /// then older than the file.
    pub last_failure: Option<ReloadFailure>,
    /// Changed settings that wait for a restart (`listen`, `workers`, `proxy_protocol`, `telemetry`).
    pub needs_restart: Vec<&'static str>,
}

/// A refused reload: when, and the keys that had problems (the messages are in the log).
#[derive(Debug, Clone)]
pub struct ReloadFailure {
    /// When it was refused (Unix seconds).
    pub at: UnixTime,
    /// The config key of each problem.
    pub keys: Vec<String>,
}

/// What the reloader keeps between reloads.
struct Running {
    config: Config,
    refreshers: Refreshers,
    /// The watched files as the last reload (or the start) saw them.
    seen: Fingerprint,
    /// The files a refused config named, watched too until a reload succeeds: a key file that
    /// arrives after the config naming it (a Secret updated after its ConfigMap) retries it.
    also_watched: Vec<PathBuf>,
}

impl Running {
    /// The files whose change reloads: those the config served names, and `also_watched`.
    fn watched(&self, config_file: &Path) -> Vec<PathBuf> {
        let mut files = watched_files(config_file, &self.config);
        files.extend(self.also_watched.iter().cloned());
        files.sort();
        files.dedup();
        files
    }
}

/// Reloads one running instance from its config file.
pub struct Reloader {
    /// `None` when the app was built from a `Config` rather than a file: nothing to reload.
    source: Option<PathBuf>,
    clock: SharedClock,
    live: Arc<LiveState>,
    /// Held for the whole of a reload, so two never interleave.
    running: Mutex<Running>,
    /// What the process was started with, and keeps until it restarts.
    started_with: Restart,
}

/// The settings only a restart changes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Restart {
    listen: std::net::SocketAddr,
    workers: Option<usize>,
    is_proxy_protocol: bool,
    telemetry: TelemetryConfig,
}

impl Restart {
    fn of(config: &Config) -> Restart {
        Restart {
            listen: config.listen,
            workers: config.workers,
            is_proxy_protocol: config.is_proxy_protocol,
            telemetry: config.telemetry,
        }
    }

    /// The settings `config` has otherwise than this.
    fn changed_in(&self, config: &Config) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.listen != config.listen {
            changed.push("listen");
        }
        if self.workers != config.workers {
            changed.push("workers");
        }
        if self.is_proxy_protocol != config.is_proxy_protocol {
            changed.push("proxy_protocol");
        }
        if self.telemetry != config.telemetry {
            changed.push("telemetry");
        }
        changed
    }
}

impl Reloader {
    pub(crate) fn new(
        source: Option<PathBuf>,
        clock: SharedClock,
        live: Arc<LiveState>,
        config: Config,
        refreshers: Refreshers,
    ) -> Reloader {
        let seen = match &source {
            Some(path) => Fingerprint::of(&watched_files(path, &config)),
            None => Fingerprint::default(),
        };
        Reloader {
            started_with: Restart::of(&config),
            source,
            clock,
            live,
            running: Mutex::new(Running {
                config,
                refreshers,
                seen,
                also_watched: Vec::new(),
            }),
        }
    }

    /// Reads and checks everything again and swaps in the new state, or keeps the old one and
    /// records the failure. Either way the outcome is logged.
    pub async fn reload(&self) -> Result<ReloadSummary, ConfigErrors> {
        let mut running = self.running.lock().await;
        self.reload_locked(&mut running).await
    }

    /// `reload`, unless no watched file differs from what the last reload saw: the watch's
    /// trigger, so that a change SIGHUP already loaded is not loaded twice.
    async fn reload_if_changed(&self, path: &Path) {
        let mut running = self.running.lock().await;
        let changed = Fingerprint::of(&running.watched(path)).changed_since(&running.seen);
        if changed.is_empty() {
            return;
        }
        let shown: Vec<String> = changed
            .iter()
            .map(|file| file.display().to_string())
            .collect();
        tracing::info!(files = ?shown, "a watched file changed: reloading the config");
        let _ = self.reload_locked(&mut running).await;
    }

    async fn reload_locked(&self, running: &mut Running) -> Result<ReloadSummary, ConfigErrors> {
        let Some(path) = &self.source else {
            return Err(ConfigErrors(vec![ConfigProblem {
                key: "(reload)".into(),
                message: "this instance was built from a config, not a file".into(),
            }]));
        };
        let seen = Fingerprint::of(&running.watched(path));
        let outcome = self.try_reload(path, running).await;
        let now = self.clock.now();
        let outcome = match outcome {
            Ok(done) => Ok(done),
            Err((errors, named)) => {
                running.also_watched = named;
                Err(errors)
            }
        };
        match &outcome {
            Ok((summary, config)) => {
                running.also_watched.clear();
                running.seen = Fingerprint::carried(&watched_files(path, config), &seen);
                let generation = self.live.reload_status().generation + 1;
                tracing::info!(generation, summary = %summary, "reloaded the config");
                self.live.update_reload_status(|status| {
                    status.generation = generation;
                    status.last_success_at = Some(now);
                    status.last_failure = None;
                    status.needs_restart = summary.needs_restart.clone();
                });
            }
            Err(errors) => {
                // What the refused config names is watched from now on too.
                running.seen = Fingerprint::carried(&running.watched(path), &seen);
                for problem in &errors.0 {
                    tracing::error!(key = %problem.key, problem = %problem.message, "reload refused: still serving the previous config");
                }
                self.live.update_reload_status(|status| {
                    status.failures += 1;
                    status.last_failure = Some(ReloadFailure {
                        at: now,
                        keys: errors.0.iter().map(|problem| problem.key.clone()).collect(),
                    });
                });
            }
        }
        outcome.map(|(summary, _)| summary)
    }

    /// The new state swapped in, or why not with the files the refused config names (none when
    /// it could not be read at all).
    async fn try_reload(
        &self,
        path: &Path,
        running: &mut Running,
    ) -> Result<(ReloadSummary, Config), (ConfigErrors, Vec<PathBuf>)> {
        let config = Config::load(path).map_err(|errors| (errors, Vec::new()))?;
        let previous = self.live.current();
        let state = match build_next_state(&config, self.clock.clone(), &previous) {
            Ok(state) => Arc::new(state),
            Err(error) => return Err((as_problems(error), watched_files(path, &config))),
        };
        let fetched = running
            .refreshers
            .fetch_new(&state.pipeline.upstreams)
            .await;
        let mut summary = ReloadSummary::between(
            (&running.config, &previous.pipeline.key_ring),
            (&config, &state.pipeline.key_ring),
            self.clock.now(),
        );
        summary.needs_restart = self.started_with.changed_in(&config);
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
        warn_about_dangers(&config);
        for setting in &summary.needs_restart {
            tracing::warn!(
                setting,
                "{setting} changed: it takes effect only after a restart"
            );
        }
        // Requests that already hold the previous state finish on it.
        self.live.swap(state.clone());
        running
            .refreshers
            .replace(&state.pipeline.upstreams, fetched);
        running.config = config.clone();
        Ok((summary, config))
    }

    /// Starts what triggers reloads: SIGHUP, and the watch of the files when `reload.watch` is
    /// on. Nothing without a file.
    pub(crate) fn start_triggers(self: &Arc<Self>) -> Result<Vec<JoinHandle<()>>, StartError> {
        if self.source.is_none() {
            return Ok(Vec::new());
        }
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(StartError::Signal)?;
        let on_signal = tokio::spawn({
            let reloader = self.clone();
            async move {
                while hangups.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading the config");
                    let _ = reloader.reload().await;
                }
            }
        });
        let on_change = tokio::spawn({
            let reloader = self.clone();
            async move { reloader.watch().await }
        });
        Ok(vec![on_signal, on_change])
    }

    /// Polls the watched files at `reload.poll_interval` (both as the current config says) and
    /// reloads when one changed and has settled.
    async fn watch(&self) {
        let Some(path) = &self.source else { return };
        loop {
            let settings = self.running.lock().await.config.reload;
            tokio::time::sleep(settings.poll_interval).await;
            if !settings.is_watched {
                continue;
            }
            let (files, seen) = {
                let running = self.running.lock().await;
                (running.watched(path), running.seen.clone())
            };
            let mut now = Fingerprint::of(&files);
            if now.changed_since(&seen).is_empty() {
                continue;
            }
            for _ in 0..MAX_SETTLE_ROUNDS {
                tokio::time::sleep(SETTLE).await;
                let again = Fingerprint::of(&files);
                if again == now {
                    break;
                }
                now = again;
            }
            self.reload_if_changed(path).await;
        }
    }

    /// Stops the key refreshers (the server has stopped).
    pub(crate) async fn stop(&self) {
        self.running.lock().await.refreshers.stop();
    }
}

fn as_problems(error: StartError) -> ConfigErrors {
    match error {
        StartError::Config(errors) => errors,
        other => ConfigErrors(vec![ConfigProblem {
            key: "(reload)".into(),
            message: other.to_string(),
        }]),
    }
}
