//! `[[client]]`: who may call `/exchange`, from which upstreams, for which audiences, and how
//! their tokens are issued.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::secret::validate_secret;
use super::values::{duration, rate_limit, signing_alg};
use crate::config::error::Problems;
use crate::config::file::ClientFile;
use crate::config::rules::validate_rules;
use crate::config::{AccessTokenTyp, ClientConfig, KeysConfig, UpstreamConfig, defaults};
use crate::policy::audience::{AudienceMode, AudienceRules};

pub(super) fn validate_clients(
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
        // An opaque token names no issuer: it goes to the one IdP that can introspect it for
        // this client, never to several (each would learn a token meant for another).
        let introspecting: Vec<&str> = upstreams
            .iter()
            .filter(|upstream| {
                upstream.introspection.is_some() && file.upstreams.contains(&upstream.name)
            })
            .map(|upstream| upstream.name.as_str())
            .collect();
        if introspecting.len() > 1 {
            problems.add(
                format!("{label}.upstreams"),
                format!(
                    "{introspecting:?} all have introspection: an opaque token would not say which to ask; give the client one of them"
                ),
            );
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
            None => defaults::AUDIENCE_MODE,
            Some(name) => AudienceMode::parse(name).unwrap_or_else(|| {
                problems.add(
                    format!("{label}.select"),
                    format!("{name:?} is not one of only, first, requested"),
                );
                defaults::AUDIENCE_MODE
            }),
        };
        let signing_alg = match file.signing_alg.as_deref() {
            None => keys.default_signing_alg,
            Some(name) => signing_alg(Some(name), &format!("{label}.signing_alg"), problems),
        };
        let access_token_typ = match file.access_token_typ.as_deref() {
            None => defaults::ACCESS_TOKEN_TYP,
            Some("at+jwt") => AccessTokenTyp::AtJwt,
            Some("JWT") => AccessTokenTyp::Jwt,
            Some(other) => {
                problems.add(
                    format!("{label}.access_token_typ"),
                    format!("{other:?} is not at+jwt or JWT"),
                );
                defaults::ACCESS_TOKEN_TYP
            }
        };
        let max_ttl = duration(
            file.max_ttl.as_deref(),
            defaults::MAX_TTL,
            &format!("{label}.max_ttl"),
            problems,
        );
        if max_ttl.is_zero() {
            problems.add(format!("{label}.max_ttl"), "must be longer than 0s");
        }
        let rate_limit = rate_limit(
            file.rate_limit,
            defaults::CLIENT_RATE_LIMIT,
            &format!("{label}.rate_limit"),
            problems,
        );
        let cache_size = cache_size(file.cache, file.cache_size, &label, problems);
        clients.push(ClientConfig {
            id: file.id,
            secret,
            secret_file: file.secret.file.as_ref().map(|path| base.join(path)),
            upstreams: file.upstreams,
            audience: AudienceRules {
                mode,
                allowed: file.audiences,
                rewrite: file.rewrite.into_iter().collect::<HashMap<_, _>>(),
            },
            max_ttl,
            signing_alg,
            access_token_typ,
            is_id_token_from_access_token_allowed: file
                .id_token_from_access_token
                .unwrap_or(defaults::ID_TOKEN_FROM_ACCESS_TOKEN),
            rate_limit,
            cache_size,
            rules: validate_rules(&label, file.preset.as_deref(), file.claims, problems),
        });
    }
    clients
}

/// `cache` and `cache_size`: the number of entries when the cache is on. A `cache_size` without
/// `cache = true` is refused rather than ignored, so that a size never suggests a cache that
/// isn't there.
fn cache_size(
    is_on: Option<bool>,
    size: Option<i64>,
    label: &str,
    problems: &mut Problems,
) -> Option<u64> {
    let is_on = is_on.unwrap_or(defaults::CACHE);
    let key = format!("{label}.cache_size");
    let Some(size) = size else {
        return is_on.then_some(defaults::CACHE_SIZE);
    };
    if !is_on {
        problems.add(key, "is set, but cache = true is not: set both, or neither");
        return None;
    }
    match u64::try_from(size) {
        Ok(size) if (1..=defaults::MAX_CACHE_SIZE).contains(&size) => Some(size),
        _ => {
            problems.add(
                key,
                format!(
                    "{size} is out of range: from 1 to {} entries",
                    defaults::MAX_CACHE_SIZE
                ),
            );
            None
        }
    }
}
