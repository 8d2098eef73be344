//! `[upstream.introspection]`: credentials by reference (`env` or `file`: they are sent, so a
//! digest can't do), an https endpoint unless the upstream allows http, a bounded cache.

use std::path::Path;

use zeroize::Zeroizing;

use super::secret::read_referenced;
use super::upstreams::check_fetch_url;
use super::values::duration;
use crate::config::error::Problems;
use crate::config::file::{IntrospectionFile, SecretFile};
use crate::config::{IntrospectionConfig, OutboundSecret, defaults};

pub(super) fn validate_introspection(
    file: IntrospectionFile,
    label: &str,
    is_http_allowed: bool,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> IntrospectionConfig {
    let key = format!("{label}.introspection");
    if file.client_id.is_empty() {
        problems.add(format!("{key}.client_id"), "must be non-empty");
    }
    let secret_key = format!("{key}.client_secret");
    let secret = match &file.client_secret {
        reference @ SecretFile { sha256: None, .. }
            if reference.env.is_some() != reference.file.is_some() =>
        {
            read_referenced(reference, &secret_key, base, env, problems)
        }
        _ => {
            problems.add(
                &secret_key,
                "give exactly one of { env = \"VAR\" }, { file = \"path\" }: tokenbridge sends this secret, so it needs the secret itself, not its digest",
            );
            None
        }
    };
    if secret.as_deref() == Some("") {
        problems.add(&secret_key, "is empty");
    }
    let endpoint = file.endpoint.as_deref().and_then(|text| {
        check_fetch_url(text, is_http_allowed, &format!("{key}.endpoint"), problems)
    });
    let cache_ttl = duration(
        file.cache_ttl.as_deref(),
        defaults::INTROSPECTION_CACHE_TTL,
        &format!("{key}.cache_ttl"),
        problems,
    );
    if cache_ttl.is_zero() || cache_ttl > defaults::MAX_INTROSPECTION_CACHE_TTL {
        problems.add(
            format!("{key}.cache_ttl"),
            format!(
                "must be above 0 and at most {}: an answer says only what was true when it was given",
                humantime::format_duration(defaults::MAX_INTROSPECTION_CACHE_TTL)
            ),
        );
    }
    let cache_size = file
        .cache_size
        .unwrap_or(defaults::INTROSPECTION_CACHE_SIZE);
    if cache_size == 0 || cache_size > defaults::MAX_INTROSPECTION_CACHE_SIZE {
        problems.add(
            format!("{key}.cache_size"),
            format!("must be 1 to {}", defaults::MAX_INTROSPECTION_CACHE_SIZE),
        );
    }
    IntrospectionConfig {
        client_id: file.client_id,
        // A secret that could not be read is a problem already: the config is refused, but the
        // checks that look at which upstreams introspect still run.
        client_secret: OutboundSecret(Zeroizing::new(secret.unwrap_or_default())),
        endpoint,
        cache_ttl,
        cache_size,
    }
}
