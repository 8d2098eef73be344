//! Choosing exactly one audience for the issued token.
//!
//! The token's `aud` (RFC 7519 §4.1.3) may hold many values; a legacy relying party accepts one.
//! The client's rules pick it, and ambiguity is an error, never a guess.

use std::collections::HashMap;

/// How a client chooses among the allowed audiences that the token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AudienceMode {
    /// Exactly one of the client's allowed audiences must be in the token (least privilege).
    Only,
    /// The first of the client's allowed audiences, in the client's order, that the token has.
    First,
    /// The request must name the audience.
    Requested,
}

impl AudienceMode {
    pub(crate) fn parse(name: &str) -> Option<AudienceMode> {
        match name {
            "only" => Some(AudienceMode::Only),
            "first" => Some(AudienceMode::First),
            "requested" => Some(AudienceMode::Requested),
            _ => None,
        }
    }
}

/// A client's audience rules, checked at start (non-empty, `rewrite` keys among `allowed`).
#[derive(Debug, Clone)]
pub(crate) struct AudienceRules {
    pub(crate) mode: AudienceMode,
    /// Token audiences the client accepts, in order of preference.
    pub(crate) allowed: Vec<String>,
    /// Token audience → the value emitted instead.
    pub(crate) rewrite: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    #[error("the token's aud holds none of the client's allowed audiences")]
    NoneAllowed,
    #[error("the token's aud holds {0} of the client's allowed audiences and mode is `only`")]
    Ambiguous(usize),
    #[error("the requested audience {0:?} is not allowed for this client or not in the token")]
    RequestedNotAvailable(String),
    #[error("mode `requested` needs an audience parameter")]
    RequestedMissing,
}

impl AudienceRules {
    fn output(&self, token_audience: &str) -> String {
        self.rewrite
            .get(token_audience)
            .cloned()
            .unwrap_or_else(|| token_audience.to_owned())
    }

    /// The audience emitted for this client's first allowed value: a front's relying party.
    pub(crate) fn primary(&self) -> Option<String> {
        self.allowed.first().map(|allowed| self.output(allowed))
    }

    /// The one audience to emit. `token_aud` is the verified token's `aud`; `requested` is the
    /// request's `audience` parameter (RFC 8693 §2.1), which names an emitted value.
    pub(crate) fn choose(
        &self,
        token_aud: &[String],
        requested: Option<&str>,
    ) -> Result<String, AudienceError> {
        if let Some(wanted) = requested
            && !self
                .allowed
                .iter()
                .any(|allowed| self.output(allowed) == wanted)
        {
            return Err(AudienceError::RequestedNotAvailable(wanted.to_owned()));
        }
        if self.mode == AudienceMode::Requested && requested.is_none() {
            return Err(AudienceError::RequestedMissing);
        }
        let mut matches = self
            .allowed
            .iter()
            .filter(|allowed| token_aud.iter().any(|aud| aud == *allowed))
            .map(|allowed| self.output(allowed))
            .filter(|emitted| requested.is_none_or(|wanted| wanted == emitted));
        let first = match (matches.next(), requested) {
            (Some(first), _) => first,
            (None, Some(wanted)) => {
                return Err(AudienceError::RequestedNotAvailable(wanted.to_owned()));
            }
            (None, None) => return Err(AudienceError::NoneAllowed),
        };
        if self.mode == AudienceMode::Only {
            let more = matches.count();
            if more > 0 {
                return Err(AudienceError::Ambiguous(more + 1));
            }
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(mode: AudienceMode, allowed: &[&str]) -> AudienceRules {
        AudienceRules {
            mode,
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
            rewrite: HashMap::new(),
        }
    }

    fn aud(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    const ZITADEL_AUD: [&str; 5] = ["2331", "bookstack@p", "wiki@p", "chat@p", "mail@p"];

    #[test]
    fn only_takes_the_single_allowed_value_among_five() {
        let rules = rules(AudienceMode::Only, &["bookstack@p"]);
        assert_eq!(
            rules.choose(&aud(&ZITADEL_AUD), None).unwrap(),
            "bookstack@p"
        );
    }

    #[test]
    fn only_refuses_none_and_several() {
        let rules = rules(AudienceMode::Only, &["bookstack@p", "wiki@p"]);
        assert_eq!(
            rules.choose(&aud(&ZITADEL_AUD), None),
            Err(AudienceError::Ambiguous(2))
        );
        assert_eq!(
            rules.choose(&aud(&["other"]), None),
            Err(AudienceError::NoneAllowed)
        );
        assert_eq!(
            rules.choose(&aud(&[]), None),
            Err(AudienceError::NoneAllowed)
        );
    }

    #[test]
    fn a_requested_audience_narrows_only_mode() {
        let rules = rules(AudienceMode::Only, &["bookstack@p", "wiki@p"]);
        assert_eq!(
            rules.choose(&aud(&ZITADEL_AUD), Some("wiki@p")).unwrap(),
            "wiki@p"
        );
    }

    #[test]
    fn first_follows_the_clients_order_not_the_tokens() {
        let rules = rules(AudienceMode::First, &["mail@p", "bookstack@p"]);
        assert_eq!(rules.choose(&aud(&ZITADEL_AUD), None).unwrap(), "mail@p");
        assert_eq!(
            rules.choose(&aud(&["x"]), None),
            Err(AudienceError::NoneAllowed)
        );
    }

    #[test]
    fn requested_mode_needs_an_allowed_audience_present_in_the_token() {
        let rules = rules(AudienceMode::Requested, &["bookstack@p", "nothere"]);
        assert_eq!(
            rules.choose(&aud(&ZITADEL_AUD), None),
            Err(AudienceError::RequestedMissing)
        );
        assert_eq!(
            rules
                .choose(&aud(&ZITADEL_AUD), Some("bookstack@p"))
                .unwrap(),
            "bookstack@p"
        );
        assert!(matches!(
            rules.choose(&aud(&ZITADEL_AUD), Some("nothere")),
            Err(AudienceError::RequestedNotAvailable(_))
        ));
        assert!(matches!(
            rules.choose(&aud(&ZITADEL_AUD), Some("chat@p")),
            Err(AudienceError::RequestedNotAvailable(_))
        ));
    }

    #[test]
    fn rewrite_maps_the_chosen_token_audience_to_the_emitted_value() {
        let mut rules = rules(AudienceMode::Only, &["2331"]);
        rules.rewrite.insert("2331".into(), "bookstack".into());
        assert_eq!(rules.choose(&aud(&ZITADEL_AUD), None).unwrap(), "bookstack");
        assert_eq!(
            rules.choose(&aud(&ZITADEL_AUD), Some("bookstack")).unwrap(),
            "bookstack"
        );
        // The token value itself is not an emitted value once rewritten.
        assert!(rules.choose(&aud(&ZITADEL_AUD), Some("2331")).is_err());
    }

    #[test]
    fn nothing_outside_the_tokens_aud_is_emitted_without_rewrite() {
        for mode in [
            AudienceMode::Only,
            AudienceMode::First,
            AudienceMode::Requested,
        ] {
            let rules = rules(mode, &["absent"]);
            assert!(rules.choose(&aud(&ZITADEL_AUD), Some("absent")).is_err());
        }
    }
}
