//! Claim rules: an ordered list of small edits applied to the verified claims before signing, so
//! each IdP's names and shapes come out as the shape a legacy relying party expects.
//!
//! Rules never touch the protected claims: they are checked out at start (`config`), and
//! `claims::issued_claims` sets those afterwards from tokenbridge's own decisions.

mod apply;
mod display;
mod path;
mod shape;

use serde_json::Value;

pub use apply::apply_rules;
pub use path::{ClaimPath, NamePattern};
pub use shape::Shape;

/// What `sub_from` does when its source claim is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    Fail,
    KeepSub,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
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

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Where the rule was written, for logs: `client "bookstack" claims[2]`, `preset zitadel[0]`.
    pub origin: String,
    pub kind: RuleKind,
    /// A missing source refuses the exchange instead of doing nothing.
    pub is_required: bool,
}

/// Why a rule refused an exchange; the log names the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("claim rule {origin}: {reason}")]
pub struct RuleError {
    pub origin: String,
    pub reason: String,
}

/// What a rule did, for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub origin: String,
    pub summary: String,
}
