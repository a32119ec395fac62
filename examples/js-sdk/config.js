// The SDK's config for an emulator: base URLs only. The SDK finds everything else
// (the identity broker's token and authorize URLs, the oauth-helper device service)
// in the emulator's U2C service catalog, as it does with Webex.
// `webex-auth-emulator --print-sdk-config` prints the same thing.
'use strict';

const base = (process.env.WEBEX_EMULATOR || process.argv[2] || '').replace(/\/$/, '');
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(base)) {
  console.error('usage: WEBEX_EMULATOR=http://127.0.0.1:PORT node <example>.js');
  console.error('start one with: webex-auth-emulator --port 8080 --print-sdk-config');
  process.exit(2);
}

function webexConfig({ clientId, clientSecret, redirectUri = 'http://127.0.0.1/callback', scope = 'spark:all' }) {
  return {
    credentials: {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uri: redirectUri,
      scope,
      idbroker: { url: base },
      identity: { url: base },
    },
    services: {
      discovery: {
        hydra: `${base}/v1`,
        u2c: `${base}/u2c/api/v1`,
      },
    },
  };
}

/** Without @webex/plugin-logger the SDK logs every step; keep its warnings and errors. */
function quietSdkLogs() {
  if (process.env.SDK_LOGS) return;
  for (const level of ['log', 'info', 'debug', 'trace']) console[level] = () => {};
}

const say = (...args) => process.stdout.write(`${args.join(' ')}\n`);

module.exports = { base, webexConfig, quietSdkLogs, say };
