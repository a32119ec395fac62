// Compiled (never run) by types.test.js with `tsc --noEmit`: the API as an app uses it.
import {
  Client,
  createJwt,
  qrCode,
  version,
  Token,
  DeviceLogin,
  WebexAuthError,
  InvalidGrantError,
  StateMismatchError,
  CanceledError,
  ClientEvents,
  RedirectResult,
  LoopbackLogin,
  Guest,
  Person,
  IdTokenError,
  IdTokenClaims,
} from '..';

async function main(): Promise<void> {
  const client = new Client({ client_id: 'c', client_secret: 's', redirect_uri: 'http://127.0.0.1/callback', timeout_ms: 1000 });
  client.on('token:refresh', (t) => {
    const at: string = t.access_token;
    const exp: number | undefined = t.expires_at;
    void at;
    void exp;
  });
  client.on('getUserCodeSuccess', (e) => {
    const code: string = e.userCode;
    const uri: string = e.verificationUriComplete;
    void code;
    void uri;
  });
  client.on('authorizationPending', (e: ClientEvents['authorizationPending']) => void e.interval);
  client.on('done', (e) => {
    if (!e.ok) {
      const s: string = e.status;
      void s;
    }
  });

  const url: string = client.initiateLogin({ state: { returnTo: '/' }, email: 'a@example.com' });
  const r: RedirectResult = await client.handleRedirect(url);
  const clean: string = r.cleanUrl;
  const org: string | null = r.orgId;
  const tok: Token = r.token;
  void clean;
  void org;
  void tok.refresh_token;

  const t2: Token = await client.refresh();
  const t3: Token = await client.getValidToken(60);
  const t4: Token = await client.clientCredentials();
  const t5: Token = await client.exchangeCode('code', 'verifier');
  const t6: Token = await client.loginWithJwt(createJwt({ issuer: 'i', secretId: 'YS1ndWVzdC1pc3N1ZXItc2VjcmV0LW9mLTMyLWJ5dGU=', expiresIn: '1h', displayName: 'x' }));
  void [t2, t3, t4, t5, t6];
  const saved: Token | null = client.token;
  if (saved) client.setToken(saved);
  client.setToken({ access_token: 'a', expires_in: 60 });
  await client.logout();

  const dl: DeviceLogin = client.startDeviceLogin();
  await dl.ready;
  const code: string | null = dl.userCode;
  const qr: string = dl.qrText() + dl.qrSvg();
  void code;
  void qr;
  dl.cancel();
  client.cancel(dl.op);
  try {
    const tok: Token = await dl.done;
    void tok;
  } catch (e) {
    if (e instanceof CanceledError) {
      const st: string = e.status;
      void st;
    }
  }

  try {
    await client.handleRedirect(new URL('http://127.0.0.1/callback?code=x&state=y'));
  } catch (e) {
    if (e instanceof StateMismatchError || e instanceof InvalidGrantError) {
      const info: [string | null, number | null, string | null] = [e.error, e.httpStatus, e.trackingId];
      void info;
    } else if (e instanceof WebexAuthError) {
      void e.errorDescription;
    }
  }

  client.on('unauthorized', (e) => {
    const why: string | undefined = e.reason;
    const when: number | undefined = e.refresh_token_expired_at;
    void [why, when];
  });
  const again: Token = await client.tokenRejected('the-token-the-api-refused');
  void again.store_error;
  const me: Person = await client.whoami();
  const mine: [string, readonly string[], string | null] = [me.id, me.emails, me.orgId];
  void mine;
  const app: Token = await client.serviceAppToken({ targetOrgId: 'org', authorizingToken: 'tok' });
  const app2: Token = await client.serviceAppToken({ target_org_id: 'org', authorizing_token: 'tok', application_id: 'a' });
  void [app, app2];
  const guest: Guest = await client.createGuest({ subject: 'visitor', displayName: 'Visitor' });
  const guestToken: Token = guest.token;
  const exp: number | null = guest.expiresAt;
  void [guestToken, exp, guest.accessToken];
  const loop: LoopbackLogin = client.startLoopbackLogin({ port: 0, timeoutMs: 60000, scope: 'openid email', state: { w: 1 } });
  const openUrl: string = loop.url;
  void [openUrl, loop.port, loop.op];
  try {
    const lr: RedirectResult = await loop.done;
    const claims: IdTokenClaims | null = lr.idTokenClaims;
    if (claims) {
      const email: string | undefined = claims.email;
      void [email, claims.sub];
    }
  } catch (e) {
    if (e instanceof IdTokenError) void e.status;
  }
  loop.cancel();

  const jwt: string = createJwt({ issuer: 'i', secret: 'YS1ndWVzdC1pc3N1ZXItc2VjcmV0LW9mLTMyLWJ5dGU=', expires_in: 60, display_name: 'n', subject: 's' });
  const svg: string = qrCode(jwt, 'svg');
  const v: string = version();
  void svg;
  void v;
  client.close();
  {
    using c2 = new Client({ client_id: 'x' });
    void c2.closed;
  }
}

void main;
