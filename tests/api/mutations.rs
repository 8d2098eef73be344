//! Mutated tokens through the whole service: bit flips, truncation, re-encoding. None may be
//! exchanged, none may crash the server, and the untouched token still works afterwards.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use tokenbridge::demo::mint::encrypt;
use tokenbridge::jose::alg::{JweAlg, JweEnc};

use crate::helpers::*;

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        position: usize,
        bit: u8,
    },
    Truncate {
        length: usize,
    },
    /// One part re-encoded with padding, or with the standard alphabet.
    Reencode {
        part: usize,
        is_padded: bool,
    },
    SwapParts {
        first: usize,
        second: usize,
    },
    Duplicate {
        part: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(position, bit)| Mutation::FlipBit { position, bit }),
        2 => any::<usize>().prop_map(|length| Mutation::Truncate { length }),
        1 => (0usize..5, any::<bool>()).prop_map(|(part, is_padded)| Mutation::Reencode { part, is_padded }),
        1 => (0usize..5, 0usize..5).prop_map(|(first, second)| Mutation::SwapParts { first, second }),
        1 => (0usize..5).prop_map(|part| Mutation::Duplicate { part }),
    ]
}

/// The mutated token, or None when the mutation changes nothing.
fn mutate(token: &str, mutation: &Mutation) -> Option<String> {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mutated = match mutation {
        Mutation::FlipBit { position, bit } => {
            let mut bytes = token.as_bytes().to_vec();
            let index = position % bytes.len();
            bytes[index] ^= 1 << bit;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Mutation::Truncate { length } => token[..length % token.len()].to_owned(),
        Mutation::Reencode { part, is_padded } => {
            let index = part % parts.len();
            let decoded = URL_SAFE_NO_PAD.decode(&parts[index]).ok()?;
            parts[index] = if *is_padded {
                URL_SAFE.encode(&decoded)
            } else {
                STANDARD.encode(&decoded)
            };
            parts.join(".")
        }
        Mutation::SwapParts { first, second } => {
            let (first, second) = (first % parts.len(), second % parts.len());
            parts.swap(first, second);
            parts.join(".")
        }
        Mutation::Duplicate { part } => {
            let index = part % parts.len();
            let copy = parts[index].clone();
            parts.insert(index, copy);
            parts.join(".")
        }
    };
    (mutated != token).then_some(mutated)
}

#[test]
fn no_mutated_token_is_ever_exchanged_and_the_server_stays_up() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let jws = app.id_token(json!("app"), json!({}));
    let recipient = runtime.block_on(app.encryption_key("RSA"));
    let jwe = encrypt(
        &jws,
        &recipient,
        JweAlg::RsaOaep256,
        JweEnc::A256CbcHs512,
        &json!({}),
    )
    .unwrap();

    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&(any::<bool>(), mutation()), |(is_jwe, mutation)| {
        let original = if is_jwe { &jwe } else { &jws };
        let Some(token) = mutate(original, &mutation) else {
            return Ok(());
        };
        let answer = runtime.block_on(app.exchange("app", &token, &[]));
        prop_assert!(
            answer.body.get("access_token").is_none() && answer.status != 200,
            "a mutated token was exchanged: {:?} -> {}",
            mutation,
            answer.body
        );
        prop_assert!(
            matches!(answer.status, 400 | 413),
            "{:?}: {} {}",
            mutation,
            answer.status,
            answer.body
        );
        Ok(())
    });

    outcome.unwrap();
    for token in [&jws, &jwe] {
        assert_eq!(
            runtime.block_on(app.exchange("app", token, &[])).status,
            200,
            "the server still works"
        );
    }
}
