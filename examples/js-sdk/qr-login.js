// QR-code (device) login with the Webex JS SDK's first-party plugin against the
// emulator: the SDK shows a code, a person approves it on the emulator's verification
// page (open the printed link in a browser), the SDK gets the token.
//
//   WEBEX_EMULATOR=http://127.0.0.1:8080 node qr-login.js [--approve]
//
// --approve approves through the emulator's admin API instead of a person.
'use strict';

const { base, webexConfig, quietSdkLogs, say } = require('./config');

// The first-party plugin is written for browsers: it reads window.location and keeps
// its PKCE verifier in sessionStorage. This is all of `window` it needs in Node.
const session = new Map();
global.window = {
  location: { href: 'http://127.0.0.1/' },
  sessionStorage: {
    getItem: (k) => (session.has(k) ? session.get(k) : null),
    setItem: (k, v) => session.set(k, String(v)),
    removeItem: (k) => session.delete(k),
  },
  history: { replaceState() {} },
};

quietSdkLogs();
const WebexCore = require('@webex/webex-core').default;
require('@webex/internal-plugin-metrics');
require('@webex/plugin-authorization-browser-first-party');

async function main() {
  const autoApprove = process.argv.includes('--approve');
  // The emulator's default public client.
  const webex = new WebexCore({ config: webexConfig({ clientId: 'public-client' }) });
  await new Promise((resolve) => webex.once('ready', resolve));
  await webex.internal.services.waitForCatalog('preauth', 10);

  const done = new Promise((resolve, reject) => {
    webex.authorization.eventEmitter.on('qRCodeLogin', async ({ eventType, userData, data }) => {
      switch (eventType) {
        case 'getUserCodeSuccess':
          say('code:', userData.userCode);
          // The SDK rewrites verification_uri_complete to Webex's web app; the
          // emulator's own page is verification_uri.
          say(`open ${userData.verificationUri}?userCode=${userData.userCode} and approve`);
          if (autoApprove) {
            await fetch(`${base}/_emulator/device/approve`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ user_code: userData.userCode }),
            });
          }
          break;
        case 'authorizationPending':
          say('waiting for approval...');
          break;
        case 'authorizationSuccess':
          resolve();
          break;
        case 'authorizationFailure':
        case 'getUserCodeFailure':
          reject(new Error(`${eventType}: ${JSON.stringify(data)}`));
          break;
        default:
      }
    });
  });
  webex.authorization.initQRCodeLogin();
  await done;
  const me = await webex.request({ service: 'hydra', resource: 'people/me' });
  say('signed in as:', me.body.displayName);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error('QR login example failed:', error.message);
    process.exit(1);
  },
);
