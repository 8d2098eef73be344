//! File → typed `Config`: every value checked, every problem collected with its key.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::error::{ConfigErrors, Problems};
use super::file::{
    ClientFile, FrontFile, KeysFile, LimitsFile, RateLimitFile, SecretFile, TOP_LEVEL_KEYS,
    UpstreamFile,
};
use super::{
    AccessTokenTyp, ClientConfig, Config, DecryptionKeyConfig, FrontConfig, KeysConfig, Limits,
    RateLimit, SigningKeyConfig, UpstreamConfig,
};
use crate::jose::alg::{JweAlg, JweEnc, JwsAlg};
use crate::oauth::SecretDigest;
use crate::policy::audience::{AudienceMode, AudienceRules};

/// Parses config text; relative paths are taken from `base` (the config file's folder) and
/// secrets by reference are read from the process environment.
pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
    parse_with_env(text, base, &|name| std::env::var(name).ok())
}

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
    let issuer = validate_issuer(table.get("issuer"), &mut problems);
    let listen = match table.get("listen") {
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some(Value::String(addr)) => addr.parse().unwrap_or_else(|_| {
            problems.add(
                "listen",
                format!("{addr:?} is not an address:port such as 0.0.0.0:8080"),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }),
        Some(_) => {
            problems.add("listen", "must be a string such as \"0.0.0.0:8080\"");
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }
    };
    let workers = match table.get("workers") {
        None => None,
        Some(Value::Integer(n)) if (1..=256).contains(n) => usize::try_from(*n).ok(),
        Some(_) => {
            problems.add("workers", "must be a whole number from 1 to 256");
            None
        }
    };
    let keys_file: KeysFile = section(&table, "keys", text, &mut problems).unwrap_or_default();
    let limits_file: LimitsFile =
        section(&table, "limits", text, &mut problems).unwrap_or_default();
    let upstream_files: Vec<(String, UpstreamFile)> =
        entries(&table, "upstream", text, &mut problems);
    let client_files: Vec<(String, ClientFile)> = entries(&table, "client", text, &mut problems);
    let front_files: Vec<(String, FrontFile)> = entries(&table, "front", text, &mut problems);

    let warnings = deprecated_names(&limits_file, &upstream_files, &mut problems);
    let keys = validate_keys(keys_file, base, &mut problems);
    let limits = validate_limits(limits_file, &mut problems);
    let upstreams = validate_upstreams(upstream_files, &mut problems);
    let clients = validate_clients(client_files, &upstreams, &keys, base, env, &mut problems);
    let fronts = validate_fronts(front_files, &clients, &mut problems);
    if upstreams.is_empty() && problems.is_empty() {
        problems.add("upstream", "at least one [[upstream]] is needed");
    }
    problems.into_result(Config {
        issuer,
        listen,
        workers,
        keys,
        limits,
        upstreams,
        clients,
        fronts,
        warnings,
    })
}

/// Switches that weaken a check are named `danger_*`. The two that once weren't keep their old
/// names working, with a warning; setting both names is a mistake worth stopping for.
fn deprecated_names(
    limits: &LimitsFile,
    upstreams: &[(String, UpstreamFile)],
    problems: &mut Problems,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut check = |key: String, old: &str, is_old: bool, is_new: bool| {
        if is_old && is_new {
            problems.add(
                format!("{key}.{old}"),
                format!("set only danger_{old}, the new name of {old}"),
            );
        } else if is_old {
            warnings.push(format!(
                "{key}.{old} is deprecated: rename it danger_{old}, which says what it does"
            ));
        }
    };
    check(
        "limits".into(),
        "allow_zip",
        limits.allow_zip,
        limits.danger_allow_zip,
    );
    for (label, upstream) in upstreams {
        check(
            label.clone(),
            "allow_jwks_on_other_host",
            upstream.allow_jwks_on_other_host,
            upstream.danger_allow_jwks_on_other_host,
        );
    }
    warnings
}

