// Each error class, produced by the real engine against a scripted emulator.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const wxa = require('..');
const { Client, WebexAuthError } = wxa;
const { useEmulator, authorize, codeLogin } = require('./helpers');

const emu = useEmulator();

/** Asserts the class, name, status and that it is a WebexAuthError and an Error. */
function isError(Cls, status, extra = {}) {
  return (e) => {
    assert.ok(e instanceof Cls, `expected ${Cls.name}, got ${e && e.name}: ${e && e.message}`);
    assert.ok(e instanceof WebexAuthError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, Cls.name);
    assert.equal(e.status, status);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    assert.ok(typeof e.stack === 'string' && e.stack.startsWith(Cls.name), e.stack);
    for (const [k, v] of Object.entries(extra)) assert.equal(e[k], v, k);
    return true;
  };
}

async function withClient(extra, fn) {
  const client = new Client(emu.config(extra));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

test('InvalidGrantError when a code is used twice', () =>
  withClient({}, async (client) => {
    const url = client.initiateLogin();
    const location = await authorize(url);
    await client.handleRedirect(location);
    const code = new URL(location).searchParams.get('code');
    await assert.rejects(
      client.exchangeCode(code),
      isError(wxa.InvalidGrantError, 'WXA_ERR_OAUTH', { error: 'invalid_grant', httpStatus: 400 }),
    );
  }));

test('InvalidGrantError (with tracking id and auth:error) after the refresh tokens expire', () =>
  withClient({}, async (client) => {
    await codeLogin(client);
    await emu.admin('/_emulator/expire_refresh_tokens', {});
    const authErrors = [];
    client.on('auth:error', (p) => authErrors.push(p));
    const err = await client.refresh().catch((e) => e);
    isError(wxa.InvalidGrantError, 'WXA_ERR_OAUTH', { error: 'invalid_grant', httpStatus: 400 })(err);
    assert.ok(err instanceof wxa.OAuthError, 'a subclass of OAuthError');
    assert.equal(typeof err.trackingId, 'string');
    assert.ok(err.trackingId.length > 0);
    assert.equal(err.code, 4);
    assert.equal(authErrors.length, 1);
    assert.equal(authErrors[0].error, 'invalid_grant');
  }));

test('InvalidClientError with a wrong secret', () =>
  withClient({ client_secret: 'wrong-secret' }, async (client) => {
    await assert.rejects(client.clientCredentials(), isError(wxa.InvalidClientError, 'WXA_ERR_OAUTH', { error: 'invalid_client' }));
  }));

test('InvalidRequestError / InvalidScopeError / UnauthorizedClientError / UnsupportedGrantTypeError from scripted answers', () =>
  withClient({ max_retries: 0 }, async (client) => {
    const cases = [
      ['invalid_request', wxa.InvalidRequestError],
      ['invalid_scope', wxa.InvalidScopeError],
      ['unauthorized_client', wxa.UnauthorizedClientError],
      ['unsupported_grant_type', wxa.UnsupportedGrantTypeError],
      ['some_new_error', wxa.OAuthError],
    ];
    for (const [code, Cls] of cases) {
      await emu.script('token', [{ status: 400, body: { error: code, error_description: `scripted ${code}` } }]);
      await assert.rejects(
        client.clientCredentials(),
        isError(Cls, 'WXA_ERR_OAUTH', { error: code, errorDescription: `scripted ${code}`, httpStatus: 400 }),
      );
    }
  }));

test('OAuthError for an error redirect (access_denied)', () =>
  withClient({}, async (client) => {
    const url = client.initiateLogin();
    const location = await authorize(`${url}&force_error=access_denied`);
    await assert.rejects(client.handleRedirect(location), isError(wxa.OAuthError, 'WXA_ERR_OAUTH', { error: 'access_denied' }));
  }));

test('StateMismatchError with a forged state rejects without touching the network', () =>
  withClient({}, async (client) => {
    const url = client.initiateLogin();
    const real = new URL(await authorize(url));
    const forged = new URL(real);
    forged.searchParams.set('state', Buffer.from('{"csrf_token":"forged"}').toString('base64url'));
    const p = client.handleRedirect(forged.href);
    assert.ok(p instanceof Promise, 'rejects, does not throw');
    await assert.rejects(p, isError(wxa.StateMismatchError, 'WXA_ERR_STATE_MISMATCH'));
    await assert.rejects(
      client.handleRedirect('http://127.0.0.1/callback?code=abc'),
      isError(wxa.StateMismatchError, 'WXA_ERR_STATE_MISMATCH'),
    );
    assert.equal((await emu.requests('token')).length, 0, 'nothing sent');
    // The real login is still pending and completes.
    const r = await client.handleRedirect(real.href);
    assert.ok(r.token.access_token);
  }));

test('HttpError for a malformed token answer', () =>
  withClient({ max_retries: 0 }, async (client) => {
    await emu.script('token', [{ status: 200, body: 'this is not json {' }]);
    await assert.rejects(client.clientCredentials(), isError(wxa.HttpError, 'WXA_ERR_HTTP'));
  }));

test('RateLimitedError after 429s with max_retries 0', () =>
  withClient({ max_retries: 0 }, async (client) => {
    await emu.script('token', [
      { status: 429, body: { message: 'slow down' }, headers: [['Retry-After', '1']] },
      { status: 429, body: { message: 'slow down' }, headers: [['Retry-After', '1']] },
    ]);
    await assert.rejects(client.clientCredentials(), isError(wxa.RateLimitedError, 'WXA_ERR_RATE_LIMITED', { httpStatus: 429 }));
  }));

test('TimeoutError with a delayed answer and a small timeout_ms', () =>
  withClient({ timeout_ms: 300, max_retries: 0 }, async (client) => {
    await emu.script('token', [{ status: 200, passthrough: true, delay_ms: 3000 }]);
    const started = Date.now();
    await assert.rejects(client.clientCredentials(), isError(wxa.TimeoutError, 'WXA_ERR_TIMEOUT'));
    assert.ok(Date.now() - started < 2500, 'gave up before the server answered');
  }));

test('NetworkError to a closed port', async () => {
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const client = new Client({ ...emu.config({ max_retries: 0 }), webex_api_url: `${base}/v1`, idbroker_url: base });
  try {
    await assert.rejects(client.clientCredentials(), isError(wxa.NetworkError, 'WXA_ERR_NETWORK'));
  } finally {
    client.close();
  }
});

test('NotAuthorizedError without a token', () =>
  withClient({}, async (client) => {
    await assert.rejects(client.refresh(), isError(wxa.NotAuthorizedError, 'WXA_ERR_NOT_AUTHORIZED'));
    await assert.rejects(client.getValidToken(0), isError(wxa.NotAuthorizedError, 'WXA_ERR_NOT_AUTHORIZED'));
  }));

test('InvalidArgumentError: bad config throws from the constructor, bad arguments throw or reject', async () => {
  assert.throws(() => new Client({ client_id: 'x', no_such_key: 1 }), isError(wxa.InvalidArgumentError, 'WXA_ERR_INVALID_ARGUMENT'));
  assert.throws(() => new Client({}), isError(wxa.InvalidArgumentError, 'WXA_ERR_INVALID_ARGUMENT'));
  assert.throws(() => new Client(null), isError(wxa.InvalidArgumentError, 'WXA_ERR_INVALID_ARGUMENT'));
  assert.throws(
    () => new Client({ client_id: 'x', webex_api_url: 'http://example.com/v1' }),
    (e) => e instanceof wxa.InvalidArgumentError && /http/.test(e.message),
    'plain http only to loopback',
  );
  await withClient({}, async (client) => {
    assert.throws(() => client.initiateLogin({ bogus_option: true }), wxa.InvalidArgumentError);
    assert.throws(() => client.initiateLogin('x'), wxa.InvalidArgumentError);
    await assert.rejects(client.handleRedirect('not a url'), isError(wxa.InvalidArgumentError, 'WXA_ERR_INVALID_ARGUMENT'));
    await assert.rejects(client.handleRedirect(42), wxa.InvalidArgumentError);
    await assert.rejects(client.exchangeCode(null), wxa.InvalidArgumentError);
    await assert.rejects(client.getValidToken(-1), wxa.InvalidArgumentError);
    await assert.rejects(client.loginWithJwt(''), wxa.WebexAuthError);
  });
});

test('config values of the wrong type: errors name the key, never the value', () => {
  const cases = [
    ['timeout_ms', '100', '100'],
    ['max_retries', '7391', '7391'],
    ['self_contained_token', '8317', '8317'],
    ['client_secret', 5551234, '5551234'],
    ['refresh_before_expiry_s', [4242], '4242'],
    ['scope', { s3cr3t: 1 }, 's3cr3t'],
    ['environment', 's3cr3t-cloud', 's3cr3t'],
    ['proxy', 'socks5://user:s3cr3t@proxy.example.com', 's3cr3t'],
  ];
  for (const [key, value, shown] of cases) {
    assert.throws(
      () => new Client(emu.config({ [key]: value })),
      (e) => e instanceof wxa.InvalidArgumentError && e.message.includes(key) && !e.message.includes(shown),
      `${key}: ${JSON.stringify(value)}`,
    );
  }
});

test('ExpiredError when a device code expires', () =>
  withClient({}, async (client) => {
    await emu.admin('/_emulator/config', { device_expires_in_s: 2, device_interval_s: 1 });
    try {
      const failures = [];
      client.on('authorizationFailure', (p) => failures.push(p));
      const login = client.startDeviceLogin();
      await login.ready;
      await assert.rejects(login.done, isError(wxa.ExpiredError, 'WXA_ERR_EXPIRED'));
      assert.equal(failures.length, 1);
      assert.equal(failures[0].status, 'WXA_ERR_EXPIRED');
    } finally {
      await emu.admin('/_emulator/config', { device_expires_in_s: 600, device_interval_s: 1 });
    }
  }));

test('errorFromResult maps the failure JSON of PAYLOADS.md', () => {
  const e = wxa.errorFromResult({
    ok: false,
    status: 'WXA_ERR_OAUTH',
    message: 'm',
    error: 'invalid_grant',
    error_description: 'd',
    http_status: 400,
    tracking_id: 't',
  });
  assert.ok(e instanceof wxa.InvalidGrantError);
  assert.deepEqual([e.message, e.error, e.errorDescription, e.httpStatus, e.trackingId], ['m', 'invalid_grant', 'd', 400, 't']);
  assert.ok(wxa.errorFromResult({ status: 'WXA_ERR_CANCELED', message: 'c' }) instanceof wxa.CanceledError);
  assert.ok(wxa.errorFromResult({ status: 'WXA_ERR_INTERNAL', message: 'c' }) instanceof wxa.InternalError);
  assert.equal(wxa.STATUS_NAMES[4], 'WXA_ERR_OAUTH');
});
