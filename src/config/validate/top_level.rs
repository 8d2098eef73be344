//! The top-level keys that are plain values: `issuer`, `listen`, `workers`, `proxy_protocol`.

use std::net::SocketAddr;

use toml::Value;

use crate::config::defaults;
use crate::config::error::Problems;

pub(super) fn validate_issuer(value: Option<&Value>, problems: &mut Problems) -> String {
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

pub(super) fn validate_listen(value: Option<&Value>, problems: &mut Problems) -> SocketAddr {
    match value {
        None => defaults::LISTEN,
        Some(Value::String(addr)) => addr.parse().unwrap_or_else(|_| {
            problems.add(
                "listen",
                format!("{addr:?} is not an address:port such as 0.0.0.0:8080"),
            );
            defaults::LISTEN
        }),
        Some(_) => {
            problems.add("listen", "must be a string such as \"0.0.0.0:8080\"");
            defaults::LISTEN
        }
    }
}

/// Without `workers`, actix-web's own default: one per CPU.
pub(super) fn validate_workers(value: Option<&Value>, problems: &mut Problems) -> Option<usize> {
    match value {
        None => None,
        Some(Value::Integer(n)) if (1..=256).contains(n) => usize::try_from(*n).ok(),
        Some(_) => {
            problems.add("workers", "must be a whole number from 1 to 256");
            None
        }
    }
}

pub(super) fn validate_proxy_protocol(value: Option<&Value>, problems: &mut Problems) -> bool {
    match value {
        None => false,
        Some(Value::Boolean(is_on)) => *is_on,
        Some(_) => {
            problems.add("proxy_protocol", "must be true or false");
            false
        }
    }
}
