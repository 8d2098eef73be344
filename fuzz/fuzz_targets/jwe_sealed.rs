//! JWEs sealed for tokenbridge's real keys, as a client with credentials can make them: the
//! fuzzer picks the algorithms, the content key it wraps (any length), the IV, the plaintext and
//! extra header members; josekit wraps the key and seals the content; then the fuzzer cuts,
//! flips or replaces any part. So it reaches the content step behind a correct key unwrap, which
//! `token_intake`'s random bytes never do.
//!
//! Nothing may panic, and a token sealed without tampering must decrypt to its plaintext.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::{self, JweEncrypter, JweHeader};
use josekit::jwk::Jwk;
use libfuzzer_sys::fuzz_target;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::Value;
use tokenbridge::jose::alg::{JweAlg, JweEnc, KeyKind};
use tokenbridge::jose::compact::{CompactLimits, CompactToken, parse_compact};
use tokenbridge::jose::decrypt::{DecryptionKey, decrypt_nested, josekit_enc};

const INFLATE_LIMIT: usize = 16 * 1024;

struct Recipient {
    keys: Vec<DecryptionKey>,
    encrypters: Vec<(JweAlg, Box<dyn JweEncrypter>)>,
}

fn recipient() -> &'static Recipient {
    static RECIPIENT: OnceLock<Recipient> = OnceLock::new();
    RECIPIENT.get_or_init(|| {
        let rsa = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
        let ec = PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey");
        let keys = vec![
            DecryptionKey::new("rsa".into(), &rsa, KeyKind::Rsa, &JweAlg::ALL).expect("rsa key"),
            DecryptionKey::new("ec".into(), &ec, KeyKind::EcP256, &JweAlg::ALL).expect("ec key"),
        ];
        let jwk = |kind: KeyKind| {
            let mut public = keys
                .iter()
                .find(|key| key.kind() == kind)
                .expect("key")
                .public_jwk()
                .clone();
            let members = public.as_object_mut().expect("object");
            members.remove("alg");
            members.remove("use");
            Jwk::from_bytes(public.to_string().as_bytes()).expect("jwk")
        };
        let (rsa_jwk, ec_jwk) = (jwk(KeyKind::Rsa), jwk(KeyKind::EcP256));
        let encrypters: Vec<(JweAlg, Box<dyn JweEncrypter>)> = vec![
            (JweAlg::RsaOaep, Box::new(jwe::RSA_OAEP.encrypter_from_jwk(&rsa_jwk).expect("e"))),
            (
                JweAlg::RsaOaep256,
                Box::new(jwe::RSA_OAEP_256.encrypter_from_jwk(&rsa_jwk).expect("e")),
            ),
            (JweAlg::EcdhEs, Box::new(jwe::ECDH_ES.encrypter_from_jwk(&ec_jwk).expect("e"))),
            (
                JweAlg::EcdhEsA128Kw,
                Box::new(jwe::ECDH_ES_A128KW.encrypter_from_jwk(&ec_jwk).expect("e")),
            ),
            (
                JweAlg::EcdhEsA192Kw,
                Box::new(jwe::ECDH_ES_A192KW.encrypter_from_jwk(&ec_jwk).expect("e")),
            ),
            (
                JweAlg::EcdhEsA256Kw,
                Box::new(jwe::ECDH_ES_A256KW.encrypter_from_jwk(&ec_jwk).expect("e")),
            ),
        ];
        Recipient { keys, encrypters }
    })
}

#[derive(Arbitrary, Debug)]
enum Member {
    Kid(String),
    Cty(String),
    Zip(String),
    Typ(String),
    Apu(Vec<u8>),
    Apv(Vec<u8>),
    EpkX(Vec<u8>),
    EpkY(Vec<u8>),
    EpkCrv(String),
    Crit(String),
    Other(String, String),
}

