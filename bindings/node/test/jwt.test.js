// Guest JWTs: createJwt against npm jsonwebtoken (both directions), loginWithJwt against
// the emulator's verifier, and side by side with the Webex SDK's createJwt.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const jsonwebtoken = require('jsonwebtoken');

const wxa = require('..');
const { Client, createJwt } = wxa;
const { useEmulator } = require('./helpers');

let info;
const emu = useEmulator({
  onStart: async (e) => {
    info = await e.admin('/_emulator/info');
  },
});

const decodeSegment = (jwt, i) => JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString());

test('createJwt (C option names) verifies with jsonwebtoken', () => {
  const secret = Buffer.from('a-guest-issuer-secret-of-32-bytes!').toString('base64');
  const jwt = createJwt({ issuer: 'issuer-1', secret, subject: 'user-42', display_name: 'Ada', expires_in: 3600 });
  assert.deepEqual(decodeSegment(jwt, 0), { alg: 'HS256', typ: 'JWT' });
  const claims = jsonwebtoken.verify(jwt, Buffer.from(secret, 'base64'), { algorithms: ['HS256'], issuer: 'issuer-1' });
  assert.equal(claims.sub, 'user-42');
  assert.equal(claims.name, 'Ada');
  assert.equal(claims.iss, 'issuer-1');
  assert.equal(claims.exp - claims.iat, 3600);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 60);
  // A wrong key fails verification: the signature is real.
  assert.throws(() => jsonwebtoken.verify(jwt, Buffer.from('another key'), { algorithms: ['HS256'] }), /invalid signature/);
});

test('createJwt (Webex SDK option names) and defaults', () => {
  const secret = Buffer.from('sdk-style-secret-0123456789abcdef').toString('base64');
  const jwt = createJwt({ issuer: 'iss-2', secretId: secret, displayName: 'Bob', expiresIn: '2h' });
  const claims = jsonwebtoken.verify(jwt, Buffer.from(secret, 'base64'), { algorithms: ['HS256'] });
  assert.equal(claims.name, 'Bob');
  assert.equal(claims.exp - claims.iat, 7200);
  assert.match(claims.sub, /^guest-user-[0-9a-f-]{36}$/, 'the SDK default subject');
  const other = createJwt({ issuer: 'iss-2', secretId: secret, expiresIn: 60 });
  const c2 = jsonwebtoken.decode(other);
  assert.notEqual(c2.sub, claims.sub, 'a fresh subject each time');
  assert.equal(typeof c2.name, 'string');
});

test('createJwt refuses bad options with InvalidArgumentError', () => {
  const secret = Buffer.from('x'.repeat(32)).toString('base64');
  assert.throws(() => createJwt({ secret, expires_in: 60 }), wxa.InvalidArgumentError, 'no issuer');
  assert.throws(() => createJwt({ issuer: 'i', expires_in: 60 }), wxa.InvalidArgumentError, 'no secret');
  assert.throws(() => createJwt({ issuer: 'i', secret: 'not base64!!', expires_in: 60 }), wxa.InvalidArgumentError);
  assert.throws(() => createJwt({ issuer: 'i', secret, expires_in: 60, unknown: 1 }), wxa.InvalidArgumentError);
  assert.throws(() => createJwt(null), wxa.InvalidArgumentError);
});

test('loginWithJwt with our createJwt and with a jsonwebtoken-made JWT (same claims)', async () => {
  const client = new Client(emu.config());
  try {
    const ours = createJwt({ issuer: info.guest_issuer, secret: info.guest_secret_b64, subject: 'guest-a', display_name: 'Guest A', expires_in: 600 });
    const t1 = await client.loginWithJwt(ours);
    assert.equal(typeof t1.access_token, 'string');
    assert.ok(t1.expires_at > Date.now());

    const theirs = jsonwebtoken.sign({ sub: 'guest-b', name: 'Guest B', iss: info.guest_issuer }, Buffer.from(info.guest_secret_b64, 'base64'), {
      algorithm: 'HS256',
      expiresIn: 600,
    });
    const t2 = await client.loginWithJwt(theirs);
    assert.equal(typeof t2.access_token, 'string');
    assert.notEqual(t2.access_token, t1.access_token);
    assert.equal(client.token.access_token, t2.access_token);

    const reqs = await emu.requests('jwt_login');
    assert.equal(reqs.length, 2);
    assert.ok(reqs.every((r) => r.status === 200));

    // A JWT signed with the wrong key is refused by the emulator.
    const forged = createJwt({ issuer: info.guest_issuer, secret: Buffer.from('not the emulator guest secret, 32+').toString('base64'), expires_in: 600 });
    const err = await client.loginWithJwt(forged).catch((e) => e);
    assert.ok(err instanceof wxa.WebexAuthError, String(err));
    assert.equal(err.httpStatus, 401);
    await assert.rejects(client.loginWithJwt('not-a-jwt'), wxa.InvalidArgumentError);
  } finally {
    client.close();
  }
});

function loadWebexSdk() {
  try {
    const mod = require('@webex/plugin-authorization-node');
    const Authorization = mod.default || mod;
    const fn = Authorization && Authorization.prototype && Authorization.prototype.createJwt;
    if (typeof fn !== 'function') return { skip: '@webex/plugin-authorization-node has no createJwt' };
    return { createJwt: (opts) => fn.call(null, opts), dir: path.dirname(require.resolve('@webex/plugin-authorization-node/package.json')) };
  } catch (e) {
    return { skip: `@webex/plugin-authorization-node cannot be loaded here (${e.code || e.message}); side-by-side check skipped` };
  }
}

const sdk = loadWebexSdk();

test('side by side with @webex/plugin-authorization-node createJwt', { skip: sdk.skip }, async () => {
  const opts = { issuer: info.guest_issuer, secretId: info.guest_secret_b64, displayName: 'Side By Side', expiresIn: '1h' };
  const { jwt: sdkJwt } = await sdk.createJwt(opts);
  const ourJwt = createJwt(opts);

  // Same header, same claim names, same lifetime and display name.
  assert.deepEqual(decodeSegment(ourJwt, 0), decodeSegment(sdkJwt, 0));
  const a = decodeSegment(ourJwt, 1);
  const b = decodeSegment(sdkJwt, 1);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  assert.equal(a.iss, b.iss);
  assert.equal(a.name, b.name);
  assert.equal(a.exp - a.iat, b.exp - b.iat);
  assert.match(a.sub, /^guest-user-/);
  assert.match(b.sub, /^guest-user-/);

  // The SDK's own jsonwebtoken verifies ours, with the key the SDK derives.
  const sdkJsonwebtoken = require(require.resolve('jsonwebtoken', { paths: [sdk.dir] }));
  const key = Buffer.from(opts.secretId, 'base64');
  assert.equal(sdkJsonwebtoken.verify(ourJwt, key, { algorithms: ['HS256'] }).name, 'Side By Side');
  assert.equal(jsonwebtoken.verify(sdkJwt, key, { algorithms: ['HS256'] }).name, 'Side By Side');

  // The emulator's verifier (what our engine logs in with) accepts the SDK's JWT.
  const client = new Client(emu.config());
  try {
    const t = await client.loginWithJwt(sdkJwt);
    assert.equal(typeof t.access_token, 'string');
    const t2 = await client.loginWithJwt(ourJwt);
    assert.equal(typeof t2.access_token, 'string');
  } finally {
    client.close();
  }
});
