// Loopback login (RFC 8252) against the emulator, the test playing the browser: fetch
// the authorize URL, follow its Location to the addon's listener on 127.0.0.1.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const wxa = require('..');
const { Client } = wxa;
const { useEmulator, browserGet } = require('./helpers');

const emu = useEmulator();

/** The browser's part: the authorize URL, then its redirect to the listener. */
async function browse(login, extra = '') {
  const auth = await browserGet(login.url + extra);
  assert.equal(auth.status, 302);
  assert.ok(auth.location.startsWith(`http://127.0.0.1:${login.port}/callback?`), auth.location);
  return { ...(await browserGet(auth.location)), redirect: auth.location };
}

/** Resolves true when nothing listens on the port any more. */
function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

test('startLoopbackLogin: url, the browser comes back, done resolves with the result', async () => {
  const client = new Client(emu.config());
  try {
    const login = client.startLoopbackLogin({ state: { window: 2 }, timeoutMs: 30000 });
    assert.ok(login instanceof wxa.LoopbackLogin);
    assert.ok(login.op > 0 && login.port > 0);
    const q = new URL(login.url).searchParams;
    assert.equal(q.get('redirect_uri'), `http://127.0.0.1:${login.port}/callback`);
    assert.equal(q.get('code_challenge_method'), 'S256');
    const page = await browse(login);
    assert.equal(page.status, 200);
    assert.match(page.body, /signed in/i);
    const r = await login.done;
    assert.deepEqual(r.state, { window: 2 });
    assert.ok(r.token instanceof wxa.Token && r.token.refresh_token);
    assert.ok(r.cleanUrl.startsWith(`http://127.0.0.1:${login.port}/callback`));
    assert.ok(!r.cleanUrl.includes('code='), r.cleanUrl);
    assert.equal(r.idTokenClaims, null);
    assert.equal(typeof r.orgId, 'string');
    assert.equal(client.token.access_token, r.token.access_token);
    const [sent] = await emu.requests('token');
    assert.equal(Object.fromEntries(sent.form).redirect_uri, q.get('redirect_uri'));
    assert.ok(await refused(login.port), 'the listener is closed once the login ended');
  } finally {
    client.close();
  }
});

test('a given port, openid, and C option names', async () => {
  const client = new Client(emu.config());
  try {
    const port = await freePort();
    const login = client.startLoopbackLogin({ port, scope: 'openid email', login_hint: 'emulated.user@example.com' });
    assert.equal(login.port, port);
    assert.equal(new URL(login.url).searchParams.get('login_hint'), 'emulated.user@example.com');
    assert.equal((await browse(login)).status, 200);
    const r = await login.done;
    assert.equal(r.idTokenClaims.email, 'emulated.user@example.com');
  } finally {
    client.close();
  }
});

test('stray requests and a forged state do not end it', async () => {
  const client = new Client(emu.config());
  try {
    const login = client.startLoopbackLogin();
    const auth = await browserGet(login.url);
    const base = `http://127.0.0.1:${login.port}`;
    assert.equal((await browserGet(`${base}/favicon.ico`)).status, 404);
    assert.equal((await browserGet(auth.location.replace('state=', 'state=AAAA'))).status, 400);
    assert.deepEqual(await emu.requests('token'), []);
    assert.equal((await browserGet(auth.location)).status, 200);
    assert.ok((await login.done).token.access_token);
  } finally {
    client.close();
  }
});

test('an error redirect, cancel, the login timeout, close', async () => {
  const client = new Client(emu.config());
  try {
    const denied = client.startLoopbackLogin();
    assert.equal((await browse(denied, '&force_error=access_denied')).status, 400);
    await assert.rejects(denied.done, (e) => e instanceof wxa.OAuthError && e.error === 'access_denied');

    const canceled = client.startLoopbackLogin();
    assert.equal(await refused(canceled.port), false);
    canceled.cancel();
    await assert.rejects(canceled.done, wxa.CanceledError);
    assert.ok(await refused(canceled.port));
    canceled.cancel(); // a no-op once ended

    const slow = client.startLoopbackLogin({ timeoutMs: 200 });
    await assert.rejects(slow.done, (e) => e instanceof wxa.TimeoutError && e.status === 'WXA_ERR_TIMEOUT' && /browser/.test(e.message));

    // Nobody awaits this one: closing the client must not leave an unhandled rejection.
    const dropped = client.startLoopbackLogin();
    const open = client.startLoopbackLogin();
    client.close();
    await assert.rejects(open.done, wxa.CanceledError);
    assert.ok(await refused(dropped.port));
    open.cancel(); // a no-op on a closed client
    assert.deepEqual(await emu.requests('token'), []);
  } finally {
    client.close();
  }
});

test('bad options throw synchronously', () => {
  const client = new Client(emu.config());
  try {
    assert.throws(() => client.startLoopbackLogin({ port: '8080' }), (e) => e instanceof wxa.InvalidArgumentError && /port/.test(e.message));
    assert.throws(() => client.startLoopbackLogin({ port: 70000 }), wxa.InvalidArgumentError);
    assert.throws(() => client.startLoopbackLogin({ timeoutMs: -1 }), wxa.InvalidArgumentError);
    assert.throws(() => client.startLoopbackLogin({ state: 'x' }), wxa.InvalidArgumentError);
    assert.throws(() => client.startLoopbackLogin({ loginHint: 'a', login_hint: 'b' }), wxa.InvalidArgumentError);
    assert.throws(() => client.startLoopbackLogin('x'), wxa.InvalidArgumentError);
  } finally {
    client.close();
  }
});
