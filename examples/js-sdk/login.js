// Code login, refresh, client credentials and guest (JWT) login with the Webex JS SDK
// (@webex/webex-core + @webex/plugin-authorization-node) against the emulator.
//
//   WEBEX_EMULATOR=http://127.0.0.1:8080 node login.js
'use strict';

const { base, webexConfig, quietSdkLogs, say } = require('./config');

quietSdkLogs();
const WebexCore = require('@webex/webex-core').default;
require('@webex/plugin-authorization-node');

/** A Webex instance that has read the emulator's service catalog. */
async function ready(config) {
  const webex = new WebexCore({ config });
  await new Promise((resolve) => webex.once('ready', resolve));
  await webex.internal.services.waitForCatalog('preauth', 10);
  return webex;
}

async function main() {
  // The emulator's default confidential client; register your own with
  // `webex-auth-emulator --client ID:SECRET:REDIRECT`.
  const webex = await ready(webexConfig({ clientId: 'test-client', clientSecret: 'test-secret' }));

  // 1. Code login. A browser would open this URL and show the consent page; the
  //    emulator consents at once for programs, so a fetch gets the redirect here.
  const loginUrl = webex.credentials.buildLoginUrl({ clientType: 'confidential' });
  say('login URL:', loginUrl);
  const res = await fetch(loginUrl, { redirect: 'manual' });
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  await webex.authorization.requestAuthorizationCodeGrant({ code });
  const me = await webex.request({ service: 'hydra', resource: 'people/me' });
  say('signed in as:', me.body.displayName, `(org ${webex.credentials.getOrgId()})`);

  // 2. Refresh.
  const before = webex.credentials.supertoken.access_token;
  await webex.credentials.refresh();
  say('refreshed:', webex.credentials.supertoken.access_token !== before ? 'new access token' : 'SAME TOKEN?');

  // 3. Client credentials.
  const clientToken = await webex.credentials.getClientToken();
  say('client token:', `${String(clientToken).slice(0, 16)}...`);

  // 4. Guest login: sign a JWT with the guest issuer, exchange it at jwt/login.
  const info = await (await fetch(`${base}/_emulator/info`)).json();
  const guest = await ready(webexConfig({ clientId: 'test-client', clientSecret: 'test-secret' }));
  const { jwt } = await guest.authorization.createJwt({
    issuer: info.guest_issuer,
    secretId: info.guest_secret_b64,
    displayName: 'Example Guest',
    expiresIn: '1h',
  });
  await guest.authorization.requestAccessTokenFromJwt({ jwt });
  const guestMe = await guest.request({ service: 'hydra', resource: 'people/me' });
  say('guest:', guestMe.body.displayName, guest.credentials.isUnverifiedGuest ? '(a guest token)' : '');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error('login example failed:', error);
    process.exit(1);
  },
);
