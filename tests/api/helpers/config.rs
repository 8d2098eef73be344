//! The config text of the test services: the default upstreams and clients, the `[keys]` section
//! over the fixture keys, and the clients' test secrets.

use tokenbridge::jose::alg::JwsAlg;
use tokenbridge::oauth::SecretDigest;

use super::keys::fixture_keys;
use super::service::Options;

/// Every client's secret in the default config: `{id}-secret-0123456789`.
pub(crate) fn secret_of(client: &str) -> String {
    format!("{client}-secret-0123456789")
}

/// `[[keys.signing]]` entries for the fixture key of every signing algorithm tokenbridge offers.
pub(crate) fn fixture_signing_keys() -> String {
    let fixtures = fixture_keys();
    JwsAlg::SIGNING
        .iter()
        .map(|alg| {
            format!(
                "[[keys.signing]]\nfile = \"{}\"\nalg = \"{}\"\n\n",
                fixtures
                    .join(format!("signing-{}.pem", alg.name()))
                    .display(),
                alg.name()
            )
        })
        .collect()
}

/// Every JWS algorithm an upstream may be allowed, as a TOML array's items.
pub(crate) fn every_jws_alg() -> String {
    JwsAlg::ALL
        .iter()
        .map(|alg| format!("{:?}", alg.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `[keys]` section over the fixture keys: every signing key, both decryption keys, and every
/// key-management algorithm tokenbridge can decrypt with.
pub(crate) fn fixture_keys_section() -> String {
    let fixtures = fixture_keys();
    let signing = fixture_signing_keys();
    format!(
        r#"
[keys]
dir = "{{dir}}"
decryption_algs = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"]

{signing}
[[keys.decryption]]
file = "{rsa}"

[[keys.decryption]]
file = "{ec}"
"#,
        rsa = fixtures.join("decryption-rsa.pem").display(),
        ec = fixtures.join("decryption-ec.pem").display(),
    )
}

/// The ids of the clients `default_policy` configures.
pub(crate) const DEFAULT_CLIENTS: [&str; 10] = [
    "app",
    "only",
    "first",
    "requested",
    "rewriter",
    "stranger",
    "ps256",
    "es256",
    "eddsa",
    "limited",
];

/// The upstream and client sections every test app has, unless a test gives its own.
pub(crate) fn default_policy() -> String {
    let all_algs = every_jws_alg();
    format!(
        r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true
algorithms = [{all_algs}]
refetch_cooldown = "30s"

[[upstream]]
name = "other"
issuer = "https://127.0.0.1:1"

[[client]]
id = "app"
secret = {{ sha256 = "{app}" }}
upstreams = ["idp"]
audiences = ["app"]
# The mutation test sends hundreds of requests.
rate_limit = {{ per_second = 1000, burst = 1000 }}

[[client]]
id = "only"
secret = {{ sha256 = "{only}" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3", "a4", "a5"]
select = "only"

[[client]]
id = "first"
secret = {{ sha256 = "{first}" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3", "a4", "a5"]
select = "first"

[[client]]
id = "requested"
secret = {{ sha256 = "{requested}" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3", "a4", "a5"]
select = "requested"

[[client]]
id = "rewriter"
secret = {{ sha256 = "{rewriter}" }}
upstreams = ["idp"]
audiences = ["295634102486564608@bookstack"]
rewrite = {{ "295634102486564608@bookstack" = "bookstack" }}

[[client]]
id = "stranger"
secret = {{ sha256 = "{stranger}" }}
upstreams = ["other"]
audiences = ["app"]

[[client]]
id = "ps256"
secret = {{ sha256 = "{ps256}" }}
upstreams = ["idp"]
audiences = ["app"]
signing_alg = "PS256"

[[client]]
id = "es256"
secret = {{ sha256 = "{es256}" }}
upstreams = ["idp"]
audiences = ["app"]
signing_alg = "ES256"

[[client]]
id = "eddsa"
secret = {{ sha256 = "{eddsa}" }}
upstreams = ["idp"]
audiences = ["app"]
signing_alg = "EdDSA"

[[client]]
id = "limited"
secret = {{ sha256 = "{limited}" }}
upstreams = ["idp"]
audiences = ["app"]
rate_limit = {{ per_second = 0.01, burst = 2 }}
"#,
        app = digest("app"),
        only = digest("only"),
        first = digest("first"),
        requested = digest("requested"),
        rewriter = digest("rewriter"),
        stranger = digest("stranger"),
        ps256 = digest("ps256"),
        es256 = digest("es256"),
        eddsa = digest("eddsa"),
        limited = digest("limited"),
    )
}

/// Only the demo IdP as upstream (with `upstream_extra` lines) and one client, "app", so that
/// readiness and fetch counts depend on the demo IdP alone.
pub(crate) fn only_the_demo_idp(upstream_extra: &str) -> Options {
    Options {
        policy: format!(
            "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\n{upstream_extra}\n\n[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\nrate_limit = {{ per_second = 1000, burst = 1000 }}\n",
            digest("app")
        ),
        ..Options::default()
    }
}

/// The SHA-256 of `client`'s test secret, as its config entry holds it.
pub(crate) fn digest(client: &str) -> String {
    SecretDigest::of(secret_of(client).as_bytes()).to_hex()
}
