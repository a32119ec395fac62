// Device (QR) login: events in order, ready/done, QR rendering, cancel.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');

const wxa = require('..');
const { Client, DeviceLogin } = wxa;
const { useEmulator } = require('./helpers');

const emu = useEmulator();

const DEVICE_EVENTS = [
  'getUserCodeSuccess',
  'getUserCodeFailure',
  'authorizationPending',
  'authorizationSuccess',
  'authorizationFailure',
  'pollingCanceled',
  'token:refresh',
  'auth:error',
  'done',
];

function record(client) {
  const seen = [];
  for (const name of DEVICE_EVENTS) client.on(name, (p) => seen.push(p));
  return seen;
}

test('device login: events in order, ready, approval, token', async () => {
  const client = new Client(emu.config());
  try {
    const seen = record(client);
    // First poll: a scripted 428 (pending); second: the real handler.
    await emu.script('device_token', [
      { status: 428, body: { message: 'authorization pending', errors: [{ description: 'authorization pending' }] } },
      { passthrough: true },
    ]);
    const login = client.startDeviceLogin();
    assert.ok(login instanceof DeviceLogin);
    assert.equal(typeof login.op, 'number');
    assert.equal(login.userCode, null, 'nothing before ready');
    assert.throws(() => login.qrText(), wxa.InvalidArgumentError);

    const same = await login.ready;
    assert.equal(same, login);
    assert.match(login.userCode, /\S+/);
    assert.ok(login.verificationUri.startsWith(emu.base));
    assert.ok(login.verificationUriComplete.includes(encodeURIComponent(login.userCode)) || login.verificationUriComplete.includes(login.userCode));
    assert.equal(login.interval, 1);
    assert.equal(typeof login.expiresIn, 'number');
    assert.ok(login.qrText().split('\n').length > 10);
    assert.match(login.qrSvg(), /^<\?xml|<svg/);

    // Approve once the first pending answer came back.
    await new Promise((resolve) => client.once('authorizationPending', resolve));
    const approved = await emu.admin('/_emulator/device/approve', { user_code: login.userCode });
    assert.equal(approved.ok, true);

    const token = await login.done;
    assert.ok(token instanceof wxa.Token);
    assert.equal(typeof token.access_token, 'string');
    assert.equal(client.token.access_token, token.access_token);

    const types = seen.map((p) => p.type);
    assert.equal(types[0], 'getUserCodeSuccess');
    assert.ok(types.includes('authorizationPending'));
    const firstPending = types.indexOf('authorizationPending');
    const success = types.indexOf('authorizationSuccess');
    assert.ok(firstPending > 0 && success > firstPending, types.join(','));
    assert.ok(types.indexOf('token:refresh') > success, types.join(','));
    assert.equal(types.at(-1), 'done', 'done is last');
    assert.equal(types.filter((t) => t === 'done').length, 1);
    for (const t of ['getUserCodeFailure', 'authorizationFailure', 'pollingCanceled', 'auth:error']) {
      assert.ok(!types.includes(t), `no ${t}`);
    }
    for (const p of seen) assert.equal(p.op, login.op, `${p.type} carries the op`);
    assert.equal(seen[firstPending].interval, 1);
    assert.equal(seen[0].userCode, login.userCode);

    const polls = await emu.requests('device_token');
    assert.ok(polls.length >= 2, `polled ${polls.length} times`);
  } finally {
    client.close();
  }
});

test('device login: cancel -> pollingCanceled once, done rejects CanceledError', async () => {
  const client = new Client(emu.config());
  try {
    const seen = record(client);
    const login = client.startDeviceLogin();
    await login.ready;
    await new Promise((resolve) => client.once('authorizationPending', resolve));
    login.cancel();
    await assert.rejects(login.done, (e) => e instanceof wxa.CanceledError && e.status === 'WXA_ERR_CANCELED');
    // Nothing more may arrive: a later operation's `done` is a barrier (a client's events
    // reach JS in order), so anything the login queued after its own `done` would be in
    // `seen` by then. The barrier fails at once (no token), without a request.
    const polls = (await emu.requests('device_token')).length;
    await assert.rejects(client.refresh(), wxa.NotAuthorizedError);
    assert.equal((await emu.requests('device_token')).length, polls, 'no poll after the cancel');
    const types = seen.filter((p) => p.op === login.op).map((p) => p.type);
    assert.equal(types.filter((t) => t === 'pollingCanceled').length, 1, types.join(','));
    assert.ok(types.indexOf('pollingCanceled') < types.indexOf('done'), types.join(','));
    assert.equal(types.at(-1), 'done');
    assert.ok(!types.includes('authorizationFailure'));
    assert.ok(!types.includes('auth:error'), 'a cancel is not an auth error');
    assert.equal(client.token, null);
    // Canceling again is a no-op.
    login.cancel();
  } finally {
    client.close();
  }
});

test('device login: cancel before ready rejects ready too', async () => {
  const client = new Client(emu.config());
  try {
    await emu.admin('/_emulator/delay', { endpoint: 'device_authorize', delay_ms: 1000 });
    const login = client.startDeviceLogin();
    login.cancel();
    await assert.rejects(login.ready, wxa.CanceledError);
    await assert.rejects(login.done, wxa.CanceledError);
  } finally {
    await emu.admin('/_emulator/delay', { endpoint: 'device_authorize', delay_ms: 0 });
    client.close();
  }
});

test('device login: a denied login rejects done and emits authorizationFailure', async () => {
  const client = new Client(emu.config());
  try {
    const seen = record(client);
    const login = client.startDeviceLogin();
    await login.ready;
    const denied = await emu.admin('/_emulator/device/deny', { user_code: login.userCode });
    assert.equal(denied.ok, true);
    const err = await login.done.catch((e) => e);
    assert.ok(err instanceof wxa.WebexAuthError, String(err));
    const types = seen.map((p) => p.type);
    assert.ok(types.includes('authorizationFailure'), types.join(','));
    assert.equal(types.at(-1), 'done');
  } finally {
    client.close();
  }
});

test('device login: a second one while one runs fails with getUserCodeFailure', async () => {
  const client = new Client(emu.config());
  try {
    const seen = record(client);
    const first = client.startDeviceLogin();
    await first.ready;
    const second = client.startDeviceLogin();
    await assert.rejects(second.ready, wxa.InvalidArgumentError);
    await assert.rejects(second.done, wxa.InvalidArgumentError);
    assert.ok(seen.some((p) => p.type === 'getUserCodeFailure' && p.op === second.op));
    first.cancel();
    await assert.rejects(first.done, wxa.CanceledError);
  } finally {
    client.close();
  }
});

test('device login: getUserCodeFailure when the device authorize endpoint fails', async () => {
  const client = new Client(emu.config({ max_retries: 0 }));
  try {
    const seen = record(client);
    await emu.script('device_authorize', [{ status: 400, body: { error: 'invalid_client', error_description: 'nope' } }]);
    const login = client.startDeviceLogin();
    await assert.rejects(login.ready, wxa.InvalidClientError);
    await assert.rejects(login.done, wxa.InvalidClientError);
    assert.deepEqual(
      seen.map((p) => p.type).filter((t) => t !== 'auth:error'),
      ['getUserCodeFailure', 'done'],
    );
  } finally {
    client.close();
  }
});
