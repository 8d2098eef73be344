//! What the schedule says about each key at a moment (`keys status`), what it warns about, and
//! where it would leave an algorithm without a signing key.

use std::collections::HashSet;
use std::time::Duration;

use super::KeyRing;
use crate::clock::{UnixTime, rfc3339};
use crate::config::ConfigProblem;
use crate::jose::alg::JwsAlg;

/// How long relying parties may hold keys beyond `limits.jwks_max_age`: BookStack caches
/// discovery and the JWKS for 15 minutes, and never refetches on an unknown `kid`.
pub const RELYING_PARTY_CACHE_MARGIN: Duration = Duration::from_secs(15 * 60);

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsage {
    /// Signs what tokenbridge issues (`"use":"sig"`, `/.well-known/jwks.json`).
    Sig,
    /// Decrypts what IdPs encrypt to tokenbridge (`"use":"enc"`, `encryption-keys.json`).
    Enc,
}

/// Where a key stands in its schedule at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Before its `activate_at`: published; a signing key does not sign yet, a decryption key
    /// decrypts but is not the preferred one.
    Next,
    /// Between `activate_at` and `retire_at`.
    Active,
    /// A signing key after its `retire_at` (or `retired = true`): published, never signing.
    Retired,
    /// No longer published: a signing key past `retire_at` + the longest `max_ttl` +
    /// `keys.retire_leeway`, a decryption key past its `retire_at`.
    Gone,
}

/// One key's place in the schedule, as `keys status` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// Its `kid`.
    pub kid: String,
    /// The algorithm it is published with (`RS256`, `RSA-OAEP-256`, …).
    pub alg: String,
    /// Signing or decryption.
    pub usage: KeyUsage,
    /// Its state at the moment asked about.
    pub state: KeyState,
    /// `activate_at`, if set.
    pub activate_at: Option<UnixTime>,
    /// `retire_at`, if set.
    pub retire_at: Option<UnixTime>,
    /// When it leaves its published key set by itself; `None`: never.
    pub leaves_jwks_at: Option<UnixTime>,
}

impl KeyRing {
    /// Every key, signing keys first, each as it stands at `now`.
    pub fn statuses(&self, now: UnixTime) -> Vec<KeyStatus> {
        let signing = self.signing.iter().map(|entry| KeyStatus {
            kid: entry.signer.kid().to_owned(),
            alg: entry.signer.alg().name().to_owned(),
            usage: KeyUsage::Sig,
            state: if !entry.is_published_at(now) {
                KeyState::Gone
            } else if entry.is_retired || entry.window.has_ended(now) {
                KeyState::Retired
            } else if entry.window.has_begun(now) {
                KeyState::Active
            } else {
                KeyState::Next
            },
            activate_at: entry.window.activate_at,
            retire_at: entry.window.retire_at,
            leaves_jwks_at: entry.leaves_jwks_at,
        });
        let decryption = self.decryption.iter().map(|entry| KeyStatus {
            kid: entry.key.kid().to_owned(),
            alg: entry.key.public_jwk()["alg"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            usage: KeyUsage::Enc,
            state: if entry.window.has_ended(now) {
                KeyState::Gone
            } else if entry.window.has_begun(now) {
                KeyState::Active
            } else {
                KeyState::Next
            },
            activate_at: entry.window.activate_at,
            retire_at: entry.window.retire_at,
            leaves_jwks_at: entry.window.retire_at,
        });
        signing.chain(decryption).collect()
    }

    /// Every `kid` the ring holds: what `newly_published` is at start, when every key is
    /// published for the first time.
    pub fn kids(&self) -> HashSet<String> {
        let signing = self.signing.iter().map(|entry| entry.signer.kid());
        let decryption = self.decryption.iter().map(|entry| entry.key.kid());
        signing.chain(decryption).map(str::to_owned).collect()
    }

    /// A warning for each signing key in `newly_published` (published from `now` on) that
    /// activates sooner than `jwks_max_age` + `RELYING_PARTY_CACHE_MARGIN` after `now`: a relying
    /// party that fetched the JWKS just before may meet its tokens before it knows the key. A key
    /// already active, or one not in `newly_published` (published earlier), is not warned about.
    /// At start pass `kids()`; a live reload passes the kids it added.
    pub fn schedule_warnings(
        &self,
        now: UnixTime,
        jwks_max_age: Duration,
        newly_published: &HashSet<String>,
    ) -> Vec<String> {
        let needed = jwks_max_age.saturating_add(RELYING_PARTY_CACHE_MARGIN);
        let needed_secs = i64::try_from(needed.as_secs()).unwrap_or(i64::MAX);
        self.signing
            .iter()
            .filter(|entry| newly_published.contains(entry.signer.kid()))
            .filter_map(|entry| {
                let activate_at = entry.window.activate_at.filter(|&at| at > now)?;
                let earliest = now.saturating_add(needed_secs);
                (activate_at < earliest).then(|| {
                    format!(
                        "{}.activate_at: key {} activates at {}, only {}s after it is first published; relying parties cache the JWKS up to limits.jwks_max_age ({}) + 15m (BookStack), so some may not know it yet: activate it at {} or later",
                        entry.name,
                        entry.signer.kid(),
                        rfc3339::format(activate_at),
                        activate_at - now,
                        humantime::format_duration(jwks_max_age),
                        rfc3339::format(earliest),
                    )
                })
            })
            .collect()
    }

    /// Until when some key signs `alg`, from `now` on: the first moment none does (`now` when
    /// none does now), or `None` when one always will.
    pub fn active_until(&self, alg: JwsAlg, now: UnixTime) -> Option<UnixTime> {
        self.schedule
            .holding_from(now)
            .find(|(_, segment)| segment.signers.iter().all(|(signs, _)| *signs != alg))
            .map(|(from, _)| from)
    }

    /// A problem for each algorithm in `algs` that some moment from `now` on has no active key.
    pub(super) fn schedule_gaps(&self, now: UnixTime, algs: &[JwsAlg]) -> Vec<ConfigProblem> {
        algs.iter()
            .filter_map(|&alg| {
                let from = self.active_until(alg, now)?;
                Some(ConfigProblem {
                    key: "keys.signing".into(),
                    message: format!(
                        "no {alg} key is active from {}, and a client signs with {alg}: give a key an activate_at at or before then (or move the retire_at)",
                        rfc3339::format(from)
                    ),
                })
            })
            .collect()
    }
}
