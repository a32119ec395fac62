// token_store through the Node addon: a file store shared by two clients, a write that
// fails (token.store_error), and config errors that name keys, not values.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');

const wxa = require('..');
const { Client } = wxa;
const { useEmulator, codeLogin } = require('./helpers');

const emu = useEmulator();
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64');

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxa-node-store-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a second client sees the first one token', async (t) => {
  const file = path.join(tmpDir(t), 'webex.tok');
  const store = { path: file, key: KEY };
  const first = new Client(emu.config({ token_store: store }));
  const clients = [first];
  try {
    assert.equal(first.token, null);
    const { token } = await codeLogin(first);
    assert.equal(token.store_error, undefined);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const raw = fs.readFileSync(file);
    assert.ok(!raw.includes(token.access_token) && !raw.includes(token.refresh_token), 'encrypted at rest');

    const second = new Client(emu.config({ token_store: store }));
    clients.push(second);
    assert.equal(second.token.access_token, token.access_token);
    assert.equal(second.token.refresh_token, token.refresh_token);
    const renewed = await second.refresh();
    const third = new Client(emu.config({ token_store: store }));
    clients.push(third);
    assert.equal(third.token.access_token, renewed.access_token);

    const otherKey = Buffer.alloc(32).toString('base64');
    assert.throws(
      () => new Client(emu.config({ token_store: { path: file, key: otherKey } })),
      (e) => e instanceof wxa.InvalidArgumentError && !e.message.includes(otherKey) && !e.message.includes(KEY),
    );
  } finally {
    for (const c of clients) c.close();
  }
});

test('a failed store write is reported on the token', async (t) => {
  const folder = path.join(tmpDir(t), 'gone');
  fs.mkdirSync(folder);
  const client = new Client(emu.config({ token_store: { path: path.join(folder, 'webex.tok'), key: KEY } }));
  try {
    // The folder becomes a file: every write fails, whoever runs the tests (root too).
    fs.rmSync(folder, { recursive: true });
    fs.writeFileSync(folder, 'not a folder');
    const token = await client.clientCredentials();
    assert.equal(typeof token.store_error, 'string');
    assert.ok(token.store_error.length > 0 && !token.store_error.includes(token.access_token));
    assert.ok(util.inspect(token).includes('store_error'), 'shown by inspect');
    assert.ok(!util.inspect(token).includes(token.access_token));
    assert.ok(!('store_error' in JSON.parse(JSON.stringify(token))), 'not saved with the token');
    assert.equal(client.token.access_token, token.access_token, 'the client keeps it');
    assert.equal(client.token.store_error, undefined);
  } finally {
    client.close();
  }
});

test('store config errors name the key, never the value', () => {
  const cases = [
    [{ path: 'x' }, 'token_store'],
    [{ path: 'x', key: 's3cr3t-not-base64!' }, 'token_store.key'],
    [{ path: 'x', key: Buffer.from('s3cr3t-short').toString('base64') }, 'token_store.key'],
    [{ path: 'x', key: KEY, colour: 's3cr3t-blue' }, 'colour'],
    ['s3cr3t-file', 'token_store'],
  ];
  for (const [value, named] of cases) {
    assert.throws(
      () => new Client(emu.config({ token_store: value })),
      (e) => e instanceof wxa.InvalidArgumentError && e.message.includes(named) && !/s3cr3t/.test(e.message) && !e.message.includes(KEY),
      JSON.stringify(value),
    );
  }
});
