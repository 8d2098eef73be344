//! The `keys` commands' bodies: `keys generate` writes a new private key and names its `kid`;
//! `keys status` shows where every key stands in its schedule, and what the schedule risks.

use std::path::Path;

use super::KeyRing;
use super::files::write_new;
use super::status::{KeyState, KeyStatus, KeyUsage};
use crate::clock::{UnixTime, rfc3339};
use crate::config::{Config, ConfigErrors};
use crate::jose::alg::KeyKind;
use crate::jose::private_key::{generate, public_jwk_members, thumbprint};

/// The algorithms `keys generate` makes keys for, as `--alg` names them.
pub const GENERATED_ALGS: [&str; 6] = [
    "RS256",
    "PS256",
    "ES256",
    "EdDSA",
    "RSA-OAEP-256",
    "ECDH-ES",
];

/// A key `keys generate` wrote.
#[derive(Debug)]
pub struct GeneratedKey {
    /// Its `kid` as tokenbridge computes it when the config names none (RFC 7638 thumbprint).
    pub kid: String,
    /// The config entry that schedules it, to be completed with its times.
    pub entry: String,
}

/// Generates a key for `alg` into `out` (PKCS#8 PEM, mode 0600). Never overwrites a file.
pub fn generate_key(alg: &str, out: &Path) -> Result<GeneratedKey, String> {
    let (kind, section) = match alg {
        "RS256" | "PS256" => (KeyKind::Rsa, "signing"),
        "ES256" => (KeyKind::EcP256, "signing"),
        "EdDSA" => (KeyKind::Ed25519, "signing"),
        "RSA-OAEP-256" => (KeyKind::Rsa, "decryption"),
        "ECDH-ES" => (KeyKind::EcP256, "decryption"),
        other => {
            return Err(format!(
                "{other:?} is not an algorithm keys generate makes keys for; use one of {}",
                GENERATED_ALGS.join(", ")
            ));
        }
    };
    let failed = |err: &dyn std::fmt::Display| format!("cannot generate the key: {err}");
    let pkey = generate(kind).map_err(|err| failed(&err))?;
    let pem = pkey
        .private_key_to_pem_pkcs8()
        .map_err(|err| failed(&err))?;
    let kid = thumbprint(&public_jwk_members(&pkey, kind).map_err(|err| failed(&err))?);
    write_new(out, &pem).map_err(|err| match err.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} exists: keys generate never overwrites a key",
            out.display()
        ),
        _ => format!("cannot write {}: {err}", out.display()),
    })?;
    let alg_line = match section {
        "signing" => format!("alg = \"{alg}\"\n"),
        _ => String::new(),
    };
    Ok(GeneratedKey {
        entry: format!(
            "[[keys.{section}]]\nfile = \"{}\"\n{alg_line}activate_at = \"…\"  # at least limits.jwks_max_age + 15m after it is published\n",
            out.display()
        ),
        kid,
    })
}

/// What `keys status` shows.
#[derive(Debug)]
pub struct StatusReport {
    /// One line per key, with a header line.
    pub table: String,
    /// Default keys `serve` would generate.
    pub notes: Vec<String>,
    /// The schedule's warnings, as the start logs them.
    pub warnings: Vec<String>,
    /// Why the start would refuse the schedule, if it would.
    pub refusal: Option<ConfigErrors>,
}

/// Every key of `config` at `now`, read from its file (nothing is written), and what the start
/// would warn about or refuse.
pub fn key_status(config: &Config, now: UnixTime) -> Result<StatusReport, ConfigErrors> {
    let (ring, notes, gaps) = KeyRing::load_unchecked(config, now, false)?;
    let statuses = ring.statuses(now);
    Ok(StatusReport {
        table: render_table(&statuses),
        notes,
        warnings: ring.schedule_warnings(now, config.jwks_max_age(), &ring.kids()),
        refusal: (!gaps.is_empty()).then_some(ConfigErrors(gaps)),
    })
}

fn render_table(statuses: &[KeyStatus]) -> String {
    let time =
        |at: Option<UnixTime>, none: &str| at.map_or_else(|| none.to_owned(), rfc3339::format);
    let rows: Vec<[String; 7]> = statuses
        .iter()
        .map(|status| {
            [
                status.kid.clone(),
                status.alg.clone(),
                match status.usage {
                    KeyUsage::Sig => "sig",
                    KeyUsage::Enc => "enc",
                }
                .to_owned(),
                match status.state {
                    KeyState::Next => "next",
                    KeyState::Active => "active",
                    KeyState::Retired => "retired",
                    KeyState::Gone => "gone",
                }
                .to_owned(),
                time(status.activate_at, "-"),
                time(status.retire_at, "-"),
                time(status.leaves_jwks_at, "never"),
            ]
        })
        .collect();
    let header = [
        "kid",
        "alg",
        "use",
        "state",
        "activate_at",
        "retire_at",
        "leaves_jwks_at",
    ]
    .map(str::to_owned);
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}
