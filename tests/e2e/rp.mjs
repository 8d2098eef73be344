#!/usr/bin/env node
// Relying party: an express app using express-openid-connect, the library
// MiroTalk and many other Node apps use, for the tokenbridge e2e tests: 2.20
// (openid-client 4, what MiroTalk runs today) or 3.x (openid-client 6, which
// checks the authorization response's iss, RFC 9207).
//
// Usage: node rp.mjs '<config json>'
//
// Config:
//   {"port": 0, "issuerBaseURL": "http://127.0.0.1:N[/front/client]",
//    "clientID": "...", "clientSecret": "...", "baseURL": null,
//    "responseMode": "query"|"form_post",           // optional, default: query
//    "major": 2|3,                                  // optional, default: 2
//    "idpLogout": true|false}                       // optional, default: true
// baseURL null/absent => http://127.0.0.1:{actual port}. The redirect URI to
// register at the OP is {baseURL}/callback, the post-logout redirect URI
// {baseURL}/logged-out; with major 3, the back-channel logout URI is
// {baseURL}/backchannel-logout (backchannelLogout on, an in-memory store).
//
// It listens first and prints exactly one JSON line on stdout:
//   {"port":PORT,"baseURL":"http://127.0.0.1:PORT"}
// OIDC discovery is lazy: express-openid-connect only fetches
// {issuerBaseURL}/.well-known/openid-configuration on the first request that
// needs it (/login, /callback, refresh), and does not cache a failed attempt,
// so the OP may be started (and configured with the redirect URI) afterwards.
//
// Routes:
//   GET /login, GET|POST /callback, GET /logout  (express-openid-connect)
//   POST /backchannel-logout  (major 3: express-openid-connect's, 204 or 400)
//   GET /logged-out  200 {"logged_out":true}: where logout ends
//   GET /me       200 {"claims":{...},"id_token":"...","refresh_token":"..."|null}
//                 401 {"error":"not logged in"}
//   GET /refresh  200 {"id_token":"...","claims":{...}}  (after refresh grant)
//                 401 {"error":"not logged in"} | 500 {"error":"<message>"}
//   any error     500 {"error":"<err.message>"} (e.g. "encrypted JWTs cannot be decoded")

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';

import express from 'express';
import eoc2 from 'express-openid-connect';
import eoc3 from 'express-openid-connect-3';

function fail(msg) {
  process.stderr.write(`rp.mjs: ${msg}\n`);
  process.exit(2);
}

let config;
try {
  config = JSON.parse(process.argv[2] ?? '');
} catch (err) {
  fail(`first argument must be the JSON config (${err.message})`);
}
for (const key of ['issuerBaseURL', 'clientID', 'clientSecret']) {
  if (typeof config[key] !== 'string' || !config[key]) fail(`config.${key} is required`);
}
const major = config.major ?? 2;
if (major !== 2 && major !== 3) fail('config.major must be 2 or 3');
const { auth } = major === 3 ? eoc3 : eoc2;

// express-openid-connect 3's Back-Channel Logout keeps "this sid/sub was logged
// out" marks in a store (express-session's get/set/destroy); sessions stay in
// the cookie. On every request its isLoggedOut hook looks the session's sid and
// sub up there and drops the session if marked.
const logoutMarks = new Map();
const logoutStore = {
  async get(id) { return logoutMarks.get(id); },
  async set(id, value) { logoutMarks.set(id, value); },
  async destroy(id) { logoutMarks.delete(id); },
};

// Listen before configuring the auth middleware so that baseURL can carry the
// real port; requests are only handled once `app` is attached below.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const baseURL = config.baseURL || `http://127.0.0.1:${port}`;

function decodeJwtPayload(jwt) {
  const parts = String(jwt).split('.');
  if (parts.length !== 3) {
    throw new Error(`expected a signed JWT (3 parts), got ${parts.length} parts`);
  }
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

const app = express();
app.set('etag', false);
// Answers about the session are never cached (a browser asks /me again after a logout).
app.use((_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
});

app.use(auth({
  issuerBaseURL: config.issuerBaseURL,
  baseURL,
  clientID: config.clientID,
  clientSecret: config.clientSecret,
  secret: randomBytes(32).toString('hex'),
  authRequired: false,
  // idpLogout: /logout sends the browser to the OP's end_session_endpoint with
  // the ID token as id_token_hint and {baseURL}/logged-out as
  // post_logout_redirect_uri (RP-Initiated Logout 1.0).
  idpLogout: config.idpLogout ?? true,
  routes: { postLogoutRedirect: '/logged-out' },
  ...(major === 3 ? { backchannelLogout: { store: logoutStore } } : {}),
  idTokenSigningAlg: 'RS256',
  // offline_access: oidc-provider silently drops it unless prompt=consent is
  // requested (harmless); the test IdP issues refresh tokens for code grants
  // regardless. response_mode: config.responseMode, else the default for
  // "code" (query).
  authorizationParams: {
    response_type: 'code',
    scope: 'openid email profile offline_access',
    ...(config.responseMode ? { response_mode: config.responseMode } : {}),
  },
  httpTimeout: 10000,
  enableTelemetry: false,
}));

app.get('/', (_req, res) => {
  res.json({ ok: true, baseURL });
});

app.get('/logged-out', (_req, res) => {
  res.json({ logged_out: true });
});

app.get('/me', (req, res) => {
  if (!req.oidc.isAuthenticated()) {
    res.status(401).json({ error: 'not logged in' });
    return;
  }
  res.json({
    claims: req.oidc.idTokenClaims,
    id_token: req.oidc.idToken,
    refresh_token: req.oidc.refreshToken ?? null,
  });
});

app.get('/refresh', async (req, res) => {
  if (!req.oidc.isAuthenticated()) {
    res.status(401).json({ error: 'not logged in' });
    return;
  }
  try {
    if (!req.oidc.accessToken) throw new Error('no access token in the session');
    if (!req.oidc.refreshToken) throw new Error('no refresh token in the session');
    const before = req.oidc.idToken;
    // refresh() runs the refresh_token grant through openid-client (which
    // validates/decodes any new ID token) and stores the new token set in the
    // session; the session's id_token is the new one (or the old one if the
    // OP sent none).
    await req.oidc.accessToken.refresh();
    const idToken = req.oidc.idToken;
    res.json({
      id_token: idToken,
      claims: decodeJwtPayload(idToken),
      new_id_token: idToken !== before,
      refresh_token: req.oidc.refreshToken ?? null,
    });
  } catch (err) {
    res.status(500).json({ error: err?.message ?? String(err) });
  }
});

// express-openid-connect reports callback failures (token endpoint errors,
// ID token validation errors such as "encrypted JWTs cannot be decoded" or
// audience/azp problems) by calling next(err).
// eslint-disable-next-line no-unused-vars
app.use((err, _req, res, _next) => {
  process.stderr.write(`rp.mjs: error: ${err?.stack ?? err}\n`);
  if (res.headersSent) return;
  res.status(500).json({ error: err?.message ?? String(err) });
});

server.on('request', app);

process.stdout.write(`${JSON.stringify({ port, baseURL, major })}\n`);

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
