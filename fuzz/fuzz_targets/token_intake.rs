//! Any bytes as a subject token: compact parsing, JWS decoding, and JWE decryption with real
//! RSA and P-256 keys. Nothing may panic, and nothing but a parsed or refused token comes out.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use tokenbridge::jose::alg::{JweAlg, JweEnc, KeyKind};
use tokenbridge::jose::compact::{CompactLimits, CompactToken, parse_compact, parse_jws};
use tokenbridge::jose::decrypt::{DecryptionKey, decrypt_nested};

fn keys() -> &'static [DecryptionKey] {
    static KEYS: OnceLock<Vec<DecryptionKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
        let ec = PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey");
        vec![
            DecryptionKey::new("rsa".into(), &rsa, KeyKind::Rsa, &JweAlg::ALL).expect("rsa key"),
            DecryptionKey::new("ec".into(), &ec, KeyKind::EcP256, &JweAlg::ALL).expect("ec key"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let limits = CompactLimits::default();
    match parse_compact(token, &limits) {
        Ok(CompactToken::Jws(jws)) => {
            let _ = parse_jws(jws, &limits);
        }
        Ok(CompactToken::Jwe { header, token }) => {
            if let Ok(nested) = decrypt_nested(token, &header, keys(), &JweEnc::ALL, Some(16 * 1024)) {
                let _ = parse_jws(&nested, &limits);
            }
        }
        Err(_) => {}
    }
});
