#!/usr/bin/env node
// Smoke test of the harness itself, without tokenbridge: reproduces the two
// real-world failures directly against the test IdP.
//
//   mirotalk:  the IdP encrypts ID tokens (RSA-OAEP-256 / A256CBC-HS512) with a
//              key served from a local JWKS endpoint (this process) =>
//              express-openid-connect fails at /callback with
//              "encrypted JWTs cannot be decoded".
//   bookstack: the IdP puts 5 audiences in the ID token (azp = client id) =>
//              express-openid-connect accepts it; me.claims.aud has 5 values.
//              Also runs the refresh_token grant through the RP.
//
// Usage: node smoke.mjs   (prints the login.mjs results and a summary line;
// exit 0 when everything is as expected, 1 otherwise).

import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const OVERALL_TIMEOUT_MS = 90_000;
const START_TIMEOUT_MS = 15_000;
const LOGIN_TIMEOUT_MS = 30_000;

const children = [];
const servers = [];

function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  for (const server of servers) {
    server.close();
    server.closeAllConnections?.();
  }
}

const overall = setTimeout(() => {
  process.stderr.write(`smoke.mjs: overall timeout (${OVERALL_TIMEOUT_MS} ms)\n`);
  cleanup();
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
overall.unref();

// Start a long-running script and resolve with the JSON of its first stdout line.
function startService(name, script, config) {
  const child = spawn(process.execPath, [path.join(here, script), JSON.stringify(config)], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stderr.on('data', (chunk) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      process.stderr.write(`[${name}] ${line}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${name}: no startup line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(buf.slice(0, nl)));
        } catch (err) {
          reject(new Error(`${name}: bad startup line ${JSON.stringify(buf.slice(0, nl))}: ${err.message}`));
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited early (code ${code}, signal ${signal})`));
    });
  });
}

// Run login.mjs to completion and parse its one JSON line.
function runLogin(args) {
  const child = spawn(process.execPath, [path.join(here, 'login.mjs'), JSON.stringify(args)], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`login.mjs: timeout after ${LOGIN_TIMEOUT_MS} ms`));
    }, LOGIN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`login.mjs exited ${code}: ${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch (err) {
        reject(new Error(`login.mjs: bad output ${JSON.stringify(stdout)}: ${err.message}`));
      }
    });
  });
}

function decodePayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

const results = [];
function check(name, ok, detail) {
  results.push({ name, ok });
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}\n`);
}

