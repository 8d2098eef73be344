//! Algorithm allowlists as enums: a token names an algorithm, but only these can ever run.
//! `none`, every HMAC algorithm and `RSA1_5` have no variant, so they cannot be selected.

use std::fmt;

/// The family of key an algorithm needs (RFC 8725 §3.1: never let one key serve two families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// RSA (`kty` `RSA`).
    Rsa,
    /// NIST P-256 (`kty` `EC`, `crv` `P-256`).
    EcP256,
    /// NIST P-384 (`crv` `P-384`).
    EcP384,
    /// NIST P-521 (`crv` `P-521`).
    EcP521,
    /// Ed25519 (`kty` `OKP`, `crv` `Ed25519`, RFC 8037).
    Ed25519,
}

impl KeyKind {
    pub(crate) fn curve_name(self) -> Option<&'static str> {
        match self {
            KeyKind::Rsa => None,
            KeyKind::EcP256 => Some("P-256"),
            KeyKind::EcP384 => Some("P-384"),
            KeyKind::EcP521 => Some("P-521"),
            KeyKind::Ed25519 => Some("Ed25519"),
        }
    }

    /// Bytes of one affine coordinate (RFC 7518 §6.2.1.2): what `x` and `y` of a JWK or an `epk`
    /// must decode to, so a short or long point is refused before any curve arithmetic.
    pub fn coordinate_len(self) -> Option<usize> {
        match self {
            KeyKind::Rsa => None,
            KeyKind::EcP256 | KeyKind::Ed25519 => Some(32),
            KeyKind::EcP384 => Some(48),
            KeyKind::EcP521 => Some(66),
        }
    }
}

/// JWS algorithms (RFC 7518 §3, RFC 8037 for EdDSA) accepted on subject tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// EdDSA on Ed25519, the only curve accepted for it.
    EdDSA,
}

impl JwsAlg {
    /// Every accepted algorithm: the allowlist a name is looked up in.
    pub const ALL: [JwsAlg; 10] = [
        JwsAlg::RS256,
        JwsAlg::RS384,
        JwsAlg::RS512,
        JwsAlg::PS256,
        JwsAlg::PS384,
        JwsAlg::PS512,
        JwsAlg::ES256,
        JwsAlg::ES384,
        JwsAlg::ES512,
        JwsAlg::EdDSA,
    ];

    /// The algorithms tokenbridge signs with.
    pub const SIGNING: [JwsAlg; 4] = [JwsAlg::RS256, JwsAlg::PS256, JwsAlg::ES256, JwsAlg::EdDSA];

    pub(crate) fn parse(name: &str) -> Option<JwsAlg> {
        JwsAlg::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The name JOSE headers and JWKs use (RFC 7518 §3.1, RFC 8037 §3.1); also what `Display`
    /// writes.
    pub fn name(self) -> &'static str {
        match self {
            JwsAlg::RS256 => "RS256",
            JwsAlg::RS384 => "RS384",
            JwsAlg::RS512 => "RS512",
            JwsAlg::PS256 => "PS256",
            JwsAlg::PS384 => "PS384",
            JwsAlg::PS512 => "PS512",
            JwsAlg::ES256 => "ES256",
            JwsAlg::ES384 => "ES384",
            JwsAlg::ES512 => "ES512",
            JwsAlg::EdDSA => "EdDSA",
        }
    }

    pub(crate) fn key_kind(self) -> KeyKind {
        match self {
            JwsAlg::RS256
            | JwsAlg::RS384
            | JwsAlg::RS512
            | JwsAlg::PS256
            | JwsAlg::PS384
            | JwsAlg::PS512 => KeyKind::Rsa,
            JwsAlg::ES256 => KeyKind::EcP256,
            JwsAlg::ES384 => KeyKind::EcP384,
            JwsAlg::ES512 => KeyKind::EcP521,
            JwsAlg::EdDSA => KeyKind::Ed25519,
        }
    }

    pub(crate) fn is_signing_supported(self) -> bool {
        JwsAlg::SIGNING.contains(&self)
    }
}

impl fmt::Display for JwsAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// JWE key management algorithms (RFC 7518 §4). `RSA1_5` is deliberately absent (RFC 8725 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JweAlg {
    /// `RSA-OAEP`: RSAES-OAEP with SHA-1 and MGF1 with SHA-1 (§4.3).
    RsaOaep,
    /// `RSA-OAEP-256`: RSAES-OAEP with SHA-256 and MGF1 with SHA-256 (§4.3).
    RsaOaep256,
    /// `ECDH-ES`: the agreed key is the content encryption key (direct key agreement, §4.6).
    EcdhEs,
    /// `ECDH-ES+A128KW`: the agreed key unwraps the content key with AES-128 key wrap.
    EcdhEsA128Kw,
    /// `ECDH-ES+A192KW`: the agreed key unwraps the content key with AES-192 key wrap.
    EcdhEsA192Kw,
    /// `ECDH-ES+A256KW`: the agreed key unwraps the content key with AES-256 key wrap.
    EcdhEsA256Kw,
}

impl JweAlg {
    /// Every accepted key management algorithm: the allowlist a name is looked up in.
    pub const ALL: [JweAlg; 6] = [
        JweAlg::RsaOaep,
        JweAlg::RsaOaep256,
        JweAlg::EcdhEs,
        JweAlg::EcdhEsA128Kw,
        JweAlg::EcdhEsA192Kw,
        JweAlg::EcdhEsA256Kw,
    ];

