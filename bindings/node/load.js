// Finds and loads the native addon, and checks that it is one index.js can drive.
//
// Where the addon comes from, in order:
//   1. WEBEX_AUTH_NODE_ADDON, when set (only that file: an explicit choice fails loudly);
//   2. webex-auth.node next to this file: a build from source (`npm run build`, the
//      install script on a platform without a prebuilt addon, a checkout);
//   3. the prebuilt addon of this platform's package (napi-rs's convention: one package
//      per platform, e.g. webex-auth-linux-x64-gnu, listed in optionalDependencies, so
//      npm installs only the one that fits and nobody needs cargo).
//
// The ABI check: the addon links the engine statically, so the C ABI cannot mismatch,
// but the addon's exports are an interface with index.js all the same. The addon
// reports its engine version; its major is its ABI (docs/C-API.md, "ABI policy"), and an addon of
// another ABI than the one index.js was written for is refused with an error naming
// both, instead of failing later on a missing or changed export.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** The ABI (major version) this package's JS was written for. */
const ABI_VERSION = 1;

/** napi-rs's platform name of this process, e.g. "linux-x64-gnu", or null. */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  // glibc or musl: Node's report header names the glibc it runs on, if any.
  const header = process.report && typeof process.report.getReport === 'function' ? process.report.getReport().header : {};
  return `linux-${arch}-${header && header.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** The name of the package holding the prebuilt addon for this platform. */
function platformPackage() {
  return `webex-auth-${platformTriple()}`;
}

/** The prebuilt addon's path, or null when its package is not installed. */
function prebuiltAddon() {
  let manifest;
  try {
    manifest = require.resolve(`${platformPackage()}/package.json`);
  } catch {
    return null;
  }
  const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  return path.join(path.dirname(manifest), pkg.main);
}

/** The addon's ABI (the major of the engine version it reports) and that version. */
function addonAbi(native) {
  const version = native && typeof native.version === 'function' ? String(native.version()) : null;
  const major = version && /^(\d+)\./.exec(version);
  return { abi: major ? Number(major[1]) : null, version };
}

function checkAbi(native, file) {
  const { abi, version } = addonAbi(native);
  if (abi === ABI_VERSION) return native;
  const what = abi === null ? 'reports no webex-auth version' : `is webex-auth ${version} (ABI ${abi})`;
  const err = new Error(
    `webex-auth: the native addon ${file} ${what}, but this webex-auth package (index.js) was ` +
      `written for ABI ${ABI_VERSION}: install matching versions of webex-auth and ` +
      `${platformPackage()}, or rebuild the addon from this package (npm run build).`,
  );
  err.code = 'WEBEX_AUTH_ABI_MISMATCH';
  err.addonAbi = abi;
  err.expectedAbi = ABI_VERSION;
  throw err;
}

function loadFile(file) {
  try {
    return require(file);
  } catch (e) {
    const err = new Error(`webex-auth: cannot load the native addon ${file}: ${e.message}`);
    err.cause = e;
    throw err;
  }
}

/** The checked addon, from the first place that has one. */
function loadNative() {
  const explicit = process.env.WEBEX_AUTH_NODE_ADDON;
  if (explicit) return checkAbi(loadFile(path.resolve(explicit)), explicit);
  const local = path.join(__dirname, 'webex-auth.node');
  if (fs.existsSync(local)) return checkAbi(loadFile(local), local);
  const prebuilt = prebuiltAddon();
  if (prebuilt) return checkAbi(loadFile(prebuilt), prebuilt);
  throw new Error(
    `webex-auth: no native addon for ${platformTriple()}: the prebuilt package ` +
      `${platformPackage()} is not installed and nothing was built from source. Install it ` +
      `next to webex-auth, or build the addon from the sources in this package with cargo ` +
      `(npm run build in ${__dirname}), or set WEBEX_AUTH_NODE_ADDON to a built addon.`,
  );
}

module.exports = { ABI_VERSION, loadNative, platformPackage, platformTriple, prebuiltAddon };
