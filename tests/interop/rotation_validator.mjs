#!/usr/bin/env node
// A relying party that caches tokenbridge's JWKS the way npm `jose` does it by default:
// `createRemoteJWKSet` (keys kept 10 minutes, an unknown `kid` refetches at most every 30 s),
// `jwtVerify` with RS256, the issuer and one audience. For the key rotation test: it must
// verify every token of a rotation from the JWKS it fetched before the new key activated.
//
// Usage: node rotation_validator.mjs '{"jwks_uri","issuer","audience"}'
//   then one token per line on stdin -> one JSON line per token on stdout: {"ok","kid"?,"error"?}
// Exit 0 at the end of stdin unless the harness itself breaks.

import process from 'node:process';
import readline from 'node:readline';

import { createRemoteJWKSet, jwtVerify } from 'jose';

const { jwks_uri: jwksUri, issuer, audience } = JSON.parse(process.argv[2]);
const keys = createRemoteJWKSet(new URL(jwksUri));

for await (const line of readline.createInterface({ input: process.stdin })) {
  const token = line.trim();
  if (!token) continue;
  let result;
  try {
    const { protectedHeader } = await jwtVerify(token, keys, { issuer, audience, algorithms: ['RS256'] });
    result = { ok: true, kid: protectedHeader.kid };
  } catch (error) {
    result = { ok: false, error: `${error.code ?? error.name}: ${error.message}` };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
