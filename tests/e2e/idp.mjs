#!/usr/bin/env node
// Test OpenID Provider built on oidc-provider (panva), for the tokenbridge e2e tests.
//
// Usage: node idp.mjs '<config json>'
//
// Config:
//   {
//     "port": 0,                       // 0 = pick a free port (always bound to 127.0.0.1)
//     "clients": [{
//       "client_id": "...", "client_secret": "...",
//       "redirect_uris": ["..."],
//       "post_logout_redirect_uris": ["..."],            // optional
//       "backchannel_logout_uri": "http://...",          // optional (Back-Channel Logout 1.0)
//       "backchannel_logout_session_required": true,     // optional: logout tokens carry sid
//       "id_token_encrypted_response_alg": "RSA-OAEP-256", // optional (needs jwks_uri or jwks)
//       "id_token_encrypted_response_enc": "A256CBC-HS512",// optional
//       "jwks_uri": "http://127.0.0.1:N/...",            // optional, fetched lazily
//       "jwks": {"keys": [...]},                         // optional alternative to jwks_uri
//       "extra_audiences": ["..."]                       // optional, see below
//     }],
//     "account": {"sub": "...", "email": "...", "name": "...", "groups": ["..."]}
//   }
//
// Once listening it prints exactly one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
// and runs until SIGTERM/SIGINT (exit code 0). Diagnostics go to stderr.
//
// Interactions: oidc-provider's built-in devInteractions (a login page that
// accepts any login/password, then a consent page). Whatever login name is
// typed, the account returned is the one from the config (its "sub" is the
// ID token's sub).

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

function fail(msg) {
  process.stderr.write(`idp.mjs: ${msg}\n`);
  process.exit(2);
}

let config;
try {
  config = JSON.parse(process.argv[2] ?? '');
} catch (err) {
  fail(`first argument must be the JSON config (${err.message})`);
}
if (!Array.isArray(config.clients)) fail('config.clients must be an array');
const account = {
  sub: 'ada',
  email: 'ada@example.test',
  name: 'Ada Lovelace',
  groups: [],
  ...(config.account ?? {}),
};

// --- signing key (RS256), generated per run --------------------------------
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `idp-sig-${randomUUID().slice(0, 8)}`,
  use: 'sig',
  alg: 'RS256',
};

// --- clients ------------------------------------------------------------------
// extra_audiences is not client metadata oidc-provider knows; keep it aside,
// keyed by client_id, and strip it from the metadata passed to the provider.
const extraAudiences = new Map();
const clients = config.clients.map((c) => {
  const { extra_audiences: extra, ...rest } = c;
  if (extra !== undefined) {
    if (!Array.isArray(extra) || !extra.every((a) => typeof a === 'string' && a)) {
      fail(`client ${c.client_id}: extra_audiences must be an array of non-empty strings`);
    }
    if (extra.length) extraAudiences.set(c.client_id, extra);
  }
  const metadata = {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', // client_secret_post is accepted too
    id_token_signed_response_alg: 'RS256',
    ...rest,
  };
  if (metadata.id_token_encrypted_response_alg && !metadata.id_token_encrypted_response_enc) {
    metadata.id_token_encrypted_response_enc = 'A128CBC-HS256'; // the spec default
  }
  return metadata;
});

