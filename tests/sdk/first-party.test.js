// The SDK's browser first-party plugin (@webex/plugin-authorization-browser-first-party)
// against the emulator: code flow with PKCE through the redirect, and QR-code (device)
// login through the oauth-helper service of the catalog. The plugin runs here in Node
// with a minimal `window` (location, sessionStorage, history): what it does over HTTP is
// what it does in a browser.
'use strict';

const { describe, test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');

const { quietSdkLogs, startEmulator, until } = require('./emulator');

/** The few parts of `window` the plugin touches. */
class FakeWindow {
  constructor(href) {
    this.location = { href };
    const items = new Map();
    this.sessionStorage = {
      getItem: (k) => (items.has(k) ? items.get(k) : null),
      setItem: (k, v) => items.set(k, String(v)),
      removeItem: (k) => items.delete(k),
    };
    this.history = { replaceState: (_state, _title, url) => (this.location = { href: url }) };
  }
}
global.window = new FakeWindow('http://127.0.0.1/');

quietSdkLogs();
const WebexCore = require('@webex/webex-core').default;
// The catalog code measures its requests through the metrics plugin; the `webex`
// bundle loads it, the first-party plugin alone does not.
require('@webex/internal-plugin-metrics');
require('@webex/plugin-authorization-browser-first-party');

let emu;
before(async () => {
  emu = await startEmulator();
});
after(() => emu.stop());
beforeEach(() => emu.reset());

/** A ready Webex instance of the public client, holding its preauth catalog. */
async function webexFor(clientId = 'public-client') {
  const config = await emu.sdkConfig(clientId);
  const webex = new WebexCore({ config: { ...config, logger: { level: 'error' } } });
  await new Promise((resolve) => webex.once('ready', resolve));
  await webex.internal.services.waitForCatalog('preauth', 10);
  return webex;
}

const form = (recorded) => Object.fromEntries(recorded.form);

test('code flow with PKCE: login URL, redirect back, exchange with the verifier', async () => {
  window.location = { href: 'http://127.0.0.1/' };
  const first = await webexFor();
  await first.authorization.initiateLogin({ state: { page: 'inbox' } });
  // The plugin navigates by assigning the login URL to window.location.
  const loginUrl = String(window.location);
  assert.ok(loginUrl.startsWith(`${emu.base}/idb/oauth2/v1/authorize?`), loginUrl);
  const challenge = new URL(loginUrl).searchParams.get('code_challenge');
  assert.equal(challenge.length, 43);

  const res = await fetch(loginUrl, { redirect: 'manual' });
  assert.equal(res.status, 302, await res.text());
  const redirect = res.headers.get('location');

  // Back on the app's page: a new SDK instance finds the code and finishes the login.
  window.location = { href: redirect };
  const second = await webexFor();
  await until(() => second.authorization.ready, 'the plugin to exchange the code');
  assert.ok(second.canAuthorize, 'the exchange gave a token');
  assert.ok(second.credentials.supertoken.refresh_token);
  assert.ok(!window.location.href.includes('code='), `the code is scrubbed from ${window.location.href}`);

  const exchange = (await emu.requests('token')).find((r) => form(r).grant_type === 'authorization_code');
  assert.equal(exchange.path, '/idb/oauth2/v1/access_token');
  assert.equal(exchange.status, 200);
  assert.equal(form(exchange).code_verifier.length, 128);
  // A public client's Basic as the SDK's Node HTTP layer sends it: "id:" (browsers: "id:undefined").
  const auth = exchange.headers.find(([k]) => k === 'authorization')[1];
  assert.equal(Buffer.from(auth.split(' ')[1], 'base64').toString(), 'public-client:');
  // The org id rode in the code's third `_` part to pick the preauth catalog.
  const orgCatalog = (await emu.requests('catalog')).find((r) => /orgId=emulator-org-0001/.test(r.query));
  assert.equal(orgCatalog?.status, 200);
});

// --- QR-code login -------------------------------------------------------------

/** Collects the plugin's qRCodeLogin events; `next(type)` resolves with the next
 * event of that type not handed out yet (waiting for it, bounded). */
function qrEvents(webex) {
  const seen = [];
  const handedOut = new Set();
  let wake = () => {};
  const listener = (event) => {
    seen.push(event);
    wake();
  };
  webex.authorization.eventEmitter.on('qRCodeLogin', listener);
  const next = async (type, ms = 15000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = seen.find((e) => e.eventType === type && !handedOut.has(e));
      if (found) {
        handedOut.add(found);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} within ${ms} ms; saw ${seen.map((e) => e.eventType)}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const stop = () => webex.authorization.eventEmitter.off('qRCodeLogin', listener);
  return { seen, next, stop };
}

describe('QR-code login', () => {
  let webex;
  let events;
  beforeEach(async () => {
    window.location = { href: 'http://127.0.0.1/' };
    webex = await webexFor();
    events = qrEvents(webex);
  });
  afterEach(() => {
    webex.authorization.cancelQRCodePolling(false);
    events.stop();
  });

  /** The verification page as the phone submits it. */
  async function decide(userCode, decision) {
    const res = await fetch(`${emu.base}/v1/device/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user_code: userCode, decision }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  test('QR login: pending, then approved on the verification page', async () => {
    webex.authorization.initQRCodeLogin();
    const { userData } = await events.next('getUserCodeSuccess');
    assert.match(userData.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(userData.verificationUri, `${emu.base}/v1/device/verify`);
    // The SDK rewrites the link to Webex's web app, reading our `userCode` parameter.
    const rewritten = new URL(userData.verificationUriComplete);
    assert.equal(rewritten.searchParams.get('usercode'), userData.userCode);
    assert.equal(rewritten.searchParams.get('oauthhelper'), webex.internal.services.get('oauth-helper'));

    await events.next('authorizationPending');
    await decide(userData.userCode, 'approve');
    const success = await events.next('authorizationSuccess');
    assert.ok(success.data.access_token);
    assert.ok(webex.canAuthorize);

    const [start] = await emu.requests('device_authorize');
    assert.equal(start.path, '/helperservice/v1/actions/device/authorize');
    const polls = await emu.requests('device_token');
    assert.ok(polls.every((p) => p.path === '/helperservice/v1/actions/device/token'));
    assert.deepEqual(polls.map((p) => p.status), [...Array(polls.length - 1).fill(428), 200]);
  });

  test('QR login: slow_down doubles the interval', async () => {
    await emu.script('device_token', [{ status: 400, body: { message: 'slow_down' } }, { passthrough: true }]);
    webex.authorization.initQRCodeLogin();
    const { userData } = await events.next('getUserCodeSuccess');
    await events.next('authorizationPending');
    await decide(userData.userCode, 'approve');
    await events.next('authorizationSuccess');
    const polls = await emu.requests('device_token');
    assert.equal(polls[0].status, 400);
    const gap = polls[1].at_ms - polls[0].at_ms;
    assert.ok(gap >= 1900, `the poll after slow_down waited ${gap} ms, not twice the 1 s interval`);
  });

  test('QR login: denied on the verification page', async () => {
    webex.authorization.initQRCodeLogin();
    const { userData } = await events.next('getUserCodeSuccess');
    await events.next('authorizationPending');
    await decide(userData.userCode, 'deny');
    const failure = await events.next('authorizationFailure');
    assert.equal(failure.data.error, 'access_denied');
    assert.ok(!webex.canAuthorize);
  });

  test('QR login: the code expires at the server', async () => {
    webex.authorization.initQRCodeLogin();
    await events.next('getUserCodeSuccess');
    await events.next('authorizationPending');
    await emu.advanceClock(601);
    const failure = await events.next('authorizationFailure');
    assert.equal(failure.data.error, 'expired_token');
  });

  test('QR login: the SDK gives up after expires_in', async () => {
    await emu.config({ device_expires_in_s: 1, device_interval_s: 5 });
    webex.authorization.initQRCodeLogin();
    await events.next('getUserCodeSuccess');
    const failure = await events.next('authorizationFailure');
    assert.equal(failure.data.message, 'Authorization timed out');
    assert.equal((await emu.requests('device_token')).length, 0, 'no poll before the 5 s interval');
  });

  test('QR login: cancel stops the polling', async () => {
    webex.authorization.initQRCodeLogin();
    const { userData } = await events.next('getUserCodeSuccess');
    await events.next('authorizationPending');
    webex.authorization.cancelQRCodePolling();
    await events.next('pollingCanceled');
    const polled = (await emu.requests('device_token')).length;
    await decide(userData.userCode, 'approve');
    // Nothing may happen now; give a would-be poll two intervals to show up.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    assert.equal((await emu.requests('device_token')).length, polled);
    assert.ok(!events.seen.some((e) => e.eventType === 'authorizationSuccess'));
  });
});
