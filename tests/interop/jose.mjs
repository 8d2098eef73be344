#!/usr/bin/env node
// Independent JOSE implementation for tokenbridge's interop tests: npm `jose` (panva) makes the
// IdP's tokens and checks tokenbridge's, so no token is both made and checked by our code.
//
// Usage (JSON in on stdin, one JSON line out on stdout):
//   node jose.mjs mint      {"issuer","audience","encryption_keys":[jwk,...]}
//     -> {"jwks":{"keys":[...]},"tokens":[{"case","token"}]}
//        one JWS per JWS alg of the contract, one JWE (RSA or EC recipient, an RS256 JWS inside)
//        per JWE alg/enc pair, and Authentik's exact shape.
//   node jose.mjs verify    {"jwks_uri","issuer","audience","tokens":[{"case","token","alg"}]}
//     -> {"results":[{"case","ok","error"?,"aud"?,"alg"?,"sub"?}]}
// Exit 0 unless the harness itself breaks.

import process from 'node:process';

import * as jose from 'jose';

const JWS_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const JWE_ALGS = ['RSA-OAEP', 'RSA-OAEP-256', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'];
const JWE_ENCS = ['A128GCM', 'A192GCM', 'A256GCM', 'A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512'];

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function signingKey(alg) {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, options);
  const jwk = await jose.exportJWK(publicKey);
  return { alg, kid: `jose-${alg}`, privateKey, jwk: { ...jwk, kid: `jose-${alg}`, alg, use: 'sig' } };
}

async function sign(key, claims) {
  return new jose.SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

function claimsFor(input, label) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: input.issuer,
    sub: `made-by-jose ${label}`,
    aud: [input.audience, 'another-app'],
    iat: now,
    exp: now + 600,
    email: 'ada@example.com',
  };
}

async function mint(input) {
  const keys = await Promise.all(JWS_ALGS.map(signingKey));
  const tokens = [];
  for (const key of keys) {
    tokens.push({ case: `JWS ${key.alg}`, token: await sign(key, claimsFor(input, `JWS ${key.alg}`)) });
  }
  const rs256 = keys.find((key) => key.alg === 'RS256');
  for (const alg of JWE_ALGS) {
    const recipient = input.encryption_keys.find((jwk) => (alg.startsWith('RSA') ? jwk.kty === 'RSA' : jwk.kty === 'EC'));
    const { alg: _published, use: _use, ...material } = recipient;
    const publicKey = await jose.importJWK(material, alg);
    for (const enc of JWE_ENCS) {
      const label = `JWE ${alg} + ${enc}`;
      const inner = await sign(rs256, claimsFor(input, label));
      const token = await new jose.CompactEncrypt(new TextEncoder().encode(inner))
        .setProtectedHeader({ alg, enc, cty: 'JWT', kid: recipient.kid })
        .encrypt(publicKey);
      tokens.push({ case: label, token });
    }
  }
  // Authentik: RSA-OAEP-256 + A256CBC-HS512, typ JWE, an empty kid, no cty.
  const rsa = input.encryption_keys.find((jwk) => jwk.kty === 'RSA');
  const { alg: _a, use: _u, ...rsaMaterial } = rsa;
  const label = 'JWE Authentik shape';
  const authentik = await new jose.CompactEncrypt(new TextEncoder().encode(await sign(rs256, claimsFor(input, label))))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256CBC-HS512', typ: 'JWE', kid: '' })
    .encrypt(await jose.importJWK(rsaMaterial, 'RSA-OAEP-256'));
  tokens.push({ case: label, token: authentik });
  return { jwks: { keys: keys.map((key) => key.jwk) }, tokens };
}

async function verify(input) {
  const jwks = jose.createRemoteJWKSet(new URL(input.jwks_uri));
  const results = [];
  for (const { case: label, token, alg } of input.tokens) {
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
        issuer: input.issuer,
        audience: input.audience,
        algorithms: [alg],
        clockTolerance: 60,
      });
      const isSingleAud = typeof payload.aud === 'string';
      results.push({ case: label, ok: isSingleAud, aud: payload.aud, alg: protectedHeader.alg, sub: payload.sub });
    } catch (err) {
      results.push({ case: label, ok: false, error: `${err.code ?? ''} ${err.message}` });
    }
  }
  return { results };
}

const [command] = process.argv.slice(2);
const run = { mint, verify }[command];
if (!run) {
  process.stderr.write('jose.mjs: command must be mint or verify\n');
  process.exit(2);
}
let input;
try {
  input = JSON.parse(await readStdin());
} catch (err) {
  process.stderr.write(`jose.mjs: stdin must be JSON (${err.message})\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(await run(input))}\n`);
