// The official Webex JS SDK (@webex/webex-core + @webex/plugin-authorization-node)
// against the emulator, configured with base URLs only: every other path is the SDK's
// own default or comes from the emulator's U2C catalog.
'use strict';

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');

const { quietSdkLogs, startEmulator, until } = require('./emulator');

quietSdkLogs();
const WebexCore = require('@webex/webex-core').default;
require('@webex/plugin-authorization-node');

let emu;
before(async () => {
  emu = await startEmulator();
});
after(() => emu.stop());
beforeEach(() => emu.reset());

/** A Webex instance for `clientId`, ready and holding its preauth catalog. */
async function webexFor(clientId = 'test-client') {
  const config = await emu.sdkConfig(clientId);
  const webex = new WebexCore({ config: { ...config, logger: { level: 'error' } } });
  await new Promise((resolve) => webex.once('ready', resolve));
  await webex.internal.services.waitForCatalog('preauth', 10);
  return webex;
}

/** Follows the login URL like a browser with automatic consent; returns the code. */
async function authorizeCode(loginUrl) {
  const res = await fetch(loginUrl, { redirect: 'manual' });
  assert.equal(res.status, 302, await res.text());
  return new URL(res.headers.get('location')).searchParams.get('code');
}

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (recorded) => Object.fromEntries(recorded.form);

test('the catalog points the SDK at the identity broker paths', async () => {
  const webex = await webexFor();
  const { credentials } = webex.config;
  assert.equal(credentials.tokenUrl, `${emu.base}/idb/oauth2/v1/access_token`);
  assert.equal(credentials.authorizeUrl, `${emu.base}/idb/oauth2/v1/authorize`);
  assert.equal(credentials.logoutUrl, `${emu.base}/idb/oauth2/v1/logout`);
  assert.equal(webex.internal.services.get('hydra', true), `${emu.base}/v1/`);
  assert.match(webex.internal.services.get('oauth-helper', true), new RegExp(`^${emu.base}/`));
  const [catalog] = await emu.requests('catalog');
  assert.equal(catalog.path, '/u2c/api/v1/limited/catalog');
  assert.match(catalog.query, /mode=DEFAULT_BY_PROXIMITY/);
  assert.match(catalog.query, /format=hostmap/);
  assert.equal(catalog.headers.find(([k]) => k === 'authorization'), undefined, 'no auth on limited/catalog');
});

test('confidential code exchange, then the API with the token', async () => {
  const webex = await webexFor();
  const loginUrl = webex.credentials.buildLoginUrl({ clientType: 'confidential', state: { page: 'home' } });
  assert.ok(loginUrl.startsWith(`${emu.base}/idb/oauth2/v1/authorize?`), loginUrl);
  const code = await authorizeCode(loginUrl);
  await webex.authorization.requestAuthorizationCodeGrant({ code });
  assert.ok(webex.canAuthorize);
  const { supertoken } = webex.credentials;
  assert.ok(supertoken.refresh_token);
  assert.equal(webex.credentials.getOrgId(), 'emulator-org-0001');

  const [exchange] = await emu.requests('token');
  assert.equal(exchange.path, '/idb/oauth2/v1/access_token');
  assert.deepEqual(form(exchange), {
    grant_type: 'authorization_code',
    redirect_uri: 'http://127.0.0.1/callback',
    code,
    self_contained_token: 'true',
  });
  assert.equal(exchange.headers.find(([k]) => k === 'authorization')[1], basic('test-client', 'test-secret'));

  const me = await webex.request({ service: 'hydra', resource: 'people/me' });
  assert.equal(me.body.displayName, 'Emulated User');
  const [peopleMe] = await emu.requests('people_me');
  assert.equal(peopleMe.headers.find(([k]) => k === 'authorization')[1], `Bearer ${supertoken.access_token}`);
});

