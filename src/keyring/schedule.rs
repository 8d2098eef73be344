//! The key schedule, precomputed: every `activate_at`, `retire_at` and "leaves the JWKS" moment
//! cuts time into segments in which no key changes state, and each segment holds what a request
//! needs already made (the signer per algorithm, the documents rendered, the key lists). A lookup
//! is a binary search on `now` and allocates nothing; replicas with the same config and key files
//! agree by the clock alone.

use std::sync::Arc;

use serde_json::json;

use crate::clock::UnixTime;
use crate::jose::alg::JwsAlg;
use crate::jose::decrypt::DecryptionKey;
use crate::jose::sign::Signer;
use crate::jose::verify::{VerificationKey, VerificationKeySet};

/// When a key is in use: from `activate_at` (`None`: since ever) until `retire_at` (`None`: for
/// ever), the end excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) activate_at: Option<UnixTime>,
    pub(super) retire_at: Option<UnixTime>,
}

impl Window {
    pub(super) const FOREVER: Window = Window {
        activate_at: None,
        retire_at: None,
    };

    pub(super) fn has_begun(&self, at: UnixTime) -> bool {
        self.activate_at.is_none_or(|activate| activate <= at)
    }

    pub(super) fn has_ended(&self, at: UnixTime) -> bool {
        self.retire_at.is_some_and(|retire| retire <= at)
    }

    /// The activation as an order: `None` is the earliest.
    fn activation_order(&self) -> UnixTime {
        self.activate_at.unwrap_or(UnixTime::MIN)
    }
}

/// A signing key with its schedule.
pub(super) struct SigningEntry {
    /// Its config key (`keys.signing[0]`), or the default file it came from.
    pub(super) name: String,
    pub(super) signer: Arc<Signer>,
    pub(super) window: Window,
    /// `retired = true`: never signs, published for ever.
    pub(super) is_retired: bool,
    /// Whether it is a `signing-<alg>.pem` of `keys.dir`, which signs only when no configured
    /// key for its algorithm is active.
    pub(super) is_default: bool,
    /// From when it is no longer published: `retire_at` + the longest `max_ttl` + the leeway.
    pub(super) leaves_jwks_at: Option<UnixTime>,
}

impl SigningEntry {
    pub(super) fn signs_at(&self, at: UnixTime) -> bool {
        !self.is_retired && self.window.has_begun(at) && !self.window.has_ended(at)
    }

    pub(super) fn is_published_at(&self, at: UnixTime) -> bool {
        self.leaves_jwks_at.is_none_or(|leaves| at < leaves)
    }
}

/// A decryption key with its schedule: it decrypts and is published from load until its
/// `retire_at`; its `activate_at` only ranks it among the published ones.
pub(super) struct DecryptionEntry {
    pub(super) key: Arc<DecryptionKey>,
    pub(super) window: Window,
    /// Its self-signed certificate, for RSA keys (`/encryption-key.pem`).
    pub(super) certificate: Option<String>,
}

/// What holds in one segment of time.
pub(super) struct Segment {
    /// The key each algorithm signs with now.
    pub(super) signers: Vec<(JwsAlg, Arc<Signer>)>,
    pub(super) signing_jwks: String,
    pub(super) own_keys: VerificationKeySet,
    pub(super) decryption: Vec<Arc<DecryptionKey>>,
    pub(super) encryption_jwks: String,
    pub(super) encryption_certificate: Option<String>,
}

/// Every segment, in time order: `segments[0]` until `boundaries[0]`, `segments[i]` from
/// `boundaries[i - 1]` until `boundaries[i]`, the last one for ever.
pub(super) struct Schedule {
    boundaries: Vec<UnixTime>,
    segments: Vec<Segment>,
}

impl Schedule {
    pub(super) fn new(signing: &[SigningEntry], decryption: &[DecryptionEntry]) -> Schedule {
        let mut boundaries: Vec<UnixTime> = signing
            .iter()
            .flat_map(|entry| {
                [
                    entry.window.activate_at,
                    entry.window.retire_at,
                    entry.leaves_jwks_at,
                ]
            })
            .chain(
                decryption
                    .iter()
                    .flat_map(|entry| [entry.window.activate_at, entry.window.retire_at]),
            )
            .flatten()
            .collect();
        boundaries.sort_unstable();
        boundaries.dedup();
        let starts = std::iter::once(UnixTime::MIN).chain(boundaries.iter().copied());
        let segments = starts
            .map(|start| segment_at(start, signing, decryption))
            .collect();
        Schedule {
            boundaries,
            segments,
        }
    }

