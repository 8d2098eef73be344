//! How the walkthrough shows a token's claims and a relying party's verdict.

use std::io::Write;

use serde_json::{Map, Value};

use crate::jose::compact::{CompactLimits, CompactToken, parse_compact, parse_jws};

pub(super) fn claims_of(token: &str) -> String {
    let limits = CompactLimits {
        max_token_bytes: 64 * 1024,
        max_header_bytes: 4096,
        ..CompactLimits::default()
    };
    match parse_compact(token, &limits) {
        Ok(CompactToken::Jws(_)) => parse_jws(token, &limits)
            .map(|jws| pretty(&jws.claims))
            .unwrap_or_default(),
        _ => "(encrypted)".into(),
    }
}

fn pretty(claims: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(claims)
        .unwrap_or_default()
        .replace('\n', "\n   ")
}

pub(super) fn print_verdict(
    out: &mut impl Write,
    who: &str,
    verdict: &Result<Map<String, Value>, String>,
) -> std::io::Result<()> {
    match verdict {
        Ok(_) => writeln!(out, "   {who}: ACCEPTED"),
        Err(reason) => writeln!(out, "   {who}: REFUSED: {reason}"),
    }
}
