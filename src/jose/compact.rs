//! Compact serialization (RFC 7515 §7.1, RFC 7516 §7.1): sizes capped and structure checked before
//! any JSON parsing or cryptography.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::JoseError;

/// Caps applied before anything is decoded.
#[derive(Debug, Clone, Copy)]
pub struct CompactLimits {
    pub(crate) max_token_bytes: usize,
    pub(crate) max_header_bytes: usize,
    /// Nesting of objects and arrays in a header or the claims, checked before parsing.
    pub(crate) max_json_depth: usize,
    /// Top-level claims of the subject token.
    pub(crate) max_claims: usize,
}

impl CompactLimits {
    /// The caps when nothing else is configured; `config`'s `[limits]` defaults take these too.
    pub const DEFAULT: CompactLimits = CompactLimits {
        max_token_bytes: 16 * 1024,
        max_header_bytes: 2 * 1024,
        max_json_depth: 16,
        max_claims: 128,
    };
}

impl Default for CompactLimits {
    fn default() -> Self {
        CompactLimits::DEFAULT
    }
}

/// Whether JSON text nests objects and arrays at most `max` deep. A byte scan, so a deeply nested
/// document is refused before a parser recurses into it.
pub fn json_depth_within(text: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut is_in_string = false;
    let mut is_escaped = false;
    for &byte in text {
        if is_in_string {
            match byte {
                _ if is_escaped => is_escaped = false,
                b'\\' => is_escaped = true,
                b'"' => is_in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => is_in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The protected header members tokenbridge acts on. Members it does not name (`jku`, `x5u`,
/// `jwk`, `x5c`, …) are ignored: keys come only from configuration (RFC 8725 §3.10).
#[derive(Debug, Deserialize)]
pub struct JoseHeader {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) typ: Option<String>,
    #[serde(default)]
    pub(crate) cty: Option<String>,
    #[serde(default)]
    pub(crate) enc: Option<String>,
    #[serde(default)]
    pub(crate) zip: Option<String>,
    #[serde(default)]
    pub(crate) crit: Option<Value>,
    /// A JWE's ephemeral public key, for ECDH-ES (RFC 7518 §4.6.1.1).
    #[serde(default)]
    pub(crate) epk: Option<Value>,
    /// ECDH-ES's PartyUInfo and PartyVInfo, base64url (RFC 7518 §4.6.1.2, §4.6.1.3).
    #[serde(default)]
    pub(crate) apu: Option<String>,
    #[serde(default)]
    pub(crate) apv: Option<String>,
}

impl JoseHeader {
    /// An empty `kid` is treated as absent: Authentik sends `"kid": ""`.
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref().filter(|kid| !kid.is_empty())
    }
}

/// A compact JWS split into its parts, header and claims decoded, signature not yet checked.
#[derive(Debug)]
pub struct UnverifiedJws<'a> {
    pub(crate) header: JoseHeader,
    pub(crate) claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    /// Checked to be base64url characters only; decoded by the verifier.
    pub(crate) signature_b64: &'a str,
}

/// A compact token, told apart by its number of parts. A JWS is only classified here;
/// `parse_jws` decodes it.
#[derive(Debug)]
pub enum CompactToken<'a> {
    /// Three parts: the whole token, for `parse_jws`.
    Jws(&'a str),
    /// Five parts.
    Jwe {
        /// The protected header, decoded and checked: within the caps, `enc` present, no `crit`.
        header: Box<JoseHeader>,
        /// The whole token, for `decrypt::decrypt_nested`.
        token: &'a str,
    },
}

/// The bytes a compact serialization may hold: base64url's alphabet (RFC 4648 §5) and '.'.
const COMPACT_ALPHABET: [bool; 256] = {
    let mut allowed = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        allowed[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
        byte += 1;
    }
    allowed
};

/// Tells a JWS from a JWE after checking the token's size and alphabet; a JWE's header is decoded
/// and checked here, a JWS's by `parse_jws`.
pub fn parse_compact<'a>(
    token: &'a str,
    limits: &CompactLimits,
) -> Result<CompactToken<'a>, JoseError> {
    if token.len() > limits.max_token_bytes {
        return Err(JoseError::TooLarge);
    }
    // One pass, one table load per byte: a token is up to `max_token_bytes` long, and this runs
    // on every one before anything else.
    let mut dots = 0usize;
    for &byte in token.as_bytes() {
        if !COMPACT_ALPHABET[usize::from(byte)] {
            return Err(JoseError::Malformed("characters outside base64url and '.'"));
        }
        dots += usize::from(byte == b'.');
    }
    match dots {
        2 => Ok(CompactToken::Jws(token)),
        4 => {
            let header_b64 = token.split('.').next().unwrap_or_default();
            let header = decode_header(header_b64, limits)?;
            if header.enc.is_none() {
                return Err(JoseError::Malformed("a five-part token without enc"));
            }
            Ok(CompactToken::Jwe {
                header: Box::new(header),
                token,
            })
        }
        _ => Err(JoseError::Malformed("neither three nor five parts")),
    }
}