fn validate_fronts(
    files: Vec<(String, FrontFile)>,
    clients: &[ClientConfig],
    problems: &mut Problems,
) -> Vec<FrontConfig> {
    let mut seen = HashSet::new();
    let mut fronts = Vec::new();
    for (label, file) in files {
        let client = clients.iter().find(|client| client.id == file.client);
        match client {
            None => problems.add(
                format!("{label}.client"),
                format!("{:?} is not a configured client", file.client),
            ),
            Some(client) if !client.upstreams.contains(&file.upstream) => problems.add(
                format!("{label}.upstream"),
                format!(
                    "{:?} is not among client {:?}'s upstreams",
                    file.upstream, client.id
                ),
            ),
            Some(_) => {}
        }
        if !seen.insert(file.client.clone()) {
            problems.add(format!("{label}.client"), "a client has at most one front");
        }
        let is_userinfo_jwt = match file.userinfo.as_deref() {
            None | Some("json") => false,
            Some("jwt") => true,
            Some(other) => {
                problems.add(
                    format!("{label}.userinfo"),
                    format!("{other:?} is not json or jwt"),
                );
                false
            }
        };
        let userinfo_ttl = validate_userinfo_ttl(
            file.userinfo_ttl.as_deref(),
            is_userinfo_jwt,
            client.map(|client| client.max_ttl),
            &format!("{label}.userinfo_ttl"),
            problems,
        );
        fronts.push(FrontConfig {
            client: file.client,
            upstream: file.upstream,
            is_userinfo_jwt,
            userinfo_ttl,
            is_access_token_normalized: file.normalize_access_token,
        });
    }
    fronts
}

/// A relying party checks a signed userinfo answer the moment it arrives: a minute covers the
/// round trip and ordinary clock skew, and keeps a leaked answer useless soon after.
const DEFAULT_USERINFO_TTL: Duration = Duration::from_secs(60);

/// `userinfo_ttl`: whole seconds (`exp` and `iat` count seconds, RFC 7519 §2), at least one, and
/// never longer than what the client may be issued. Without it, the default, shortened to the
/// client's `max_ttl` if that is shorter.
fn validate_userinfo_ttl(
    value: Option<&str>,
    is_userinfo_jwt: bool,
    max_ttl: Option<Duration>,
    key: &str,
    problems: &mut Problems,
) -> Duration {
    // An unknown client was reported already; its limit doesn't matter then.
    let max_ttl = max_ttl.unwrap_or(Duration::MAX);
    let Some(text) = value else {
        return DEFAULT_USERINFO_TTL.min(max_ttl);
    };
    if !is_userinfo_jwt {
        problems.add(key, "applies only with userinfo = \"jwt\"");
    }
    let Ok(ttl) = humantime::parse_duration(text) else {
        problems.add(
            key,
            format!("{text:?} is not a duration such as \"60s\" or \"5m\""),
        );
        return DEFAULT_USERINFO_TTL;
    };
    if ttl < Duration::from_secs(1) || ttl.subsec_nanos() != 0 {
        problems.add(key, "must be a whole number of seconds, at least 1s");
    } else if ttl > max_ttl {
        problems.add(
            key,
            format!(
                "{text:?} is longer than the client's max_ttl ({})",
                humantime::format_duration(max_ttl)
            ),
        );
    }
    ttl
}

impl Config {
    fn placeholder() -> Config {
        Config {
            issuer: String::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: None,
            keys: KeysConfig {
                dir: ".".into(),
                default_signing_alg: JwsAlg::RS256,
                signing: Vec::new(),
                decryption: Vec::new(),
                decryption_algs: Vec::new(),
                content_encryption: Vec::new(),
            },
            limits: Limits::default(),
            upstreams: Vec::new(),
            warnings: Vec::new(),
            clients: Vec::new(),
            fronts: Vec::new(),
        }
    }
}

/// The line of the `n`-th occurrence of a table header, so a problem in an entry can be found.
fn header_line(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with(header))
        .nth(n)
        .map(|(number, _)| number + 1)
}

fn section<T: DeserializeOwned>(
    table: &Table,
    name: &str,
    text: &str,
    problems: &mut Problems,
) -> Option<T> {
    let value = table.get(name)?.clone();
    match T::deserialize(value) {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            let line = header_line(text, &format!("[{name}]"), 0)
                .map(|line| format!(" (section at line {line})"))
                .unwrap_or_default();
            problems.add(name, format!("{}{line}", err.message()));
            None
        }
    }
}

