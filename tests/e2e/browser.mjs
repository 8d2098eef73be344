#!/usr/bin/env node
// Browser driver: a real Chromium (Debian's, through puppeteer-core) walks a
// person's session at an express-openid-connect RP: login through the IdP's
// devInteractions pages, the RP's /me, logout (idpLogout) with the IdP's
// logout prompt confirmed, the IdP's own end-session page. Cookies, redirects
// and SameSite are judged by the browser, not by this script.
//
// Usage: node browser.mjs '{"rp":"http://127.0.0.1:PORT","steps":[...],
//                           "username":"ada","password":"pw"}'
// Steps (run in order, in one fresh browser profile):
//   {"do":"login"}    GET {rp}/login, then fill/submit IdP pages until the
//                     browser is back at the RP (not /login, /callback)
//   {"do":"me"}       GET {rp}/me
//   {"do":"logout"}   GET {rp}/logout, confirm the IdP's prompt if shown,
//                     until the browser is back at the RP
//   {"do":"goto","url":"...","until":"http://origin-or-url-prefix"}
//                     GET url, confirm prompts, until the URL starts with
//                     `until` (default: the RP's origin)
//   {"do":"bookstack_logout","end_session_endpoint":"...","post_logout_redirect_uri":"..."}
//                     BookStack's OidcService::logout: GET end_session_endpoint
//                     ?id_token_hint=<the ID token of the last "me">
//                     &post_logout_redirect_uri=..., then as "goto" (until the
//                     post_logout_redirect_uri)
// Each step's result: {"do", "url" (final), "urls" (every URL the browser
// loaded, redirects included), "status" (of the final page), "body" (its
// text, cut at 4000 chars), "json" (parsed body or null), "asked_credentials"
// (a password form was filled), "prompts" (logout prompts confirmed)}.
//
// Prints exactly one JSON line on stdout and exits 0:
//   {"ok":true,"steps":[...]}
//   {"ok":false,"step":N,"error":"...","url":"...","body":"...","steps":[done so far]}
// Exit code != 0 only for harness bugs (bad arguments: 2).
//
// Bounds: every wait 15 s at most, the whole run 45 s (then it prints a failure
// and exits). Chromium is started with --remote-debugging-pipe, so it exits
// when this process dies, whatever kills it. Every request to a host other
// than 127.0.0.1/localhost is aborted (oidc-provider's pages import web fonts)
// and Chromium's own traffic goes to a dead loopback proxy: nothing leaves
// the machine.
//
// The browser: $PUPPETEER_EXECUTABLE_PATH, else /usr/bin/chromium.

import { existsSync } from 'node:fs';
import process from 'node:process';

import puppeteer from 'puppeteer-core';

const WAIT_MS = 15_000;
const RUN_MS = 45_000;
const MAX_PAGES = 12; // forms submitted per step
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

class Failure extends Error {}

// URLs in messages: long ones (an id_token_hint) cut.
const short = (url) => (url.length > 160 ? `${url.slice(0, 160)}…` : url);

let args;
try {
  args = JSON.parse(process.argv[2] ?? '');
  if (typeof args.rp !== 'string') throw new Error('"rp" is required');
  new URL(args.rp); // eslint-disable-line no-new
  if (!Array.isArray(args.steps)) throw new Error('"steps" must be an array');
} catch (err) {
  process.stderr.write(`browser.mjs: first argument must be the JSON args (${err.message})\n`);
  process.exit(2);
}
const rpOrigin = new URL(args.rp).origin;
const creds = { username: args.username ?? 'ada', password: args.password ?? 'pw' };
const executablePath = process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  out({ ok: false, step: -1, error: `no browser at ${executablePath}: install Debian's chromium (apt-get install chromium) or set PUPPETEER_EXECUTABLE_PATH`, steps: [] });
  process.exit(0);
}

const done = [];
let current = -1;
let browser;
let page;

async function finish(result) {
  out(result);
  try { await browser?.close(); } catch { /* already gone */ }
  process.exit(0);
}

const overall = setTimeout(() => {
  finish({ ok: false, step: current, error: `the run took longer than ${RUN_MS} ms`, url: page?.url() ?? null, steps: done });
}, RUN_MS);
overall.unref();

