#!/usr/bin/env node
// `npm pack` / `npm publish` guard. The published package must build from source with
// what is inside it: scripts/dist.sh stages this directory with the engine crate in
// webex-auth-core/, a Cargo.toml that points there (its own workspace), the lock file
// and the optional dependency on the prebuilt platform package. A pack straight from
// the checkout would ship a Cargo.toml pointing at ../.. instead, so it is refused.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const dir = path.resolve(__dirname, '..');
const fail = (msg) => {
  console.error(`webex-auth: ${msg}; pack with scripts/dist.sh (it stages the package)`);
  process.exit(1);
};
const manifest = fs.readFileSync(path.join(dir, 'Cargo.toml'), 'utf8');
if (/path\s*=\s*"\.\./.test(manifest)) fail('Cargo.toml has a path dependency outside the package');
if (!/^\[workspace\]/m.test(manifest)) fail('Cargo.toml is not its own workspace');
for (const f of ['Cargo.lock', 'webex-auth-core/Cargo.toml', 'LICENSE-MIT', 'LICENSE-APACHE']) {
  if (!fs.existsSync(path.join(dir, f))) fail(`${f} is missing`);
}
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
if (!Object.keys(pkg.optionalDependencies || {}).some((name) => name.startsWith('webex-auth-'))) {
  fail('package.json lists no prebuilt platform package in optionalDependencies');
}
