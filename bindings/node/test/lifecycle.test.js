// Lifecycle: close with operations in flight, closed-client errors, memory over 1,000
// clients, the event loop (idle clients let the process exit, busy ones keep it alive).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const wxa = require('..');
const { Client } = wxa;
const { useEmulator, codeLogin, drained } = require('./helpers');

const PKG = path.resolve(__dirname, '..');

// A real gc() even without --expose-gc, so memory numbers mean something.
if (!global.gc) {
  require('node:v8').setFlagsFromString('--expose-gc');
  global.gc = require('node:vm').runInNewContext('gc');
}

const emu = useEmulator();

const ALL_EVENTS = [
  'done',
  'token:refresh',
  'unauthorized',
  'auth:error',
  'getUserCodeSuccess',
  'getUserCodeFailure',
  'authorizationPending',
  'authorizationSuccess',
  'authorizationFailure',
  'pollingCanceled',
  'logout',
  'jwt:refresh',
];

test('close with operations in flight: all reject CanceledError, no event after close returns', async () => {
  const client = new Client(emu.config());
  const seen = [];
  let closedAt = null;
  for (const name of ALL_EVENTS) {
    client.on(name, (p) => seen.push({ type: p.type, afterClose: closedAt !== null }));
  }
  await emu.admin('/_emulator/delay', { endpoint: 'token', delay_ms: 1500 });
  const ops = [client.clientCredentials(), client.clientCredentials(), client.clientCredentials()];
  const device = client.startDeviceLogin();
  await device.ready;
  const started = Date.now();
  client.close();
  closedAt = Date.now();
  assert.ok(closedAt - started < 1000, `close() returned in ${closedAt - started} ms without waiting for the server`);
  assert.equal(client.closed, true);
  for (const p of ops) await assert.rejects(p, (e) => e instanceof wxa.CanceledError && /closed/.test(e.message));
  await assert.rejects(device.done, wxa.CanceledError);
  // Every payload the engine queued before close() returned (the canceled operations'
  // `done`s, the device login's pollingCanceled) has reached JS once the addon's end
  // marker has: they were all dropped.
  await drained(client);
  assert.deepEqual(
    seen.filter((e) => e.afterClose),
    [],
  );
  client.close(); // idempotent
});

test('a closed client throws/rejects ClientClosedError everywhere', async () => {
  const client = new Client(emu.config());
  await codeLogin(client);
  client.close();
  const closed = (e) => e instanceof wxa.ClientClosedError && e instanceof wxa.InvalidArgumentError && /closed/.test(e.message);
  assert.throws(() => client.initiateLogin(), closed);
  assert.throws(() => client.token, closed);
  assert.throws(() => client.setToken({ access_token: 'x' }), closed);
  assert.throws(() => client.startDeviceLogin(), closed);
  assert.throws(() => client.cancel(1), closed);
  await assert.rejects(client.handleRedirect('http://127.0.0.1/callback?code=a&state=b'), closed);
  await assert.rejects(client.exchangeCode('x'), closed);
  await assert.rejects(client.refresh(), closed);
  await assert.rejects(client.getValidToken(), closed);
  await assert.rejects(client.clientCredentials(), closed);
  await assert.rejects(client.logout(), closed);
  await assert.rejects(client.loginWithJwt('a.b.c'), closed);
  await assert.rejects(client.tokenRejected('a'), closed);
  await assert.rejects(client.whoami(), closed);
  await assert.rejects(client.serviceAppToken({ targetOrgId: 'o', authorizingToken: 't' }), closed);
  await assert.rejects(client.createGuest({ subject: 's' }), closed);
  assert.throws(() => client.startLoopbackLogin(), closed);
});

test('close from inside an event listener does not deadlock and stops further events', async () => {
  const client = new Client(emu.config());
  const after = [];
  let closing = false;
  const done = new Promise((resolve) => {
    client.on('token:refresh', () => {
      closing = true;
      client.close();
      resolve();
    });
  });
  client.on('done', (p) => {
    if (closing) after.push(p);
  });
  const p = client.clientCredentials();
  await done;
  // The operation had finished in the engine (its done was queued) but JS had not seen
  // it: the Promise rejects as canceled-by-close and no done event is emitted.
  await assert.rejects(p, wxa.CanceledError);
  await drained(client);
  assert.deepEqual(after, []);
});

