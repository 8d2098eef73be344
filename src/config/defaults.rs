//! The value each config key takes when the file leaves it out, one named constant per key: the
//! defaults README.md's configuration reference documents, written once.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use super::{AccessTokenTyp, FrontMode, Limits, RateLimit};
use crate::jose::alg::{JweAlg, JweEnc, JwsAlg};
use crate::jose::compact::CompactLimits;
use crate::policy::audience::AudienceMode;

// Top level.

/// `listen`: loopback, so a service started without a choice is reachable from nowhere else.
pub(super) const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

// [keys]

/// `keys.dir`, relative to the config file's folder.
pub(super) const KEYS_DIR: &str = "./keys";
/// `keys.signing_alg`: the only algorithm BookStack and express-openid-connect accept by default.
pub(super) const SIGNING_ALG: JwsAlg = JwsAlg::RS256;
/// `keys.decryption_algs`: every key-management algorithm tokenbridge implements.
pub(super) const DECRYPTION_ALGS: [JweAlg; 6] = JweAlg::ALL;
/// `keys.retire_leeway`: how long a retired signing key stays published after the last token it
/// signed expired (`retire_at` + the longest client `max_ttl`): room for clock skew between
/// replicas and relying parties.
pub(super) const RETIRE_LEEWAY: Duration = Duration::from_secs(300);
/// `keys.generate`: a missing default key is generated, so one instance starts with no setup.
/// Replicas set it to false: each would make its own key.
pub(super) const GENERATE_KEYS: bool = true;
/// `keys.content_encryption`: every content-encryption algorithm tokenbridge implements.
pub(super) const CONTENT_ENCRYPTION: [JweEnc; 6] = JweEnc::ALL;

// [limits]

/// `[limits]`. The caps the compact parser applies come from `jose` (which knows nothing of
/// config), so a parser used without a config caps the same.
pub(super) const LIMITS: Limits = Limits {
    max_body_bytes: 64 * 1024,
    body_read_timeout: Duration::from_secs(10),
    max_token_bytes: CompactLimits::DEFAULT.max_token_bytes,
    max_header_bytes: CompactLimits::DEFAULT.max_header_bytes,
    jwks_max_age: Duration::from_secs(300),
    failed_auth: FAILED_AUTH,
    is_zip_allowed: false,
    max_inflated_bytes: 16 * 1024,
    max_json_depth: CompactLimits::DEFAULT.max_json_depth,
    max_claims: CompactLimits::DEFAULT.max_claims,
    max_aud_values: 32,
    max_issued_claims: 64,
    max_issued_bytes: 8 * 1024,
};

/// `limits.failed_auth`: ten wrong guesses at once, then one every five seconds per address.
const FAILED_AUTH: RateLimit = RateLimit {
    per_second: 0.2,
    burst: 10,
};

// [reload]

/// `reload.watch`: a changed config, key or secret file is picked up without a signal.
pub(super) const RELOAD_WATCH: bool = true;
/// `reload.poll_interval`: how often the watched files are read and compared. Short enough that
/// a Kubernetes Secret update reaches every replica within seconds of the kubelet writing it.
pub(super) const RELOAD_POLL_INTERVAL: Duration = Duration::from_secs(2);

// [[upstream]]

/// `upstream.algorithms`.
pub(super) const UPSTREAM_ALGORITHMS: [JwsAlg; 1] = [JwsAlg::RS256];
/// `upstream.leeway`: the clock skew allowed on `exp`, `nbf` and `iat`.
pub(super) const LEEWAY: Duration = Duration::from_secs(60);
/// `upstream.refresh_interval`: how often the JWKS is refetched in the background.
pub(super) const REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// `upstream.max_key_age`: how long fetched keys stay usable without a successful refresh.
pub(super) const MAX_KEY_AGE: Duration = Duration::from_secs(24 * 3600);
/// `upstream.refetch_cooldown`: at most one refetch for an unknown `kid` this often.
pub(super) const REFETCH_COOLDOWN: Duration = Duration::from_secs(30);
/// `upstream.fetch_timeout`: the whole of one discovery or JWKS request.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// `upstream.max_jwks_bytes`: the largest discovery document or JWKS body.
pub(super) const MAX_JWKS_BYTES: usize = 256 * 1024;
/// `upstream.max_jwks_keys`: a JWKS with more keys is refused whole.
pub(super) const MAX_JWKS_KEYS: usize = 64;
/// `upstream.introspection.cache_ttl`: how long an `active: true` answer is reused at most.
pub(super) const INTROSPECTION_CACHE_TTL: Duration = Duration::from_secs(60);
/// The longest `cache_ttl` accepted: an answer says only what was true when it was given.
pub(super) const MAX_INTROSPECTION_CACHE_TTL: Duration = Duration::from_secs(3600);
/// `upstream.introspection.cache_size`: answers kept per upstream.
pub(super) const INTROSPECTION_CACHE_SIZE: u64 = 10_000;
/// The largest `cache_size` accepted (an answer is a few hundred bytes of claims).
pub(super) const MAX_INTROSPECTION_CACHE_SIZE: u64 = 1_000_000;
/// The most claims an upstream's `audience_claims` may name.
pub(super) const MAX_AUDIENCE_CLAIMS: usize = 4;

// [[client]]

/// `client.select`: least privilege, exactly one allowed audience in the token.
pub(super) const AUDIENCE_MODE: AudienceMode = AudienceMode::Only;
/// `client.max_ttl`: the longest lifetime of an issued token.
pub(super) const MAX_TTL: Duration = Duration::from_secs(300);
/// `client.access_token_typ`: RFC 9068's explicit type.
pub(super) const ACCESS_TOKEN_TYP: AccessTokenTyp = AccessTokenTyp::AtJwt;
/// `client.id_token_from_access_token`: an access token says nothing about a login, so an ID
/// token is not made from one unless the operator says so.
pub(super) const ID_TOKEN_FROM_ACCESS_TOKEN: bool = false;
/// `client.rate_limit`: requests after authentication, per client.
pub(super) const CLIENT_RATE_LIMIT: RateLimit = RateLimit {
    per_second: 50.0,
    burst: 100,
};
/// `client.cache`: off, because a cached answer repeats the issued token's `jti`, which relying
/// parties that detect replays refuse.
pub(super) const CACHE: bool = false;
/// `client.cache_size`: entries, when `cache = true`; each holds one issued token.
pub(super) const CACHE_SIZE: u64 = 10_000;
/// The largest `client.cache_size` accepted: about a gigabyte of 1 kB tokens.
pub(super) const MAX_CACHE_SIZE: u64 = 1_000_000;

// [[front]]

/// `front.userinfo_ttl`, shortened to the client's `max_ttl` if that is shorter. A relying party
/// checks a signed userinfo answer the moment it arrives: a minute covers the round trip and
/// ordinary clock skew, and keeps a leaked answer useless soon after.
pub(super) const USERINFO_TTL: Duration = Duration::from_secs(60);
/// `front.mode`: today's flow, which needs no change at the IdP; `relay` is asked for.
pub(super) const FRONT_MODE: FrontMode = FrontMode::PassThrough;
/// `keys.front_state_key`: the file under `keys.dir`.
pub(super) const FRONT_STATE_KEY_FILE: &str = "front-state.key";
