//! Logging setup, and the fingerprint that logs show instead of a token.
//!
//! Request text reaches the log (a repeated parameter's name, a client id, a token's `iss`), so
//! the log layer makes it harmless, not each call site: in the text format every field value is
//! escaped and quoted (`fields`), in JSON serde quotes and the writer escapes what serde leaves
//! raw (`json`). Either way one event is one line, and no value commands a terminal.

mod escape;
mod fields;
mod json;

use aws_lc_rs::digest;
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

use fields::EscapedFields;

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

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, `key=value` fields, every value escaped.
    Text,
    /// One JSON object per line.
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
    // A second init (tests, the demo) keeps the first subscriber; that is fine.
    let _ = subscriber(format, filter, is_terminal, std::io::stdout).try_init();
}

/// The one way to build tokenbridge's subscriber (`init` uses it; so do the tests, with their
/// own writer): events as text or JSON lines to `writer`, every field value escaped.
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, is_ansi: bool, writer: W) -> Dispatch
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_ansi(is_ansi)
        .with_env_filter(filter)
        .with_target(true);
    match format {
        LogFormat::Text => builder
            .fmt_fields(EscapedFields)
            .with_writer(writer)
            .finish()
            .into(),
        LogFormat::Json => builder
            .json()
            .with_writer(json::EscapingMakeWriter(writer))
            .finish()
            .into(),
    }
}

#[cfg(test)]
mod tests;
