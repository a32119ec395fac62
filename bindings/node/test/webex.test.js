// Webex today against the emulator: Service App tokens, guests through a Service App,
// whoami (with its 401 -> refresh -> retry), FedRAMP's refusal of guests.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');

const wxa = require('..');
const { Client } = wxa;
const { useEmulator, withEmulator, codeLogin, header, SERVICE_APP } = require('./helpers');

const emu = useEmulator();

/** An integration's access token from a code login that asked for `scope`. */
async function integrationToken(emulator, scope = 'spark:applications_token') {
  const c = new Client(emulator.config());
  try {
    return (await codeLogin(c, { scope })).token.access_token;
  } finally {
    c.close();
  }
}

async function orgId(emulator) {
  return (await emulator.admin('/_emulator/info')).org_id;
}

test('serviceAppToken, then whoami and createGuest', async () => {
  const authorizing = await integrationToken(emu);
  const org = await orgId(emu);
  const app = new Client(emu.config(SERVICE_APP));
  try {
    const refreshed = [];
    app.on('token:refresh', (t) => refreshed.push(t));
    await emu.admin('/_emulator/clear_requests', {});

    const token = await app.serviceAppToken({ targetOrgId: org, authorizingToken: authorizing });
    assert.ok(token instanceof wxa.Token);
    assert.equal(typeof token.access_token, 'string');
    assert.notEqual(token.access_token, authorizing);
    assert.equal(typeof token.refresh_token, 'string');
    assert.match(token.scope, /guest-issuer:write/);
    assert.equal(token.store_error, undefined);
    assert.equal(app.token.access_token, token.access_token, 'the client token now');
    assert.equal(refreshed.at(-1).access_token, token.access_token);
    const [sent] = await emu.requests('application_token');
    assert.equal(header(sent, 'authorization'), `Bearer ${authorizing}`, "the integration's token, not the app's");
    assert.deepEqual(await emu.grants(), []);

    const me = await app.whoami();
    assert.equal(me.type, 'bot');
    assert.ok(me.id && me.orgId && me.displayName);
    assert.ok(Array.isArray(me.emails) && me.emails.length === 1);
    assert.equal(header((await emu.requests('people_me')).at(-1), 'authorization'), `Bearer ${token.access_token}`);

    const guest = await app.createGuest({ subject: 'visitor-1', displayName: 'Visitor One' });
    assert.ok(guest instanceof wxa.Guest);
    assert.deepEqual([guest.subject, guest.displayName, guest.expiresIn], ['visitor-1', 'Visitor One', 3600]);
    assert.ok(guest.id && guest.email && guest.accessToken);
    assert.ok(guest.expiresAt > Date.now());
    const shown = util.inspect(guest);
    assert.ok(!shown.includes(guest.accessToken) && /hidden/.test(shown) && /visitor-1/.test(shown), shown);
    assert.equal(app.token.access_token, token.access_token, "the app's own token stays");
    const [made] = await emu.requests('guests_token');
    assert.equal(header(made, 'authorization'), `Bearer ${token.access_token}`);
    assert.deepEqual(JSON.parse(made.body), { subject: 'visitor-1', displayName: 'Visitor One' });
    // The same subject again (C option names work too): the same guest, a new token.
    const again = await app.createGuest({ subject: 'visitor-1', display_name: 'Visitor One' });
    assert.equal(again.id, guest.id);
    assert.notEqual(again.accessToken, guest.accessToken);

    // Another client acts as the guest.
    const asGuest = new Client(emu.config());
    try {
      asGuest.setToken(guest.token);
      assert.equal((await asGuest.whoami()).type, 'appuser');
    } finally {
      asGuest.close();
    }

    // The Service App's token refreshes with the app's own credentials.
    await emu.admin('/_emulator/clear_requests', {});
    const renewed = await app.refresh();
    assert.notEqual(renewed.access_token, token.access_token);
    const [grant] = await emu.requests('token');
    assert.equal(header(grant, 'authorization'), `Basic ${Buffer.from('service-app:service-app-secret').toString('base64')}`);
  } finally {
    app.close();
  }
});

test('many guests and whoami at once', async () => {
  const authorizing = await integrationToken(emu);
  const app = new Client(emu.config(SERVICE_APP));
  try {
    await app.serviceAppToken({ target_org_id: await orgId(emu), authorizing_token: authorizing });
    const [me, ...guests] = await Promise.all([
      app.whoami(),
      ...Array.from({ length: 5 }, (_, i) => app.createGuest({ subject: `concurrent-${i}` })),
    ]);
    assert.equal(me.type, 'bot');
    assert.deepEqual(guests.map((g) => g.subject).sort(), [0, 1, 2, 3, 4].map((i) => `concurrent-${i}`));
    // No display name: the subject stands in (Webex requires one).
    for (const g of guests) assert.equal(g.displayName, g.subject);
  } finally {
    app.close();
  }
});

test('a Service App no admin authorized: HttpError 403 saying so', () =>
  withEmulator(async (own) => {
    const authorizing = await integrationToken(own);
    await own.admin('/_emulator/service_apps/authorize', { client_id: 'service-app', authorized: false });
    const app = new Client(own.config(SERVICE_APP));
    try {
      const authErrors = [];
      app.on('auth:error', (p) => authErrors.push(p));
      const err = await app.serviceAppToken({ targetOrgId: await orgId(own), authorizingToken: authorizing }).catch((e) => e);
      assert.ok(err instanceof wxa.HttpError, String(err));
      assert.deepEqual([err.status, err.code, err.httpStatus], ['WXA_ERR_HTTP', 5, 403]);
      assert.match(err.message, /Full Admin/);
      assert.ok(!err.message.includes(authorizing));
      assert.equal(app.token, null);
      assert.equal(authErrors[0].http_status, 403);
      await own.admin('/_emulator/service_apps/authorize', { client_id: 'service-app', authorized: true });
      assert.ok((await app.serviceAppToken({ targetOrgId: await orgId(own), authorizingToken: authorizing })).access_token);
    } finally {
      app.close();
    }
  }));

