//! Logging setup, and the fingerprint that logs show instead of a token.

use aws_lc_rs::digest;
use tracing_subscriber::EnvFilter;

/// The first 12 hex digits of the token's SHA-256: enough to match log lines to a token the
/// operator holds, useless to anyone who wants to replay it.
pub fn fingerprint(token: &str) -> String {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// For the demo, whose walkthrough is the output: errors only, unless `RUST_LOG` says otherwise.
pub fn init_quiet() {
    init_with_default(LogFormat::Text, "error");
}

fn init_with_default(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colour codes only for a person at a terminal, never into files or log collectors.
    let is_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_ansi(is_terminal)
        .with_env_filter(filter)
        .with_target(true);
    // A second init (tests, the demo) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