try {
  // 1. The "mirotalk" RP's encryption key, served the way tokenbridge serves
  //    /.well-known/encryption-keys.json (plain http on 127.0.0.1).
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const encJwks = {
    keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'smoke-enc-1', use: 'enc', alg: 'RSA-OAEP-256' }],
  };
  let jwksFetches = 0;
  const jwksServer = http.createServer((req, res) => {
    if (req.url === '/.well-known/encryption-keys.json') {
      jwksFetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(encJwks));
    } else {
      res.writeHead(404).end();
    }
  });
  servers.push(jwksServer);
  await new Promise((resolve) => { jwksServer.listen(0, '127.0.0.1', resolve); });
  const jwksUri = `http://127.0.0.1:${jwksServer.address().port}/.well-known/encryption-keys.json`;

  // 2. RPs first, so their redirect URIs (ports) are known when the IdP is
  //    configured. An RP needs the issuer URL up front but only contacts it on
  //    the first login (lazy discovery), so reserve the IdP's port now by
  //    binding and releasing a throwaway socket.
  const idpPort = await new Promise((resolve) => {
    const probe = http.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const issuer = `http://127.0.0.1:${idpPort}`;

  const mirotalkRp = await startService('rp:mirotalk', 'rp.mjs', {
    port: 0, issuerBaseURL: issuer, clientID: 'mirotalk', clientSecret: 'mirotalk-secret', baseURL: null,
  });
  const bookstackRp = await startService('rp:bookstack', 'rp.mjs', {
    port: 0, issuerBaseURL: issuer, clientID: 'bookstack', clientSecret: 'bookstack-secret', baseURL: null,
  });
  process.stdout.write(`rp mirotalk:  ${JSON.stringify(mirotalkRp)}\n`);
  process.stdout.write(`rp bookstack: ${JSON.stringify(bookstackRp)}\n`);

  // 3. The IdP, with the RPs' redirect URIs.
  const extraAudiences = ['295633918734829312', 'x@grafana', 'y@wiki', 'z@api'];
  const idp = await startService('idp', 'idp.mjs', {
    port: idpPort,
    clients: [
      {
        client_id: 'mirotalk',
        client_secret: 'mirotalk-secret',
        redirect_uris: [`${mirotalkRp.baseURL}/callback`],
        post_logout_redirect_uris: [`${mirotalkRp.baseURL}/`],
        id_token_encrypted_response_alg: 'RSA-OAEP-256',
        id_token_encrypted_response_enc: 'A256CBC-HS512',
        jwks_uri: jwksUri,
      },
      {
        client_id: 'bookstack',
        client_secret: 'bookstack-secret',
        redirect_uris: [`${bookstackRp.baseURL}/callback`],
        extra_audiences: extraAudiences,
      },
    ],
    account: { sub: 'ada-sub-1', email: 'ada@example.test', name: 'Ada Lovelace', groups: ['admins', 'wiki-editors'] },
  });
  process.stdout.write(`idp: ${JSON.stringify(idp)}\n`);
  check('idp issuer is the pre-chosen port', idp.issuer === issuer, idp.issuer);

  // 4a. mirotalk: expected to fail at /callback.
  const miro = await runLogin({ rp: mirotalkRp.baseURL, username: 'ada', password: 'pw', refresh: false });
  process.stdout.write(`login mirotalk:  ${JSON.stringify(miro)}\n`);
  check('mirotalk login fails at the callback', miro.ok === false && miro.stage === 'callback', `stage=${miro.stage} status=${miro.status}`);
  check('mirotalk error is "encrypted JWTs cannot be decoded"', typeof miro.error === 'string' && miro.error.includes('encrypted JWTs cannot be decoded'), miro.error);
  check('IdP fetched the client JWKS over http on 127.0.0.1', jwksFetches > 0, `${jwksFetches} fetch(es)`);

  // 4b. bookstack: expected to succeed, with 5 audiences; then refresh.
  const book = await runLogin({ rp: bookstackRp.baseURL, username: 'ada', password: 'pw', refresh: true });
  const shown = book.ok
    ? {
      ok: true,
      me: { claims: book.me.claims, id_token: `${book.me.id_token.slice(0, 24)}…`, refresh_token: book.me.refresh_token ? '<present>' : null },
      refresh: book.refresh && { claims: book.refresh.claims, new_id_token: book.refresh.new_id_token },
    }
    : book;
  process.stdout.write(`login bookstack: ${JSON.stringify(shown)}\n`);
  check('bookstack login succeeds', book.ok === true, book.ok ? '' : `${book.stage}: ${book.error}`);
  if (book.ok) {
    const { claims } = book.me;
    check('bookstack aud is an array of 5', Array.isArray(claims.aud) && claims.aud.length === 5, JSON.stringify(claims.aud));
    check('bookstack aud[0] is the client id and azp is the client id', claims.aud?.[0] === 'bookstack' && claims.azp === 'bookstack', `azp=${claims.azp}`);
    check('ID token carries sub/email/name/groups', claims.sub === 'ada-sub-1' && claims.email === 'ada@example.test'
      && claims.name === 'Ada Lovelace' && JSON.stringify(claims.groups) === '["admins","wiki-editors"]');
    const header = JSON.parse(Buffer.from(book.me.id_token.split('.')[0], 'base64url').toString('utf8'));
    check('ID token is RS256 JWS', header.alg === 'RS256' && book.me.id_token.split('.').length === 3, JSON.stringify(header));
    check('refresh token issued', typeof book.me.refresh_token === 'string' && book.me.refresh_token.length > 0);
    const r = book.refresh;
    check('refresh returns a new ID token with 5 audiences', !!r && r.new_id_token === true
      && Array.isArray(r.claims?.aud) && r.claims.aud.length === 5
      && JSON.stringify(decodePayload(r.id_token).aud) === JSON.stringify(r.claims.aud), JSON.stringify(r?.claims?.aud));
  }
} catch (err) {
  check('harness', false, err.stack ?? String(err));
} finally {
  cleanup();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
process.stdout.write(`smoke: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
