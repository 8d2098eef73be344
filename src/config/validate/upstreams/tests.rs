//! `[[upstream]]` keys checked on their own: `audience_claims`.

use std::path::Path;

use crate::config::parse_with_env;

const UPSTREAM: &str = r#"
issuer = "https://tokenbridge.example.com"

[[upstream]]
name = "zitadel"
issuer = "https://zitadel.example.com"
leeway = "60s"

[[client]]
id = "app"
secret = { sha256 = "0000000000000000000000000000000000000000000000000000000000000000" }
upstreams = ["zitadel"]
audiences = ["app"]
"#;

fn problems_of(text: &str) -> Vec<String> {
    match parse_with_env(text, Path::new("/"), &|_| None) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.into_iter().map(|problem| problem.key).collect(),
    }
}

#[test]
fn audience_claims_are_a_short_list_of_distinct_claim_names() {
    let with = |list: &str| {
        UPSTREAM.replace(
            "leeway = \"60s\"",
            &format!("leeway = \"60s\"\naudience_claims = {list}"),
        )
    };
    let accepted = parse_with_env(&with(r#"["aud", "client_id"]"#), Path::new("/"), &|_| None)
        .expect("aud then client_id is a valid list");
    assert_eq!(accepted.upstreams[0].audience_claims, ["aud", "client_id"]);
    for bad in [
        "[]",
        r#"["aud", "aud"]"#,
        r#"[""]"#,
        r#"["a", "b", "c", "d", "e"]"#,
    ] {
        let keys = problems_of(&with(bad));
        assert_eq!(keys, ["upstream[0] (\"zitadel\").audience_claims"], "{bad}");
    }
}
