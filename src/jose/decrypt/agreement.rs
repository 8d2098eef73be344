//! ECDH-ES key agreement (RFC 7518 §4.6) on aws-lc-rs: the sender's ephemeral key from `epk`
//! as a raw point, the agreement with our static key, and the Concat KDF. josekit did the same
//! by re-encoding `epk` as SPKI DER for OpenSSL's decoders and a full peer check, ≈ 5× the cost
//! of the agreement itself (issue 17); aws-lc-rs takes the point as it is and checks that it is
//! on the curve.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::digest::{self, SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::jose::alg::KeyKind;
use crate::jose::compact::JoseHeader;

/// Our static EC key, parsed once, for the agreements on its curve.
pub(super) struct StaticKey {
    key: PrivateKey,
    kind: KeyKind,
}

impl StaticKey {
    /// Parses a PKCS#8 EC key of `kind` (P-256, P-384, P-521).
    pub(super) fn from_pkcs8(der: &[u8], kind: KeyKind) -> Option<StaticKey> {
        let algorithm = match kind {
            KeyKind::EcP256 => &agreement::ECDH_P256,
            KeyKind::EcP384 => &agreement::ECDH_P384,
            KeyKind::EcP521 => &agreement::ECDH_P521,
            _ => return None,
        };
        let key = PrivateKey::from_private_key_der(algorithm, der).ok()?;
        Some(StaticKey { key, kind })
    }

    /// The `key_len`-byte key the agreement with `point` (from `ephemeral_point`) derives for
    /// `algorithm_id` (the `enc` for direct agreement, the `alg` with key wrap; RFC 7518
    /// §4.6.2), or `None` when the point is not on our curve or `header`'s `apu`/`apv` aren't
    /// base64url.
    pub(super) fn derive(
        &self,
        point: Vec<u8>,
        header: &JoseHeader,
        algorithm_id: &str,
        key_len: usize,
    ) -> Option<Zeroizing<Vec<u8>>> {
        let party_info = |value: &Option<String>| match value {
            None => Some(Vec::new()),
            Some(b64) => URL_SAFE_NO_PAD.decode(b64).ok(),
        };
        let (apu, apv) = (party_info(&header.apu)?, party_info(&header.apv)?);
        let peer = UnparsedPublicKey::new(self.key.algorithm(), point);
        agreement::agree(&self.key, peer, (), |shared_secret| {
            Ok(concat_kdf(
                shared_secret,
                algorithm_id.as_bytes(),
                &apu,
                &apv,
                key_len,
            ))
        })
        .ok()
    }

    /// `header`'s `epk` as an uncompressed SEC1 point (`04 || x || y`), when it is an EC key on
    /// our curve with full-length coordinates (RFC 7518 §4.6.1.1, §6.2.1.2): what the sender
    /// knows from our published key, so checking it before any cryptography leaks nothing.
    /// Whether the point is on the curve is for the agreement to find.
    pub(super) fn ephemeral_point(&self, header: &JoseHeader) -> Option<Vec<u8>> {
        let Some(Value::Object(epk)) = &header.epk else {
            return None;
        };
        let coordinate_len = self.kind.coordinate_len()?;
        if epk.get("kty").and_then(Value::as_str) != Some("EC")
            || epk.get("crv").and_then(Value::as_str) != self.kind.curve_name()
        {
            return None;
        }
        let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
        point.push(0x04);
        for name in ["x", "y"] {
            let b64 = epk.get(name).and_then(Value::as_str)?;
            // A longer string can't decode to a full coordinate: refused before decoding.
            if b64.len() > coordinate_len.div_ceil(3) * 4 {
                return None;
            }
            let coordinate = URL_SAFE_NO_PAD.decode(b64).ok()?;
            if coordinate.len() != coordinate_len {
                return None;
            }
            point.extend_from_slice(&coordinate);
        }
        Some(point)
    }
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as RFC 7518 §4.6.2 fills it:
/// AlgorithmID, PartyUInfo and PartyVInfo each prefixed with its 32-bit length, SuppPubInfo the
/// key length in bits, no SuppPrivInfo.
fn concat_kdf(
    shared_secret: &[u8],
    algorithm_id: &[u8],
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Zeroizing<Vec<u8>> {
    let length_prefixed = |bytes: &[u8]| {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        len.to_be_bytes()
    };
    let key_bits = u32::try_from(key_len * 8).unwrap_or(u32::MAX).to_be_bytes();
    let mut derived = Zeroizing::new(Vec::with_capacity(key_len.next_multiple_of(32)));
    let mut counter: u32 = 1;
    while derived.len() < key_len {
        let mut round = digest::Context::new(&SHA256);
        round.update(&counter.to_be_bytes());
        round.update(shared_secret);
        for part in [algorithm_id, apu, apv] {
            round.update(&length_prefixed(part));
            round.update(part);
        }
        round.update(&key_bits);
        derived.extend_from_slice(round.finish().as_ref());
        counter += 1;
    }
    derived.truncate(key_len);
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: ECDH-ES direct agreement for A128GCM, apu "Alice", apv "Bob".
    #[test]
    fn the_rfc_7518_appendix_c_example_derives_its_key() {
        let d = URL_SAFE_NO_PAD
            .decode("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw")
            .unwrap();
        let bob = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &d).unwrap();
        let key = StaticKey {
            key: bob,
            kind: KeyKind::EcP256,
        };
        let header: JoseHeader = serde_json::from_value(serde_json::json!({
            "alg": "ECDH-ES",
            "enc": "A128GCM",
            "apu": "QWxpY2U",
            "apv": "Qm9i",
            "epk": {
                "kty": "EC",
                "crv": "P-256",
                "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
                "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
            }
        }))
        .unwrap();

        let point = key.ephemeral_point(&header).unwrap();
        let derived = key.derive(point, &header, "A128GCM", 16).unwrap();

        assert_eq!(URL_SAFE_NO_PAD.encode(&*derived), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn a_point_off_the_curve_or_bad_party_info_derives_nothing() {
        let key = StaticKey::from_pkcs8(
            &crate::jose::private_key::generate(KeyKind::EcP256)
                .unwrap()
                .private_key_to_pkcs8()
                .unwrap(),
            KeyKind::EcP256,
        )
        .unwrap();
        let header = |x: &str, apu: &str| -> JoseHeader {
            serde_json::from_value(serde_json::json!({
                "alg": "ECDH-ES", "enc": "A128GCM", "apu": apu,
                "epk": { "kty": "EC", "crv": "P-256", "x": x,
                         "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps" }
            }))
            .unwrap()
        };
        let on_curve = "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0";
        let off_curve = "hI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0";

        let derive = |header: &JoseHeader| {
            let point = key.ephemeral_point(header)?;
            key.derive(point, header, "A128GCM", 16)
        };

        assert!(derive(&header(on_curve, "QWxpY2U")).is_some());
        assert!(key.ephemeral_point(&header(off_curve, "QWxpY2U")).is_some());
        assert!(derive(&header(off_curve, "QWxpY2U")).is_none());
        assert!(derive(&header(on_curve, "not base64!")).is_none());
    }
}
