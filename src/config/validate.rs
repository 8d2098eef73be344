//! File → typed `Config`: each section checked by its own module, every problem collected with
//! its key, and a config returned only when there are none.

mod clients;
mod deprecated;
mod fronts;
mod introspection;
mod issuers;
mod keys;
mod limits;
mod reload;
mod secret;
mod tables;
mod telemetry;
mod top_level;
mod upstreams;
mod values;

use std::path::Path;

use toml::Table;

use super::error::{ConfigErrors, Problems};
use super::file::{
    ClientFile, FrontFile, KeysFile, LimitsFile, ReloadFile, TOP_LEVEL_KEYS, TelemetryFile,
    UpstreamFile,
};
use super::{Config, KeysConfig, Limits, ReloadConfig, TelemetryConfig, TrustedProxies, defaults};
use tables::{entries, section};

/// Parses config text; relative paths are taken from `base` (the config file's folder) and
/// secrets by reference are read from the process environment.
pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
    parse_with_env(text, base, &|name| std::env::var(name).ok())
}

/// `parse`, with secrets by reference (`secret = { env = "…" }`) looked up through `env`
/// instead of the process environment, so tests need not set variables.
pub fn parse_with_env(
    text: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut problems = Problems::default();
    let table: Table = match text.parse() {
        Ok(table) => table,
        Err(err) => {
            problems.add("(file)", err.to_string().trim_end().replace('\n', " "));
            return problems.into_result(Config::placeholder());
        }
    };
    for key in table.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            problems.add(
                key.clone(),
                format!("unknown key; expected one of {}", TOP_LEVEL_KEYS.join(", ")),
            );
        }
    }
    let issuer = top_level::validate_issuer(table.get("issuer"), &mut problems);
    let listen = top_level::validate_listen(table.get("listen"), &mut problems);
    let workers = top_level::validate_workers(table.get("workers"), &mut problems);
    let is_proxy_protocol =
        top_level::validate_proxy_protocol(table.get("proxy_protocol"), &mut problems);
    let keys_file: KeysFile = section(&table, "keys", text, &mut problems).unwrap_or_default();
    let mut limits_file: LimitsFile =
        section(&table, "limits", text, &mut problems).unwrap_or_default();
    let reload_file: ReloadFile =
        section(&table, "reload", text, &mut problems).unwrap_or_default();
    let telemetry_file: TelemetryFile =
        section(&table, "telemetry", text, &mut problems).unwrap_or_default();
    let upstream_files: Vec<(String, UpstreamFile)> =
        entries(&table, "upstream", text, &mut problems);
    let client_files: Vec<(String, ClientFile)> = entries(&table, "client", text, &mut problems);
    let front_files: Vec<(String, FrontFile)> = entries(&table, "front", text, &mut problems);

    let warnings = deprecated::deprecated_names(&limits_file, &upstream_files, &mut problems);
    let keys = keys::validate_keys(keys_file, base, &mut problems);
    let trusted_proxies =
        limits::validate_trusted_proxies(limits_file.trusted_proxies.take(), &mut problems);
    if is_proxy_protocol && trusted_proxies.0.is_empty() {
        problems.add(
            "proxy_protocol",
            "is true, but limits.trusted_proxies is empty: no balancer may name the client, so \
             every PROXY header would be read and ignored; list the balancers' addresses",
        );
    }
    let limits = limits::validate_limits(limits_file, &mut problems);
    let reload = reload::validate_reload(reload_file, &mut problems);
    let telemetry = telemetry::validate_telemetry(telemetry_file, listen, &mut problems);
    let upstreams = upstreams::validate_upstreams(upstream_files, base, env, &mut problems);
    let clients =
        clients::validate_clients(client_files, &upstreams, &keys, base, env, &mut problems);
    let fronts = fronts::validate_fronts(front_files, &clients, &mut problems);
    if upstreams.is_empty() && problems.is_empty() {
        problems.add("upstream", "at least one [[upstream]] is needed");
    }
    problems.into_result(Config {
        issuer,
        listen,
        workers,
        is_proxy_protocol,
        keys,
        limits,
        reload,
        telemetry,
        trusted_proxies,
        upstreams,
        clients,
        fronts,
        warnings,
    })
}

impl Config {
    /// What a file that isn't TOML at all yields; never returned, only carried with its problem.
    fn placeholder() -> Config {
        Config {
            issuer: String::new(),
            listen: defaults::LISTEN,
            workers: None,
            is_proxy_protocol: false,
            keys: KeysConfig {
                dir: ".".into(),
                default_signing_alg: defaults::SIGNING_ALG,
                signing: Vec::new(),
                decryption: Vec::new(),
                decryption_algs: Vec::new(),
                content_encryption: Vec::new(),
                front_state_key: defaults::FRONT_STATE_KEY_FILE.into(),
                retire_leeway: defaults::RETIRE_LEEWAY,
                is_generated_when_missing: defaults::GENERATE_KEYS,
            },
            limits: Limits::default(),
            reload: ReloadConfig {
                is_watched: defaults::RELOAD_WATCH,
                poll_interval: defaults::RELOAD_POLL_INTERVAL,
            },
            telemetry: TelemetryConfig {
                listen: None,
                is_metrics_on_main_port: false,
            },
            trusted_proxies: TrustedProxies::default(),
            upstreams: Vec::new(),
            warnings: Vec::new(),
            clients: Vec::new(),
            fronts: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
