// The README's examples run as written against the emulator: the code login, the
// Service App bot, and Login with Webex through a loopback login (stand-in browser).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Client } = require('..');
const { useEmulator, codeLogin } = require('./helpers');

const PKG = path.resolve(__dirname, '..');

const emu = useEmulator();

function blocks() {
  const readme = fs.readFileSync(path.join(PKG, 'README.md'), 'utf8');
  return [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Runs a README block in a child, `require('webex-auth')` resolving to this package. */
function run(source, env = {}) {
  const r = spawnSync(process.execPath, ['-e', source.replaceAll("require('webex-auth')", `require(${JSON.stringify(PKG)})`)], {
    env: { ...process.env, WEBEX_BASE: emu.base, ...env },
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('README example', () => {
  const out = run(blocks()[0]);
  assert.match(out, /new token, expires \d{4}-/);
  assert.match(out, /Token \{/);
  assert.match(out, /<hidden, \d+ chars>/);
  assert.match(out, /\/inbox http:\/\/127\.0\.0\.1\/callback/);
  assert.match(out, /valid until \d{4}-/);
  assert.doesNotMatch(out, /access_token: '[A-Za-z0-9]/, 'no secret printed');
});

test('README Service App example', async () => {
  const integration = new Client(emu.config());
  let authorizing;
  try {
    authorizing = (await codeLogin(integration, { scope: 'spark:applications_token' })).token.access_token;
  } finally {
    integration.close();
  }
  const [block] = blocks().filter((b) => b.includes('serviceAppToken('));
  const info = await emu.admin('/_emulator/info');
  const out = run(block, { WEBEX_ORG_ID: info.org_id, WEBEX_AUTHORIZING_TOKEN: authorizing });
  assert.match(out, /I am Service App service-app a bot/);
  assert.match(out, /subject: 'visitor-42'/);
  assert.match(out, /accessToken: '<hidden, \d+ chars>'/);
  assert.match(out, /the visitor is an appuser/);
  assert.ok(!out.includes(authorizing));
});

test('README Login with Webex example', (t) => {
  // The stand-in browser follows the authorize URL's redirects to the loopback listener.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxa-browser-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const browser = path.join(dir, 'stand-in-browser');
  fs.writeFileSync(
    browser,
    `#!${process.execPath}\nfetch(process.argv[2]).then((r) => { if (r.status !== 200) process.exit(1); }, () => process.exit(1));\n`,
  );
  fs.chmodSync(browser, 0o755);
  const [block] = blocks().filter((b) => b.includes('startLoopbackLogin('));
  const out = run(block, { BROWSER: browser });
  assert.match(out, /^hello Emulated User emulated\.user@example\.com emulated-user-/);
});
