//! What an exchange found out, recorded as it goes: for the one audit line per request and for
//! `explain`. A trace never decides anything; the outcome is in the `Decision` or the error.

use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct Trace {
    /// The subject token's fingerprint (never the token).
    pub token_fingerprint: Option<String>,
    /// The issuer of the upstream the token came from, once it is known.
    pub upstream: Option<String>,
    pub sub: Option<String>,
    pub original_aud: Vec<String>,
    pub chosen_aud: Option<String>,
    pub jti: Option<String>,
    /// Each check with its verdict, kept only when explaining (`tokenbridge explain`).
    pub steps: Option<Vec<Step>>,
    /// The nested JWS's header and claims as received, before verification (explaining only).
    pub received: Option<(Value, Map<String, Value>)>,
}

/// One passed check, for `explain`.
#[derive(Debug, Clone)]
pub struct Step {
    pub check: &'static str,
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
