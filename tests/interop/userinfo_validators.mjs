#!/usr/bin/env node
// Validators we did not write, judging a front's signed userinfo answers (and, for comparison,
// its ID tokens) at a given instant, each on the validator's own clock option, never a sleep:
//   - "jsonwebtoken": node `jsonwebtoken` verify as a relying party that wants a bounded
//     statement sets it up: RS256, one `audience`, the `issuer`, `maxAge` (which makes it require
//     `iat`), no clock tolerance, `clockTimestamp` = the instant; it has no option to require
//     `exp`, so the payload's `exp` is checked for presence after verifying;
//   - "jose ID token": npm `jose` jwtVerify as an ID-token validator that follows RFC 8725 §3.11:
//     `typ: 'JWT'` (what ID tokens carry), issuer, audience, `exp` and `iat` required;
//   - "jose userinfo": npm `jose` jwtVerify expecting tokenbridge's userinfo type,
//     `typ: 'userinfo+jwt'`, `exp` and `iat` required, `maxTokenAge`.
// Both npm validators take the key by `kid` from the JWKS named in the issuer's discovery.
//
// Usage (JSON in on stdin, one JSON line out on stdout):
//   node userinfo_validators.mjs {"issuer","audience","max_age","tokens":[{"case","token","at"}]}
//     -> {"results":[{"case","validator","ok","error"?,"typ"?,"exp"?,"iat"?}]}
// Exit 0 unless the harness itself breaks.

import { createPublicKey } from 'node:crypto';
import process from 'node:process';

import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';

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

function jsonwebtokenValidator(jwks, { issuer, audience, max_age: maxAge }) {
  const keyFor = (header, callback) => {
    const jwk = jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) {
      callback(new Error(`no key with kid ${JSON.stringify(header.kid)}`));
      return;
    }
    callback(null, createPublicKey({ key: jwk, format: 'jwk' }));
  };
  return (token, at) => new Promise((resolve, reject) => {
    jsonwebtoken.verify(
      token,
      keyFor,
      { algorithms: ['RS256'], audience, issuer, maxAge, clockTimestamp: at, complete: true },
      (err, decoded) => {
        if (err) reject(err);
        else if (typeof decoded.payload.exp !== 'number') reject(new Error('exp required'));
        else resolve(decoded);
      },
    );
  });
}

function joseValidator(keySet, options) {
  return async (token, at) => {
    const { payload, protectedHeader } = await jose.jwtVerify(token, keySet, {
      ...options,
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(at * 1000),
    });
    return { payload, header: protectedHeader };
  };
}

const input = JSON.parse(await readStdin());
const discovery = await getJson(`${input.issuer}/.well-known/openid-configuration`);
const jwks = await getJson(discovery.jwks_uri);
const keySet = jose.createLocalJWKSet(jwks);
const common = { issuer: input.issuer, audience: input.audience };
const validators = {
  jsonwebtoken: jsonwebtokenValidator(jwks, input),
  'jose ID token': joseValidator(keySet, { ...common, typ: 'JWT' }),
  'jose userinfo': joseValidator(keySet, { ...common, typ: 'userinfo+jwt', maxTokenAge: input.max_age }),
};
const results = [];
for (const { case: label, token, at } of input.tokens) {
  for (const [validator, validate] of Object.entries(validators)) {
    try {
      const { payload, header } = await validate(token, at);
      results.push({ case: label, validator, ok: true, typ: header.typ, exp: payload.exp, iat: payload.iat });
    } catch (err) {
      results.push({ case: label, validator, ok: false, error: `${err.name}: ${err.message}` });
    }
  }
}
process.stdout.write(`${JSON.stringify({ results })}\n`);
