//! Interop with JOSE implementations we didn't write, both ways: npm `jose` and PyPI `jwcrypto`
//! each make the IdP's tokens (every JWS alg, every JWE alg/enc pair, Authentik's shape) for
//! tokenbridge to take, and both check every token tokenbridge issues from them, in each signing
//! algorithm it offers, against its published JWKS. Needs `tests/setup.sh` (the README's test
//! command runs it).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;

/// An independent JOSE implementation in tests/interop, driven with JSON on stdin.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Jose {
    NpmJose,
    Jwcrypto,
}

impl Jose {
    const BOTH: [Jose; 2] = [Jose::NpmJose, Jose::Jwcrypto];

    fn name(self) -> &'static str {
        match self {
            Jose::NpmJose => "npm jose 6.1.3",
            Jose::Jwcrypto => "PyPI jwcrypto 1.6.1",
        }
    }

    async fn run(self, command: &str, input: Value) -> Value {
        let mut program = match self {
            Jose::NpmJose => {
                let mut node = Command::new("node");
                node.arg("jose.mjs");
                node
            }
            Jose::Jwcrypto => {
                let mut python = Command::new(venv_python());
                python.arg("jwcrypto_tokens.py");
                python
            }
        };
        program.arg(command).current_dir(interop_dir());
        run_to_json(program, Some(input)).await
    }
}

/// The signing algorithms tokenbridge offers its clients, one client each.
const ISSUING: [(&str, &str); 4] = [
    ("rs256", "RS256"),
    ("ps256", "PS256"),
    ("es256", "ES256"),
    ("eddsa", "EdDSA"),
];

fn interop_policy() -> Options {
    let clients: String = ISSUING
        .iter()
        .map(|(client, alg)| {
            format!(
                "[[client]]\nid = \"{client}\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\nsigning_alg = \"{alg}\"\nrate_limit = {{ per_second = 1000, burst = 1000 }}\n\n",
                digest(client)
            )
        })
        .collect();
    Options {
        policy: format!(
            "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\nalgorithms = [{}]\n\n{clients}",
            every_jws_alg()
        ),
        ..Options::default()
    }
}

// It reports (`--nocapture` shows it) who made, who checked, and how many passed.
#[allow(clippy::print_stdout)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_made_by_jose_and_jwcrypto_are_exchanged_and_the_issued_tokens_verify_with_both() {
    let app = spawn_app_with(interop_policy()).await;
    let encryption_keys = app.get_json("/.well-known/encryption-keys.json").await["keys"].clone();
    let request = json!({ "issuer": app.idp.issuer(), "audience": "app", "encryption_keys": encryption_keys });
    let (by_jose, by_jwcrypto) = tokio::join!(
        Jose::NpmJose.run("mint", request.clone()),
        Jose::Jwcrypto.run("mint", request),
    );

    // The IdP publishes both makers' keys (their kids differ), as an IdP mid-rotation would.
    let mut idp_keys = Vec::new();
    let mut subject_tokens = Vec::new();
    for (maker, minted) in [(Jose::NpmJose, &by_jose), (Jose::Jwcrypto, &by_jwcrypto)] {
        idp_keys.extend(minted["jwks"]["keys"].as_array().unwrap().iter().cloned());
        let cases = minted["tokens"].as_array().unwrap();
        assert_eq!(
            cases.len(),
            10 + 36 + 1,
            "{} made every JWS alg, every JWE pair and Authentik's shape",
            maker.name()
        );
        for case in cases {
            subject_tokens.push((
                maker,
                case["case"].as_str().unwrap().to_owned(),
                case["token"].as_str().unwrap().to_owned(),
            ));
        }
    }
    app.idp.publish_raw(json!({ "keys": idp_keys }));

    // Every subject token, exchanged by every client: every signing algorithm tokenbridge offers.
    let mut issued = Vec::new();
    let mut made_by = BTreeMap::new();
    for (maker, case, token) in &subject_tokens {
        for (client, alg) in ISSUING {
            let answer = app.exchange(client, token, &[]).await;
            assert_eq!(
                answer.status,
                200,
                "made by {} ({case}), refused by tokenbridge for {client}: {}",
                maker.name(),
                answer.body
            );
            let label = format!("{}: {case}, issued as {alg}", maker.name());
            made_by.insert(label.clone(), (*maker, alg));
            issued.push(json!({ "case": label, "token": answer.token(), "alg": alg }));
        }
    }
    assert_eq!(issued.len(), 2 * 47 * 4);

    let verify = json!({
        "jwks_uri": app.url("/.well-known/jwks.json"),
        "issuer": app.base,
        "audience": "app",
        "tokens": issued,
    });
    for checker in Jose::BOTH {
        let checked = checker.run("verify", verify.clone()).await;
        let results = checked["results"].as_array().unwrap();
        assert_eq!(
            results.len(),
            issued.len(),
            "{} checked every token",
            checker.name()
        );
        for result in results {
            let case = result["case"].as_str().unwrap();
            assert_eq!(
                result["ok"],
                true,
                "made by {case} then tokenbridge; refused by {}: {result}",
                checker.name()
            );
            assert_eq!(
                result["aud"],
                "app",
                "{case}, checked by {}",
                checker.name()
            );
            let (maker, alg) = made_by[case];
            assert_eq!(result["alg"], alg, "{case}, checked by {}", checker.name());
            let expected_sub = match maker {
                Jose::NpmJose => "made-by-jose",
                Jose::Jwcrypto => "made-by-jwcrypto",
            };
            assert!(
                result["sub"].as_str().unwrap().starts_with(expected_sub),
                "the issued token carries the subject {} put in: {result}",
                maker.name()
            );
        }
        // Every result passed the asserts above.
        for maker in Jose::BOTH {
            let made = made_by.values().filter(|(m, _)| *m == maker).count();
            println!(
                "made by {}, exchanged by tokenbridge, checked by {}: all {made} accepted",
                maker.name(),
                checker.name(),
            );
        }
    }
}