    pub(crate) fn parse(name: &str) -> Option<JweAlg> {
        JweAlg::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The name a JWE header's `alg` uses; also what `Display` writes.
    pub fn name(self) -> &'static str {
        match self {
            JweAlg::RsaOaep => "RSA-OAEP",
            JweAlg::RsaOaep256 => "RSA-OAEP-256",
            JweAlg::EcdhEs => "ECDH-ES",
            JweAlg::EcdhEsA128Kw => "ECDH-ES+A128KW",
            JweAlg::EcdhEsA192Kw => "ECDH-ES+A192KW",
            JweAlg::EcdhEsA256Kw => "ECDH-ES+A256KW",
        }
    }

    /// Whether the algorithm needs an RSA key (both OAEP variants); the others need an EC key.
    pub fn is_rsa(self) -> bool {
        matches!(self, JweAlg::RsaOaep | JweAlg::RsaOaep256)
    }
}

impl fmt::Display for JweAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// JWE content encryption algorithms (RFC 7518 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JweEnc {
    /// `A128GCM`: AES-128 in Galois/Counter Mode (§5.3).
    A128Gcm,
    /// `A192GCM`: AES-192 in Galois/Counter Mode (§5.3).
    A192Gcm,
    /// `A256GCM`: AES-256 in Galois/Counter Mode (§5.3).
    A256Gcm,
    /// `A128CBC-HS256`: AES-128-CBC, authenticated by HMAC-SHA-256 cut to 128 bits (§5.2.3).
    A128CbcHs256,
    /// `A192CBC-HS384`: AES-192-CBC, authenticated by HMAC-SHA-384 cut to 192 bits (§5.2.4).
    A192CbcHs384,
    /// `A256CBC-HS512`: AES-256-CBC, authenticated by HMAC-SHA-512 cut to 256 bits (§5.2.5).
    A256CbcHs512,
}

impl JweEnc {
    /// Every accepted content encryption algorithm: the allowlist a name is looked up in.
    pub const ALL: [JweEnc; 6] = [
        JweEnc::A128Gcm,
        JweEnc::A192Gcm,
        JweEnc::A256Gcm,
        JweEnc::A128CbcHs256,
        JweEnc::A192CbcHs384,
        JweEnc::A256CbcHs512,
    ];

    pub(crate) fn parse(name: &str) -> Option<JweEnc> {
        JweEnc::ALL.into_iter().find(|enc| enc.name() == name)
    }

    /// The name a JWE header's `enc` uses; also what `Display` writes.
    pub fn name(self) -> &'static str {
        match self {
            JweEnc::A128Gcm => "A128GCM",
            JweEnc::A192Gcm => "A192GCM",
            JweEnc::A256Gcm => "A256GCM",
            JweEnc::A128CbcHs256 => "A128CBC-HS256",
            JweEnc::A192CbcHs384 => "A192CBC-HS384",
            JweEnc::A256CbcHs512 => "A256CBC-HS512",
        }
    }

    // The sizes RFC 7518 fixes for each `enc`.

    /// Content encryption key: the AES key for GCM; MAC key then AES key for CBC-HMAC (§5.2.2.1).
    pub fn key_len(self) -> usize {
        match self {
            JweEnc::A128Gcm => 16,
            JweEnc::A192Gcm => 24,
            JweEnc::A256Gcm => 32,
            JweEnc::A128CbcHs256 => 32,
            JweEnc::A192CbcHs384 => 48,
            JweEnc::A256CbcHs512 => 64,
        }
    }

    /// §5.3: a 96-bit IV for GCM; §5.2.2.1: one AES block for CBC.
    pub fn iv_len(self) -> usize {
        if self.is_gcm() { 12 } else { 16 }
    }

    /// §5.3: a 128-bit GCM tag; §5.2.3–5.2.5: the HMAC truncated to half the CEK.
    pub fn tag_len(self) -> usize {
        if self.is_gcm() {
            16
        } else {
            self.key_len() / 2
        }
    }

    /// Whether this is one of the AES-GCM algorithms rather than AES-CBC with HMAC.
    pub fn is_gcm(self) -> bool {
        matches!(self, JweEnc::A128Gcm | JweEnc::A192Gcm | JweEnc::A256Gcm)
    }
}

impl fmt::Display for JweEnc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_algorithms_cannot_be_parsed() {
        for name in ["none", "None", "HS256", "HS384", "HS512", "RS1", ""] {
            assert_eq!(JwsAlg::parse(name), None, "{name}");
        }
        for name in ["RSA1_5", "dir", "A128KW", "PBES2-HS256+A128KW", "A128GCMKW"] {
            assert_eq!(JweAlg::parse(name), None, "{name}");
        }
    }

    #[test]
    fn every_name_round_trips() {
        for alg in JwsAlg::ALL {
            assert_eq!(JwsAlg::parse(alg.name()), Some(alg));
        }
        for alg in JweAlg::ALL {
            assert_eq!(JweAlg::parse(alg.name()), Some(alg));
        }
        for enc in JweEnc::ALL {
            assert_eq!(JweEnc::parse(enc.name()), Some(enc));
        }
    }
}
