// Starts webex-auth-emulator (the binary from $WEBEX_AUTH_EMULATOR, default
// target/debug/webex-auth-emulator) on a free loopback port and talks to its admin API.
// Shared by tests/sdk and tests/browser.
'use strict';

const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const { adminCall, emulatorBinary, spawnEmulator } = require(path.join(ROOT, 'emulator', 'js', 'spawn.js'));
const BINARY = emulatorBinary(ROOT);

class Emulator {
  constructor(base, child) {
    this.base = base;
    this.child = child;
  }

  admin(pathname, body) {
    return adminCall(this.base, `/_emulator/${pathname}`, body);
  }

  script(endpoint, responses) {
    return this.admin('script', { endpoint, responses });
  }

  requests(endpoint) {
    return this.admin(`requests${endpoint ? `?endpoint=${endpoint}` : ''}`);
  }

  config(changes) {
    return this.admin('config', changes);
  }

  /** The Webex SDK's `config` for a client: base URLs only, as a user would write it. */
  sdkConfig(clientId) {
    return this.admin(`sdk-config?client_id=${encodeURIComponent(clientId)}`);
  }

  info() {
    return this.admin('info');
  }

  advanceClock(seconds) {
    return this.admin('clock/advance', { seconds });
  }

  /** No scripts, no recorded requests, the real time, a fast device flow. */
  async reset() {
    await this.admin('clear_scripts', {});
    await this.admin('clock/reset', {});
    await this.admin('clear_requests', {});
    await this.config({ device_interval_s: 1, device_expires_in_s: 600 });
  }

  stop() {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** Resolves with a running Emulator once it printed its `listening` line. */
async function startEmulator(args = []) {
  const { base, child } = await spawnEmulator(BINARY, args);
  return new Emulator(base, child);
}

/** Resolves when `predicate()` is truthy, polling every 20 ms; rejects after `ms`. */
async function until(predicate, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Without @webex/plugin-logger the SDK logs every step to the console; keep warnings
 * and errors only (SDK_LOGS=1 keeps everything).
 */
function quietSdkLogs() {
  if (process.env.SDK_LOGS) return;
  for (const level of ['log', 'info', 'debug', 'trace']) console[level] = () => {};
}

module.exports = { startEmulator, until, quietSdkLogs, Emulator };
