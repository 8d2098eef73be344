//! Config text in, a `Config` or every problem by its key out; and the documented defaults.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::AccessTokenTyp;
use crate::jose::alg::JwsAlg;
use crate::oauth::SecretDigest;
use crate::policy::audience::AudienceMode;

pub(super) const GOOD: &str = r#"
issuer = "http://localhost:8080"
listen = "127.0.0.1:8080"

[keys]
dir = "./keys"
signing_alg = "RS256"

[[upstream]]
name = "zitadel"
issuer = "https://zitadel.example.com"
algorithms = ["RS256", "ES256"]
leeway = "60s"

[[client]]
id = "bookstack"
secret = { env = "BOOKSTACK_SECRET" }
upstreams = ["zitadel"]
audiences = ["bookstack@example"]
select = "only"
max_ttl = "5m"
"#;

pub(super) fn env(name: &str) -> Option<String> {
    (name == "BOOKSTACK_SECRET").then(|| "a-long-enough-client-secret".to_owned())
}

pub(super) fn problems_of(text: &str) -> Vec<ConfigProblem> {
    match parse_with_env(text, Path::new("/etc/tb"), &env) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    }
}

use crate::config::ConfigProblem;

#[test]
fn the_example_config_is_accepted_with_its_values() {
    let config = parse_with_env(GOOD, Path::new("/etc/tb"), &env).unwrap();
    assert_eq!(config.issuer, "http://localhost:8080");
    assert_eq!(config.keys.dir, Path::new("/etc/tb/./keys"));
    assert_eq!(
        config.upstreams[0].algorithms,
        vec![JwsAlg::RS256, JwsAlg::ES256]
    );
    assert_eq!(config.upstreams[0].leeway, Duration::from_secs(60));
    assert_eq!(config.clients[0].max_ttl, Duration::from_secs(300));
    assert!(
        config.clients[0]
            .secret
            .matches(&SecretDigest::of(b"a-long-enough-client-secret"))
    );
}

#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let bad = GOOD
        .replace("leeway = \"60s\"", "leeway = \"sixty\"")
        .replace(
            "algorithms = [\"RS256\", \"ES256\"]",
            "algorithms = [\"HS256\"]",
        )
        .replace("upstreams = [\"zitadel\"]", "upstreams = [\"keycloak\"]")
        .replace("audiences = [\"bookstack@example\"]", "audiences = []")
        .replace("BOOKSTACK_SECRET", "MISSING_SECRET");
    let keys: Vec<String> = problems_of(&bad).into_iter().map(|p| p.key).collect();
    for expected in [
        "upstream[0] (\"zitadel\").leeway",
        "upstream[0] (\"zitadel\").algorithms",
        "client[0] (\"bookstack\").upstreams",
        "client[0] (\"bookstack\").audiences",
        "client[0] (\"bookstack\").secret.env",
    ] {
        assert!(
            keys.iter().any(|key| key == expected),
            "{expected} not in {keys:?}"
        );
    }
}

#[test]
fn unknown_keys_are_refused_with_their_place() {
    let bad = GOOD
        .replace("select = \"only\"", "selekt = \"only\"")
        .replace("listen =", "lissen =");
    let problems = problems_of(&bad);
    assert!(problems.iter().any(|p| p.key == "lissen"), "{problems:?}");
    let client = problems
        .iter()
        .find(|p| p.key.starts_with("client[0]"))
        .unwrap();
    assert!(
        client.message.contains("selekt") && client.message.contains("line"),
        "{client:?}"
    );
}

#[test]
fn a_syntax_error_names_the_line() {
    let problems = problems_of("issuer = \n");
    assert!(problems[0].message.contains("line 1"), "{problems:?}");
}

#[test]
fn plain_http_upstreams_need_the_danger_switch() {
    let http = GOOD.replace("https://zitadel.example.com", "http://zitadel:8080");
    assert!(
        problems_of(&http)
            .iter()
            .any(|p| p.key == "upstream[0] (\"zitadel\").issuer")
    );
    let allowed = http.replace(
        "leeway = \"60s\"",
        "leeway = \"60s\"\ndanger_allow_http = true",
    );
    assert!(problems_of(&allowed).is_empty());
}

#[test]
fn secrets_are_never_inline_and_short_secrets_are_refused() {
    let inline = GOOD.replace("{ env = \"BOOKSTACK_SECRET\" }", "\"plain\"");
    assert!(!problems_of(&inline).is_empty());
    let short = parse_with_env(GOOD, Path::new("/"), &|_| Some("short".into()));
    assert!(short.is_err());
    let hashed = GOOD.replace(
        "{ env = \"BOOKSTACK_SECRET\" }",
        "{ sha256 = \"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\" }",
    );
    assert!(problems_of(&hashed).is_empty());
}

