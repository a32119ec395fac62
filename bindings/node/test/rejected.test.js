// When the token stops working: tokenRejected (the app's 401, one refresh for every
// caller), the `unauthorized` event and its `reason`.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');

const wxa = require('..');
const { Client } = wxa;
const { useEmulator, withEmulator, codeLogin, once } = require('./helpers');

const emu = useEmulator();

test('tokenRejected from many promises at once: one refresh', async () => {
  const client = new Client(emu.config());
  try {
    const { token: old } = await codeLogin(client);
    await emu.admin('/_emulator/clear_requests', {});
    await emu.admin('/_emulator/delay', { endpoint: 'token', delay_ms: 300 });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.tokenRejected(old.access_token)));
    assert.equal(new Set(tokens.map((t) => t.access_token)).size, 1);
    assert.ok(tokens[0] instanceof wxa.Token);
    assert.notEqual(tokens[0].access_token, old.access_token);
    assert.deepEqual(await emu.grants(), ['refresh_token']);
    // A late caller with the old token: it changed already, no request.
    await emu.admin('/_emulator/delay', { endpoint: 'token', delay_ms: 0 });
    assert.equal((await client.tokenRejected(old.access_token)).access_token, tokens[0].access_token);
    assert.deepEqual(await emu.grants(), ['refresh_token']);
    // The new one rejected in turn: one more.
    const again = await client.tokenRejected(tokens[0].access_token);
    assert.notEqual(again.access_token, tokens[0].access_token);
    assert.deepEqual(await emu.grants(), ['refresh_token', 'refresh_token']);
  } finally {
    client.close();
  }
});

test('tokenRejected refusals', async () => {
  const client = new Client(emu.config());
  try {
    await assert.rejects(client.tokenRejected('whatever'), wxa.NotAuthorizedError);
    await assert.rejects(client.tokenRejected(42), wxa.InvalidArgumentError);
    await assert.rejects(client.tokenRejected(''), wxa.InvalidArgumentError);
    client.setToken({ access_token: 'no-refresh', expires_in: 600 });
    await assert.rejects(client.tokenRejected('no-refresh'), wxa.NotAuthorizedError);
    assert.deepEqual(await emu.requests('token'), []);
  } finally {
    client.close();
  }
});

test('unauthorized after the server refuses the refresh token: reason invalid_grant', () =>
  withEmulator(async (own) => {
    const client = new Client(own.config());
    try {
      const { token } = await codeLogin(client);
      // The emulator's clock passes the refresh token's 60 days.
      await own.advanceClock(61 * 24 * 3600);
      const gone = once(client, 'unauthorized');
      await assert.rejects(client.tokenRejected(token.access_token), wxa.InvalidGrantError);
      const p = await gone;
      assert.equal(p.type, 'unauthorized');
      assert.equal(p.status, 'WXA_ERR_NOT_AUTHORIZED');
      assert.ok(p.message.length > 0);
      // "expired, revoked, malformed, or invalid": no single reason to tell.
      assert.equal(p.reason, 'invalid_grant');
      assert.equal(p.refresh_token_expired_at, undefined);
      assert.equal(client.token, null);
    } finally {
      client.close();
    }
  }));

test('unauthorized when the refresh token outlived its life: reason and when', async () => {
  const client = new Client(emu.config());
  try {
    const died = Date.now() - 5 * 60 * 1000;
    client.setToken({ access_token: 'still-valid', expires_in: 600, refresh_token: 'expired-refresh', refresh_token_expires_at: died });
    const events = [];
    client.on('unauthorized', (p) => events.push(p));
    await assert.rejects(client.refresh(), wxa.NotAuthorizedError);
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'refresh_token_expired');
    assert.equal(events[0].refresh_token_expired_at, died);
    assert.deepEqual(await emu.requests('token'), []);
    const t = client.token;
    assert.equal(t.access_token, 'still-valid', 'the access token lives on');
    assert.equal(t.refresh_token, undefined);
  } finally {
    client.close();
  }
});