// --- HTTP server first, so the issuer can carry the real port ---------------
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },

  // The one account (see the interactionFinished wrapper below: whatever login
  // name was typed, the session's accountId is account.sub).
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: account.sub,
          email: account.email,
          email_verified: true,
          name: account.name,
          groups: account.groups,
        };
      },
    };
  },

  // Scope -> claims. groups rides on "profile" (and has its own scope too).
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
    groups: ['groups'],
  },
  // Put the scope-granted claims into the ID token itself (not only /userinfo).
  conformIdTokenClaims: false,

  // Token endpoint client authentication: both are accepted for any client.
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],

  features: {
    devInteractions: { enabled: true },
    encryption: { enabled: true }, // allows id_token_encrypted_response_alg/enc
    rpInitiatedLogout: { enabled: true }, // end_session_endpoint /session/end
    // Back-Channel Logout 1.0: a client with backchannel_logout_uri gets a logout_token POSTed
    // when the session ends (through the fetch below); ID tokens carry sid.
    backchannelLogout: { enabled: true },
    userinfo: { enabled: true },
    // RFC 7662, for tokenbridge's opaque subject tokens: any confidential client may ask.
    introspection: { enabled: true },
  },

  enabledJWA: {
    idTokenSigningAlgValues: ['RS256'],
    idTokenEncryptionAlgValues: ['RSA-OAEP', 'RSA-OAEP-256'],
    idTokenEncryptionEncValues: ['A128CBC-HS256', 'A256CBC-HS512', 'A128GCM', 'A256GCM'],
  },

  // Always issue a refresh token for code grants (oidc-provider drops the
  // offline_access scope unless prompt=consent was requested, so the default
  // policy "offline_access was granted" would never fire for our RP).
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  // ...and do not tie those refresh tokens to the IdP browser session.
  async expiresWithSession() {
    return false;
  },

  // oidc-provider's outgoing requests (here: fetching a client's jwks_uri)
  // go through an SSRF-protecting undici dispatcher that refuses loopback and
  // other special-use addresses. tokenbridge serves its encryption key on
  // http://127.0.0.1:N/.well-known/encryption-keys.json, so drop that
  // dispatcher and use plain global fetch. (http jwks_uri values themselves are
  // valid client metadata: jwks_uri only has to be a web URI, not https.)
  fetch(url, options) {
    const { dispatcher: _ssrfGuard, ...rest } = options;
    return globalThis.fetch(url, rest);
  },

  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 120,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 86400,
  },
});


// --- multiple audiences ------------------------------------------------------
// oidc-provider has no setting for a multi-valued ID token aud: IdToken#issue()
// passes `audience: client.clientId` to its JWT signer, which overwrites any
// "aud" set via IdToken#set()/extraTokenClaims, and conformIdTokenClaims only
// governs which user claims appear. So we wrap IdToken.prototype.issue: for an
// ID token (use === 'idtoken') of a client with extra_audiences we
//   * set azp = client_id (OIDC Core 2: REQUIRED-ish with several audiences;
//     openid-client/express-openid-connect insist on it), and
//   * swap this.client for a Proxy whose clientId reads
//     [client_id, ...extra_audiences] (every other property/method goes to the
//     real Client, with `this` bound to it so private fields keep working).
// The signer then writes that array as "aud". This covers the ID tokens of
// both the authorization_code and the refresh_token grants (and the JWE
// header's informational "aud" when the client also wants encryption).
const { IdToken } = provider;
const originalIssue = IdToken.prototype.issue;
IdToken.prototype.issue = async function issueWithExtraAudiences(options = {}) {
  const realClient = this.client;
  const extra = options.use === 'idtoken' && realClient
    ? extraAudiences.get(realClient.clientId)
    : undefined;
  if (!extra) return originalIssue.call(this, options);

  const audience = [realClient.clientId, ...extra.filter((a) => a !== realClient.clientId)];
  this.set('azp', realClient.clientId);
  this.client = new Proxy(realClient, {
    get(target, prop) {
      if (prop === 'clientId') return audience;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  try {
    return await originalIssue.call(this, options);
  } finally {
    this.client = realClient;
  }
};

// --- one account, whatever login was typed --------------------------------------
// devInteractions finishes the login prompt with {login: {accountId: <typed
// login>}}; oidc-provider requires findAccount's accountId to equal the
// session's, and uses it as "sub". Rewrite it to the configured sub.
const originalInteractionFinished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => originalInteractionFinished(
  req,
  res,
  result?.login ? { ...result, login: { ...result.login, accountId: account.sub } } : result,
  options,
);

provider.on('server_error', (_ctx, err) => {
  process.stderr.write(`idp.mjs: server_error: ${err?.stack ?? err}\n`);
});
for (const event of ['grant.error', 'authorization.error', 'jwks.error', 'end_session.error', 'backchannel.error']) {
  provider.on(event, (_ctx, err) => {
    process.stderr.write(`idp.mjs: ${event}: ${err?.message ?? err}${err?.error_description ? ` (${err.error_description})` : ''}\n`);
  });
}

provider.on('backchannel.success', (_ctx, client, accountId, sid) => {
  process.stderr.write(`idp.mjs: backchannel.success: ${client.clientId} ${client.backchannelLogoutUri} sub=${accountId} sid=${sid}\n`);
});

server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
