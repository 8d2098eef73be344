//! The encryption key as a self-signed X.509 certificate, for IdPs that import a certificate
//! rather than fetch a JWKS (Authentik).
//!
//! The certificate is deterministic — serial from the key's `kid`, fixed validity, and RSA
//! PKCS#1 v1.5 signatures are deterministic — so every replica serves the same bytes.

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Builder, X509NameBuilder};

/// 2024-01-01T00:00:00Z and 2100-01-01T00:00:00Z.
const NOT_BEFORE: i64 = 1_704_067_200;
const NOT_AFTER: i64 = 4_102_444_800;

/// A PEM certificate for `pkey`, signed by itself (SHA-256), for encryption only (key and data
/// encipherment). Its serial comes from the first 15 bytes of `kid`, so the same RSA key and
/// `kid` give the same bytes.
pub fn self_signed_pem(
    pkey: &PKey<Private>,
    kid: &str,
) -> Result<String, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", "tokenbridge encryption key")?;
    let name = name.build();
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial_hex: String = kid
        .bytes()
        .map(|b| format!("{b:02x}"))
        .take(15)
        .collect::<String>();
    let serial = BigNum::from_hex_str(&format!("1{serial_hex}"))?.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_not_before(Asn1Time::from_unix(NOT_BEFORE)?.as_ref())?;
    builder.set_not_after(Asn1Time::from_unix(NOT_AFTER)?.as_ref())?;
    builder.set_pubkey(pkey)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(
        KeyUsage::new()
            .critical()
            .key_encipherment()
            .data_encipherment()
            .build()?,
    )?;
    builder.sign(pkey, MessageDigest::sha256())?;
    let pem = builder.build().to_pem()?;
    Ok(String::from_utf8_lossy(&pem).into_owned())
}
