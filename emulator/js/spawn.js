// Starts webex-auth-emulator on a free loopback port from JavaScript: the one launcher
// the JavaScript tests share (bindings/node/test, tests/sdk, tests/browser), and one call
// of its admin API. Each wraps the running process in its own helper.
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

/** $WEBEX_AUTH_EMULATOR, else the debug build under $CARGO_TARGET_DIR (or ROOT/target). */
function emulatorBinary(root = path.resolve(__dirname, '..', '..')) {
  return (
    process.env.WEBEX_AUTH_EMULATOR ||
    path.join(process.env.CARGO_TARGET_DIR || path.join(root, 'target'), 'debug', 'webex-auth-emulator')
  );
}

/** Resolves with `{ base, child }` once the emulator printed its `listening` line. */
function spawnEmulator(binary, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--host', '127.0.0.1', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator (${binary}) printed no listening line within 15 s`));
    }, 15000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the emulator ${binary}: ${e.message} (build it: cargo build -p webex-auth-emulator)`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited early with ${code}`));
    });
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim());
      if (!m) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected emulator output: ${line}`));
        return;
      }
      child.removeAllListeners('exit');
      resolve({ base: m[1], child });
    });
  });
}

/** One call of the emulator's admin API (`/_emulator/...`): GET without a body, else a
 * JSON POST; the answer's JSON (null when empty), or an Error naming the path. */
async function adminCall(base, pathname, body) {
  const res = await fetch(base + pathname, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator ${pathname} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

module.exports = { adminCall, emulatorBinary, spawnEmulator };
