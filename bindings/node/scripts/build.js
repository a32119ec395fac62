#!/usr/bin/env node
// Builds the addon with cargo and copies the cdylib next to index.js as webex-auth.node.
// No node-gyp, no @napi-rs/cli, no download. In a checkout it builds the workspace's
// bindings/node; in the published package it builds the sources the package carries
// (Cargo.toml there is its own workspace and finds the engine in webex-auth-core/).
// Users of a platform with a prebuilt package never run it (scripts/install.js).
//
// Environment:
//   WEBEX_AUTH_CARGO_PROFILE  cargo profile: "release" (default), "debug"/"dev", or any
//                             custom profile name
//   CARGO_TARGET_DIR          honoured (cargo metadata reports it)
//   CARGO                     the cargo executable (default "cargo")
//   WEBEX_AUTH_SKIP_BUILD=1   do nothing (e.g. when WEBEX_AUTH_NODE_ADDON points at a build)
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const cargo = process.env.CARGO || 'cargo';

function fail(msg) {
  console.error(`webex-auth: ${msg}`);
  process.exit(1);
}

if (process.env.WEBEX_AUTH_SKIP_BUILD === '1') {
  console.log('webex-auth: WEBEX_AUTH_SKIP_BUILD=1, not building the addon');
  process.exit(0);
}

const profile = (process.env.WEBEX_AUTH_CARGO_PROFILE || 'release').trim();
const profileArgs = profile === 'debug' || profile === 'dev' ? [] : profile === 'release' ? ['--release'] : ['--profile', profile];
const profileDir = profile === 'dev' ? 'debug' : profile;

function run(args, opts = {}) {
  const r = spawnSync(cargo, args, { cwd: pkgDir, encoding: 'utf8', ...opts });
  if (r.error) {
    fail(`could not run \`${cargo}\` (${r.error.message}); install Rust (https://rustup.rs) to build the native addon`);
  }
  return r;
}

// Where cargo puts its output: CARGO_TARGET_DIR, .cargo/config, or the workspace's target/.
const meta = run(['metadata', '--format-version', '1', '--no-deps'], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
if (meta.status !== 0) fail('`cargo metadata` failed');
const targetDir = JSON.parse(meta.stdout).target_directory;

const started = Date.now();
console.log(`webex-auth: cargo build -p webex-auth-node ${profileArgs.join(' ')} (profile ${profile})`);
const build = run(['build', '-p', 'webex-auth-node', ...profileArgs], { stdio: 'inherit' });
if (build.status !== 0) fail(`cargo build failed (exit ${build.status})`);

const libName =
  process.platform === 'win32' ? 'webex_auth_node.dll' : process.platform === 'darwin' ? 'libwebex_auth_node.dylib' : 'libwebex_auth_node.so';
const built = path.join(targetDir, profileDir, libName);
if (!fs.existsSync(built)) fail(`cargo finished but ${built} is missing`);
const dest = path.join(pkgDir, 'webex-auth.node');
// Copy to a temporary name and rename: a process that has the old addon loaded keeps
// its mapping, and a reader never sees a half-written file.
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(built, tmp);
fs.renameSync(tmp, dest);
console.log(`webex-auth: built ${path.relative(process.cwd(), dest) || dest} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
