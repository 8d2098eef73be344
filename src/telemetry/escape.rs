//! Which characters never reach a log line raw, and how the text log writes them instead.

use std::fmt::{self, Write};

/// Control characters (C0, DEL and C1: line breaks, terminal commands such as ESC and CSI), the
/// Unicode line and paragraph separators (line breaks to many readers), and the bidi controls
/// that make a reader see text in another order than it was written (Trojan Source,
/// CVE-2021-42574).
pub(super) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
        )
}

/// Whether a value must be quoted to read as one `key=value` field: empty, or holding
/// whitespace, a quote, `=`, a backslash (else a literal `\n` would look like an escape) or a
/// character that is escaped.
pub(super) fn needs_quotes(text: &str) -> bool {
    text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '=' | '\\') || needs_escape(c))
}

/// `text` with every character `needs_escape` names written as a visible escape (`\n`, `\r`,
/// `\t`, `\u{1b}`, `\u{2028}`, …), so that it can never end a line or command a terminal.
pub(super) struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            write_char(f, c)?;
        }
        Ok(())
    }
}

/// `text` between double quotes, escaped, with `"` and `\` escaped too: unambiguous.
pub(super) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c => write_char(f, c)?,
            }
        }
        f.write_char('"')
    }
}

fn write_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        c if needs_escape(c) => write!(f, "\\u{{{:x}}}", u32::from(c)),
        c => f.write_char(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_terminal_commands_and_bidi_controls_become_visible() {
        let text = "a\nb\rc\td\x1b[31me\u{7f}\u{85}\u{9b}\u{2028}\u{2029}\u{202e}\u{2066}\u{200f}é";
        assert_eq!(
            Escaped(text).to_string(),
            r"a\nb\rc\td\u{1b}[31me\u{7f}\u{85}\u{9b}\u{2028}\u{2029}\u{202e}\u{2066}\u{200f}é"
        );
    }

    #[test]
    fn quoted_text_escapes_quotes_and_backslashes() {
        assert_eq!(Quoted(r#"say "hi"\n"#).to_string(), r#""say \"hi\"\\n""#);
    }

    #[test]
    fn plain_words_need_no_quotes_and_anything_that_could_fake_a_field_does() {
        for plain in [
            "idp",
            "8080",
            "limits.max_body_bytes",
            "http://127.0.0.1:9/x",
        ] {
            assert!(!needs_quotes(plain), "{plain}");
        }
        for risky in ["", "a b", "a=b", "a\"b", r"a\nb", "a\u{2028}b", "a\u{a0}b"] {
            assert!(needs_quotes(risky), "{risky:?}");
        }
    }
}
