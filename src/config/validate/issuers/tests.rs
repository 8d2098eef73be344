//! The issuer forms the config check accepts, and every form it refuses by its key.

use std::path::Path;

use crate::config::{IssuerForm, parse_with_env};

fn config(upstream_lines: &str) -> String {
    format!(
        r#"
issuer = "https://tokenbridge.example.com"

[[upstream]]
name = "entra"
issuer = "https://login.microsoftonline.com/common/v2.0"
{upstream_lines}

[[upstream]]
name = "google"
issuer = "https://accounts.google.com"

[[client]]
id = "app"
secret = {{ sha256 = "{digest}" }}
upstreams = ["entra"]
audiences = ["app"]
"#,
        digest = "0".repeat(64)
    )
}

fn problems(upstream_lines: &str) -> Vec<String> {
    match parse_with_env(&config(upstream_lines), Path::new("/"), &|_| None) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .0
            .into_iter()
            .map(|problem| format!("{}: {}", problem.key, problem.message))
            .collect(),
    }
}

#[test]
fn aliases_and_one_issuer_per_listed_tenant_are_exact_strings() {
    let text = config(
        r#"issuer_aliases = ["sts.example"]
issuer_templates = ["https://login.microsoftonline.com/{tid}/v2.0", "https://sts.windows.net/{tid}/"]
allowed_tenants = ["9188040d-6c67-4c5b-b112-36a304b66dad", "contoso.onmicrosoft.com"]"#,
    );
    let config = parse_with_env(&text, Path::new("/"), &|_| None).unwrap();
    let others: Vec<(&str, Option<&str>)> = config.upstreams[0]
        .other_issuers
        .iter()
        .map(|other| {
            let tenant = match &other.form {
                IssuerForm::Alias => None,
                IssuerForm::Tenant { tenant, .. } => Some(tenant.as_str()),
            };
            (other.issuer.as_str(), tenant)
        })
        .collect();
    assert_eq!(
        others,
        [
            ("sts.example", None),
            (
                "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
                Some("9188040d-6c67-4c5b-b112-36a304b66dad")
            ),
            (
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                Some("contoso.onmicrosoft.com")
            ),
            (
                "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/",
                Some("9188040d-6c67-4c5b-b112-36a304b66dad")
            ),
            (
                "https://sts.windows.net/contoso.onmicrosoft.com/",
                Some("contoso.onmicrosoft.com")
            ),
        ]
    );
}

#[test]
fn wildcards_placeholders_and_open_tenant_lists_are_refused_by_their_key() {
    let entra = "upstream[0] (\"entra\")";
    let template = "issuer_templates = [\"https://login.microsoftonline.com/{tid}/v2.0\"]";
    for (lines, key) in [
        (r#"issuer_aliases = ["*.google.com"]"#, "issuer_aliases"),
        (r#"issuer_aliases = ["accounts.{x}.com"]"#, "issuer_aliases"),
        (r#"issuer_aliases = [""]"#, "issuer_aliases"),
        (r#"issuer_aliases = ["accounts google"]"#, "issuer_aliases"),
        (
            r#"issuer_aliases = ["https://login.microsoftonline.com/common/v2.0"]"#,
            "issuer_aliases",
        ),
        // Another upstream's issuer: one iss names one upstream.
        (
            r#"issuer_aliases = ["https://accounts.google.com"]"#,
            "issuer_aliases",
        ),
        (
            "issuer_templates = [\"https://login.microsoftonline.com/*/v2.0\"]\nallowed_tenants = [\"t1\"]",
            "issuer_templates",
        ),
        (
            "issuer_templates = [\"https://login.microsoftonline.com/v2.0\"]\nallowed_tenants = [\"t1\"]",
            "issuer_templates",
        ),
        (
            "issuer_templates = [\"https://{tid}.example/{tid}\"]\nallowed_tenants = [\"t1\"]",
            "issuer_templates",
        ),
        (
            "issuer_templates = [\"https://{tid}.example/{org}\"]\nallowed_tenants = [\"t1\"]",
            "issuer_templates",
        ),
        (
            "issuer_templates = [\"http://sts.example/{tid}/\"]\nallowed_tenants = [\"t1\"]",
            "issuer_templates",
        ),
        (template, "allowed_tenants"),
        ("allowed_tenants = [\"t1\"]", "allowed_tenants"),
        (
            &format!("{template}\nallowed_tenants = [\"*\"]"),
            "allowed_tenants",
        ),
        (
            &format!("{template}\nallowed_tenants = [\"common\"]"),
            "allowed_tenants",
        ),
        (
            &format!("{template}\nallowed_tenants = [\"a/b\"]"),
            "allowed_tenants",
        ),
    ] {
        let found = problems(lines);
        // A collision is reported where it is found, naming the key it collides with.
        assert!(
            found
                .iter()
                .any(|problem| problem.contains(&format!("{entra}.{key}"))),
            "{lines}: {found:?}"
        );
    }
    assert!(problems("").is_empty());
}

#[test]
fn an_issuer_itself_is_never_a_pattern() {
    let text = config("").replace(
        "issuer = \"https://accounts.google.com\"",
        "issuer = \"https://*.google.com\"",
    );
    let Err(errors) = parse_with_env(&text, Path::new("/"), &|_| None) else {
        panic!("a wildcard issuer was accepted");
    };
    assert!(
        errors
            .0
            .iter()
            .any(|problem| problem.key == "upstream[1] (\"google\").issuer"),
        "{errors:?}"
    );
}