test('refresh, and a refresh token past its life', async () => {
  const webex = await webexFor();
  await webex.authorization.requestAuthorizationCodeGrant({
    code: await authorizeCode(webex.credentials.buildLoginUrl({ clientType: 'confidential' })),
  });
  const before = webex.credentials.supertoken;
  await webex.credentials.refresh();
  const after = webex.credentials.supertoken;
  assert.notEqual(after.access_token, before.access_token);
  assert.equal(after.refresh_token, before.refresh_token, 'Webex does not rotate refresh tokens');
  const refresh = (await emu.requests('token')).at(-1);
  assert.deepEqual(form(refresh), {
    grant_type: 'refresh_token',
    redirect_uri: 'http://127.0.0.1/callback',
    refresh_token: before.refresh_token,
  });

  await emu.advanceClock(60 * 24 * 3600 + 1);
  const invalidated = new Promise((resolve) => webex.once('client:InvalidRequestError', resolve));
  await assert.rejects(webex.credentials.refresh(), (e) => e.name === 'InvalidGrantError' || /invalid_grant/.test(e.message));
  await invalidated;
  assert.equal(webex.credentials.supertoken, undefined);
});

test('client credentials', async () => {
  const webex = await webexFor();
  const token = await webex.credentials.getClientToken();
  assert.match(token.toString(), /^Bearer \S+_PF84_emulator-org-0001$/);
  const [request] = await emu.requests('token');
  assert.deepEqual(form(request), { grant_type: 'client_credentials', scope: 'webexsquare:admin', self_contained_token: 'true' });
  // The SDK's user validation reads the sign-in catalog with such a token.
  await webex.internal.services.collectSigninCatalog({ email: 'someone@example.com', token: token.toString() });
  const signin = (await emu.requests('catalog')).find((r) => r.path.endsWith('/signin/catalog'));
  assert.equal(signin.status, 200);
  assert.match(signin.query, /emailhash=[0-9a-f]{64}/);
});

test('guest JWT login, then the catalogs with the guest token', async () => {
  const webex = await webexFor();
  const info = await emu.info();
  const { jwt } = await webex.authorization.createJwt({
    issuer: info.guest_issuer,
    secretId: info.guest_secret_b64,
    displayName: 'Guest of the SDK',
    expiresIn: '1h',
  });
  await webex.authorization.requestAccessTokenFromJwt({ jwt });
  assert.ok(webex.canAuthorize);
  assert.ok(webex.credentials.isUnverifiedGuest);
  assert.equal(webex.credentials.getOrgId(), 'emulator-org-0001');

  const [login] = await emu.requests('jwt_login');
  assert.equal(login.path, '/v1/jwt/login');
  assert.equal(login.headers.find(([k]) => k === 'authorization')[1], jwt);
  const catalogs = await until(async () => {
    const all = await emu.requests('catalog');
    return all.length >= 3 && all;
  }, 'the guest catalogs');
  const orgCatalog = catalogs.find((r) => /orgId=emulator-org-0001/.test(r.query));
  assert.equal(orgCatalog.status, 200);
  const postauth = catalogs.find((r) => r.path === '/u2c/api/v1/catalog');
  assert.equal(postauth.status, 200);
  const token = webex.credentials.supertoken.access_token;
  assert.equal(postauth.headers.find(([k]) => k === 'authorization')[1], `Bearer ${token}`);

  const me = await webex.request({ service: 'hydra', resource: 'people/me' });
  assert.equal(me.body.displayName, 'Guest of the SDK');
});

// The plugin's logout while the token is still held. (`webex.logout()` clears the
// token first, and the SDK's own auth interceptor then refuses to send a request to a
// catalog host without one: its logout request never leaves, against Webex too.)
test('logout ends the grant at the identity broker', async () => {
  const webex = await webexFor();
  await webex.authorization.requestAuthorizationCodeGrant({
    code: await authorizeCode(webex.credentials.buildLoginUrl({ clientType: 'confidential' })),
  });
  const { access_token: access, refresh_token: refresh } = webex.credentials.supertoken;
  webex.authorization.logout({ token: refresh });
  const [logout] = await until(async () => {
    const all = await emu.requests('logout');
    return all.length > 0 && all;
  }, 'the logout request');
  assert.equal(logout.path, '/idb/oauth2/v1/logout');
  assert.deepEqual(JSON.parse(logout.body), { token: refresh });
  assert.equal(logout.headers.find(([k]) => k === 'authorization')[1], `Bearer ${access}`);
  assert.equal(logout.status, 200);
  const me = await fetch(`${emu.base}/v1/people/me`, { headers: { authorization: `Bearer ${access}` } });
  assert.equal(me.status, 401);
});