    /// The segment `now` falls in.
    pub(super) fn at(&self, now: UnixTime) -> &Segment {
        // There is one segment more than boundaries, so the index is always in range.
        &self.segments[self.index_at(now)]
    }

    /// Which segment `now` falls in: the same number means no key changed state in between.
    pub(super) fn index_at(&self, now: UnixTime) -> usize {
        self.boundaries.partition_point(|&boundary| boundary <= now)
    }

    /// Each segment that holds at `now` or later, with the moment it starts holding (not before
    /// `now`).
    pub(super) fn holding_from(&self, now: UnixTime) -> impl Iterator<Item = (UnixTime, &Segment)> {
        let first = self.boundaries.partition_point(|&boundary| boundary <= now);
        let starts = std::iter::once(now).chain(self.boundaries[first..].iter().copied());
        starts.zip(&self.segments[first..])
    }
}

/// The segment that starts at `start`: state is constant until the next boundary, so the state at
/// its start is its state throughout.
fn segment_at(
    start: UnixTime,
    signing: &[SigningEntry],
    decryption: &[DecryptionEntry],
) -> Segment {
    // For each algorithm the most recently activated active key; ties go to the first listed, and
    // a default file (listed last, active since ever) only when no configured key is active.
    let mut chosen: Vec<(JwsAlg, &SigningEntry)> = Vec::new();
    for entry in signing.iter().filter(|entry| entry.signs_at(start)) {
        let alg = entry.signer.alg();
        match chosen.iter_mut().find(|(chosen_alg, _)| *chosen_alg == alg) {
            None => chosen.push((alg, entry)),
            Some((_, current)) => {
                let is_later = entry.window.activation_order() > current.window.activation_order();
                if current.is_default || (is_later && !entry.is_default) {
                    *current = entry;
                }
            }
        }
    }
    let is_chosen = |entry: &SigningEntry| {
        chosen
            .iter()
            .any(|(_, current)| std::ptr::eq(*current, entry))
    };
    // The keys that sign now come first, for relying parties that take the first fitting key.
    let mut published: Vec<&SigningEntry> = signing
        .iter()
        .filter(|entry| entry.is_published_at(start))
        .collect();
    published.sort_by_key(|entry| !is_chosen(entry));
    let signing_jwks =
        json!({ "keys": published.iter().map(|entry| entry.signer.public_jwk()).collect::<Vec<_>>() })
            .to_string();
    // Our own JWKs always parse; one that didn't would verify nothing, which is safe.
    let own_keys = VerificationKeySet::new(
        published
            .iter()
            .filter_map(|entry| {
                VerificationKey::from_jwk(entry.signer.public_jwk())
                    .ok()
                    .flatten()
            })
            .collect(),
    );

    // Decryption: every key not yet retired; the active ones first, most recently activated
    // first, then those still to activate, soonest first.
    let mut active: Vec<&DecryptionEntry> = decryption
        .iter()
        .filter(|entry| entry.window.has_begun(start) && !entry.window.has_ended(start))
        .collect();
    active.sort_by_key(|entry| std::cmp::Reverse(entry.window.activation_order()));
    let mut upcoming: Vec<&DecryptionEntry> = decryption
        .iter()
        .filter(|entry| !entry.window.has_begun(start))
        .collect();
    upcoming.sort_by_key(|entry| entry.window.activation_order());
    let encryption_certificate = active.iter().find_map(|entry| entry.certificate.clone());
    let ordered: Vec<&DecryptionEntry> = active.into_iter().chain(upcoming).collect();
    let encryption_jwks =
        json!({ "keys": ordered.iter().map(|entry| entry.key.public_jwk()).collect::<Vec<_>>() })
            .to_string();
    Segment {
        signers: chosen
            .into_iter()
            .map(|(alg, entry)| (alg, entry.signer.clone()))
            .collect(),
        signing_jwks,
        own_keys,
        decryption: ordered.iter().map(|entry| entry.key.clone()).collect(),
        encryption_jwks,
        encryption_certificate,
    }
}
