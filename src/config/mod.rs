//! Configuration: the file as written (`file`), checked completely into typed values
//! (`validate`) with the documented `defaults` where a key is left out, every problem reported
//! with its key (`error`).

mod defaults;
mod error;
mod file;
mod introspection;
mod issuer_forms;
mod rules;
mod validate;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigErrors, ConfigProblem};
pub(crate) use introspection::{IntrospectionConfig, OutboundSecret};
pub(crate) use issuer_forms::{IssuerForm, OtherIssuer};
pub use validate::{parse, parse_with_env};

use crate::clock::UnixTime;
use crate::jose::alg::{JweAlg, JweEnc, JwsAlg};
use crate::oauth::SecretDigest;
use crate::policy::audience::AudienceRules;
use crate::policy::rules::Rule;
use crate::upstream::InternalOrigin;

/// The whole, validated configuration. Passed by value into `App::build`; there are no globals.
#[derive(Debug, Clone)]
pub struct Config {
    /// tokenbridge's issuer, without a trailing slash; every URL it publishes starts with it.
    pub issuer: String,
    pub(crate) listen: SocketAddr,
    pub(crate) workers: Option<usize>,
    /// `proxy_protocol`: every connection to `listen` starts with a PROXY header.
    pub(crate) is_proxy_protocol: bool,
    /// `[keys]`: our signing and decryption keys, and the algorithms allowed with them.
    pub keys: KeysConfig,
    pub(crate) limits: Limits,
    /// `[reload]`: whether and how often the files are watched for a live reload.
    pub(crate) reload: ReloadConfig,
    /// `[telemetry]`: where `/metrics` is served.
    pub(crate) telemetry: TelemetryConfig,
    /// `limits.trusted_proxies`: the peers whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: TrustedProxies,
    /// The trusted IdPs, from `[[upstream]]`.
    pub upstreams: Vec<UpstreamConfig>,
    /// The clients that may exchange, from `[[client]]`.
    pub clients: Vec<ClientConfig>,
    pub(crate) fronts: Vec<FrontConfig>,
    /// What the start and `tokenbridge check` warn about: deprecated names still accepted.
    pub warnings: Vec<String>,
}

/// An OIDC front for a code-flow relying party: served at `{issuer}/front/{client}`.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    /// The `[[client]]` whose audiences, claim rules and signing algorithm apply; also the path.
    pub client: String,
    /// The upstream whose authorization, token and userinfo endpoints the front uses.
    pub upstream: String,
    /// Userinfo answered as a signed JWT (the RP registered `userinfo_signed_response_alg`)
    /// instead of JSON.
    pub is_userinfo_jwt: bool,
    /// How long a signed userinfo answer is valid (`exp - iat`): never longer than the client's
    /// `max_ttl`.
    pub userinfo_ttl: Duration,
    /// Pass a JWE or multi-audience JWT access token through the pipeline too.
    pub is_access_token_normalized: bool,
    /// `mode`: whether the browser's login passes through the front (`relay`) or goes straight
    /// between the RP and the IdP (`pass-through`).
    pub mode: FrontMode,
    /// `redirect_uris`: the RP's callbacks, matched exactly; the front redirects nowhere else.
    pub redirect_uris: Vec<String>,
    /// `post_logout_redirect_uris`: where the front may send the browser after a logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// `backchannel_logout_uri`: the RP's back-channel logout endpoint, if it has one.
    pub backchannel_logout_uri: Option<url::Url>,
}

/// How a front takes part in the browser's login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontMode {
    /// The RP sends the browser to the IdP directly, and the IdP back to the RP: the
    /// authorization response's `iss` is the IdP's, so RPs that check it (RFC 9207) refuse it.
    PassThrough,
    /// The front's own `/authorize` and `/callback` stand between them: the RP gets its `code`
    /// with `iss` = the front. The IdP must know `{front}/callback` as the redirect URI.
    Relay,
}

