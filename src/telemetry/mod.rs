//! Logging setup, and the fingerprint that logs show instead of a token.
//!
//! Request text reaches the log (a repeated parameter's name, a client id, a token's `iss`), so
//! the log layer makes it harmless, not each call site: in the text format every field value is
//! escaped and quoted (`fields`), in JSON serde quotes and the writer escapes what serde leaves
//! raw (`json`). Either way one event is one line, and no value commands a terminal.

mod escape;
mod fields;
mod json;
pub mod traces;

use aws_lc_rs::digest;
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
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

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level. With an OTLP
/// endpoint in the environment, spans are exported too (`traces`): shut the returned export down
/// at the end to flush it. Fails only when that export was asked for and can't start.
pub fn init(format: LogFormat) -> Result<traces::Traces, String> {
    let (tracer, traces) = traces::start()?.unzip();
    init_with_default(format, "info", tracer);
    Ok(traces.unwrap_or_default())
}

/// For the demo, whose walkthrough is the output: errors only, unless `RUST_LOG` says otherwise.
pub fn init_quiet() {
    init_with_default(LogFormat::Text, "error", None);
}

fn init_with_default(
    format: LogFormat,
    default_filter: &str,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colour codes only for a person at a terminal, never into files or log collectors.
    let is_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    // A second init (tests, the demo) keeps the first subscriber; that is fine.
    let _ = build(format, filter, is_terminal, std::io::stdout, tracer).try_init();
}

/// The one way to build tokenbridge's subscriber (`init` uses it; so do the tests, with their
/// own writer): events as text or JSON lines to `writer`, every field value escaped.
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, is_ansi: bool, writer: W) -> Dispatch
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    build(format, filter, is_ansi, writer, None)
}

/// `subscriber`, plus the bridge of its spans to OpenTelemetry when there is a tracer. The bridge
/// sees spans only: events are log lines, and their text stays in the log (`traces`).
fn build<W>(
    format: LogFormat,
    filter: EnvFilter,
    is_ansi: bool,
    writer: W,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) -> Dispatch
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // On a registry, so that the OpenTelemetry bridge can have a filter of its own (spans only)
    // beside the global one.
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(is_ansi)
                    .with_target(true)
                    .fmt_fields(EscapedFields)
                    .with_writer(writer),
            )
            .with(otel_layer(tracer))
            .into(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_ansi(is_ansi)
                    .with_target(true)
                    .with_writer(json::EscapingMakeWriter(writer)),
            )
            .with(otel_layer(tracer))
            .into(),
    }
}

/// The bridge to OpenTelemetry, for spans only (events never become span events).
fn otel_layer<S>(tracer: Option<opentelemetry_sdk::trace::Tracer>) -> Option<impl Layer<S>>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_filter(filter_fn(|metadata| metadata.is_span()))
    })
}

#[cfg(test)]
mod tests;