/// Decodes a compact JWS's header and claims within every cap of `limits`, refusing a header with
/// `crit` or `enc`. The signature is not checked: that is `verify`'s.
pub fn parse_jws<'a>(
    token: &'a str,
    limits: &CompactLimits,
) -> Result<UnverifiedJws<'a>, JoseError> {
    if token.len() > limits.max_token_bytes {
        return Err(JoseError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed("a JWS needs three parts"));
    };
    let header = decode_header(header_b64, limits)?;
    if header.enc.is_some() {
        return Err(JoseError::Malformed("a JWS header with enc"));
    }
    let payload = decode_part(payload_b64)?;
    if !json_depth_within(&payload, limits.max_json_depth) {
        return Err(JoseError::TooLarge);
    }
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(claims)) if claims.len() > limits.max_claims => {
            return Err(JoseError::TooLarge);
        }
        Ok(Value::Object(claims)) => claims,
        Ok(_) => return Err(JoseError::Malformed("claims are not a JSON object")),
        Err(_) => return Err(JoseError::Malformed("claims are not JSON")),
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Ok(UnverifiedJws {
        header,
        claims,
        signing_input,
        signature_b64,
    })
}

fn decode_header(header_b64: &str, limits: &CompactLimits) -> Result<JoseHeader, JoseError> {
    // base64url expands 3 bytes to 4 characters.
    if header_b64.len() / 4 * 3 > limits.max_header_bytes {
        return Err(JoseError::TooLarge);
    }
    let bytes = decode_part(header_b64)?;
    if !json_depth_within(&bytes, limits.max_json_depth) {
        return Err(JoseError::TooLarge);
    }
    let header: JoseHeader = serde_json::from_slice(&bytes)
        .map_err(|_| JoseError::Malformed("header is not a valid JOSE header"))?;
    // RFC 7515 §4.1.11: a recipient MUST reject a `crit` it does not understand. tokenbridge
    // implements no header extension, so any `crit` is refused.
    if header.crit.is_some() {
        return Err(JoseError::UnsupportedCrit);
    }
    Ok(header)
}

fn decode_part(part: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JoseError::Malformed("a part is not base64url"))
}

/// The first part of a compact token as text, decoded but not checked: for reports and
/// diagnostics (`explain`, the demo), never for decisions.
pub fn header_text(token: &str) -> Option<String> {
    let part = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn encode_part(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        encode_part(json.as_bytes())
    }

    #[test]
    fn a_jws_splits_into_header_claims_and_signing_input() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","kid":"k1"}"#),
            b64(r#"{"sub":"u"}"#)
        );
        let CompactToken::Jws(jws) = parse_compact(&token, &CompactLimits::default()).unwrap()
        else {
            panic!("not a JWS");
        };
        let jws = parse_jws(jws, &CompactLimits::default()).unwrap();
        assert_eq!(jws.header.alg, "RS256");
        assert_eq!(jws.claims["sub"], "u");
        assert_eq!(jws.signature_b64, "c2ln");
        assert_eq!(format!("{}.c2ln", jws.signing_input), token);
    }

    #[test]
    fn structure_and_size_are_checked_first() {
        let limits = CompactLimits::default();
        assert!(matches!(
            parse_compact("a.b", &limits),
            Err(JoseError::Malformed(_))
        ));
        assert!(matches!(
            parse_compact("a.b.c.d", &limits),
            Err(JoseError::Malformed(_))
        ));
        assert!(matches!(
            parse_compact("a b.c.d", &limits),
            Err(JoseError::Malformed(_))
        ));
        let huge = "a".repeat(limits.max_token_bytes + 1);
        assert!(matches!(
            parse_compact(&huge, &limits),
            Err(JoseError::TooLarge)
        ));
    }

    #[test]
    fn any_crit_header_is_refused() {
        let token = format!(
            "{}.{}.",
            b64(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#),
            b64("{}")
        );
        assert!(matches!(
            parse_jws(&token, &CompactLimits::default()),
            Err(JoseError::UnsupportedCrit)
        ));
    }

    #[test]
    fn a_duplicated_header_member_is_refused() {
        let token = format!("{}.{}.", b64(r#"{"alg":"RS256","alg":"none"}"#), b64("{}"));
        assert!(parse_jws(&token, &CompactLimits::default()).is_err());
    }

    #[test]
    fn an_empty_kid_counts_as_absent() {
        let header: JoseHeader =
            serde_json::from_str(r#"{"alg":"RSA-OAEP-256","kid":""}"#).unwrap();
        assert_eq!(header.key_id(), None);
    }

    #[test]
    fn only_base64url_and_dots_pass_the_alphabet_check() {
        let limits = CompactLimits::default();
        for byte in 0..=u8::MAX {
            let is_allowed = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
            let mut token = b"eyJh.e30.".to_vec();
            token.push(byte);
            let token = String::from_utf8_lossy(&token);
            let refused = matches!(
                parse_compact(&token, &limits),
                Err(JoseError::Malformed("characters outside base64url and '.'"))
            );
            assert_eq!(refused, !is_allowed, "byte {byte:#04x}");
        }
    }
}
