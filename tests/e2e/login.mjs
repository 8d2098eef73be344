#!/usr/bin/env node
// Headless login driver: walks an express-openid-connect RP through an
// authorization-code login at an oidc-provider IdP (devInteractions pages),
// with no browser: Node's fetch, manual redirects, a small cookie jar and a
// small HTML form parser.
//
// Usage: node login.mjs '{"rp":"http://127.0.0.1:PORT","username":"ada","password":"pw","refresh":false}'
//
// Prints exactly one JSON line on stdout and exits 0:
//   {"ok":true,"me":{claims,id_token,refresh_token},"refresh":{...}|null}
//   {"ok":false,"stage":"...","status":N,"error":"<message or body>"}
// stages: "login" (GET {rp}/login), "idp" (IdP pages/redirects), "callback"
// (the RP's /callback), "me", "refresh". A non-zero exit code means a bug in
// this harness (bad arguments, unexpected exception).
//
// Direct mode: the driver is the relying party itself, a bare OAuth client
// (state, nonce, PKCE S256, client_secret_basic), and returns the IdP's token
// response untouched:
//   node login.mjs '{"idp":ISSUER,"client_id","client_secret","redirect_uri"}'
//   -> {"ok":true,"tokens":{id_token,access_token,...},"nonce":"..."}
// The redirect to redirect_uri is read, never followed.

import { createHash, randomBytes } from 'node:crypto';
import process from 'node:process';

const MAX_STEPS = 20; // redirects + form posts, per flow
const TIMEOUT_MS = 15000; // per HTTP request

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

class Failure extends Error {
  constructor(stage, status, error) {
    super(error);
    this.stage = stage;
    this.status = status;
  }
}

// --- cookie jar (per host:port, honours Path, Max-Age/Expires deletion) -------
class CookieJar {
  constructor() {
    this.jars = new Map(); // host -> Map(name + '\0' + path -> {name, value, path, expires})
  }

