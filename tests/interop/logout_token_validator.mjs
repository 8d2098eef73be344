#!/usr/bin/env node
// npm `jose` judging the logout tokens a front relays, the way express-openid-connect 3.4's
// `backchannelLogout()` does (lib/context.js): the issuer's discovery, its `jwks_uri` as a remote
// JWKS, `jwtVerify` with the issuer, the client id as audience and RS256; then `events` holding
// the back-channel logout member, no `nonce`, `sub` or `sid`. A second verdict also requires
// `typ: 'logout+jwt'` (RFC 8725 §3.11), which express-openid-connect doesn't ask for.
//
// Usage (JSON in on stdin, one JSON line out on stdout):
//   node logout_token_validator.mjs {"issuer","audience","token"}
//     -> {"results":[{"validator","ok","error"?,"typ"?}]}
// Exit 0 unless the harness itself breaks.

import process from 'node:process';

import * as jose from 'jose';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const FETCH_TIMEOUT_MS = 10000;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function checkLogoutClaims(payload) {
  if (!payload.events || typeof payload.events !== 'object' || !payload.events[EVENT]) {
    throw new Error('Logout Token must contain events claim with backchannel-logout event');
  }
  if (payload.nonce !== undefined) throw new Error('Logout Token must not contain nonce claim');
  if (!payload.sub && !payload.sid) throw new Error('Logout Token must contain sub or sid claim');
}

async function main() {
  const { issuer, audience, token } = JSON.parse(await readStdin());
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    redirect: 'error',
  });
  const discovery = await response.json();
  const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
  const validators = [
    ['express-openid-connect 3.4', {}],
    ['jose with typ logout+jwt', { typ: 'logout+jwt' }],
  ];
  const results = [];
  for (const [validator, extra] of validators) {
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
        issuer: discovery.issuer,
        audience,
        algorithms: ['RS256'],
        ...extra,
      });
      checkLogoutClaims(payload);
      results.push({ validator, ok: true, typ: protectedHeader.typ });
    } catch (err) {
      results.push({ validator, ok: false, error: String(err && err.message) });
    }
  }
  process.stdout.write(`${JSON.stringify({ results })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack}\n`);
  process.exit(1);
});
