#!/usr/bin/env node
// The package's install script. Nothing to do when this platform's prebuilt addon was
// installed (the optional dependency webex-auth-<platform>): that needs no cargo, and
// `npm install --ignore-scripts` gets the same result. Otherwise (a platform without a
// prebuilt addon, or a checkout) build the addon from source with cargo: scripts/build.js,
// which uses the Rust sources inside this package.
'use strict';

const path = require('node:path');
const { platformPackage, prebuiltAddon } = require('../load.js');

const prebuilt = prebuiltAddon();
if (prebuilt) {
  console.log(`webex-auth: using the prebuilt addon ${path.relative(process.cwd(), prebuilt) || prebuilt}`);
  process.exit(0);
}
console.log(`webex-auth: no prebuilt addon (${platformPackage()} is not installed); building from source with cargo`);
require('./build.js');
