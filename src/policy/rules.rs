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
        overwrite: bool,
    },
    /// Like rename, but the source stays.
    Copy {
        from: ClaimPath,
        to: String,
        shape: Shape,
        overwrite: bool,
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
