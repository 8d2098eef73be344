//! The text log's fields, event and span alike: `message key=value key="quoted value"`, every value
//! escaped. tracing-subscriber's own formatter writes `%` (Display) values raw, so a request value
//! with a newline in it could start a forged log line.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

use super::escape::{Escaped, Quoted, needs_quotes};

/// Formats fields with every value escaped: strings always quoted (as tracing-subscriber does),
/// Display and Debug values quoted when they hold whitespace, `"`, `=`, `\` or a character
/// that is escaped, so that no value can end the line or pass for another field.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            is_first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// How a value is written after `name=`.
#[derive(Clone, Copy)]
enum Quoting {
    Always,
    IfNeeded,
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    is_first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str, quoting: Quoting) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        // Events bridged from the `log` crate carry their metadata as `log.*` fields; the event
        // line already shows it.
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = self.write_field(name, value, quoting);
    }

    fn write_field(&mut self, name: &str, value: &str, quoting: Quoting) -> fmt::Result {
        if !self.is_first {
            self.writer.write_char(' ')?;
        }
        self.is_first = false;
        if name == "message" {
            // The message comes first and is free text: escaped, never quoted.
            return write!(self.writer, "{}", Escaped(value));
        }
        match quoting {
            Quoting::IfNeeded if !needs_quotes(value) => write!(self.writer, "{name}={value}"),
            _ => write!(self.writer, "{name}={}", Quoted(value)),
        }
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value, Quoting::Always);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.write(field, &text, Quoting::IfNeeded);
    }

    /// Display (`%`) values arrive here too, as a Debug that prints their Display.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, &format!("{value:?}"), Quoting::IfNeeded);
    }
}