/// The `[keys]` section: what `KeyRing` loads, and what `tokenbridge check` checks.
#[derive(Debug, Clone)]
pub struct KeysConfig {
    pub(crate) dir: PathBuf,
    pub(crate) default_signing_alg: JwsAlg,
    pub(crate) signing: Vec<SigningKeyConfig>,
    pub(crate) decryption: Vec<DecryptionKeyConfig>,
    pub(crate) decryption_algs: Vec<JweAlg>,
    pub(crate) content_encryption: Vec<JweEnc>,
    /// `keys.front_state_key`: the AES-256 key that seals what a front sends through the browser
    /// (default `{dir}/front-state.key`, generated when missing). Replicas share it.
    pub(crate) front_state_key: PathBuf,
    /// `keys.retire_leeway`: added to `retire_at` + the longest `max_ttl` before a retired
    /// signing key leaves the JWKS.
    pub(crate) retire_leeway: Duration,
    /// `keys.generate`: whether a missing default key file (signing, decryption, the fronts'
    /// state key) is generated; when not, it is a config error.
    pub(crate) is_generated_when_missing: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct SigningKeyConfig {
    pub(crate) file: PathBuf,
    pub(crate) alg: JwsAlg,
    pub(crate) kid: Option<String>,
    /// `retired = true`: published in the JWKS (tokens it signed may still be live) but never
    /// used to sign, and never leaving the JWKS by itself.
    pub(crate) is_retired: bool,
    /// `activate_at`: before it the key is published but does not sign (`None`: since ever).
    pub(crate) activate_at: Option<UnixTime>,
    /// `retire_at`: from it the key no longer signs; later than `activate_at`.
    pub(crate) retire_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub(crate) struct DecryptionKeyConfig {
    pub(crate) file: PathBuf,
    pub(crate) kid: Option<String>,
    /// `activate_at`: from it the key is the preferred one published (it decrypts from load).
    pub(crate) activate_at: Option<UnixTime>,
    /// `retire_at`: from it the key neither decrypts nor is published.
    pub(crate) retire_at: Option<UnixTime>,
}

/// The `[limits]` section, every key defaulted (`defaults::LIMITS`) when left out.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub(crate) max_body_bytes: usize,
    /// The longest a whole request body may take to arrive, from the handler's first read.
    pub(crate) body_read_timeout: Duration,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_header_bytes: usize,
    /// `Cache-Control: max-age` of the published key sets and discovery documents.
    pub(crate) jwks_max_age: Duration,
    /// Failed client authentications per source address.
    pub(crate) failed_auth: RateLimit,
    /// Accept JWEs with `zip: DEF`, inflated to at most `max_inflated_bytes`.
    pub(crate) is_zip_allowed: bool,
    pub(crate) max_inflated_bytes: usize,
    /// Nesting depth of a token's header or claims JSON.
    pub(crate) max_json_depth: usize,
    /// Top-level claims a subject token may have.
    pub(crate) max_claims: usize,
    /// Values a subject token's `aud` may have.
    pub(crate) max_aud_values: usize,
    /// The issued token's claims, at most: a rule can't turn a large upstream claim into an
    /// oversized token.
    pub(crate) max_issued_claims: usize,
    /// The issued token's claims, serialised, at most this many bytes.
    pub(crate) max_issued_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        defaults::LIMITS
    }
}

/// `limits.trusted_proxies`: the balancers in front of tokenbridge, as addresses or CIDRs. Empty:
/// the peer is the client, whatever a request's headers say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub(crate) Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Whether `address` is one of the trusted proxies.
    pub fn contains(&self, address: &std::net::IpAddr) -> bool {
        // A dual-stack listener sees an IPv4 peer as ::ffff:a.b.c.d; the list names it a.b.c.d.
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// The `[telemetry]` section. Like `listen`, it takes effect at start only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TelemetryConfig {
    /// `telemetry.listen`: a second listener for `/metrics`, `/healthz` and `/readyz`.
    pub(crate) listen: Option<SocketAddr>,
    /// `telemetry.metrics_on_main_port`: `/metrics` on the main listener too.
    pub(crate) is_metrics_on_main_port: bool,
}

/// The `[reload]` section. SIGHUP reloads whatever it says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ReloadConfig {
    /// `reload.watch`: reload when a watched file's content changes.
    pub(crate) is_watched: bool,
    /// `reload.poll_interval`: how often the watched files are read.
    pub(crate) poll_interval: Duration,
}

/// One `[[upstream]]`: an IdP trusted by its exact issuer.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The `name` that clients' `upstreams` and fronts refer to; unique.
    pub name: String,
    pub(crate) issuer: String,
    /// The other forms of `iss` this IdP's tokens carry, exact strings, and the issuers of its
    /// listed tenants; never `issuer` itself.
    pub(crate) other_issuers: Vec<OtherIssuer>,
    /// `internal_url`: where tokenbridge's own calls to the IdP on the issuer's origin go
    /// (discovery, JWKS, a front's token and userinfo forwards); the checks still read the public
    /// URLs. Part of how this upstream fetches: any comparison of "fetches the same way" (one
    /// that keeps an upstream's cached keys across a config change, say) must include it, or keys
    /// fetched from one origin would be kept for another.
    pub(crate) internal_origin: Option<InternalOrigin>,
    /// When absent, read from `{issuer}/.well-known/openid-configuration`.
    pub(crate) jwks_uri: Option<url::Url>,
    pub(crate) algorithms: Vec<JwsAlg>,
    pub(crate) leeway: Duration,
    pub(crate) is_http_allowed: bool,
    /// Accept a discovered `jwks_uri` on another host than the issuer's.
    pub(crate) is_jwks_on_other_host_allowed: bool,
    pub(crate) refresh_interval: Duration,
    pub(crate) max_key_age: Duration,
    pub(crate) refetch_cooldown: Duration,
    pub(crate) fetch_timeout: Duration,
    pub(crate) max_jwks_bytes: usize,
    pub(crate) max_jwks_keys: usize,
    /// `audience_claims`: the claims a token's audiences are read from, the first present one
    /// (`aud` unless configured; Cognito's access tokens carry only `client_id`).
    pub(crate) audience_claims: Vec<String>,
    /// `[upstream.introspection]`: opaque subject tokens are checked at the IdP (RFC 7662).
    pub(crate) introspection: Option<IntrospectionConfig>,
    /// Claim rules for every token from this upstream, applied before the client's.
    pub rules: Vec<Rule>,
}

