//! `[[front]]`: an OIDC front for one client's code-flow relying party, on one of its upstreams.

use std::collections::HashSet;
use std::time::Duration;

use crate::config::error::Problems;
use crate::config::file::FrontFile;
use url::Url;

use crate::config::{ClientConfig, FrontConfig, FrontMode, defaults};

pub(super) fn validate_fronts(
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
        let mode = match file.mode.as_deref() {
            None => defaults::FRONT_MODE,
            Some("relay") => FrontMode::Relay,
            Some("pass-through") => FrontMode::PassThrough,
            Some(other) => {
                problems.add(
                    format!("{label}.mode"),
                    format!("{other:?} is not relay or pass-through"),
                );
                defaults::FRONT_MODE
            }
        };
        if mode == FrontMode::Relay && file.redirect_uris.is_empty() {
            problems.add(
                format!("{label}.redirect_uris"),
                "mode = \"relay\" needs the relying party's redirect URIs",
            );
        }
        if mode == FrontMode::PassThrough && !file.redirect_uris.is_empty() {
            problems.add(
                format!("{label}.redirect_uris"),
                "applies only with mode = \"relay\" (in pass-through the IdP checks them)",
            );
        }
        let redirect_uris = relying_party_uris(
            file.redirect_uris,
            &format!("{label}.redirect_uris"),
            problems,
        );
        let post_logout_redirect_uris = relying_party_uris(
            file.post_logout_redirect_uris,
            &format!("{label}.post_logout_redirect_uris"),
            problems,
        );
        let backchannel_logout_uri = file.backchannel_logout_uri.and_then(|uri| {
            relying_party_uris(
                vec![uri],
                &format!("{label}.backchannel_logout_uri"),
                problems,
            )
            .pop()
            .and_then(|uri| Url::parse(&uri).ok())
        });
        fronts.push(FrontConfig {
            client: file.client,
            upstream: file.upstream,
            is_userinfo_jwt,
            userinfo_ttl,
            is_access_token_normalized: file.normalize_access_token,
            mode,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
        });
    }
    fronts
}

/// URIs of the relying party: absolute `http(s)` URLs without a fragment (RFC 6749 §3.1.2),
/// compared later as exact strings, so they are kept as written.
fn relying_party_uris(uris: Vec<String>, key: &str, problems: &mut Problems) -> Vec<String> {
    let mut kept = Vec::with_capacity(uris.len());
    for uri in uris {
        match Url::parse(&uri) {
            Ok(url)
                if matches!(url.scheme(), "https" | "http")
                    && url.host_str().is_some()
                    && url.fragment().is_none() =>
            {
                kept.push(uri);
            }
            _ => problems.add(
                key,
                format!("{uri:?} is not an absolute http(s) URL without a fragment"),
            ),
        }
    }
    kept
}

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
        return defaults::USERINFO_TTL.min(max_ttl);
    };
    if !is_userinfo_jwt {
        problems.add(key, "applies only with userinfo = \"jwt\"");
    }
    let Ok(ttl) = humantime::parse_duration(text) else {
        problems.add(
            key,
            format!("{text:?} is not a duration such as \"60s\" or \"5m\""),
        );
        return defaults::USERINFO_TTL;
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
