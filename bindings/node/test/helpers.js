// Test helpers: start the emulator binary on a free port, script it over its admin
// API, and drive the code flow the way a browser would.
'use strict';

const { before, after, beforeEach } = require('node:test');

const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { adminCall, emulatorBinary, spawnEmulator } = require(path.join(ROOT, 'emulator', 'js', 'spawn.js'));
const EMULATOR = emulatorBinary(ROOT);

/** Resolves with a running Emulator once it printed its `listening` line. */
async function startEmulator(args = []) {
  const { base, child } = await spawnEmulator(EMULATOR, args);
  return new Emulator(base, child);
}

class Emulator {
  constructor(base, child) {
    this.base = base;
    this.child = child;
  }

  admin(pathname, body) {
    return adminCall(this.base, pathname, body);
  }

  script(endpoint, responses) {
    return this.admin('/_emulator/script', { endpoint, responses });
  }

  requests(endpoint) {
    return this.admin(`/_emulator/requests${endpoint ? `?endpoint=${endpoint}` : ''}`);
  }

  /** Back to the state every test starts from: no scripts, no recorded requests, no
   * delays, and a fast device flow (1 s interval, 10 min codes). */
  async reset() {
    await this.admin('/_emulator/clear_scripts', {});
    await this.admin('/_emulator/clear_requests', {});
    for (const endpoint of ['token', 'device_authorize', 'device_token']) {
      await this.admin('/_emulator/delay', { endpoint, delay_ms: 0 });
    }
    await this.admin('/_emulator/config', { device_interval_s: 1, device_expires_in_s: 600 });
  }

  /** Moves the emulator's "now" ahead (its expiries only, not the engine's clock). */
  advanceClock(seconds) {
    return this.admin('/_emulator/clock/advance', { seconds });
  }

  /** Recorded requests' `grant_type`s at the token endpoint. */
  async grants() {
    return (await this.requests('token')).map((r) => Object.fromEntries(r.form).grant_type);
  }

  get fedrampApiUrl() {
    return `${this.base}/fedramp/v1`;
  }

  get fedrampIdbrokerUrl() {
    return `${this.base}/fedramp`;
  }

  config(extra = {}) {
    return {
      client_id: 'test-client',
      client_secret: 'test-secret',
      redirect_uri: 'http://127.0.0.1/callback',
      webex_api_url: `${this.base}/v1`,
      idbroker_url: this.base,
      timeout_ms: 5000,
      ...extra,
    };
  }

  stop() {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/**
 * One emulator for the test file: started before the first test, reset before each,
 * stopped after the last. Returns it at once (filled in by the `before` hook).
 * `onStart(emu)` runs once it listens (the file's own root hooks may not wait for it).
 */
function useEmulator({ onStart } = {}) {
  const emu = Object.create(Emulator.prototype);
  before(async () => {
    const started = await startEmulator();
    emu.base = started.base;
    emu.child = started.child;
    if (onStart) await onStart(emu);
  });
  after(() => emu.stop());
  beforeEach(() => emu.reset());
  return emu;
}

/** Follows the authorize URL like a browser with automatic consent; returns the redirect. */
async function authorize(url) {
  const res = await fetch(url, { redirect: 'manual' });
  if (res.status !== 302 && res.status !== 303) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  const location = res.headers.get('location');
  if (!location) throw new Error('authorize gave no Location');
  return location;
}

/** Runs the whole code flow on `client`; resolves with handleRedirect's result. */
async function codeLogin(client, opts) {
  const url = client.initiateLogin(opts);
  return client.handleRedirect(await authorize(url));
}

/** Runs `fn(emu)` with an emulator of its own (for tests that change its config or clock). */
async function withEmulator(fn) {
  const emu = await startEmulator();
  try {
    return await fn(emu);
  } finally {
    await emu.stop();
  }
}

/** GET as a browser would, not following redirects: { status, body, location }. */
async function browserGet(url) {
  const res = await fetch(url, { redirect: 'manual', headers: { accept: '*/*' } });
  return { status: res.status, body: await res.text(), location: res.headers.get('location') };
}

/** A recorded request's header (names are recorded in lower case), or ''. */
function header(record, name) {
  const found = (record.headers || []).find(([k]) => k === name.toLowerCase());
  return found ? found[1] : '';
}

/** The emulator's Service App, for a client's config. */
const SERVICE_APP = { client_id: 'service-app', client_secret: 'service-app-secret' };

/** The end marker of a closed client: resolves once every event queued before close() reached JS. */
const DRAINED = Symbol.for('webex-auth.drained');

/** `client[DRAINED]`, bounded: rejects if the marker does not come within `ms`. */
function drained(client, ms = 10000) {
  let timer;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no end marker within ${ms} ms of close()`)), ms);
  });
  return Promise.race([client[DRAINED], bound]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `name` event. */
function once(emitter, name) {
  return new Promise((resolve) => emitter.once(name, resolve));
}

module.exports = {
  startEmulator,
  useEmulator,
  withEmulator,
  authorize,
  codeLogin,
  browserGet,
  header,
  once,
  SERVICE_APP,
  drained,
  ROOT,
  EMULATOR,
};
