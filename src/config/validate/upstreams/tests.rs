//! `[[upstream]]` keys checked on their own: `audience_claims`.

use std::path::Path;

use crate::config::parse_with_env;
use crate::config::validate::tests::{GOOD, env, problems_of};

#[test]
fn audience_claims_are_a_short_list_of_distinct_claim_names() {
    let with = |list: &str| {
        GOOD.replace(
            "leeway = \"60s\"",
            &format!("leeway = \"60s\"\naudience_claims = {list}"),
        )
    };
    let accepted = parse_with_env(&with(r#"["aud", "client_id"]"#), Path::new("/"), &env)
        .expect("aud then client_id is a valid list");
    assert_eq!(accepted.upstreams[0].audience_claims, ["aud", "client_id"]);
    for bad in [
        "[]",
        r#"["aud", "aud"]"#,
        r#"[""]"#,
        r#"["a", "b", "c", "d", "e"]"#,
    ] {
        let keys: Vec<String> = problems_of(&with(bad))
            .into_iter()
            .map(|problem| problem.key)
            .collect();
        assert_eq!(keys, ["upstream[0] (\"zitadel\").audience_claims"], "{bad}");
    }
}