  store(url, response) {
    const { host } = new URL(url);
    const list = typeof response.headers.getSetCookie === 'function'
      ? response.headers.getSetCookie()
      : [];
    if (!list.length) return;
    const jar = this.jars.get(host) ?? new Map();
    this.jars.set(host, jar);
    for (const line of list) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expires = null;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const key = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i === -1 ? '' : attr.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'max-age') expires = Date.now() + Number(val) * 1000;
        else if (key === 'expires' && expires === null) {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
        }
      }
      const key = `${name}\0${path}`;
      if (expires !== null && expires <= Date.now()) jar.delete(key);
      else jar.set(key, { name, value, path, expires });
    }
  }

  header(url) {
    const { host, pathname } = new URL(url);
    const jar = this.jars.get(host);
    if (!jar) return undefined;
    const now = Date.now();
    const matches = [];
    for (const [key, c] of jar) {
      if (c.expires !== null && c.expires <= now) {
        jar.delete(key);
        continue;
      }
      const p = c.path;
      if (pathname === p || (pathname.startsWith(p) && (p.endsWith('/') || pathname[p.length] === '/'))) {
        matches.push(c);
      }
    }
    matches.sort((a, b) => b.path.length - a.path.length); // RFC 6265 order
    return matches.length ? matches.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

// --- tiny HTML form parser ----------------------------------------------------
function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function parseAttrs(tag) {
  const attrs = {};
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  const body = tag.replace(/^<\s*\w+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(body)) !== null) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function parseForms(html) {
  const forms = [];
  const formRe = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
  let m;
  while ((m = formRe.exec(html)) !== null) {
    const openTag = m[0].match(/^<form\b[^>]*>/i)[0];
    const attrs = parseAttrs(openTag);
    const inputs = [];
    const inputRe = /<input\b[^>]*>/gi;
    let im;
    while ((im = inputRe.exec(m[1])) !== null) inputs.push(parseAttrs(im[0]));
    forms.push({
      action: attrs.action ?? '',
      method: (attrs.method ?? 'get').toLowerCase(),
      inputs,
    });
  }
  return forms;
}

function fillForm(form, { username, password }) {
  const body = new URLSearchParams();
  for (const input of form.inputs) {
    if (!input.name) continue;
    const type = (input.type ?? 'text').toLowerCase();
    if (type === 'password') body.append(input.name, password);
    else if (['text', 'email'].includes(type) && /login|user|email|name/i.test(input.name)) {
      body.append(input.name, input.value || username);
    } else if (['checkbox', 'radio'].includes(type)) {
      if ('checked' in input) body.append(input.name, input.value || 'on');
    } else if (!['submit', 'button', 'image', 'reset', 'file'].includes(type)) {
      body.append(input.name, input.value ?? '');
    }
  }
  return body;
}

function snippet(text, max = 2000) {
  const s = String(text ?? '');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function errorFromBody(text) {
  try {
    const json = JSON.parse(text);
    if (json && typeof json === 'object') {
      if (typeof json.error === 'string' && json.error_description) {
        return `${json.error}: ${json.error_description}`;
      }
      if (typeof json.error === 'string') return json.error;
    }
  } catch { /* not JSON */ }
  // oidc-provider's HTML error page: pull out the visible error text.
  const pre = text.match(/<pre>([\s\S]*?)<\/pre>/i);
  if (pre) return decodeEntities(pre[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
  return snippet(text);
}

// --- HTTP with manual redirects -------------------------------------------------
const jar = new CookieJar();

async function request(url, { method = 'GET', body, stage } = {}) {
  const headers = { accept: 'text/html,application/json;q=0.9,*/*;q=0.8' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body ? body.toString() : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new Failure(stage, 0, `${method} ${url}: ${err.cause?.message ?? err.message}`);
  }
  jar.store(url, res);
  const text = await res.text();
  return { url, status: res.status, location: res.headers.get('location'), text };
}

function stageFor(url, rpOrigin) {
  const u = new URL(url);
  if (u.origin !== rpOrigin) return 'idp';
  if (u.pathname === '/callback') return 'callback';
  if (u.pathname === '/login') return 'login';
  return 'rp';
}

// Follow a chain of redirects and HTML forms until we land on a non-redirect,
// non-form page of the RP (express-openid-connect redirects to returnTo, "/"
// by default, after /callback).
async function runLogin(rp, creds) {
  const rpOrigin = new URL(rp).origin;
  let next = { url: new URL('/login', rp).href, method: 'GET', body: undefined };
  let sawCallback = false;
  let idpError = null;
  const trail = [];

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const stage = stageFor(next.url, rpOrigin);
    if (stage === 'callback') sawCallback = true;
    const res = await request(next.url, { method: next.method, body: next.body, stage });
    trail.push(`${next.method} ${next.url} -> ${res.status}`);

    if (res.status >= 300 && res.status < 400 && res.location) {
      const target = new URL(res.location, res.url).href;
      const targetUrl = new URL(target);
      // The IdP redirected an OAuth error back to the RP: remember its words
      // in case the RP's error page loses them.
      if (stage === 'idp' && targetUrl.origin === rpOrigin && targetUrl.searchParams.has('error')) {
        idpError = [targetUrl.searchParams.get('error'), targetUrl.searchParams.get('error_description')]
          .filter(Boolean).join(': ');
      }
      next = { url: target, method: 'GET', body: undefined };
      continue;
    }

    if (res.status >= 400) {
      const msg = errorFromBody(res.text);
      throw new Failure(
        stage === 'rp' && sawCallback ? 'callback' : stage,
        res.status,
        idpError && !msg.includes(idpError) ? `${msg} (IdP: ${idpError})` : msg,
      );
    }

    // 2xx: a form to submit (login, consent, form_post response), or the end.
    const forms = parseForms(res.text);
    if (forms.length && stage === 'idp') {
      const form = forms[0];
      const action = new URL(form.action || res.url, res.url).href;
      const body = fillForm(form, creds);
      next = form.method === 'post'
        ? { url: action, method: 'POST', body }
        : { url: `${action.split('?')[0]}?${body}`, method: 'GET', body: undefined };
      continue;
    }

    if (stage === 'idp') {
      throw new Failure('idp', res.status, `unexpected IdP page without a form at ${res.url}: ${snippet(res.text, 500)}`);
    }
    if (!sawCallback) {
      throw new Failure(stage, res.status, `login flow ended at ${res.url} without reaching /callback: ${snippet(res.text, 500)}`);
    }
    return trail;
  }
  throw new Failure('idp', 0, `more than ${MAX_STEPS} redirects/forms: ${trail.join(' | ')}`);
}

async function getJson(url, stage) {
  const res = await request(url, { stage });
  let json;
  try {
    json = JSON.parse(res.text);
  } catch {
    throw new Failure(stage, res.status, `non-JSON answer: ${snippet(res.text, 500)}`);
  }
  if (res.status !== 200) {
    throw new Failure(stage, res.status, typeof json.error === 'string' ? json.error : JSON.stringify(json));
  }
  return json;
}

// --- direct mode: the driver is the RP ---------------------------------------------
function basicCredentials(clientId, clientSecret) {
  // RFC 6749 §2.3.1: each part form-urlencoded before base64.
  const encode = (part) => encodeURIComponent(part).replace(/%20/g, '+');
  return Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
}

async function runDirectLogin(args, creds) {
  const discovery = await getJson(new URL('/.well-known/openid-configuration', args.idp).href, 'idp');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: args.client_id,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: args.redirect_uri,
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let next = { url: authorize.href, method: 'GET', body: undefined };
  let callback = null;
  for (let step = 0; step < MAX_STEPS && !callback; step += 1) {
    const res = await request(next.url, { method: next.method, body: next.body, stage: 'idp' });
    if (res.status >= 300 && res.status < 400 && res.location) {
      const target = new URL(res.location, res.url);
      if (target.href.split('?')[0] === args.redirect_uri) callback = target;
      else next = { url: target.href, method: 'GET', body: undefined };
      continue;
    }
    if (res.status >= 400) throw new Failure('idp', res.status, errorFromBody(res.text));
    const [form] = parseForms(res.text);
    if (!form) throw new Failure('idp', res.status, `IdP page without a form at ${res.url}: ${snippet(res.text, 500)}`);
    const action = new URL(form.action || res.url, res.url).href;
    const body = fillForm(form, creds);
    next = form.method === 'post'
      ? { url: action, method: 'POST', body }
      : { url: `${action.split('?')[0]}?${body}`, method: 'GET', body: undefined };
  }
  if (!callback) throw new Failure('idp', 0, `no redirect to ${args.redirect_uri} within ${MAX_STEPS} steps`);
  const params = callback.searchParams;
  if (params.has('error')) throw new Failure('callback', 0, `${params.get('error')}: ${params.get('error_description')}`);
  if (params.get('state') !== state) throw new Failure('callback', 0, 'state mismatch');

  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${basicCredentials(args.client_id, args.client_secret)}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: args.redirect_uri,
      code_verifier: verifier,
    }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Failure('token', res.status, errorFromBody(text));
  return { tokens: JSON.parse(text), nonce };
}

// --- main -----------------------------------------------------------------------
let args;
try {
  args = JSON.parse(process.argv[2] ?? '');
  const base = args.idp ?? args.rp;
  if (typeof base !== 'string') throw new Error('"rp" or "idp" is required');
  new URL(base); // eslint-disable-line no-new
} catch (err) {
  process.stderr.write(`login.mjs: first argument must be the JSON args (${err.message})\n`);
  process.exit(2);
}
const creds = { username: args.username ?? 'ada', password: args.password ?? 'pw' };

if (args.idp) {
  try {
    out({ ok: true, ...(await runDirectLogin(args, creds)) });
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    out({ ok: false, stage: err.stage, status: err.status, error: err.message });
  }
  process.exit(0);
}

try {
  await runLogin(args.rp, creds);
  const me = await getJson(new URL('/me', args.rp).href, 'me');
  let refresh = null;
  if (args.refresh) {
    // JWTs carry whole-second iat/exp and RS256 is deterministic: a refresh in
    // the same second as the login can yield a byte-identical ID token. Wait
    // for the next second so a newly issued ID token is always distinguishable
    // (the RP reports new_id_token).
    await new Promise((resolve) => { setTimeout(resolve, 1000 - (Date.now() % 1000) + 20); });
    refresh = await getJson(new URL('/refresh', args.rp).href, 'refresh');
  }
  out({ ok: true, me, refresh });
} catch (err) {
  if (!(err instanceof Failure)) throw err; // harness bug: non-zero exit
  out({ ok: false, stage: err.stage, status: err.status, error: err.message });
}
process.exit(0);