test('an authorizing token without spark:applications_token: 403', async () => {
  const plain = await integrationToken(emu, 'spark:all');
  const app = new Client(emu.config(SERVICE_APP));
  try {
    await assert.rejects(
      app.serviceAppToken({ targetOrgId: await orgId(emu), authorizingToken: plain }),
      (e) => e instanceof wxa.HttpError && e.httpStatus === 403 && /spark:applications_token/.test(e.message),
    );
  } finally {
    app.close();
  }
});

test('missing options reject with InvalidArgumentError and send nothing', async () => {
  const app = new Client(emu.config(SERVICE_APP));
  try {
    const cases = [
      [undefined, 'target_org_id'],
      [{}, 'target_org_id'],
      [{ targetOrgId: 'org' }, 'authorizing_token'],
      [{ authorizingToken: 'tok' }, 'target_org_id'],
      [{ targetOrgId: '', authorizingToken: 'tok' }, 'target_org_id'],
      [{ targetOrgId: 'org', authorizingToken: null }, 'authorizing_token'],
    ];
    for (const [opts, named] of cases) {
      const err = await app.serviceAppToken(opts).catch((e) => e);
      assert.ok(err instanceof wxa.InvalidArgumentError, `${JSON.stringify(opts)}: ${err}`);
      assert.ok(err.message.includes(named), `${JSON.stringify(opts)}: ${err.message}`);
    }
    await assert.rejects(app.serviceAppToken({ targetOrgId: 'o', authorizingToken: 't', colour: 'x' }), /colour/);
    await assert.rejects(app.serviceAppToken({ targetOrgId: 'o', target_org_id: 'o', authorizingToken: 't' }), wxa.InvalidArgumentError);
    await assert.rejects(app.serviceAppToken({ targetOrgId: 7, authorizingToken: 't' }), wxa.InvalidArgumentError);
    await assert.rejects(app.serviceAppToken('org'), wxa.InvalidArgumentError);
    for (const opts of [undefined, {}, { subject: '' }, { displayName: 'No Subject' }]) {
      await assert.rejects(app.createGuest(opts), (e) => e instanceof wxa.InvalidArgumentError && /subject/.test(e.message));
    }
    // No token at all: the API calls fail without a request.
    await assert.rejects(app.createGuest({ subject: 'someone' }), wxa.NotAuthorizedError);
    await assert.rejects(app.whoami(), wxa.NotAuthorizedError);
    for (const endpoint of ['application_token', 'guests_token', 'people_me', 'token']) {
      assert.deepEqual(await emu.requests(endpoint), [], `nothing sent to ${endpoint}`);
    }
  } finally {
    app.close();
  }
});

test('createGuest is refused on FedRAMP, nothing sent', async () => {
  const authorizing = await integrationToken(emu);
  const app = new Client(
    emu.config({ ...SERVICE_APP, environment: 'fedramp', webex_api_url: emu.fedrampApiUrl, idbroker_url: emu.fedrampIdbrokerUrl }),
  );
  try {
    const token = await app.serviceAppToken({ targetOrgId: await orgId(emu), authorizingToken: authorizing });
    assert.ok(token.access_token);
    assert.equal((await app.whoami()).type, 'bot');
    assert.match((await emu.requests('people_me')).at(-1).path, /^\/fedramp\//);
    await assert.rejects(app.createGuest({ subject: 'visitor' }), (e) => e instanceof wxa.InvalidArgumentError && /FedRAMP/.test(e.message));
    await assert.rejects(app.loginWithJwt('a.b.c'), wxa.InvalidArgumentError);
    assert.deepEqual(await emu.requests('guests_token'), []);
    assert.deepEqual(await emu.requests('jwt_login'), []);
  } finally {
    app.close();
  }
});

test('whoami after the access token expired at the server: one refresh, one retry', () =>
  withEmulator(async (own) => {
    const client = new Client(own.config());
    try {
      const { token: first } = await codeLogin(client);
      await own.admin('/_emulator/clear_requests', {});
      // The emulator's clock passes the access token's hour (not the refresh token's
      // 60 days); the engine still thinks it valid, so the first call gets a 401.
      await own.advanceClock(3700);
      const me = await client.whoami();
      assert.deepEqual([me.type, me.emails], ['person', ['emulated.user@example.com']]);
      const calls = await own.requests('people_me');
      assert.deepEqual(
        calls.map((r) => r.status),
        [401, 200],
      );
      assert.deepEqual(await own.grants(), ['refresh_token']);
      const now = client.token;
      assert.notEqual(now.access_token, first.access_token);
      assert.deepEqual(
        calls.map((r) => header(r, 'authorization')),
        [`Bearer ${first.access_token}`, `Bearer ${now.access_token}`],
      );
    } finally {
      client.close();
    }
  }));

test('whoami gives up after one retry', async () => {
  const client = new Client(emu.config());
  try {
    await codeLogin(client);
    await emu.admin('/_emulator/clear_requests', {});
    const unauthorized = { status: 401, body: { message: 'The request requires a valid access token set in the Authorization request header.' } };
    await emu.script('people_me', [unauthorized, unauthorized, unauthorized]);
    await assert.rejects(client.whoami(), (e) => e instanceof wxa.WebexAuthError && e.httpStatus === 401);
    assert.equal((await emu.requests('people_me')).length, 2);
    assert.deepEqual(await emu.grants(), ['refresh_token']);
  } finally {
    client.close();
  }
});
