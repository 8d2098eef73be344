//! The file's sections and `[[entries]]`, each deserialised on its own so that one bad entry
//! doesn't hide the others, its problem named with the line it starts at.

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::config::error::Problems;

/// A `[name]` section, or `None` when it is absent or was reported.
pub(super) fn section<T: DeserializeOwned>(
    table: &Table,
    name: &str,
    text: &str,
    problems: &mut Problems,
) -> Option<T> {
    let value = table.get(name)?.clone();
    match T::deserialize(value) {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            let line = header_line(text, &format!("[{name}]"), 0)
                .map(|line| format!(" (section at line {line})"))
                .unwrap_or_default();
            problems.add(name, format!("{}{line}", err.message()));
            None
        }
    }
}

/// `[[name]]` entries, each with the key path to name it by.
pub(super) fn entries<T: DeserializeOwned>(
    table: &Table,
    name: &str,
    text: &str,
    problems: &mut Problems,
) -> Vec<(String, T)> {
    let Some(value) = table.get(name) else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        problems.add(
            name,
            format!("must be an array of tables: write [[{name}]]"),
        );
        return Vec::new();
    };
    let mut parsed = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let label = item
            .get(if name == "client" { "id" } else { "name" })
            .and_then(Value::as_str)
            .map(|id| format!("{name}[{index}] ({id:?})"))
            .unwrap_or_else(|| format!("{name}[{index}]"));
        match T::deserialize(item.clone()) {
            Ok(entry) => parsed.push((label, entry)),
            Err(err) => {
                let line = header_line(text, &format!("[[{name}]]"), index)
                    .map(|line| format!(" (entry at line {line})"))
                    .unwrap_or_default();
                problems.add(label, format!("{}{line}", err.message()));
            }
        }
    }
    parsed
}

/// The line of the `n`-th occurrence of a table header, so a problem in an entry can be found.
fn header_line(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with(header))
        .nth(n)
        .map(|(number, _)| number + 1)
}