#[test]
fn a_rewrite_must_start_from_an_allowed_audience() {
    let bad = GOOD.replace(
        "max_ttl = \"5m\"",
        "max_ttl = \"5m\"\nrewrite = { \"other\" = \"x\" }",
    );
    assert!(
        problems_of(&bad)
            .iter()
            .any(|p| p.key == "client[0] (\"bookstack\").rewrite")
    );
}

#[test]
fn an_upstream_issuer_with_a_query_and_zero_caps_are_refused() {
    let text = GOOD.replace(
        "issuer = \"https://zitadel.example.com\"",
        "issuer = \"https://zitadel.example.com/?tenant=1\"\nmax_jwks_bytes = 0\nmax_jwks_keys = 0",
    );

    let keys: Vec<String> = problems_of(&text).into_iter().map(|p| p.key).collect();

    for key in ["issuer", "max_jwks_bytes", "max_jwks_keys"] {
        assert!(keys.iter().any(|k| k.ends_with(key)), "{key}: {keys:?}");
    }
}

fn with_front(lines: &str) -> String {
    format!("{GOOD}\n[[front]]\nclient = \"bookstack\"\nupstream = \"zitadel\"\n{lines}\n")
}

fn front_problems(lines: &str) -> Vec<String> {
    problems_of(&with_front(lines))
        .into_iter()
        .filter(|p| p.key.ends_with(".userinfo_ttl"))
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect()
}

#[test]
fn a_signed_userinfo_lives_a_minute_unless_the_client_may_live_less() {
    let default = parse_with_env(&with_front("userinfo = \"jwt\""), Path::new("/"), &env).unwrap();
    let short_client =
        with_front("userinfo = \"jwt\"").replace("max_ttl = \"5m\"", "max_ttl = \"20s\"");
    let short = parse_with_env(&short_client, Path::new("/"), &env).unwrap();
    let set = parse_with_env(
        &with_front("userinfo = \"jwt\"\nuserinfo_ttl = \"2m\""),
        Path::new("/"),
        &env,
    )
    .unwrap();

    assert_eq!(default.fronts[0].userinfo_ttl, Duration::from_secs(60));
    assert_eq!(short.fronts[0].userinfo_ttl, Duration::from_secs(20));
    assert_eq!(set.fronts[0].userinfo_ttl, Duration::from_secs(120));
}

#[test]
fn a_userinfo_ttl_that_is_useless_or_outlives_the_client_is_refused_by_its_key() {
    let key = "front[0].userinfo_ttl";
    for (lines, says) in [
        (
            "userinfo = \"jwt\"\nuserinfo_ttl = \"10m\"",
            "longer than the client's max_ttl (5m)",
        ),
        ("userinfo = \"jwt\"\nuserinfo_ttl = \"0s\"", "at least 1s"),
        (
            "userinfo = \"jwt\"\nuserinfo_ttl = \"1500ms\"",
            "whole number of seconds",
        ),
        (
            "userinfo = \"jwt\"\nuserinfo_ttl = \"soon\"",
            "not a duration",
        ),
        ("userinfo_ttl = \"30s\"", "only with userinfo = \"jwt\""),
    ] {
        let problems = front_problems(lines);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(key) && p.contains(says)),
            "{lines}: {problems:?}"
        );
    }
}

#[test]
fn the_body_read_timeout_is_a_duration_above_zero() {
    let with = |value: &str| format!("{GOOD}\n[limits]\nbody_read_timeout = {value}\n");

    let config = parse_with_env(&with("\"2s\""), Path::new("/etc/tb"), &env).unwrap();
    assert_eq!(config.limits.body_read_timeout, Duration::from_secs(2));
    let default = parse_with_env(GOOD, Path::new("/etc/tb"), &env).unwrap();
    assert_eq!(default.limits.body_read_timeout, Duration::from_secs(10));
    for bad in ["\"0s\"", "\"soon\""] {
        let problems = problems_of(&with(bad));
        assert!(
            problems.iter().any(|p| p.key == "limits.body_read_timeout"),
            "{bad}: {problems:?}"
        );
    }
}

#[test]
fn switches_that_weaken_checks_are_named_danger_and_their_old_names_still_work_with_a_warning() {
    let upstream = "leeway = \"60s\"";
    let with = |limits: &str, upstream_line: &str| {
        format!(
            "{}\n[limits]\n{limits}\n",
            GOOD.replace(upstream, &format!("{upstream}\n{upstream_line}"))
        )
    };
    let new = parse_with_env(
        &with(
            "danger_allow_zip = true",
            "danger_allow_jwks_on_other_host = true",
        ),
        Path::new("/"),
        &env,
    )
    .unwrap();
    assert!(new.limits.is_zip_allowed);
    assert!(new.upstreams[0].is_jwks_on_other_host_allowed);
    assert!(new.warnings.is_empty(), "{:?}", new.warnings);

    let old = parse_with_env(
        &with("allow_zip = true", "allow_jwks_on_other_host = true"),
        Path::new("/"),
        &env,
    )
    .unwrap();
    assert!(old.limits.is_zip_allowed);
    assert!(old.upstreams[0].is_jwks_on_other_host_allowed);
    assert_eq!(old.warnings.len(), 2, "{:?}", old.warnings);
    assert!(
        old.warnings[0].starts_with("limits.allow_zip is deprecated: rename it danger_allow_zip")
    );
    assert!(
        old.warnings[1].contains(".allow_jwks_on_other_host is deprecated")
            && old.warnings[1].starts_with("upstream[0]"),
        "{:?}",
        old.warnings
    );

    let both = problems_of(&with(
        "allow_zip = true\ndanger_allow_zip = true",
        "allow_jwks_on_other_host = true\ndanger_allow_jwks_on_other_host = true",
    ));
    assert!(both.iter().any(|p| p.key == "limits.allow_zip"), "{both:?}");
    assert!(
        both.iter()
            .any(|p| p.key.ends_with(".allow_jwks_on_other_host")),
        "{both:?}"
    );
}

