// Login with Webex (OpenID Connect) against the emulator: idTokenClaims on the result,
// and every way a bad id_token is refused (IdTokenError, nothing stored).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');

const wxa = require('..');
const { Client } = wxa;
const { useEmulator, withEmulator, authorize, codeLogin } = require('./helpers');

const emu = useEmulator();

test('an openid login resolves with the id_token claims', async () => {
  const client = new Client(emu.config());
  try {
    const url = client.initiateLogin({ scope: 'openid email', state: { next: '/profile' } });
    const nonce = new URL(url).searchParams.get('nonce');
    assert.ok(nonce, 'the authorize URL carries a nonce');
    const r = await client.handleRedirect(await authorize(url));
    const info = await emu.admin('/_emulator/info');
    const c = r.idTokenClaims;
    assert.equal(c.iss, info.oidc_issuer);
    assert.equal(c.aud, 'test-client');
    assert.equal(c.email, 'emulated.user@example.com');
    assert.equal(c.email_verified, true);
    assert.equal(c.nonce, nonce);
    assert.ok(c.sub && c.exp * 1000 > Date.now());
    assert.deepEqual(r.state, { next: '/profile' });
    assert.equal(typeof r.token.id_token, 'string');
    assert.ok(!('id_token_claims' in r.token), 'the claims are not token fields');
    assert.ok(!util.inspect(r, { depth: 5 }).includes(r.token.id_token), 'inspect hides the id_token');
    // A plain login has none.
    const plain = await codeLogin(client);
    assert.equal(plain.idTokenClaims, null);
    assert.equal(plain.token.id_token, undefined);
  } finally {
    client.close();
  }
});

const BAD = [
  [{ id_token_claims: { aud: 'another-client' } }, /aud/],
  [{ id_token_claims: { exp: 1000000000 } }, /expired/],
  [{ id_token_claims: { nonce: 'not-the-nonce-we-sent' } }, /nonce/],
  [{ id_token_claims: { nonce: null } }, /nonce/],
  [{ oidc_issuer: 'https://idbroker.evil.example.com/idb' }, /iss/],
];

test('a bad id_token rejects with IdTokenError and stores nothing', () =>
  withEmulator(async (own) => {
    for (const [config, why] of BAD) {
      await own.admin('/_emulator/config', { id_token_claims: null, oidc_issuer: null, ...config });
      const client = new Client(own.config());
      try {
        const seen = [];
        for (const name of ['token:refresh', 'auth:error']) client.on(name, (p) => seen.push(p));
        const err = await codeLogin(client, { scope: 'openid email' }).catch((e) => e);
        assert.ok(err instanceof wxa.IdTokenError, `${JSON.stringify(config)}: ${err}`);
        assert.ok(err instanceof wxa.WebexAuthError);
        assert.deepEqual([err.name, err.status, err.code], ['IdTokenError', 'WXA_ERR_ID_TOKEN', 14]);
        assert.match(err.message, why);
        assert.equal(client.token, null);
        assert.deepEqual(
          seen.map((p) => `${p.type}:${p.status}`),
          ['auth:error:WXA_ERR_ID_TOKEN'],
        );
      } finally {
        client.close();
      }
    }
  }));

test('a forged signature is refused', () =>
  withEmulator(async (own) => {
    const a = new Client(own.config());
    const b = new Client(own.config());
    try {
      const genuine = (await codeLogin(a, { scope: 'openid email' })).token.id_token;
      const [head, payload, sig] = genuine.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      claims.email = 'ceo@example.com';
      const forged = [head, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
      const redirect = await authorize(b.initiateLogin({ scope: 'openid email' }));
      await own.script('token', [{ status: 200, body: { access_token: 'forged-access', token_type: 'Bearer', expires_in: 3600, id_token: forged } }]);
      await assert.rejects(b.handleRedirect(redirect), (e) => e instanceof wxa.IdTokenError && /signature/.test(e.message) && !e.message.includes(forged));
      assert.equal(b.token, null);
    } finally {
      a.close();
      b.close();
    }
  }));

test('rotated signing keys are fetched again, once', () =>
  withEmulator(async (own) => {
    const client = new Client(own.config());
    try {
      assert.ok((await codeLogin(client, { scope: 'openid email' })).idTokenClaims);
      assert.equal((await own.requests('jwks')).length, 1);
      const rotated = await own.admin('/_emulator/jwks/rotate', { keep_old: false });
      assert.equal(rotated.kids.length, 1);
      const r = await codeLogin(client, { scope: 'openid email' });
      assert.equal(r.idTokenClaims.aud, 'test-client');
      assert.equal((await own.requests('jwks')).length, 2);
    } finally {
      client.close();
    }
  }));
