// The emulator's pages in a real browser: headless Chromium (the system's, never a
// downloaded one) driven by playwright-core, with the engine on the other side through
// its Node binding. A person's view of a login: the consent page of the authorize URL
// the engine built, the app's redirect with a code the engine exchanges; the device
// verification page where the code is typed and the waiting device login completes.
// Each page is saved as a screenshot under target/browser-screenshots/.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');
const { startEmulator } = require('../sdk/emulator');

const ROOT = path.resolve(__dirname, '..', '..');
const wxa = require(path.join(ROOT, 'bindings', 'node'));

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'browser-screenshots');
const CLIENT_ID = 'browser-app';
const CLIENT_SECRET = 'browser-secret';

/** The app's own page: the redirect lands here and the engine finishes the login. */
class App {
  constructor() {
    this.client = null;
    this.results = [];
    this.server = http.createServer((req, res) => this.callback(req, res));
  }

  listen() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
  }

  async callback(req, res) {
    const url = `http://127.0.0.1:${this.server.address().port}${req.url}`;
    // The browser asks for /favicon.ico too: only the redirect is a login.
    if (new URL(url).pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    let body;
    try {
      const result = await this.client.handleRedirect(url);
      this.results.push({ ok: true, result });
      body = `<h1>Signed in</h1><p>The app holds a token for ${result.token.scope}.</p>`;
    } catch (error) {
      this.results.push({ ok: false, error });
      body = `<h1>Not signed in</h1><p>${error.error || error.status}</p>`;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>The app</title><main>${body}</main>`);
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

let emu;
let app;
let redirectUri;
let browser;
let profileDir;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  app = new App();
  redirectUri = `http://127.0.0.1:${await app.listen()}/callback`;
  emu = await startEmulator(['--client', `${CLIENT_ID}:${CLIENT_SECRET}:${redirectUri}`, '--device-interval', '1']);
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webex-auth-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 800, height: 700 },
  });
});

after(async () => {
  await browser?.close();
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  await emu?.stop();
  await app?.close();
});

function engine() {
  const client = new wxa.Client({
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uri: redirectUri,
    scope: 'spark:all spark:kms',
    webex_api_url: `${emu.base}/v1`,
    idbroker_url: emu.base,
    timeout_ms: 5000,
  });
  app.client = client;
  return client;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function peopleMe(token) {
  const res = await fetch(`${emu.base}/v1/people/me`, { headers: { authorization: `Bearer ${token}` } });
  return res.status === 200 ? res.json() : null;
}

test('consent page: Allow returns to the app with a code the engine exchanges', async () => {
  const client = engine();
  const page = await browser.newPage();
  try {
    await page.goto(client.initiateLogin({ state: { page: 'inbox' } }));
    assert.equal(await page.title(), 'Sign in with Webex');
    assert.equal((await page.textContent('h1')).trim(), `Allow ${CLIENT_ID} to use your Webex account?`);
    assert.deepEqual(await page.locator('li code').allTextContents(), ['spark:all', 'spark:kms']);
    assert.ok((await page.textContent('.note')).includes(redirectUri));
    await shot(page, 'consent');

    await Promise.all([page.waitForURL((u) => u.pathname === '/callback'), page.click('button[value=allow]')]);
    assert.equal((await page.textContent('h1')).trim(), 'Signed in');
    await shot(page, 'consent-allowed-app');
    const { ok, result } = app.results.at(-1);
    assert.ok(ok);
    assert.deepEqual(result.state, { page: 'inbox' });
    assert.equal((await peopleMe(result.token.access_token)).displayName, 'Emulated User');
    // The browser's own requests: the consent page, then its form's answer.
    const authorize = await emu.requests('authorize');
    assert.deepEqual(authorize.map((r) => [r.method, r.status]), [['GET', 200], ['POST', 302]]);
  } finally {
    await page.close();
    client.close();
  }
});

test('consent page: Deny returns access_denied to the app', async () => {
  const client = engine();
  const page = await browser.newPage();
  try {
    await page.goto(client.initiateLogin());
    await Promise.all([page.waitForURL((u) => u.pathname === '/callback'), page.click('button[value=deny]')]);
    assert.equal((await page.textContent('h1')).trim(), 'Not signed in');
    const { ok, error } = app.results.at(-1);
    assert.ok(!ok);
    assert.ok(error instanceof wxa.OAuthError, String(error));
    assert.equal(error.error, 'access_denied');
  } finally {
    await page.close();
    client.close();
  }
});

/** A phone-sized page, as when the QR code is scanned. */
async function phonePage() {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 390, height: 720 });
  return page;
}

test('verification page: type the code, approve, and the waiting device login completes', async () => {
  const client = engine();
  const login = client.startDeviceLogin();
  const page = await phonePage();
  try {
    await login.ready;
    await page.goto(login.verificationUri);
    assert.equal(await page.inputValue('#user_code'), '');
    await shot(page, 'verify-empty');
    await page.fill('#user_code', login.userCode.toLowerCase());
    await shot(page, 'verify-typed');
    await page.click('button[value=approve]');
    assert.equal((await page.textContent('h1')).trim(), 'Device signed in');
    await shot(page, 'verify-approved');
    const token = await login.done;
    assert.equal((await peopleMe(token.access_token)).displayName, 'Emulated User');
  } finally {
    await page.close();
    client.close();
  }
});

test('verification page: the QR link fills the code in; deny fails the device login', async () => {
  const client = engine();
  const login = client.startDeviceLogin();
  const page = await phonePage();
  try {
    await login.ready;
    await page.goto(login.verificationUriComplete);
    assert.equal(await page.inputValue('#user_code'), login.userCode);
    await shot(page, 'verify-from-qr');
    await page.click('button[value=deny]');
    assert.equal((await page.textContent('h1')).trim(), 'Request denied');
    await shot(page, 'verify-denied');
    await assert.rejects(login.done, (e) => e instanceof wxa.OAuthError && e.error === 'access_denied');
  } finally {
    await page.close();
    client.close();
  }
});

test('verification page: a wrong code is shown again with the reason', async () => {
  const page = await phonePage();
  try {
    await page.goto(`${emu.base}/v1/device/verify`);
    await page.fill('#user_code', 'BCDF-GHJK');
    await page.click('button[value=approve]');
    assert.match(await page.textContent('[role=alert]'), /unknown, expired or already used/);
    assert.equal(await page.inputValue('#user_code'), 'BCDF-GHJK');
    await shot(page, 'verify-unknown-code');
  } finally {
    await page.close();
  }
});
