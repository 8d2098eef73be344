//! The JSON log's last step. serde_json escapes `"`, `\` and C0 controls (so a value never
//! ends its line), but writes DEL, C1 controls, U+2028/U+2029 and bidi controls raw: a terminal
//! may act on C1's CSI, and many line readers (Python's `splitlines`, JavaScript) break at
//! U+2028. This writer replaces them by their `\uXXXX` escapes, which is the same JSON.

use std::io;

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

use super::escape::needs_escape;

/// Wraps a `MakeWriter` whose writers each get one whole JSON event.
pub(super) struct EscapingMakeWriter<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for EscapingMakeWriter<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EscapingWriter(self.0.make_writer_for(meta))
    }
}

pub(super) struct EscapingWriter<W>(W);

impl<W: io::Write> io::Write for EscapingWriter<W> {
    /// tracing-subscriber writes each event with one `write_all` of a whole `String`, so a
    /// character is never split between two calls; bytes past invalid UTF-8 (never produced)
    /// pass unchanged.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let valid = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default(),
        };
        self.0.write_all(escape_json(valid).as_bytes())?;
        self.0.write_all(&bytes[valid.len()..])?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Serialised JSON with the characters serde leaves raw escaped. Outside strings, serde's
/// output is ASCII punctuation, digits and literals, so these can only be inside a string,
/// where `\uXXXX` stands for the same character. C0 controls are left alone: inside strings
/// serde has escaped them already, and the one left is the newline that ends the event.
fn escape_json(text: &str) -> std::borrow::Cow<'_, str> {
    let is_raw = |c: char| needs_escape(c) && !matches!(c, '\0'..='\x1f');
    if !text.chars().any(is_raw) {
        return text.into();
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_raw(c) {
            // Every such character is in the Basic Multilingual Plane: one escape, no pair.
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    escaped.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_separators_c1_del_and_bidi_controls_are_escaped_and_parse_back_the_same() {
        let value = "a\u{2028}b\u{2029}c\u{85}d\u{9b}e\u{7f}f\u{202e}g\u{2066}hé";
        let line = format!("{}\n", serde_json::json!({ "v": value }));
        let escaped = escape_json(&line);
        assert_eq!(escaped.lines().count(), 1);
        assert!(
            escaped.chars().all(|c| c == '\n' || !needs_escape(c)),
            "{escaped}"
        );
        assert!(escaped.ends_with('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(parsed["v"], value);
    }
}
