// oidc-provider (OpenID-certified OAuth 2.0 / OIDC server) on 127.0.0.1, offline, for
// the webex-auth interoperability test (test_oidc_provider.py).
//
// Prints exactly one line `listening http://127.0.0.1:PORT` on stdout, then serves
// until killed. The issuer is that URL; every endpoint is in its discovery document
// at /.well-known/openid-configuration.
//
// Clients (redirect_uri http://127.0.0.1/callback; the first two confidential with
// client_secret_basic and every grant type the engine speaks):
//   interop-client   secret "interop-secret"
//   interop-special  a secret with characters that RFC 6749 §2.3.1 form-encoding
//                    changes in the Basic header (space, ':', '+', '%', '/', '&')
//   interop-public   a public client (token_endpoint_auth_method none: PKCE required)
// Login and consent use oidc-provider's devInteractions pages (any login, any
// password); refresh tokens are issued when `offline_access` is granted.

import http from 'node:http';

import Provider from 'oidc-provider';

export const CLIENT_ID = 'interop-client';
export const CLIENT_SECRET = 'interop-secret';
export const SPECIAL_CLIENT_ID = 'interop-special';
export const SPECIAL_CLIENT_SECRET = 'p@ss word:+/%&=?';
export const PUBLIC_CLIENT_ID = 'interop-public';
export const REDIRECT_URI = 'http://127.0.0.1/callback';

const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
];

function client(clientId, clientSecret) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: GRANT_TYPES,
  };
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      client(CLIENT_ID, CLIENT_SECRET),
      client(SPECIAL_CLIENT_ID, SPECIAL_CLIENT_SECRET),
      {
        client_id: PUBLIC_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: [REDIRECT_URI],
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
    // Any login is accepted (devInteractions takes any login / password).
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub };
        },
      };
    },
    scopes: ['openid', 'offline_access', 'spark:all'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
    },
    // Refresh tokens whenever offline_access was granted and the client may refresh
    // (oidc-provider's default policy, spelled out).
    async issueRefreshToken(ctx, cl, code) {
      return cl.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    // Opaque refresh tokens are not rotated, so a revoked one is detectable by a retry.
    rotateRefreshToken: false,
    cookies: { keys: ['interop-cookie-key-not-a-secret'] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 120,
      Grant: 3600,
      IdToken: 600,
      Interaction: 300,
      RefreshToken: 3600,
      Session: 3600,
    },
  });

  // Keep the console quiet except for the one line the test reads; report server
  // errors on stderr so a failing test can show them.
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`server_error ${ctx.method} ${ctx.path}: ${err.stack}\n`);
  });
  for (const event of ['grant.error', 'revocation.error', 'introspection.error',
    'authorization.error', 'code_verification.error']) {
    provider.on(event, (ctx, err) => {
      process.stderr.write(`${event} ${ctx.method} ${ctx.path}: ${err.name} ${err.message} ${err.error_description ?? ''}\n`);
    });
  }

  // One stderr line per request (method, path, whether an Authorization header came,
  // the names of the form fields, status, the OAuth error body of a failed one), for
  // the test's failure reports.
  provider.use(async (ctx, next) => {
    await next();
    let detail = '';
    if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object') {
      detail = ` ${JSON.stringify(ctx.body)}`;
    }
    const auth = ctx.headers.authorization ? ' Authorization' : '';
    let form = '';
    try {
      const body = ctx.oidc?.body;
      if (body && typeof body === 'object') form = ` form(${Object.keys(body).join(',')})`;
    } catch { /* no oidc context on this route */ }
    process.stderr.write(`${ctx.method} ${ctx.path}${auth}${form} -> ${ctx.status}${detail}\n`);
  });

  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
