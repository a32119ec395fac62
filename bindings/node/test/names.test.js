// One source of truth: every status and event number as the engine names it, checked
// against the C header, the error classes (one naming rule), index.d.ts and C-API.md.
// No emulator: the addon alone.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const wxa = require('..');

const PKG = path.resolve(__dirname, '..');
const ROOT = path.resolve(PKG, '..', '..');
const header = fs.readFileSync(path.join(ROOT, 'include', 'webex_auth.h'), 'utf8');
const dts = fs.readFileSync(path.join(PKG, 'index.d.ts'), 'utf8');

/** `#define WXA_<prefix>... <n>` of the header as { n: name }. */
function defines(pattern) {
  const out = {};
  for (const m of header.matchAll(new RegExp(`#define (${pattern}) (\\d+)`, 'g'))) out[m[2]] = m[1];
  return out;
}

/** The members of `export interface <name> { ... }` in index.d.ts. */
function dtsKeys(name) {
  const body = new RegExp(`export interface ${name} \\{([^}]*)\\}`).exec(dts);
  assert.ok(body, `index.d.ts declares ${name}`);
  return [...body[1].matchAll(/^\s*'?([\w:]+)'?\??:/gm)].map((m) => m[1]);
}

test('every status number: header, engine name, error class by the naming rule, d.ts', () => {
  assert.deepEqual({ ...wxa.STATUS_NAMES }, defines('WXA_(?:OK|PENDING|ERR_\\w+)'));
  assert.ok(wxa.STATUS_NAMES.length >= 14);
  wxa.STATUS_NAMES.forEach((status, code) => {
    const err = wxa.errorFromResult({ ok: false, status, message: 'm' });
    assert.equal(err.status, status);
    assert.equal(err.code, code);
    if (!status.startsWith('WXA_ERR_')) {
      assert.ok(['WXA_OK', 'WXA_PENDING'].includes(status));
      assert.equal(err.constructor, wxa.WebexAuthError);
      return;
    }
    // The rule: WXA_ERR_RATE_LIMITED -> RateLimitedError (WXA_ERR_OAUTH -> OAuthError).
    const Cls = err.constructor;
    assert.equal(Cls.name.toLowerCase(), `${status.slice(8).replace(/_/g, '')}error`.toLowerCase(), status);
    assert.equal(wxa[Cls.name], Cls, `${Cls.name} is exported`);
    assert.equal(err.name, Cls.name);
    const own = new Cls('made by hand');
    assert.deepEqual([own.status, own.code], [status, code], 'a class knows its status');
    assert.match(dts, new RegExp(`export class ${Cls.name} extends`), `${Cls.name} is in index.d.ts`);
  });
  const union = /export type StatusName =([^;]*);/.exec(dts);
  assert.deepEqual([...union[1].matchAll(/'(\w+)'/g)].map((m) => m[1]), [...wxa.STATUS_NAMES]);
  assert.equal(wxa.errorFromResult({ status: 'WXA_ERR_NEWER', message: 'm' }).code, -1);
});

test('every event number: header, engine name, C-API.md, d.ts', () => {
  // C-API.md's table, written out here as the oracle.
  const expected = ['done', 'token:refresh', 'unauthorized', 'auth:error', 'getUserCodeSuccess', 'getUserCodeFailure',
    'authorizationPending', 'authorizationSuccess', 'authorizationFailure', 'pollingCanceled', 'logout', 'jwt:refresh']; // prettier-ignore
  assert.deepEqual([...wxa.EVENT_NAMES], expected);
  const numbers = Object.keys(defines('WXA_EVENT_\\w+')).map(Number);
  assert.deepEqual(numbers.sort((a, b) => a - b), expected.map((_, i) => i + 1));
  assert.deepEqual(dtsKeys('ClientEvents').sort(), [...expected].sort());
});

test('the addon throws Error objects carrying the fields, not encoded strings', () => {
  const native = require(process.env.WEBEX_AUTH_NODE_ADDON || path.join(PKG, 'webex-auth.node'));
  let thrown;
  try {
    native.createJwt('{"issuer":"i"}');
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof Error, String(thrown));
  assert.equal(thrown.status, 'WXA_ERR_INVALID_ARGUMENT');
  assert.equal(thrown.code, 2);
  assert.deepEqual([thrown.error, thrown.errorDescription, thrown.httpStatus, thrown.trackingId], [null, null, null, null]);
  assert.match(thrown.message, /secret/);
  assert.ok(!thrown.message.includes('\u0001') && !thrown.message.includes('{'), thrown.message);
  // index.js gives it its class, keeping the message and fields.
  const err = (() => {
    try {
      return wxa.createJwt({ issuer: 'i' });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof wxa.InvalidArgumentError);
  assert.deepEqual([err.status, err.code, err.message], [thrown.status, thrown.code, thrown.message]);
});

test('index.d.ts types every config key the engine knows', () => {
  let message = '';
  try {
    new wxa.Client({ client_id: 'x', no_such_key: 1 });
  } catch (e) {
    message = e.message;
  }
  const known = [...message.slice(message.indexOf('expected')).matchAll(/`(\w+)`/g)].map((m) => m[1]);
  assert.ok(known.includes('client_id'), `the engine lists its keys: ${message}`);
  const typed = dtsKeys('ClientConfig');
  assert.deepEqual(known.filter((k) => !typed.includes(k)), [], 'keys missing from ClientConfig in index.d.ts');
});

test('package.json has the engine version', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  assert.equal(pkg.version, wxa.version());
});
