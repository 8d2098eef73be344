//! Claim rules: an ordered list of small edits applied to the verified claims before signing, so
//! each IdP's names and shapes come out as the shape a legacy relying party expects.
//!
//! Rules never touch the protected claims: they are checked out at start (`config`), and
//! `claims::issued_claims` sets those afterwards from tokenbridge's own decisions.

mod apply;
mod display;
mod logout;
mod path;
mod shape;

use serde_json::Value;

pub(crate) use apply::apply_rules;
pub(crate) use path::{ClaimPath, NamePattern};
pub(crate) use shape::{Shape, ValueMap};

/// What a rename or copy does when its target claim exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnExisting {
    /// Refuses the exchange (the default: two sources for one claim is a surprise).
    Refuse,
    /// `overwrite = true`: replaces it.
    Overwrite,
    /// `keep_existing = true`: leaves it, and does nothing (a rename keeps its source too).
    Keep,
}

/// What `sub_from` does when its source claim is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfMissing {
    Fail,
    KeepSub,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RuleKind {
    /// Moves a value (reshaped) to a top-level claim.
    Rename {
        from: ClaimPath,
        to: String,
        shape: Shape,
        existing: OnExisting,
    },
    /// Like rename, but the source stays.
    Copy {
        from: ClaimPath,
        to: String,
        shape: Shape,
        existing: OnExisting,
    },
    Drop {
        patterns: Vec<NamePattern>,
        paths: Vec<ClaimPath>,
    },
    Set {
        claim: String,
        value: Value,
    },
    Default {
        claim: String,
        value: Value,
    },
    SubFrom {
        from: ClaimPath,
        if_missing: IfMissing,
    },
    /// Least privilege: every top-level claim not named leaves (`sub` always stays).
    KeepOnly {
        names: Vec<NamePattern>,
    },
    /// Refuses a token that carries `claim` only as a distributed claim (OIDC Core §5.6.2:
    /// `_claim_names` names it; Entra's groups overage), or `hasgroups: true` for `groups`,
    /// instead of its value: such a token would otherwise be issued without it.
    RefuseOverage {
        claim: String,
    },
}

/// One entry of a `claims` list (an upstream's, a client's or a preset's), checked at start.
/// `Display` writes it back as the inline TOML table it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where the rule was written, for logs: `client "bookstack" claims[2]`, `preset zitadel[0]`.
    pub origin: String,
    pub(crate) kind: RuleKind,
    /// A missing source refuses the exchange instead of doing nothing.
    pub(crate) is_required: bool,
}

/// Why a rule refused an exchange; the log names the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("claim rule {origin}: {reason}")]
pub struct RuleError {
    pub(crate) origin: String,
    pub(crate) reason: String,
}

/// What a rule did, for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fired {
    pub(crate) origin: String,
    pub(crate) summary: String,
}