test('1,000 clients opened and closed: flat memory', async (t) => {
  const gc = global.gc;
  const round = async (n) => {
    const closing = [];
    for (let i = 0; i < n; i++) {
      const c = new Client(emu.config());
      c.on('token:refresh', () => {});
      c.initiateLogin({ state: { i } });
      c.setToken({ access_token: `token-${i}`, expires_in: 3600, refresh_token: `r-${i}` });
      c.close();
      closing.push(drained(c));
    }
    await Promise.all(closing); // every queued thread-safe call has been delivered
    gc();
  };
  await round(1000); // warm-up: runtime threads, allocator arenas, JIT, V8 heap sizing
  const before = process.memoryUsage().rss;
  await round(1000);
  await round(1000);
  gc();
  const grown = process.memoryUsage().rss - before;
  t.diagnostic(`rss growth over 2,000 clients after warm-up: ${(grown / 1048576).toFixed(1)} MB`);
  assert.ok(grown < 20 * 1024 * 1024, `rss grew ${(grown / 1048576).toFixed(1)} MB over 2,000 clients`);
});

test('clients dropped without close() are collected', async () => {
  const finalized = [];
  const registry = new FinalizationRegistry((i) => finalized.push(i));
  (() => {
    for (let i = 0; i < 50; i++) registry.register(new Client(emu.config()), i);
  })();
  // Finalization callbacks run as tasks of the event loop: collect, then give the loop
  // a turn, until they ran (bounded in turns, not in time).
  for (let turn = 0; turn < 200 && finalized.length < 50; turn++) {
    global.gc();
    await new Promise(setImmediate);
  }
  assert.ok(finalized.length >= 45, `${finalized.length} of 50 collected`);
});

/** Runs a Node script in a child process; resolves with { code, ms, stdout, stderr }. */
function runChild(source, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['-e', source], { cwd: PKG, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started, stdout, stderr });
    });
  });
}

test('an idle client does not keep the process alive', async () => {
  const src = `
    const { Client } = require(${JSON.stringify(PKG)});
    const c = new Client(${JSON.stringify(emu.config())});
    c.on('token:refresh', () => {});
    c.setToken({ access_token: 'abc', expires_in: 3600, refresh_token: 'r' });
    globalThis.keep = c;
    console.log('created');
  `;
  const r = await runChild(src, 10000);
  assert.equal(r.signal, null, `the child had to be killed: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'created');
  assert.ok(r.ms < 5000, `exited after ${r.ms} ms`);
});

test('an idle client after an operation does not keep the process alive either', async () => {
  const src = `
    const { Client } = require(${JSON.stringify(PKG)});
    const c = new Client(${JSON.stringify(emu.config())});
    globalThis.keep = c;
    c.clientCredentials().then((t) => console.log('token', typeof t.access_token));
  `;
  const r = await runChild(src, 10000);
  assert.equal(r.signal, null, `the child had to be killed: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'token string');
  assert.ok(r.ms < 5000, `exited after ${r.ms} ms`);
});

test('an operation in flight keeps the process alive until it settles', async () => {
  await emu.admin('/_emulator/delay', { endpoint: 'token', delay_ms: 1500 });
  // Nothing else holds the loop: no timer, no socket; only the pending operation.
  const src = `
    const { Client } = require(${JSON.stringify(PKG)});
    new Client(${JSON.stringify(emu.config())})
      .clientCredentials()
      .then((t) => console.log('settled', typeof t.access_token), (e) => console.log('failed', e.name));
  `;
  const r = await runChild(src, 15000);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'settled string');
  assert.ok(r.ms >= 1400, `waited for the operation (${r.ms} ms)`);
});

test('an event listener that throws: an uncaught exception, and the client keeps working', async () => {
  // In a child: node:test turns any uncaught exception into a test failure.
  const src = `
    const { Client } = require(${JSON.stringify(PKG)});
    const errors = [];
    let token;
    // Done when both operations resolved and both listener errors surfaced, in
    // whatever order the two arrive.
    const finish = () => {
      if (token === undefined || errors.length < 2) return;
      console.log(JSON.stringify({ token, errors }));
      c.close();
    };
    process.on('uncaughtException', (e) => {
      errors.push(e.message);
      finish();
    });
    const c = new Client(${JSON.stringify(emu.config())});
    c.on('token:refresh', () => { throw new Error('listener bug'); });
    c.clientCredentials()
      .then((t) => c.clientCredentials().then(() => t))
      .then((t) => {
        token = typeof t.access_token;
        finish();
      });
  `;
  const r = await runChild(src, 10000);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { token: 'string', errors: ['listener bug', 'listener bug'] });
});