/// `[[name]]` entries, each parsed on its own so that one bad entry doesn't hide the others.
/// Returns each entry with the key path to name it by.
fn entries<T: DeserializeOwned>(
    table: &Table,
    name: &str,
    text: &str,
    problems: &mut Problems,
) -> Vec<(String, T)> {
    let Some(value) = table.get(name) else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        problems.add(
            name,
            format!("must be an array of tables: write [[{name}]]"),
        );
        return Vec::new();
    };
    let mut parsed = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let label = item
            .get(if name == "client" { "id" } else { "name" })
            .and_then(Value::as_str)
            .map(|id| format!("{name}[{index}] ({id:?})"))
            .unwrap_or_else(|| format!("{name}[{index}]"));
        match T::deserialize(item.clone()) {
            Ok(entry) => parsed.push((label, entry)),
            Err(err) => {
                let line = header_line(text, &format!("[[{name}]]"), index)
                    .map(|line| format!(" (entry at line {line})"))
                    .unwrap_or_default();
                problems.add(label, format!("{}{line}", err.message()));
            }
        }
    }
    parsed
}

fn validate_issuer(value: Option<&Value>, problems: &mut Problems) -> String {
    let Some(Value::String(issuer)) = value else {
        problems.add(
            "issuer",
            "required: tokenbridge's public base URL, such as \"https://tokenbridge.example.com\"",
        );
        return String::new();
    };
    match url::Url::parse(issuer) {
        Ok(url)
            if matches!(url.scheme(), "https" | "http")
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            issuer.trim_end_matches('/').to_owned()
        }
        // OIDC Discovery §3: the issuer is an https URL with no query or fragment.
        _ => {
            problems.add(
                "issuer",
                format!("{issuer:?} is not an http(s) URL without query or fragment"),
            );
            String::new()
        }
    }
}

fn duration(
    value: Option<&str>,
    default: Duration,
    key: &str,
    problems: &mut Problems,
) -> Duration {
    match value {
        None => default,
        Some(text) => humantime::parse_duration(text).unwrap_or_else(|_| {
            problems.add(
                key,
                format!("{text:?} is not a duration such as \"60s\" or \"5m\""),
            );
            default
        }),
    }
}

fn validate_keys(file: KeysFile, base: &Path, problems: &mut Problems) -> KeysConfig {
    let dir = base.join(file.dir.as_deref().unwrap_or("./keys"));
    let default_signing_alg =
        signing_alg(file.signing_alg.as_deref(), "keys.signing_alg", problems);
    let signing = file
        .signing
        .into_iter()
        .enumerate()
        .map(|(index, key)| SigningKeyConfig {
            file: base.join(&key.file),
            alg: signing_alg(
                Some(&key.alg),
                &format!("keys.signing[{index}].alg"),
                problems,
            ),
            kid: key.kid,
            is_retired: key.retired,
        })
        .collect();
    let decryption = file
        .decryption
        .into_iter()
        .map(|key| DecryptionKeyConfig {
            file: base.join(&key.file),
            kid: key.kid,
        })
        .collect();
    let decryption_algs = match file.decryption_algs {
        None => JweAlg::ALL.to_vec(),
        Some(names) => names_to_algs(&names, "keys.decryption_algs", JweAlg::parse, problems),
    };
    let content_encryption = match file.content_encryption {
        None => JweEnc::ALL.to_vec(),
        Some(names) => names_to_algs(&names, "keys.content_encryption", JweEnc::parse, problems),
    };
    KeysConfig {
        dir,
        default_signing_alg,
        signing,
        decryption,
        decryption_algs,
        content_encryption,
    }
}

fn signing_alg(name: Option<&str>, key: &str, problems: &mut Problems) -> JwsAlg {
    match name {
        None => JwsAlg::RS256,
        Some(name) => match JwsAlg::parse(name).filter(|alg| alg.is_signing_supported()) {
            Some(alg) => alg,
            None => {
                problems.add(
                    key,
                    format!(
                        "{name:?} is not a signing algorithm; use RS256, PS256, ES256 or EdDSA"
                    ),
                );
                JwsAlg::RS256
            }
        },
    }
}

