//! `[[upstream]]`: the IdPs whose tokens are accepted: unique names and issuers, https URLs unless
//! `danger_allow_http`, key-cache timings and caps, claim rules.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::introspection::validate_introspection;
use super::issuers::{IssuerFormsFile, other_issuers};
use super::values::{duration, names_to_algs};
use crate::config::error::Problems;
use crate::config::file::UpstreamFile;
use crate::config::rules::validate_rules;
use crate::config::{IssuerForm, UpstreamConfig, defaults};
use crate::jose::alg::JwsAlg;
use crate::upstream::InternalOrigin;

pub(super) fn validate_upstreams(
    files: Vec<(String, UpstreamFile)>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Vec<UpstreamConfig> {
    let mut names = HashSet::new();
    // Every exact iss some upstream accepts, with the key that made it so: one iss, one upstream.
    let mut issuers: HashMap<String, String> = HashMap::new();
    let mut upstreams = Vec::new();
    for (label, file) in files {
        if file.name.is_empty() || !names.insert(file.name.clone()) {
            problems.add(format!("{label}.name"), "must be non-empty and unique");
        }
        if let Some(claimed_by) = issuers.insert(file.issuer.clone(), format!("{label}.issuer")) {
            problems.add(
                format!("{label}.issuer"),
                format!("another upstream already accepts this issuer ({claimed_by})"),
            );
        }
        let other_issuers = other_issuers(
            IssuerFormsFile {
                label: &label,
                issuer: &file.issuer,
                aliases: file.issuer_aliases,
                templates: file.issuer_templates,
                tenants: file.allowed_tenants,
                is_http_allowed: file.danger_allow_http,
            },
            problems,
        );
        // One iss names one upstream, whichever form names it.
        for other in &other_issuers {
            let key = match other.form {
                IssuerForm::Alias => format!("{label}.issuer_aliases"),
                IssuerForm::Tenant { .. } => format!("{label}.issuer_templates"),
            };
            if let Some(claimed_by) = issuers.insert(other.issuer.clone(), key.clone()) {
                problems.add(
                    key,
                    format!("{:?} is already accepted by {claimed_by}", other.issuer),
                );
            }
        }
        let issuer_url = check_issuer_url(
            &file.issuer,
            file.danger_allow_http,
            &format!("{label}.issuer"),
            problems,
        );
        let internal_origin = file.internal_url.as_deref().and_then(|text| {
            let key = format!("{label}.internal_url");
            let internal = check_fetch_url(text, file.danger_allow_http, &key, problems)?;
            let origin = check_origin_only(internal, &key, problems)?;
            Some(InternalOrigin::new(issuer_url.as_ref()?, origin))
        });
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
            None => defaults::UPSTREAM_ALGORITHMS.to_vec(),
            Some(names) => names_to_algs(
                names,
                &format!("{label}.algorithms"),
                JwsAlg::parse,
                problems,
            ),
        };
        let refresh_interval = duration(
            file.refresh_interval.as_deref(),
            defaults::REFRESH_INTERVAL,
            &format!("{label}.refresh_interval"),
            problems,
        );
        let max_key_age = duration(
            file.max_key_age.as_deref(),
            defaults::MAX_KEY_AGE,
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
            other_issuers,
            internal_origin,
            jwks_uri,
            algorithms,
            leeway: duration(
                file.leeway.as_deref(),
                defaults::LEEWAY,
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
                defaults::REFETCH_COOLDOWN,
                &format!("{label}.refetch_cooldown"),
                problems,
            ),
            fetch_timeout: duration(
                file.fetch_timeout.as_deref(),
                defaults::FETCH_TIMEOUT,
                &format!("{label}.fetch_timeout"),
                problems,
            ),
            max_jwks_bytes: file.max_jwks_bytes.unwrap_or(defaults::MAX_JWKS_BYTES),
            max_jwks_keys: file.max_jwks_keys.unwrap_or(defaults::MAX_JWKS_KEYS),
            introspection: file.introspection.map(|introspection| {
                validate_introspection(
                    introspection,
                    &label,
                    file.danger_allow_http,
                    base,
                    env,
                    problems,
                )
            }),
            audience_claims: audience_claims(
                file.audience_claims,
                &format!("{label}.audience_claims"),
                problems,
            ),
            rules: validate_rules(&label, file.preset.as_deref(), file.claims, problems),
            name: file.name,
        });
    }
    upstreams
}

/// `audience_claims`: non-empty, each name once, no more than a handful. A list, never a
/// pattern: which claims may name the audience is the operator's decision.
fn audience_claims(names: Option<Vec<String>>, key: &str, problems: &mut Problems) -> Vec<String> {
    let Some(names) = names else {
        return vec!["aud".to_owned()];
    };
    let mut seen = HashSet::new();
    if names.is_empty() || names.len() > defaults::MAX_AUDIENCE_CLAIMS {
        problems.add(
            key,
            format!(
                "must name 1 to {} claims, in the order they are tried",
                defaults::MAX_AUDIENCE_CLAIMS
            ),
        );
    }
    for name in &names {
        if name.is_empty() || name.chars().any(char::is_control) {
            problems.add(key, format!("{name:?} is not a claim name"));
        } else if !seen.insert(name.as_str()) {
            problems.add(key, format!("{name:?} is named twice"));
        }
    }
    names
}

/// An issuer URL: a fetch URL (`check_fetch_url`) without query or fragment (OIDC Discovery §3).
pub(super) fn check_issuer_url(
    text: &str,
    is_http_allowed: bool,
    key: &str,
    problems: &mut Problems,
) -> Option<url::Url> {
    let url = check_fetch_url(text, is_http_allowed, key, problems)?;
    if url.query().is_some() || url.fragment().is_some() {
        problems.add(key, "an issuer has no query or fragment");
        return None;
    }
    Some(url)
}

/// Upstream URLs must be absolute, and HTTPS unless `danger_allow_http` says otherwise.
pub(super) fn check_fetch_url(
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

/// `internal_url` replaces only where requests go, so it is an origin: a path would silently
/// prefix every path the IdP names, and user info would be a credential in the config.
fn check_origin_only(url: url::Url, key: &str, problems: &mut Problems) -> Option<url::Url> {
    let has_path = !matches!(url.path(), "" | "/");
    let has_user_info = !url.username().is_empty() || url.password().is_some();
    if has_path || url.query().is_some() || url.fragment().is_some() || has_user_info {
        problems.add(
            key,
            "must be an origin only (scheme, host, optional port): no path, query, fragment or user info",
        );
        return None;
    }
    Some(url)
}

#[cfg(test)]
mod tests;
