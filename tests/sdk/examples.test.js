// examples/js-sdk runs as its README says, against a fresh emulator (with this suite's
// SDK packages, so CI installs them once).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');

const { startEmulator } = require('./emulator');

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples', 'js-sdk');

let emu;
before(async () => {
  emu = await startEmulator(['--device-interval', '1']);
});
after(() => emu.stop());

function example(script, ...args) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, WEBEX_EMULATOR: emu.base, NODE_PATH: path.join(__dirname, 'node_modules') };
    execFile('node', [path.join(EXAMPLES, script), ...args], { env, timeout: 30000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${script} failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    );
  });
}

test('login.js: code login, refresh, client credentials, guest login', async () => {
  const out = await example('login.js');
  assert.match(out, new RegExp(`login URL: ${emu.base}/idb/oauth2/v1/authorize\\?`));
  assert.match(out, /signed in as: Emulated User \(org emulator-org-0001\)/);
  assert.match(out, /refreshed: new access token/);
  assert.match(out, /client token: Bearer /);
  assert.match(out, /guest: Example Guest \(a guest token\)/);
});

test('qr-login.js --approve: QR-code login', async () => {
  const out = await example('qr-login.js', '--approve');
  assert.match(out, /code: [A-Z]{4}-[A-Z]{4}/);
  assert.match(out, new RegExp(`open ${emu.base}/v1/device/verify\\?userCode=`));
  assert.match(out, /signed in as: Emulated User/);
});