fn names_to_algs<T: Copy>(
    names: &[String],
    key: &str,
    parse: fn(&str) -> Option<T>,
    problems: &mut Problems,
) -> Vec<T> {
    if names.is_empty() {
        problems.add(key, "must not be empty");
    }
    names
        .iter()
        .filter_map(|name| {
            let parsed = parse(name);
            if parsed.is_none() {
                problems.add(key, format!("{name:?} is not a supported algorithm"));
            }
            parsed
        })
        .collect()
}

fn rate_limit(
    file: Option<RateLimitFile>,
    default: RateLimit,
    key: &str,
    problems: &mut Problems,
) -> RateLimit {
    let Some(limit) = file else {
        return default;
    };
    if !(limit.per_second.is_finite() && limit.per_second > 0.0) || limit.burst == 0 {
        problems.add(key, "per_second and burst must be greater than 0");
    }
    RateLimit {
        per_second: limit.per_second,
        burst: limit.burst,
    }
}

fn validate_limits(file: LimitsFile, problems: &mut Problems) -> Limits {
    let defaults = Limits::default();
    let failed_auth = rate_limit(
        file.failed_auth,
        defaults.failed_auth,
        "limits.failed_auth",
        problems,
    );
    let mut positive = |value: Option<usize>, default: usize, key: &str| match value {
        Some(0) => {
            problems.add(key, "must be greater than 0");
            default
        }
        Some(value) => value,
        None => default,
    };
    let limits = Limits {
        max_body_bytes: positive(
            file.max_body_bytes,
            defaults.max_body_bytes,
            "limits.max_body_bytes",
        ),
        max_token_bytes: positive(
            file.max_token_bytes,
            defaults.max_token_bytes,
            "limits.max_token_bytes",
        ),
        max_header_bytes: positive(
            file.max_header_bytes,
            defaults.max_header_bytes,
            "limits.max_header_bytes",
        ),
        failed_auth,
        is_zip_allowed: file.danger_allow_zip || file.allow_zip,
        max_inflated_bytes: positive(
            file.max_inflated_bytes,
            defaults.max_inflated_bytes,
            "limits.max_inflated_bytes",
        ),
        max_json_depth: positive(
            file.max_json_depth,
            defaults.max_json_depth,
            "limits.max_json_depth",
        ),
        max_claims: positive(file.max_claims, defaults.max_claims, "limits.max_claims"),
        max_aud_values: positive(
            file.max_aud_values,
            defaults.max_aud_values,
            "limits.max_aud_values",
        ),
        max_issued_claims: positive(
            file.max_issued_claims,
            defaults.max_issued_claims,
            "limits.max_issued_claims",
        ),
        max_issued_bytes: positive(
            file.max_issued_bytes,
            defaults.max_issued_bytes,
            "limits.max_issued_bytes",
        ),
        jwks_max_age: duration(
            file.jwks_max_age.as_deref(),
            defaults.jwks_max_age,
            "limits.jwks_max_age",
            problems,
        ),
        body_read_timeout: duration(
            file.body_read_timeout.as_deref(),
            defaults.body_read_timeout,
            "limits.body_read_timeout",
            problems,
        ),
    };
    if limits.body_read_timeout.is_zero() {
        problems.add(
            "limits.body_read_timeout",
            "must be longer than 0s: no body could be read",
        );
    }
    if limits.max_token_bytes > limits.max_body_bytes {
        problems.add(
            "limits.max_token_bytes",
            "must not exceed limits.max_body_bytes",
        );
    }
    limits
}

