#!/usr/bin/env node
// The ID-token validators legacy relying parties run, configured as those relying parties
// configure them, for tokenbridge's interop tests:
//   - "jsonwebtoken": node `jsonwebtoken` verify with one `audience` and `issuer`, RS256, and the
//     key looked up by `kid` in the issuer's JWKS (discovered), as most hand-written Node RPs do;
//   - "openid-client": openid-client 4.9.1's ID-token validation set up exactly as
//     express-openid-connect 2 (MiroTalk) sets it up: discovery, `id_token_signed_response_alg`
//     RS256 (its `idTokenSigningAlg` default), a 60 s clock tolerance (its `clockTolerance`
//     default), and the same check that the issuer supports RS256.
//
// Usage (JSON in on stdin, one JSON line out on stdout):
//   node validators.mjs {"issuer","audience","tokens":[{"case","token","nonce"?}]}
//     -> {"results":[{"case","validator","ok","error"?,"aud"?,"sub"?}]}
// Exit 0 unless the harness itself breaks.

import { createPublicKey } from 'node:crypto';
import process from 'node:process';

import jsonwebtoken from 'jsonwebtoken';
import { Issuer, TokenSet, custom } from 'openid-client';

// express-openid-connect 2.20.2's defaults (lib/config.js).
const ID_TOKEN_SIGNING_ALG = 'RS256';
const CLOCK_TOLERANCE_SECONDS = 60;
const FETCH_TIMEOUT_MS = 10000;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function getJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.json();
}

async function jsonwebtokenValidator(issuer, audience) {
  const discovery = await getJson(`${issuer}/.well-known/openid-configuration`);
  const jwks = await getJson(discovery.jwks_uri);
  const keyFor = (header, callback) => {
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) {
      callback(new Error(`no key with kid ${JSON.stringify(header.kid)} in ${discovery.jwks_uri}`));
      return;
    }
    callback(null, createPublicKey({ key: jwk, format: 'jwk' }));
  };
  return (token) => new Promise((resolve, reject) => {
    jsonwebtoken.verify(
      token,
      keyFor,
      { algorithms: [ID_TOKEN_SIGNING_ALG], audience, issuer, clockTolerance: CLOCK_TOLERANCE_SECONDS },
      (err, payload) => (err ? reject(err) : resolve(payload)),
    );
  });
}

async function openidClientValidator(issuerUrl, audience) {
  // express-openid-connect: Issuer.discover, refuse an issuer without RS256, build the client.
  const issuer = await Issuer.discover(issuerUrl);
  const algs = issuer.id_token_signing_alg_values_supported ?? [];
  if (!algs.includes(ID_TOKEN_SIGNING_ALG)) {
    throw new Error(`ID token algorithm "${ID_TOKEN_SIGNING_ALG}" is not supported by the issuer`);
  }
  const client = new issuer.Client({
    client_id: audience,
    client_secret: 'not-used-to-validate-an-rs256-id-token',
    id_token_signed_response_alg: ID_TOKEN_SIGNING_ALG,
  });
  client[custom.clock_tolerance] = CLOCK_TOLERANCE_SECONDS;
  return async (token, nonce) => {
    const tokenSet = new TokenSet({ id_token: token });
    // As express-openid-connect's refresh path: returnedBy "token", the nonce if one was sent.
    await client.validateIdToken(tokenSet, nonce ?? null, 'token', null);
    return tokenSet.claims();
  };
}

const input = JSON.parse(await readStdin());
const validators = {
  jsonwebtoken: await jsonwebtokenValidator(input.issuer, input.audience),
  'openid-client': await openidClientValidator(input.issuer, input.audience),
};
const results = [];
for (const { case: label, token, nonce } of input.tokens) {
  for (const [validator, validate] of Object.entries(validators)) {
    try {
      const claims = await validate(token, nonce);
      results.push({ case: label, validator, ok: true, aud: claims.aud, sub: claims.sub, nonce: claims.nonce });
    } catch (err) {
      results.push({ case: label, validator, ok: false, error: `${err.name}: ${err.message}` });
    }
  }
}
process.stdout.write(`${JSON.stringify({ results })}\n`);
