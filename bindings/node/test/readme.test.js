// The README's first example runs as written against the emulator.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { useEmulator } = require('./helpers');

const PKG = path.resolve(__dirname, '..');

const emu = useEmulator();

test('README example', () => {
  const readme = fs.readFileSync(path.join(PKG, 'README.md'), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the README has a js example');
  // `require('webex-auth')` resolves to this package as it would once installed.
  const source = block[1].replace("require('webex-auth')", `require(${JSON.stringify(PKG)})`);
  const r = spawnSync(process.execPath, ['-e', source], {
    env: { ...process.env, WEBEX_BASE: emu.base },
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /new token, expires \d{4}-/);
  assert.match(r.stdout, /Token \{/);
  assert.match(r.stdout, /<hidden, \d+ chars>/);
  assert.match(r.stdout, /\/inbox http:\/\/127\.0\.0\.1\/callback/);
  assert.match(r.stdout, /valid until \d{4}-/);
  assert.doesNotMatch(r.stdout, /access_token: '[A-Za-z0-9]/, 'no secret printed');
});