impl UpstreamConfig {
    /// Whether `other` finds, fetches and trusts keys exactly as this one does, so a reload may
    /// keep the keys this one fetched. Only the leeway, the other issuers, the audience claims, introspection and the
    /// claim rules may differ: they
    /// apply to tokens after their keys are found. Destructured whole so that a new field must
    /// be placed on one side or the other.
    pub(crate) fn fetches_like(&self, other: &UpstreamConfig) -> bool {
        let UpstreamConfig {
            name,
            issuer,
            other_issuers: _,
            jwks_uri,
            algorithms,
            leeway: _,
            is_http_allowed,
            is_jwks_on_other_host_allowed,
            refresh_interval,
            max_key_age,
            refetch_cooldown,
            fetch_timeout,
            max_jwks_bytes,
            max_jwks_keys,
            internal_origin,
            audience_claims: _,
            introspection: _,
            rules: _,
        } = self;
        *name == other.name
            && *issuer == other.issuer
            && *jwks_uri == other.jwks_uri
            && *algorithms == other.algorithms
            && *is_http_allowed == other.is_http_allowed
            && *is_jwks_on_other_host_allowed == other.is_jwks_on_other_host_allowed
            && *refresh_interval == other.refresh_interval
            && *max_key_age == other.max_key_age
            && *refetch_cooldown == other.refetch_cooldown
            && *fetch_timeout == other.fetch_timeout
            && *max_jwks_bytes == other.max_jwks_bytes
            && *max_jwks_keys == other.max_jwks_keys
            && *internal_origin == other.internal_origin
    }

    /// Where a server-side request for `url` is sent: see `InternalOrigin::route`. Never for a
    /// URL the browser is sent to.
    pub(crate) fn route<'a>(&self, url: &'a url::Url) -> Cow<'a, url::Url> {
        match &self.internal_origin {
            Some(origin) => origin.route(url),
            None => Cow::Borrowed(url),
        }
    }

    pub(crate) fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

/// The `typ` of issued access tokens: RFC 9068's `at+jwt` unless the client wants `JWT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessTokenTyp {
    AtJwt,
    Jwt,
}

impl AccessTokenTyp {
    pub(crate) fn header_value(self) -> &'static str {
        match self {
            AccessTokenTyp::AtJwt => "at+jwt",
            AccessTokenTyp::Jwt => "JWT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateLimit {
    pub(crate) per_second: f64,
    pub(crate) burst: u32,
}

/// One `[[client]]`: who may exchange, with which secret, under which rules.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The `id` a caller authenticates as (its `client_id`); unique.
    pub id: String,
    pub(crate) secret: SecretDigest,
    /// Where the secret was read from when given as `{ file = "…" }`: watched for a reload.
    pub(crate) secret_file: Option<PathBuf>,
    pub(crate) upstreams: Vec<String>,
    pub(crate) audience: AudienceRules,
    pub(crate) max_ttl: Duration,
    pub(crate) signing_alg: JwsAlg,
    pub(crate) access_token_typ: AccessTokenTyp,
    /// Whether an ID token may be issued from an access token (`id_token_from_access_token`).
    pub(crate) is_id_token_from_access_token_allowed: bool,
    pub(crate) rate_limit: RateLimit,
    /// `cache = true`: how many exchanges to keep (`cache_size`); `None`: no cache.
    pub(crate) cache_size: Option<u64>,
    /// Claim rules (its preset's, then its own), applied after the upstream's.
    pub rules: Vec<Rule>,
}

impl Config {
    /// Reads and validates a config file; every problem names its key.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            ConfigErrors(vec![ConfigProblem {
                key: path.display().to_string(),
                message: format!("cannot read the config file: {err}"),
            }])
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        parse(&text, base)
    }

    /// The signing algorithms any client uses: a key must exist for each.
    pub fn signing_algs_in_use(&self) -> Vec<JwsAlg> {
        let mut algs = vec![self.keys.default_signing_alg];
        for client in &self.clients {
            if !algs.contains(&client.signing_alg) {
                algs.push(client.signing_alg);
            }
        }
        algs
    }

    /// The longest `max_ttl` of any client: no token tokenbridge issues lives longer, so a
    /// retired key is needed in the JWKS at most this long after it stopped signing. Zero
    /// without clients.
    pub fn longest_max_ttl(&self) -> Duration {
        self.clients
            .iter()
            .map(|client| client.max_ttl)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// `limits.jwks_max_age`: how long relying parties may cache the published key sets.
    pub fn jwks_max_age(&self) -> Duration {
        self.limits.jwks_max_age
    }
}
