//! The key schedule as written: RFC 3339 times (strings or TOML date-times), each named by its
//! key when wrong, and `keys.retire_leeway`.

use std::path::Path;
use std::time::Duration;

use crate::config::{ConfigProblem, parse};

fn config_with(keys: &str) -> Result<crate::config::Config, Vec<ConfigProblem>> {
    let text = format!(
        "issuer = \"https://tb.example\"\n{keys}\n[[upstream]]\nname = \"op\"\nissuer = \"https://op.example\"\n"
    );
    parse(&text, Path::new("/etc/tb")).map_err(|errors| errors.0)
}

#[test]
fn activate_at_and_retire_at_are_read_as_strings_or_toml_date_times() {
    let config = config_with(
        r#"[keys]
retire_leeway = "90s"
[[keys.signing]]
file = "a.pem"
alg = "RS256"
retire_at = "2026-12-03T07:00:00+01:00"
[[keys.signing]]
file = "b.pem"
alg = "RS256"
activate_at = 2026-12-03T06:00:00Z
[[keys.decryption]]
file = "d.pem"
activate_at = "2026-12-03T06:00:00Z"
retire_at = "2026-12-04T06:00:00Z"
"#,
    )
    .unwrap();
    let keys = &config.keys;
    assert_eq!(keys.retire_leeway, Duration::from_secs(90));
    assert_eq!(keys.signing[0].retire_at, Some(1_796_277_600));
    assert_eq!(keys.signing[0].activate_at, None);
    assert_eq!(keys.signing[1].activate_at, Some(1_796_277_600));
    assert_eq!(keys.decryption[0].activate_at, Some(1_796_277_600));
    assert_eq!(keys.decryption[0].retire_at, Some(1_796_277_600 + 86_400));
}

#[test]
fn a_bad_schedule_is_refused_naming_each_key() {
    let problems = config_with(
        r#"[keys]
retire_leeway = "soon"
[[keys.signing]]
file = "a.pem"
alg = "RS256"
activate_at = "2026-12-03T06:00:00Z"
retire_at = "2026-12-03T06:00:00Z"
[[keys.signing]]
file = "b.pem"
alg = "RS256"
activate_at = "2026-12-03T06:00:00"
[[keys.signing]]
file = "c.pem"
alg = "RS256"
retired = true
retire_at = "2026-12-03T06:00:00Z"
[[keys.decryption]]
file = "d.pem"
activate_at = "2026-12-04T06:00:00Z"
retire_at = "2026-12-03T06:00:00Z"
[[keys.decryption]]
file = "e.pem"
retire_at = 2026-12-03
"#,
    )
    .unwrap_err();
    let keys: Vec<&str> = problems
        .iter()
        .map(|problem| problem.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "keys.signing[0].retire_at",
            "keys.signing[1].activate_at",
            "keys.signing[2].retired",
            "keys.decryption[0].retire_at",
            "keys.decryption[1].retire_at",
            "keys.retire_leeway",
        ],
        "{problems:?}"
    );
}

#[test]
fn an_unknown_key_in_a_schedule_entry_is_refused() {
    let problems = config_with(
        "[[keys.signing]]\nfile = \"a.pem\"\nalg = \"RS256\"\nactivates_at = \"2026-12-03T06:00:00Z\"\n",
    )
    .unwrap_err();
    assert!(problems[0].message.contains("activates_at"), "{problems:?}");
}
