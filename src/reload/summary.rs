//! What a reload changed, in one line for the log: clients, upstreams and fronts added, removed
//! or changed; keys added, removed or in another state; settings that need a restart.

use std::collections::BTreeMap;
use std::fmt;

use crate::clock::UnixTime;
use crate::config::{ClientConfig, Config, FrontConfig, UpstreamConfig};
use crate::keyring::{KeyRing, KeyState, KeyUsage};

/// Names added, removed and changed in one part of the config.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// In the new config only.
    pub added: Vec<String>,
    /// In the old config only.
    pub removed: Vec<String>,
    /// In both, with another value (for a key: another state, as `kid: old → new`).
    pub changed: Vec<String>,
}

impl Changes {
    fn between<T>(
        old: &[T],
        new: &[T],
        name: impl Fn(&T) -> &str,
        is_same: impl Fn(&T, &T) -> bool,
    ) -> Changes {
        let mut changes = Changes::default();
        for item in new {
            match old.iter().find(|earlier| name(earlier) == name(item)) {
                None => changes.added.push(name(item).to_owned()),
                Some(earlier) if !is_same(earlier, item) => {
                    changes.changed.push(name(item).to_owned())
                }
                Some(_) => {}
            }
        }
        for item in old {
            if !new.iter().any(|later| name(later) == name(item)) {
                changes.removed.push(name(item).to_owned());
            }
        }
        changes
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// What one good reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadSummary {
    /// `[[client]]` by `id`.
    pub clients: Changes,
    /// `[[upstream]]` by `name`.
    pub upstreams: Changes,
    /// `[[front]]` by client.
    pub fronts: Changes,
    /// Our signing and decryption keys by `kid`.
    pub keys: Changes,
    /// Settings the file has otherwise than the running process, which can't take them
    /// (`listen`, `workers`): they stay as they were started until a restart.
    pub needs_restart: Vec<&'static str>,
}

impl ReloadSummary {
    pub(crate) fn between(
        old: (&Config, &KeyRing),
        new: (&Config, &KeyRing),
        now: UnixTime,
    ) -> ReloadSummary {
        let (old_config, old_keys) = old;
        let (new_config, new_keys) = new;
        ReloadSummary {
            clients: Changes::between(
                &old_config.clients,
                &new_config.clients,
                |client: &ClientConfig| &client.id,
                is_same_client,
            ),
            upstreams: Changes::between(
                &old_config.upstreams,
                &new_config.upstreams,
                |upstream: &UpstreamConfig| &upstream.name,
                |a, b| format!("{a:?}") == format!("{b:?}"),
            ),
            fronts: Changes::between(
                &old_config.fronts,
                &new_config.fronts,
                |front: &FrontConfig| &front.client,
                |a, b| format!("{a:?}") == format!("{b:?}"),
            ),
            keys: key_changes(&key_states(old_keys, now), &key_states(new_keys, now)),
            needs_restart: Vec::new(),
        }
    }
}

/// Compared as the log would show them, plus the secret, which `Debug` redacts. A summary only:
/// nothing is decided on this.
fn is_same_client(a: &ClientConfig, b: &ClientConfig) -> bool {
    format!("{a:?}") == format!("{b:?}") && a.secret.matches(&b.secret)
}

/// Every key of ours by `kid` and use, with its state now.
fn key_states(keys: &KeyRing, now: UnixTime) -> BTreeMap<String, String> {
    keys.statuses(now)
        .into_iter()
        .map(|status| {
            let usage = match status.usage {
                KeyUsage::Sig => "sig",
                KeyUsage::Enc => "enc",
            };
            let state = match status.state {
                KeyState::Next => "next",
                KeyState::Active => "active",
                KeyState::Retired => "retired",
                KeyState::Gone => "gone",
            };
            (format!("{} ({usage})", status.kid), state.to_owned())
        })
        .collect()
}

fn key_changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Changes {
    let mut changes = Changes::default();
    for (kid, state) in new {
        match old.get(kid) {
            None => changes.added.push(format!("{kid}: {state}")),
            Some(earlier) if earlier != state => {
                changes.changed.push(format!("{kid}: {earlier} → {state}"))
            }
            Some(_) => {}
        }
    }
    changes
        .removed
        .extend(old.keys().filter(|kid| !new.contains_key(*kid)).cloned());
    changes
}

impl fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            ("clients", &self.clients),
            ("upstreams", &self.upstreams),
            ("fronts", &self.fronts),
            ("keys", &self.keys),
        ];
        let mut wrote = false;
        for (what, changes) in parts.iter().filter(|(_, changes)| !changes.is_empty()) {
            if wrote {
                f.write_str("; ")?;
            }
            wrote = true;
            write!(f, "{what}:")?;
            for (sign, names) in [
                ("+", &changes.added),
                ("-", &changes.removed),
                ("~", &changes.changed),
            ] {
                for name in names {
                    write!(f, " {sign}{name}")?;
                }
            }
        }
        if !wrote {
            f.write_str("nothing changed")?;
        }
        if !self.needs_restart.is_empty() {
            write!(
                f,
                "; {} changed but needs a restart to take effect",
                self.needs_restart.join(" and ")
            )?;
        }
        Ok(())
    }
}
