//! What an exchange found out, recorded as it goes: for the one audit line per request and for
//! `explain`. A trace never decides anything; the outcome is in the `Decision` or the error.

use serde_json::{Map, Value};

/// The facts of one exchange, each filled in once its check found it.
#[derive(Debug, Default)]
pub struct Trace {
    /// Where the request came from: the peer, or the client behind a trusted proxy.
    pub source: Option<std::net::IpAddr>,
    /// The subject token's fingerprint (never the token).
    pub token_fingerprint: Option<String>,
    /// The issuer of the upstream the token came from, once it is known.
    pub upstream: Option<String>,
    /// The subject token's `sub`, once its signature verified.
    pub sub: Option<String>,
    /// The subject token's audiences, in its order.
    pub original_aud: Vec<String>,
    /// The one audience chosen for the issued token.
    pub chosen_aud: Option<String>,
    /// The issued token's `jti`.
    pub jti: Option<String>,
    /// Whether the answer came from the client's exchange cache (`cache = true`).
    pub is_cached: bool,
    /// Each check with its verdict, kept only when explaining (`tokenbridge explain`).
    pub steps: Option<Vec<Step>>,
    /// The nested JWS's header and claims as received, before verification (explaining only).
    pub received: Option<(Value, Map<String, Value>)>,
}

/// One passed check, for `explain`.
#[derive(Debug, Clone)]
pub struct Step {
    /// The check's name ("signature", "audience", …).
    pub check: &'static str,
    /// What it found, for a person to read.
    pub verdict: String,
}

impl Trace {
    /// A trace that keeps every step, for `explain`.
    pub fn explaining() -> Trace {
        Trace {
            steps: Some(Vec::new()),
            ..Trace::default()
        }
    }

    /// Whether steps are kept: the verdicts' text is only made then.
    pub fn is_explaining(&self) -> bool {
        self.steps.is_some()
    }

    /// Records a passed check; the text is only made when explaining.
    pub(crate) fn passed(&mut self, check: &'static str, verdict: impl FnOnce() -> String) {
        if let Some(steps) = &mut self.steps {
            steps.push(Step {
                check,
                verdict: verdict(),
            });
        }
    }
}