fn validate_upstreams(
    files: Vec<(String, UpstreamFile)>,
    problems: &mut Problems,
) -> Vec<UpstreamConfig> {
    let mut names = HashSet::new();
    let mut issuers = HashSet::new();
    let mut upstreams = Vec::new();
    for (label, file) in files {
        if file.name.is_empty() || !names.insert(file.name.clone()) {
            problems.add(format!("{label}.name"), "must be non-empty and unique");
        }
        if !issuers.insert(file.issuer.clone()) {
            problems.add(
                format!("{label}.issuer"),
                "another upstream has the same issuer",
            );
        }
        let issuer_url = check_fetch_url(
            &file.issuer,
            file.danger_allow_http,
            &format!("{label}.issuer"),
            problems,
        );
        // OIDC Discovery §3: an issuer has no query or fragment.
        if issuer_url.is_some_and(|url| url.query().is_some() || url.fragment().is_some()) {
            problems.add(
                format!("{label}.issuer"),
                "an issuer has no query or fragment",
            );
        }
        for (value, name) in [
            (file.max_jwks_bytes, "max_jwks_bytes"),
            (file.max_jwks_keys, "max_jwks_keys"),
        ] {
            if value == Some(0) {
                problems.add(format!("{label}.{name}"), "must be greater than 0");
            }
        }
        let jwks_uri = file.jwks_uri.as_deref().and_then(|uri| {
            check_fetch_url(
                uri,
                file.danger_allow_http,
                &format!("{label}.jwks_uri"),
                problems,
            )
        });
        let algorithms = match &file.algorithms {
            None => vec![JwsAlg::RS256],
            Some(names) => names_to_algs(
                names,
                &format!("{label}.algorithms"),
                JwsAlg::parse,
                problems,
            ),
        };
        let refresh_interval = duration(
            file.refresh_interval.as_deref(),
            Duration::from_secs(300),
            &format!("{label}.refresh_interval"),
            problems,
        );
        let max_key_age = duration(
            file.max_key_age.as_deref(),
            Duration::from_secs(24 * 3600),
            &format!("{label}.max_key_age"),
            problems,
        );
        if max_key_age <= refresh_interval {
            problems.add(
                format!("{label}.max_key_age"),
                "must be longer than refresh_interval",
            );
        }
        upstreams.push(UpstreamConfig {
            issuer: file.issuer,
            jwks_uri,
            algorithms,
            leeway: duration(
                file.leeway.as_deref(),
                Duration::from_secs(60),
                &format!("{label}.leeway"),
                problems,
            ),
            is_http_allowed: file.danger_allow_http,
            is_jwks_on_other_host_allowed: file.danger_allow_jwks_on_other_host
                || file.allow_jwks_on_other_host,
            refresh_interval,
            max_key_age,
            refetch_cooldown: duration(
                file.refetch_cooldown.as_deref(),
                Duration::from_secs(30),
                &format!("{label}.refetch_cooldown"),
                problems,
            ),
            fetch_timeout: duration(
                file.fetch_timeout.as_deref(),
                Duration::from_secs(5),
                &format!("{label}.fetch_timeout"),
                problems,
            ),
            max_jwks_bytes: file.max_jwks_bytes.unwrap_or(256 * 1024),
            max_jwks_keys: file.max_jwks_keys.unwrap_or(64),
            rules: super::rules::validate_rules(
                &label,
                file.preset.as_deref(),
                file.claims,
                problems,
            ),
            name: file.name,
        });
    }
    upstreams
}

/// Upstream URLs must be absolute, and HTTPS unless `danger_allow_http` says otherwise.
fn check_fetch_url(
    text: &str,
    is_http_allowed: bool,
    key: &str,
    problems: &mut Problems,
) -> Option<url::Url> {
    let Ok(url) = url::Url::parse(text) else {
        problems.add(key, format!("{text:?} is not an absolute URL"));
        return None;
    };
    match url.scheme() {
        "https" => Some(url),
        "http" if is_http_allowed => Some(url),
        "http" => {
            problems.add(key, "plain http is refused; use https, or set danger_allow_http = true on this upstream");
            None
        }
        other => {
            problems.add(key, format!("scheme {other:?} is not http(s)"));
            None
        }
    }
}