#[derive(Arbitrary, Debug)]
enum Tamper {
    /// Part 0 header, 1 encrypted key, 2 IV, 3 ciphertext, 4 tag.
    Truncate { part: u8, len: u16 },
    Flip { part: u8, at: u16, mask: u8 },
    Replace { part: u8, bytes: Vec<u8> },
    Append { part: u8, bytes: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
struct Input {
    alg: u8,
    enc: u8,
    /// The content key the client wraps; its length is the client's to choose.
    cek: Vec<u8>,
    /// When set, `cek` is cut or cycled to the length `enc` needs, so the content step runs.
    is_cek_sized: bool,
    iv: Vec<u8>,
    is_iv_sized: bool,
    plaintext: Vec<u8>,
    members: Vec<Member>,
    tampers: Vec<Tamper>,
}

fn resized(bytes: &[u8], len: usize) -> Vec<u8> {
    if bytes.is_empty() {
        vec![0x5a; len]
    } else {
        bytes.iter().copied().cycle().take(len).collect()
    }
}

fn apply_member(header: &mut JweHeader, member: &Member) {
    let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
    let mut epk = header.claim("epk").cloned().unwrap_or(Value::Null);
    let result = match member {
        Member::Kid(kid) => header.set_claim("kid", Some(Value::String(kid.clone()))),
        Member::Cty(cty) => header.set_claim("cty", Some(Value::String(cty.clone()))),
        Member::Zip(zip) => header.set_claim("zip", Some(Value::String(zip.clone()))),
        Member::Typ(typ) => header.set_claim("typ", Some(Value::String(typ.clone()))),
        Member::Apu(apu) => header.set_claim("apu", Some(b64(apu))),
        Member::Apv(apv) => header.set_claim("apv", Some(b64(apv))),
        Member::Crit(name) => header.set_claim("crit", Some(Value::Array(vec![name.clone().into()]))),
        Member::Other(name, value) => header.set_claim(name, Some(Value::String(value.clone()))),
        Member::EpkX(_) | Member::EpkY(_) | Member::EpkCrv(_) if !epk.is_object() => Ok(()),
        Member::EpkX(x) => {
            epk["x"] = b64(x);
            header.set_claim("epk", Some(epk.clone()))
        }
        Member::EpkY(y) => {
            epk["y"] = b64(y);
            header.set_claim("epk", Some(epk.clone()))
        }
        Member::EpkCrv(crv) => {
            epk["crv"] = Value::String(crv.clone());
            header.set_claim("epk", Some(epk.clone()))
        }
    };
    let _ = result;
}

fuzz_target!(|input: Input| {
    let recipient = recipient();
    let (alg, encrypter) = &recipient.encrypters[usize::from(input.alg) % JweAlg::ALL.len()];
    let enc = JweEnc::ALL[usize::from(input.enc) % JweEnc::ALL.len()];
    let content = josekit_enc(enc);

    let mut header = JweHeader::new();
    header.set_algorithm(alg.name());
    header.set_content_encryption(enc.name());
    let in_header = header.clone();
    let derived = match encrypter.compute_content_encryption_key(content, &in_header, &mut header) {
        Ok(derived) => derived.map(|key| key.into_owned()),
        Err(_) => return,
    };
    let cek = match derived {
        Some(key) => key,
        None if input.is_cek_sized => resized(&input.cek, enc.key_len()),
        // AES key wrap takes whole 64-bit blocks, at least two (RFC 3394): what a client can send.
        None if !alg.is_rsa() => resized(&input.cek, (input.cek.len() / 8).max(2) * 8),
        None => input.cek.clone(),
    };
    let Ok(encrypted_key) = encrypter.encrypt(&cek, &header.clone(), &mut header) else {
        return;
    };
    let is_plain = input.members.is_empty() && input.tampers.is_empty();
    for member in &input.members {
        apply_member(&mut header, member);
    }
    let protected_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
    let iv = if input.is_iv_sized {
        resized(&input.iv, enc.iv_len())
    } else {
        input.iv.clone()
    };
    let sealed = if cek.len() == enc.key_len() && iv.len() == enc.iv_len() {
        content.encrypt(&cek, Some(&iv), &input.plaintext, protected_b64.as_bytes())
    } else {
        Ok((input.plaintext.clone(), Some(input.cek.clone())))
    };
    let Ok((ciphertext, tag)) = sealed else {
        return;
    };

    let mut parts: [Vec<u8>; 5] = [
        header.to_string().into_bytes(),
        encrypted_key.unwrap_or_default(),
        iv,
        ciphertext,
        tag.unwrap_or_default(),
    ];
    for tamper in &input.tampers {
        match tamper {
            Tamper::Truncate { part, len } => {
                parts[usize::from(*part) % 5].truncate(usize::from(*len));
            }
            Tamper::Flip { part, at, mask } => {
                let bytes = &mut parts[usize::from(*part) % 5];
                if !bytes.is_empty() {
                    let index = usize::from(*at) % bytes.len();
                    bytes[index] ^= mask;
                }
            }
            Tamper::Replace { part, bytes } => parts[usize::from(*part) % 5] = bytes.clone(),
            Tamper::Append { part, bytes } => parts[usize::from(*part) % 5].extend(bytes),
        }
    }
    let token = parts
        .iter()
        .map(|part| URL_SAFE_NO_PAD.encode(part))
        .collect::<Vec<_>>()
        .join(".");

    let limits = CompactLimits::default();
    let Ok(CompactToken::Jwe { header, token }) = parse_compact(&token, &limits) else {
        return;
    };
    let decrypted = decrypt_nested(
        token,
        &header,
        &recipient.keys,
        &JweEnc::ALL,
        Some(INFLATE_LIMIT),
    );
    let is_sized = cek.len() == enc.key_len() && parts[2].len() == enc.iv_len();
    if is_plain && is_sized {
        match std::str::from_utf8(&input.plaintext) {
            Ok(text) => assert_eq!(decrypted.ok().as_deref(), Some(text), "{alg} {enc}"),
            Err(_) => assert!(decrypted.is_err()),
        }
    }
});