browser = await puppeteer.launch({
  executablePath,
  headless: true,
  pipe: true,
  timeout: WAIT_MS,
  protocolTimeout: WAIT_MS,
  args: [
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-domain-reliability',
    '--disable-sync',
    '--metrics-recording-only',
    // Loopback bypasses a proxy implicitly; everything else meets a closed port.
    '--proxy-server=http://127.0.0.1:9',
  ],
});
page = await browser.newPage();
page.setDefaultTimeout(WAIT_MS);
page.setDefaultNavigationTimeout(WAIT_MS);
// Every /me must reach the RP: no answer from the HTTP cache.
await page.setCacheEnabled(false);
await page.setRequestInterception(true);
const loaded = []; // main-frame URLs of this step, redirects included
page.on('request', (request) => {
  const { hostname } = new URL(request.url());
  if (!LOOPBACK.has(hostname) && !request.url().startsWith('data:')) {
    request.abort('blockedbyclient').catch(() => {});
    return;
  }
  // Chromium fetches /favicon.ico after a page loads, with the cookies of that moment; the
  // RP's rolling session answers it with a fresh session cookie, which can land after the
  // logout's deletion and bring the session back. A person is slower than the next step.
  if (new URL(request.url()).pathname === '/favicon.ico') {
    request.respond({ status: 404, body: '' }).catch(() => {});
    return;
  }
  if (request.isNavigationRequest() && request.frame() === page.mainFrame()) loaded.push(request.url());
  request.continue().catch(() => {});
});

// The page the browser shows now.
async function snapshot() {
  const body = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '');
  let json = null;
  try { json = JSON.parse(body); } catch { /* not JSON */ }
  return { url: page.url(), body: body.length > 4000 ? `${body.slice(0, 4000)}…` : body, json };
}

async function navigate(action) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: WAIT_MS }),
    action(),
  ]);
  return response;
}

// Acts on the IdP's pages until `isDone(url)`: the login form gets the
// credentials, a logout prompt its "Yes, sign me out", any other form (consent)
// is submitted as it is.
async function walk(first, isDone, result) {
  let response = await first();
  for (let i = 0; i < MAX_PAGES; i += 1) {
    const url = page.url();
    if (isDone(url)) {
      result.status = response?.status() ?? null;
      return;
    }
    if (new URL(url).origin === rpOrigin) {
      throw new Failure(`the browser stopped at the RP's ${short(url)} (status ${response?.status()})`);
    }
    if (await page.$('input[type=password]')) {
      await page.$eval('input[name=login]', (el) => { el.value = ''; }).catch(() => {});
      await page.type('input[name=login]', creds.username);
      await page.type('input[type=password]', creds.password);
      result.asked_credentials = true;
      response = await navigate(() => page.click('button[type=submit]'));
    } else if (await page.$('button[name=logout][value=yes]')) {
      result.prompts += 1;
      response = await navigate(() => page.click('button[name=logout][value=yes]'));
    } else if (await page.$('form button[type=submit], form input[type=submit]')) {
      response = await navigate(() => page.click('form button[type=submit], form input[type=submit]'));
    } else {
      throw new Failure(`a page without a form at ${short(url)} (status ${response?.status()})`);
    }
  }
  throw new Failure(`not done after ${MAX_PAGES} pages`);
}

const atRp = (url) => {
  const u = new URL(url);
  return u.origin === rpOrigin && !['/login', '/callback', '/logout'].includes(u.pathname);
};
const goto = (url) => () => page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });

async function run(step) {
  const result = { do: step.do, asked_credentials: false, prompts: 0 };
  loaded.length = 0;
  switch (step.do) {
    case 'login':
      await walk(goto(new URL('/login', args.rp).href), atRp, result);
      break;
    case 'me': {
      const response = await goto(new URL('/me', args.rp).href)();
      result.status = response?.status() ?? null;
      break;
    }
    case 'logout':
      await walk(goto(new URL('/logout', args.rp).href), atRp, result);
      break;
    case 'goto': {
      const until = step.until ?? rpOrigin;
      await walk(goto(step.url), (url) => url.startsWith(until), result);
      break;
    }
    case 'bookstack_logout': {
      // BookStack (app/Access/Oidc/OidcService.php, logout()): the end-session
      // URL from discovery with id_token_hint and post_logout_redirect_uri.
      const me = [...done].reverse().find((s) => s.do === 'me' && s.json?.id_token);
      if (!me) throw new Failure('bookstack_logout needs an earlier "me" with an id_token');
      const url = new URL(step.end_session_endpoint);
      url.searchParams.set('id_token_hint', me.json.id_token);
      url.searchParams.set('post_logout_redirect_uri', step.post_logout_redirect_uri);
      result.request = url.href;
      await walk(goto(url.href), (u) => u.startsWith(step.post_logout_redirect_uri), result);
      break;
    }
    default:
      throw new Failure(`unknown step ${JSON.stringify(step.do)}`);
  }
  result.urls = [...loaded];
  return { ...result, ...(await snapshot()) };
}

try {
  for (const [i, step] of args.steps.entries()) {
    current = i;
    done.push(await run(step));
  }
  clearTimeout(overall);
  await finish({ ok: true, steps: done });
} catch (err) {
  clearTimeout(overall);
  const shown = await snapshot().catch(() => ({}));
  await finish({
    ok: false, step: current, error: err.message, url: shown.url ? short(shown.url) : null,
    body: shown.body ?? null, urls: loaded.map(short), steps: done,
  });
}
