// A login through the installed npm packages, as a user's script does it: the
// Authorization Code flow with PKCE against the packaged emulator, then a refresh and
// a logout. Usage (from the scratch project): node login.js http://127.0.0.1:PORT.
// Prints where webex-auth and its addon were loaded from and one line per step; exits
// non-zero on any failure.
'use strict';

const assert = require('node:assert/strict');

async function main(base) {
  const wxa = require('webex-auth');
  const { prebuiltAddon } = require('webex-auth/load.js');
  console.log('package', require.resolve('webex-auth'));
  console.log('addon', prebuiltAddon());
  console.log('version', wxa.version());
  const client = new wxa.Client({
    client_id: 'test-client',
    client_secret: 'test-secret',
    redirect_uri: 'http://127.0.0.1/callback',
    webex_api_url: `${base}/v1`,
    idbroker_url: base,
  });
  try {
    const url = client.initiateLogin({ state: { return_to: '/inbox' } });
    // The user's browser, stopped at the redirect back to the app.
    const res = await fetch(url, { redirect: 'manual' });
    const callback = res.headers.get('location');
    assert.ok(callback, `the emulator did not redirect (HTTP ${res.status})`);
    const { token, state } = await client.handleRedirect(callback);
    assert.deepEqual(state, { return_to: '/inbox' });
    assert.ok(token.access_token, 'no access token');
    console.log('login ok, expires', new Date(token.expires_at).toISOString());
    const refreshed = await client.refresh();
    assert.notEqual(refreshed.access_token, token.access_token, 'refresh returned the same token');
    console.log('refresh ok');
    await client.logout();
    assert.equal(client.token, null, 'a token is still there after logout');
    console.log('logout ok');
  } finally {
    client.close();
  }
  console.log('node login: ok');
}

main(process.argv[2]).catch((e) => {
  console.error(e);
  process.exit(1);
});
