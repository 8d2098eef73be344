use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::{LogFormat, subscriber};

/// Everything written, for one test.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// What `emit` logged in `format`.
fn logged(format: LogFormat, emit: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let dispatch = subscriber(format, EnvFilter::new("trace"), false, buffer.clone());
    tracing::dispatcher::with_default(&dispatch, emit);
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

const FORGED: &str =
    "x\n2099-01-01T00:00:00Z  INFO tokenbridge::audit: exchange outcome=\"issued\"\x1b[31m\u{2028}";

#[derive(Debug, thiserror::Error)]
#[error("parameter {0} is repeated")]
struct Unescaped(String);

#[test]
fn display_str_and_span_values_with_line_breaks_stay_on_their_event_line() {
    let text = logged(LogFormat::Text, || {
        let span = tracing::info_span!("request", path = %FORGED, client = FORGED);
        let _entered = span.enter();
        tracing::info!(reason = %Unescaped(FORGED.into()), client = FORGED, "exchange");
    });

    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\u{2028}'),
        "{text}"
    );
    assert!(
        text.contains(
            r#"reason="parameter x\n2099-01-01T00:00:00Z  INFO tokenbridge::audit: exchange outcome=\"issued\"\u{1b}[31m\u{2028} is repeated""#
        ),
        "{text}"
    );
    assert!(text.contains(r#"client="x\n2099"#), "{text}");
    assert!(
        text.contains(r#"request{path="x\n2099"#),
        "the span's fields: {text}"
    );
}

#[test]
fn plain_values_stay_bare_and_anything_that_could_fake_a_field_is_quoted() {
    let text = logged(LogFormat::Text, || {
        tracing::info!(port = 8080, upstream = %"idp", fake = %"a=b", empty = %"", "listening");
    });

    assert!(
        text.contains(r#"listening port=8080 upstream=idp fake="a=b" empty="""#),
        "{text}"
    );
}

#[test]
fn a_message_is_escaped_and_an_error_shows_its_sources() {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Unescaped);

    let text = logged(LogFormat::Text, || {
        let err = Outer(Unescaped("a\nb".into()));
        tracing::warn!(
            error = &err as &(dyn std::error::Error + 'static),
            "failed: {}",
            "x\ny"
        );
    });

    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains(r#"failed: x\ny error="outer: parameter a\nb is repeated""#),
        "{text}"
    );
}

#[test]
fn json_events_are_one_line_and_parse_back_to_what_was_logged() {
    let text = logged(LogFormat::Json, || {
        let span = tracing::info_span!("request", path = %FORGED);
        let _entered = span.enter();
        tracing::info!(reason = %Unescaped(FORGED.into()), client = FORGED, "exchange");
    });

    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\u{2028}'),
        "{text}"
    );
    let event: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(event["fields"]["client"], FORGED);
    assert_eq!(
        event["fields"]["reason"],
        format!("parameter {FORGED} is repeated")
    );
    assert_eq!(event["span"]["path"], FORGED);
}