/// Each value README.md's configuration reference gives as a key's default, written out here
/// rather than read from `defaults`, so a changed default fails until the reference changes too.
#[test]
fn a_config_that_sets_only_what_is_required_takes_the_documented_defaults() {
    let minimal = r#"
issuer = "https://tokenbridge.example.com"

[[upstream]]
name = "idp"
issuer = "https://idp.example.com"

[[client]]
id = "app"
secret = { env = "BOOKSTACK_SECRET" }
upstreams = ["idp"]
audiences = ["app"]

[[front]]
client = "app"
upstream = "idp"
"#;
    let config = parse_with_env(minimal, Path::new("/etc/tb"), &env).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.workers, None);
    assert_eq!(config.keys.dir, Path::new("/etc/tb/./keys"));
    assert_eq!(config.keys.default_signing_alg, JwsAlg::RS256);
    assert_eq!(config.keys.decryption_algs.len(), 6);
    assert_eq!(config.keys.content_encryption.len(), 6);
    assert!(config.keys.is_generated_when_missing);
    assert!(config.reload.is_watched);
    assert_eq!(config.reload.poll_interval, Duration::from_secs(2));
    assert_eq!(config.telemetry.listen, None);
    assert!(!config.telemetry.is_metrics_on_main_port);
    assert_eq!(config.keys.retire_leeway, Duration::from_secs(5 * 60));

    let limits = config.limits;
    assert_eq!(limits.max_body_bytes, 65536);
    assert_eq!(limits.body_read_timeout, Duration::from_secs(10));
    assert_eq!(limits.max_token_bytes, 16384);
    assert_eq!(limits.max_header_bytes, 2048);
    assert_eq!(limits.jwks_max_age, Duration::from_secs(300));
    assert!(!limits.is_zip_allowed);
    assert_eq!(limits.max_inflated_bytes, 16384);
    assert_eq!(limits.max_json_depth, 16);
    assert_eq!(limits.max_claims, 128);
    assert_eq!(limits.max_aud_values, 32);
    assert_eq!(
        (limits.failed_auth.per_second, limits.failed_auth.burst),
        (0.2, 10)
    );
    assert_eq!(limits.max_issued_claims, 64);
    assert_eq!(limits.max_issued_bytes, 8192);

    let upstream = &config.upstreams[0];
    assert_eq!(upstream.algorithms, vec![JwsAlg::RS256]);
    assert_eq!(upstream.leeway, Duration::from_secs(60));
    assert!(!upstream.is_http_allowed && !upstream.is_jwks_on_other_host_allowed);
    assert_eq!(upstream.refresh_interval, Duration::from_secs(5 * 60));
    assert_eq!(upstream.max_key_age, Duration::from_secs(24 * 3600));
    assert_eq!(upstream.refetch_cooldown, Duration::from_secs(30));
    assert_eq!(upstream.fetch_timeout, Duration::from_secs(5));
    assert_eq!(upstream.max_jwks_bytes, 262144);
    assert_eq!(upstream.max_jwks_keys, 64);
    assert_eq!(upstream.audience_claims, ["aud"]);

    let client = &config.clients[0];
    assert_eq!(client.audience.mode, AudienceMode::Only);
    assert!(client.audience.rewrite.is_empty());
    assert_eq!(client.max_ttl, Duration::from_secs(300));
    assert_eq!(client.signing_alg, config.keys.default_signing_alg);
    assert_eq!(client.access_token_typ, AccessTokenTyp::AtJwt);
    assert!(!client.is_id_token_from_access_token_allowed);
    assert_eq!(
        (client.rate_limit.per_second, client.rate_limit.burst),
        (50.0, 100)
    );
    assert_eq!(client.cache_size, None, "cache = false");
    assert!(client.rules.is_empty() && upstream.rules.is_empty());

    let front = &config.fronts[0];
    assert!(!front.is_userinfo_jwt && !front.is_access_token_normalized);
    assert_eq!(front.userinfo_ttl, Duration::from_secs(60));
}
