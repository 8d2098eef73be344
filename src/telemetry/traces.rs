//! OpenTelemetry traces over OTLP/HTTP, on only when the standard environment names an endpoint
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and
//! `OTEL_SDK_DISABLED` isn't `true`.
//!
//! Off, nothing of OpenTelemetry runs: no layer in the subscriber, no exporter thread, and
//! `is_enabled()` (one relaxed atomic load) keeps the request path from extracting or injecting
//! trace context. On, only spans reach the exporter, never events: an event is a log line, whose
//! text the spans must not carry (span fields are chosen at each span; see the README).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_opentelemetry::OpenTelemetrySpanExt;

static IS_ENABLED: AtomicBool = AtomicBool::new(false);

/// The service name when `OTEL_SERVICE_NAME` is unset.
const DEFAULT_SERVICE_NAME: &str = "tokenbridge";

/// Whether traces are exported: the request path asks this before touching trace context.
pub fn is_enabled() -> bool {
    IS_ENABLED.load(Ordering::Relaxed)
}

/// The running export; `shutdown` flushes what is still buffered. Holds nothing when traces
/// are off.
#[must_use = "dropping it without shutdown loses the spans still buffered"]
#[derive(Default)]
pub struct Traces {
    provider: Option<SdkTracerProvider>,
}

impl Traces {
    /// Sends the buffered spans and stops the exporter (at graceful shutdown).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "the last traces could not be exported");
        }
    }
}

/// Whether the environment asks for traces, by the OpenTelemetry SDK's own variables.
fn is_requested(var: impl Fn(&str) -> Option<String>) -> bool {
    let is_disabled =
        var("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let has_endpoint = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|name| var(name).is_some_and(|value| !value.trim().is_empty()));
    has_endpoint && !is_disabled
}

/// The tracer to bridge tracing's spans to, when the environment asks for traces. The exporter
/// reads the endpoint, headers, timeout and batch settings from the standard variables.
pub(super) fn start() -> Result<Option<(Tracer, Traces)>, String> {
    if !is_requested(|name| std::env::var(name).ok()) {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|err| format!("cannot start the OTLP trace exporter: {err}"))?;
    let service_name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service_name).build())
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    IS_ENABLED.store(true, Ordering::Relaxed);
    Ok(Some((
        tracer,
        Traces {
            provider: Some(provider),
        },
    )))
}

/// Makes `span` a child of the caller's W3C trace context (`traceparent`, `tracestate`), if
/// traces are on and the caller sent one. `header` reads one request header.
pub fn continue_trace<'a>(span: &tracing::Span, header: impl Fn(&str) -> Option<&'a str>) {
    if !is_enabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(header, PhantomData));
    // The span was just made by our own layer stack, so this can't fail in a way worth logging.
    let _ = span.set_parent(parent);
}

/// The W3C trace context headers for an outbound call made inside the current span; none when
/// traces are off or the current span isn't traced (a background refresh starts no trace).
pub fn outgoing_headers() -> Vec<(String, String)> {
    if !is_enabled() {
        return Vec::new();
    }
    let mut headers = OutgoingHeaders(Vec::new());
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut headers);
    headers.0
}

/// The request's headers, as the propagator reads them (`'a` ties them to the borrow).
struct Headers<'a, F>(F, PhantomData<&'a str>);

impl<'a, F: Fn(&str) -> Option<&'a str>> Extractor for Headers<'a, F> {
    fn get(&self, key: &str) -> Option<&str> {
        (self.0)(key)
    }

    fn keys(&self) -> Vec<&str> {
        // The trace context propagator asks only for its two headers by name.
        Vec::new()
    }
}

struct OutgoingHeaders(Vec<(String, String)>);

impl Injector for OutgoingHeaders {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::is_requested;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn traces_are_off_unless_an_endpoint_is_named_and_the_sdk_is_not_disabled() {
        assert!(!is_requested(env(&[])));
        assert!(!is_requested(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])));
        assert!(is_requested(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://127.0.0.1:4318"
        )])));
        assert!(is_requested(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:4318/v1/traces"
        )])));
        assert!(!is_requested(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ])));
    }
}
