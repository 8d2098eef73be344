//! Where a rule reads and which names it matches: claim paths (dotted or JSON pointer) and
//! `*` name patterns.

use serde_json::{Map, Value};

/// Where a rule reads: a JSON pointer (`/realm_access/roles`) or a dotted path
/// (`resource_access.bookstack.roles`); a name without dots or a leading `/` is one claim.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClaimPath {
    segments: Vec<String>,
    written: String,
}

impl ClaimPath {
    pub(crate) fn parse(path: &str) -> Option<ClaimPath> {
        let segments: Vec<String> = if let Some(pointer) = path.strip_prefix('/') {
            pointer
                .split('/')
                .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            path.split('.').map(str::to_owned).collect()
        };
        if segments.iter().any(String::is_empty) {
            return None;
        }
        Some(ClaimPath {
            segments,
            written: path.to_owned(),
        })
    }

    /// The top-level claim it starts at.
    pub(crate) fn top(&self) -> &str {
        &self.segments[0]
    }

    pub(crate) fn is_top_level(&self) -> bool {
        self.segments.len() == 1
    }

    pub(super) fn get<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut value = claims.get(&self.segments[0])?;
        for segment in &self.segments[1..] {
            value = value.as_object()?.get(segment)?;
        }
        Some(value)
    }

    pub(super) fn remove(&self, claims: &mut Map<String, Value>) -> Option<Value> {
        let (leaf, parents) = self.segments.split_last()?;
        let mut object = claims;
        for segment in parents {
            object = object.get_mut(segment)?.as_object_mut()?;
        }
        object.remove(leaf)
    }
}

impl std::fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.written)
    }
}

/// A claim-name pattern: exact, or with `*` matching any run of characters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NamePattern(String);

impl NamePattern {
    pub(crate) fn new(pattern: &str) -> NamePattern {
        NamePattern(pattern.to_owned())
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        wildcard_match(self.0.as_bytes(), name.as_bytes())
    }

    /// The pattern as written.
    pub(super) fn as_written(&self) -> &str {
        &self.0
    }
}

fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative glob with backtracking to the last `*`: linear in practice, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}
