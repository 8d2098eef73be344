//! The demo's tokenbridge configuration: the two demo IdPs as upstreams, MiroTalk and BookStack
//! as clients with secrets made fresh for each run.

use std::path::Path;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::DemoError;
use super::idp_tokens::{BOOKSTACK, MIROTALK};
use crate::oauth::SecretDigest;

pub(super) fn demo_config(
    base: &str,
    keys_dir: &Path,
    authentik: &str,
    zitadel: &str,
    mirotalk_secret: &str,
    bookstack_secret: &str,
) -> String {
    let mirotalk_digest = SecretDigest::of(mirotalk_secret.as_bytes()).to_hex();
    let bookstack_digest = SecretDigest::of(bookstack_secret.as_bytes()).to_hex();
    let keys_dir = keys_dir
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"
issuer = "{base}"
listen = "127.0.0.1:0"
workers = 2

[keys]
dir = "{keys_dir}"

[[upstream]]
name = "authentik"
issuer = "{authentik}"
danger_allow_http = true

[[upstream]]
name = "zitadel"
issuer = "{zitadel}"
danger_allow_http = true

[[client]]
id = "{MIROTALK}"
secret = {{ sha256 = "{mirotalk_digest}" }}
upstreams = ["authentik"]
audiences = ["{MIROTALK}"]

[[client]]
id = "{BOOKSTACK}"
secret = {{ sha256 = "{bookstack_digest}" }}
upstreams = ["zitadel"]
audiences = ["{BOOKSTACK}"]
select = "only"
"#
    )
}

pub(super) fn random_secret() -> Result<String, DemoError> {
    let mut bytes = [0u8; 18];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| DemoError::Unexpected("no randomness available".into()))?;
    Ok(crate::jose::compact::encode_part(&bytes))
}