fn validate_clients(
    files: Vec<(String, ClientFile)>,
    upstreams: &[UpstreamConfig],
    keys: &KeysConfig,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Vec<ClientConfig> {
    let mut ids = HashSet::new();
    let mut clients = Vec::new();
    for (label, file) in files {
        if file.id.is_empty() || file.id.contains(':') || !ids.insert(file.id.clone()) {
            problems.add(
                format!("{label}.id"),
                "must be non-empty, unique, and without ':'",
            );
        }
        let secret = validate_secret(
            &file.secret,
            &format!("{label}.secret"),
            base,
            env,
            problems,
        );
        if file.upstreams.is_empty() {
            problems.add(
                format!("{label}.upstreams"),
                "must name at least one upstream",
            );
        }
        for name in &file.upstreams {
            if !upstreams.iter().any(|upstream| &upstream.name == name) {
                problems.add(
                    format!("{label}.upstreams"),
                    format!("{name:?} is not a configured upstream"),
                );
            }
        }
        if file.audiences.is_empty() {
            problems.add(
                format!("{label}.audiences"),
                "must list at least one allowed audience",
            );
        }
        for from in file.rewrite.keys() {
            if !file.audiences.contains(from) {
                problems.add(
                    format!("{label}.rewrite"),
                    format!("{from:?} is not among this client's audiences"),
                );
            }
        }
        let mode = match file.select.as_deref() {
            None => AudienceMode::Only,
            Some(name) => AudienceMode::parse(name).unwrap_or_else(|| {
                problems.add(
                    format!("{label}.select"),
                    format!("{name:?} is not one of only, first, requested"),
                );
                AudienceMode::Only
            }),
        };
        let signing_alg = match file.signing_alg.as_deref() {
            None => keys.default_signing_alg,
            Some(name) => signing_alg(Some(name), &format!("{label}.signing_alg"), problems),
        };
        let access_token_typ = match file.access_token_typ.as_deref() {
            None | Some("at+jwt") => AccessTokenTyp::AtJwt,
            Some("JWT") => AccessTokenTyp::Jwt,
            Some(other) => {
                problems.add(
                    format!("{label}.access_token_typ"),
                    format!("{other:?} is not at+jwt or JWT"),
                );
                AccessTokenTyp::AtJwt
            }
        };
        let max_ttl = duration(
            file.max_ttl.as_deref(),
            Duration::from_secs(300),
            &format!("{label}.max_ttl"),
            problems,
        );
        if max_ttl.is_zero() {
            problems.add(format!("{label}.max_ttl"), "must be longer than 0s");
        }
        let rate_limit = rate_limit(
            file.rate_limit,
            RateLimit::default(),
            &format!("{label}.rate_limit"),
            problems,
        );
        clients.push(ClientConfig {
            id: file.id,
            secret,
            upstreams: file.upstreams,
            audience: AudienceRules {
                mode,
                allowed: file.audiences,
                rewrite: file.rewrite.into_iter().collect::<HashMap<_, _>>(),
            },
            max_ttl,
            signing_alg,
            access_token_typ,
            rate_limit,
            rules: super::rules::validate_rules(
                &label,
                file.preset.as_deref(),
                file.claims,
                problems,
            ),
        });
    }
    clients
}

/// Shorter secrets are guessable offline from a leaked SHA-256, and online faster than a rate
/// limit can stop.
const MIN_SECRET_LEN: usize = 16;

fn validate_secret(
    file: &SecretFile,
    key: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> SecretDigest {
    let placeholder = SecretDigest::of(b"");
    let secret = match (&file.env, &file.file, &file.sha256) {
        (Some(name), None, None) => match env(name) {
            Some(value) => value,
            None => {
                problems.add(
                    format!("{key}.env"),
                    format!("environment variable {name} is not set"),
                );
                return placeholder;
            }
        },
        (None, Some(path), None) => match std::fs::read_to_string(base.join(path)) {
            // Secret files written by `echo` end in a newline that is not part of the secret.
            Ok(value) => value.trim_end_matches(['\r', '\n']).to_owned(),
            Err(err) => {
                problems.add(format!("{key}.file"), format!("cannot read {path}: {err}"));
                return placeholder;
            }
        },
        (None, None, Some(hex)) => {
            return SecretDigest::from_hex(hex).unwrap_or_else(|| {
                problems.add(
                    format!("{key}.sha256"),
                    "must be 64 hex digits (the SHA-256 of the secret)",
                );
                placeholder
            });
        }
        _ => {
            problems.add(
                key,
                "give exactly one of { env = \"VAR\" }, { file = \"path\" }, { sha256 = \"hex\" }",
            );
            return placeholder;
        }
    };
    if secret.len() < MIN_SECRET_LEN {
        problems.add(
            key,
            format!("the secret is shorter than {MIN_SECRET_LEN} characters"),
        );
    }
    SecretDigest::of(secret.as_bytes())
}

#[cfg(test)]
mod tests;
