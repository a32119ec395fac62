// webex-auth for Node: the JS face of the native addon (src/lib.rs).
//
// The addon starts operations and hands back their ids; every result arrives as a
// `done` event through one thread-safe function per client, on the JS thread, in order
// with the operation's flow events. This file turns ids into Promises, payloads into
// EventEmitter events and failure JSON into WebexAuthError subclasses.
'use strict';

const { EventEmitter } = require('node:events');
const util = require('node:util');

// ---------------------------------------------------------------------------------
// Loading: load.js finds the addon (a build from source, or this platform's prebuilt
// package) and refuses one of another ABI.

const native = require('./load.js').loadNative();

// ---------------------------------------------------------------------------------
// Names: the engine's own tables, read once from the addon.

/** Status names by number: STATUS_NAMES[4] === 'WXA_ERR_OAUTH'. */
const STATUS_NAMES = Object.freeze(
  native.statusNames().reduce((names, { code, name }) => Object.assign(names, { [code]: name }), []),
);
/** Event names (the payload `type`) in number order, from `done` (1) on. */
const EVENT_NAMES = Object.freeze(
  native
    .eventNames()
    .sort((a, b) => a.code - b.code)
    .map(({ name }) => name),
);

// ---------------------------------------------------------------------------------
// Errors: one class per status and per OAuth `error` of PROTOCOL.md, found by one rule.

/** Base of every error this package throws or rejects with. */
class WebexAuthError extends Error {
  constructor(message, fields = {}) {
    super(message);
    /** The C status name, e.g. "WXA_ERR_OAUTH". */
    this.status = fields.status || new.target.status || 'WXA_ERR_INTERNAL';
    /** Its number (4 for WXA_ERR_OAUTH), or -1 for a name this engine does not know. */
    this.code = STATUS_NAMES.indexOf(this.status);
    /** The OAuth `error` code the server answered, e.g. "invalid_grant". */
    this.error = fields.error ?? null;
    this.errorDescription = fields.errorDescription ?? fields.error_description ?? null;
    this.httpStatus = fields.httpStatus ?? fields.http_status ?? null;
    this.trackingId = fields.trackingId ?? fields.tracking_id ?? null;
  }
}

function defineError(name, Base) {
  // A named class expression per error, so stacks and `err.constructor.name` read well.
  const cls = { [name]: class extends Base {} }[name];
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  return cls;
}
Object.defineProperty(WebexAuthError.prototype, 'name', { value: 'WebexAuthError', writable: true, configurable: true });

const InvalidArgumentError = defineError('InvalidArgumentError', WebexAuthError);
const ClientClosedError = defineError('ClientClosedError', InvalidArgumentError);
const StateMismatchError = defineError('StateMismatchError', WebexAuthError);
const OAuthError = defineError('OAuthError', WebexAuthError);
const InvalidRequestError = defineError('InvalidRequestError', OAuthError);
const InvalidClientError = defineError('InvalidClientError', OAuthError);
const InvalidGrantError = defineError('InvalidGrantError', OAuthError);
const UnauthorizedClientError = defineError('UnauthorizedClientError', OAuthError);
const UnsupportedGrantTypeError = defineError('UnsupportedGrantTypeError', OAuthError);
const InvalidScopeError = defineError('InvalidScopeError', OAuthError);
const HttpError = defineError('HttpError', WebexAuthError);
const NetworkError = defineError('NetworkError', WebexAuthError);
const TimeoutError = defineError('TimeoutError', WebexAuthError);
const RateLimitedError = defineError('RateLimitedError', WebexAuthError);
const ExpiredError = defineError('ExpiredError', WebexAuthError);
const CanceledError = defineError('CanceledError', WebexAuthError);
const NotAuthorizedError = defineError('NotAuthorizedError', WebexAuthError);
const UnknownOperationError = defineError('UnknownOperationError', WebexAuthError);
const InternalError = defineError('InternalError', WebexAuthError);
const IdTokenError = defineError('IdTokenError', WebexAuthError);

const ERROR_CLASSES = [
  InvalidArgumentError, ClientClosedError, StateMismatchError, OAuthError, InvalidRequestError,
  InvalidClientError, InvalidGrantError, UnauthorizedClientError, UnsupportedGrantTypeError,
  InvalidScopeError, HttpError, NetworkError, TimeoutError, RateLimitedError, ExpiredError,
  CanceledError, NotAuthorizedError, UnknownOperationError, InternalError, IdTokenError,
]; // prettier-ignore

/**
 * The rule: the `Base` subclass named after `words` ("RATE_LIMITED", "invalid_grant")
 * joined, plus "Error", ignoring case (so OAUTH finds OAuthError); undefined if none.
 */
function classFor(words, Base) {
  const key = `${words.replace(/_/g, '')}error`.toLowerCase();
  return ERROR_CLASSES.find((cls) => cls.name.toLowerCase() === key && cls.prototype instanceof Base);
}

/** Status name -> class, for every error status the engine names that has a class. */
const STATUS_CLASSES = {};
for (const status of STATUS_NAMES) {
  const cls = status.startsWith('WXA_ERR_') ? classFor(status.slice('WXA_ERR_'.length), WebexAuthError) : undefined;
  if (cls) {
    STATUS_CLASSES[status] = cls;
    cls.status = status; // what `new cls(message)` defaults to
  }
}
Object.freeze(STATUS_CLASSES);

function classOf(status, error) {
  const cls = STATUS_CLASSES[status] || WebexAuthError;
  return cls === OAuthError && typeof error === 'string' ? classFor(error, OAuthError) || OAuthError : cls;
}

/** The error for a failure payload `{"ok":false,"status":...,"message":...}`. */
function errorFromResult(result) {
  const fields = result || {};
  const status = typeof fields.status === 'string' ? fields.status : 'WXA_ERR_INTERNAL';
  const Cls = classOf(status, fields.error);
  return new Cls(fields.message || status, { ...fields, status });
}

/** A thrown value as this package's error: the addon's errors get their class. */
function translate(e) {
  if (e instanceof WebexAuthError) return e;
  // The addon's errors (src/lib.rs) carry the status name and the other fields.
  if (e instanceof Error && typeof e.status === 'string' && e.status.startsWith('WXA_')) {
    return new (classOf(e.status, e.error))(e.message, e);
  }
  // napi's own argument conversion errors (a number where a string was expected, ...).
  if (e && (e.code === 'InvalidArg' || e.code === 'StringExpected' || e.code === 'NumberExpected')) {
    return new InvalidArgumentError(e.message);
  }
  return e;
}

function callNative(fn) {
  try {
    return fn();
  } catch (e) {
    const err = translate(e);
    // Point the stack at the caller, not at this file's plumbing.
    if (err !== e && Error.captureStackTrace) Error.captureStackTrace(err, callNative);
    throw err;
  }
}

// ---------------------------------------------------------------------------------
// Argument checks (InvalidArgumentError, same as the engine's own refusals)

function checkString(v, what) {
  if (typeof v !== 'string') {
    throw new InvalidArgumentError(`${what} must be a string, not ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

function checkObject(v, what) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidArgumentError(`${what} must be an object`);
  }
  return v;
}

function toJson(v, what) {
  try {
    return JSON.stringify(v);
  } catch (e) {
    throw new InvalidArgumentError(`${what} cannot be serialized to JSON: ${e.message}`);
  }
}

/** camelCase option names -> the C names the engine takes (both are accepted). */
const OPTION_NAMES = {
  targetOrgId: 'target_org_id',
  authorizingToken: 'authorizing_token',
  applicationId: 'application_id',
  displayName: 'display_name',
  loginHint: 'login_hint',
  timeoutMs: 'timeout_ms',
};

/**
 * Options as the engine's JSON: camelCase names become the C names, `undefined` values
 * are left out; `undefined`/`null` options are none at all. What is missing or of the
 * wrong type is the engine's to say (its message names the option).
 */
function optionsJson(opts, what) {
  if (opts === undefined || opts === null) return undefined;
  checkObject(opts, what);
  const out = {};
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    const key = OPTION_NAMES[name] || name;
    if (Object.hasOwn(out, key)) throw new InvalidArgumentError(`${what}: \`${key}\` is given twice (as ${key} and in camelCase)`);
    out[key] = value;
  }
  return toJson(out, what);
}

// ---------------------------------------------------------------------------------
// Token: a plain object with the C keys whose inspect() hides the secrets.

const SECRET_KEYS = new Set(['access_token', 'refresh_token', 'id_token']);
/** Result fields that are not part of the supertoken. */
const NON_TOKEN_KEYS = new Set(['ok', 'type', 'op', 'state', 'org_id', 'id_token_claims', 'clean_url', 'token_superseded', 'store_error']);
/** How long to wait for a kept result whose `done` event JS already has (ms). */
const REREAD_MS = 2000;
/** The end marker the addon queues after close(): every payload before it was delivered. */
const DRAINED = Symbol.for('webex-auth.drained');

class Token {
  /** Copies the given fields (the C keys: access_token, token_type, expires_at, ...). */
  constructor(fields = {}) {
    Object.assign(this, fields);
  }

  /**
   * A token object from an operation result: the supertoken fields only. A result
   * whose new token could not be written to the `token_store` has `store_error` (not
   * enumerable: not saved by JSON.stringify, not sent by setToken).
   */
  static fromResult(result) {
    const t = new Token();
    for (const [k, v] of Object.entries(result)) {
      if (!NON_TOKEN_KEYS.has(k)) t[k] = v;
    }
    if (typeof result.store_error === 'string') {
      Object.defineProperty(t, 'store_error', { value: result.store_error, enumerable: false });
    }
    return t;
  }

  /** True when `expires_at` (Unix ms) has passed. */
  get expired() {
    return typeof this.expires_at === 'number' && this.expires_at <= Date.now();
  }

  /** The real fields (for saving and `setToken`): JSON.stringify shows the secrets. */
  toJSON() {
    return { ...this };
  }

  [util.inspect.custom](depth, options, inspect) {
    const shown = {};
    for (const [k, v] of Object.entries(this)) {
      shown[k] = SECRET_KEYS.has(k) && typeof v === 'string' ? `<hidden, ${v.length} chars>` : v;
    }
    if (typeof this.store_error === 'string') shown.store_error = this.store_error;
    if (depth < 0) return options.stylize('[Token]', 'special');
    return `Token ${inspect(shown, { ...options, depth: options.depth == null ? null : options.depth - 1 })}`;
  }
}

/** Event payloads that carry a token become Token objects, so logging them hides it. */
function eventPayload(payload) {
  return typeof payload.access_token === 'string' ? new Token(payload) : payload;
}

/** The result of handleRedirect and of a loopback login. */
function redirectResult(result, cleanUrl) {
  return {
    token: Token.fromResult(result),
    cleanUrl: cleanUrl ?? result.clean_url ?? '',
    state: result.state ?? {},
    orgId: result.org_id ?? null,
    idTokenClaims: result.id_token_claims ?? null,
  };
}

/** Who the client's token is (whoami): a plain object in camelCase. */
function personFromResult(result) {
  return Object.freeze({
    id: result.id,
    emails: Object.freeze([...(result.emails || [])]),
    displayName: result.display_name ?? null,
    orgId: result.org_id ?? null,
    type: result.type ?? null,
  });
}

/**
 * A guest made by the client's Service App (createGuest): its own token, not the
 * client's. `util.inspect` hides `accessToken`; `token` is it as a Token, for
 * `setToken` on a client that acts as the guest.
 */
class Guest {
  constructor(fields = {}) {
    this.id = fields.id ?? null;
    this.subject = fields.subject ?? null;
    this.displayName = fields.displayName ?? null;
    this.email = fields.email ?? null;
    this.accessToken = fields.accessToken;
    /** Seconds the token had left when it was made. */
    this.expiresIn = fields.expiresIn ?? null;
    /** Unix ms. */
    this.expiresAt = fields.expiresAt ?? null;
  }

  static fromResult(result) {
    if (typeof result.access_token !== 'string') {
      throw new NotAuthorizedError('the guest token of this result was cleared (a logout) before it was read');
    }
    const expiresIn = typeof result.expires_in === 'number' ? result.expires_in : null;
    return new Guest({
      id: result.id,
      subject: result.subject,
      displayName: result.display_name,
      email: result.email,
      accessToken: result.access_token,
      expiresIn,
      expiresAt: expiresIn === null ? null : Date.now() + expiresIn * 1000,
    });
  }

  /** The guest's token as a Token (access_token, token_type, expires_at). */
  get token() {
    const t = new Token({ access_token: this.accessToken, token_type: 'Bearer' });
    if (this.expiresAt !== null) t.expires_at = this.expiresAt;
    return t;
  }

  [util.inspect.custom](depth, options, inspect) {
    if (depth < 0) return options.stylize('[Guest]', 'special');
    const shown = { ...this, accessToken: `<hidden, ${String(this.accessToken).length} chars>` };
    return `Guest ${inspect(shown, { ...options, depth: options.depth == null ? null : options.depth - 1 })}`;
  }
}

// ---------------------------------------------------------------------------------
// Client

/** A Promise and its resolve function. */
function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Clients with operations in flight: kept reachable so their Promises settle. */
const busy = new Set();

class Client extends EventEmitter {
  #native;
  /** op id -> { resolve, reject, map, reread } */
  #pending = new Map();
  #drained;
  #resolveDrained;
  /** op id -> DeviceLogin */
  #devices = new Map();
  #closed = false;

  /**
   * @param {object} config the engine's config with its snake_case keys (client_id,
   *   client_secret, redirect_uri, scope, webex_api_url, idbroker_url, timeout_ms, ...)
   */
  constructor(config) {
    super();
    // Made outside this constructor's scope: a closure here that captured `this` would
    // share the scope's context with the event callback below, which the addon holds
    // strongly, and the client could never be collected.
    ({ promise: this.#drained, resolve: this.#resolveDrained } = deferred());
    checkObject(config, 'config');
    const json = toJson(config, 'config');
    // The thread-safe function holds this callback; it must not hold the client
    // strongly, or a client dropped without close() would never be collected.
    const self = new WeakRef(this);
    this.#native = callNative(() => new native.NativeClient(json, (payloadJson) => Client.#deliver(self, payloadJson)));
  }

  static #deliver(ref, payloadJson) {
    const client = ref.deref();
    if (client) client.#dispatch(payloadJson);
  }

  #dispatch(payloadJson) {
    // The addon's end marker: every payload of this client has been handed to JS.
    if (payloadJson === '') {
      this.#resolveDrained();
      return;
    }
    // Payloads queued before close() returned are dropped: no event after close().
    if (this.#closed) return;
    let payload;
    try {
      payload = JSON.parse(payloadJson);
    } catch {
      return;
    }
    const type = payload.type;
    const op = typeof payload.op === 'number' ? payload.op : 0;

    // Our own bookkeeping first, so listeners see a consistent state.
    const device = op ? this.#devices.get(op) : undefined;
    if (device && type === 'getUserCodeSuccess') device._ready(payload);
    if (type === 'done' && op) this.#settle(op, payload);

    try {
      this.emit(type, eventPayload(payload));
    } catch (err) {
      // A throwing listener behaves as in any EventEmitter fed from I/O: an uncaught
      // exception. It is rethrown on the next tick so the event queue stays intact.
      process.nextTick(() => {
        throw err;
      });
    }
  }

  #settle(op, result) {
    const p = this.#pending.get(op);
    this.#devices.delete(op);
    if (!p) return;
    this.#pending.delete(op);
    this.#updateRef();
    // A `done` that cannot tell the whole result: its token was superseded while it was
    // queued (no stale token waits in the queue), or the event's own `type` hides the
    // result's (whoami). The engine keeps the result: the caller gets what its operation
    // got. Not kept any more, or scrubbed by a logout: the event's payload as it is.
    if (result.ok && (p.reread || result.token_superseded === true)) result = this.#keptResult(op) || result;
    if (result.ok) {
      let value;
      try {
        value = p.map(result);
      } catch (e) {
        p.reject(e);
        return;
      }
      p.resolve(value);
    } else {
      p.reject(errorFromResult(result));
    }
  }

  /** Refs the thread-safe function while operations are pending (and only then). */
  #updateRef() {
    const busyNow = this.#pending.size > 0;
    if (busyNow) busy.add(this);
    else busy.delete(this);
    if (!this.#closed) this.#native.setRef(busyNow);
  }

  #checkOpen() {
    if (this.#closed) throw new ClientClosedError('the client is closed');
  }

  #keptResult(op) {
    try {
      const json = this.#native.keptResult(op, REREAD_MS);
      return json == null ? null : JSON.parse(json);
    } catch {
      return null;
    }
  }

  /** Runs `start` (which returns an op id) and returns the Promise of its result. */
  #operation(start, map, reread = false) {
    try {
      this.#checkOpen();
      const op = callNative(start);
      return this.#track(op, map, reread);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // The engine may queue an operation's `done` before the native call that started it
  // returns; it still reaches JS only after this synchronous registration, because the
  // thread-safe function delivers on the JS thread once the current JS work is done.
  #track(op, map, reread = false) {
    return new Promise((resolve, reject) => {
      this.#pending.set(op, { resolve, reject, map, reread });
      this.#updateRef();
    });
  }

  /** @internal Resolves once close() was called and every payload queued before it reached JS. */
  get [DRAINED]() {
    return this.#drained;
  }

  /** True once close() has been called. */
  get closed() {
    return this.#closed;
  }

  /** Builds the authorize URL (Authorization Code + PKCE + state) and remembers the login. */
  initiateLogin(opts) {
    this.#checkOpen();
    const json = optionsJson(opts, 'options');
    return callNative(() => this.#native.initiateLogin(json));
  }

  /** Checks the redirect's state, then exchanges its code. */
  handleRedirect(url) {
    let cleanUrl = '';
    return this.#operation(
      () => {
        if (url instanceof URL) url = url.href;
        checkString(url, 'url');
        const r = this.#native.handleRedirect(url);
        cleanUrl = r.cleanUrl;
        return r.op;
      },
      (result) => redirectResult(result, cleanUrl),
    );
  }

  exchangeCode(code, codeVerifier) {
    return this.#operation(() => {
      checkString(code, 'code');
      if (codeVerifier !== undefined && codeVerifier !== null) checkString(codeVerifier, 'codeVerifier');
      return this.#native.exchangeCode(code, codeVerifier ?? undefined);
    }, Token.fromResult);
  }

  refresh() {
    return this.#operation(() => this.#native.refresh(), Token.fromResult);
  }

  getValidToken(minValidS = 0) {
    return this.#operation(() => {
      if (!Number.isInteger(minValidS) || minValidS < 0 || minValidS > 0xffffffff) {
        throw new InvalidArgumentError('minValidS must be a whole number of seconds (0 to 2^32-1)');
      }
      return this.#native.getValidToken(minValidS);
    }, Token.fromResult);
  }

  clientCredentials() {
    return this.#operation(() => this.#native.clientCredentials(), Token.fromResult);
  }

  /** The current token (a snapshot, no network), or null. */
  get token() {
    this.#checkOpen();
    const json = callNative(() => this.#native.getToken());
    return json == null ? null : new Token(JSON.parse(json));
  }

  /** Restores a saved token (the shape `token` returns); emits `token:refresh`. */
  setToken(token) {
    this.#checkOpen();
    const json = toJson(checkObject(token, 'token'), 'token');
    callNative(() => this.#native.setToken(json));
  }

  logout() {
    return this.#operation(
      () => this.#native.logout(),
      () => undefined,
    );
  }

  loginWithJwt(jwt) {
    return this.#operation(() => this.#native.loginWithJwt(checkString(jwt, 'jwt')), Token.fromResult);
  }

  /**
   * Your API call with `accessToken` got HTTP 401: refreshes it if it is still the
   * client's token (one refresh for every caller that saw the same 401; with a
   * token_store, one across every process sharing it), else resolves at once with the
   * token that replaced it. Resolves with the token to retry with.
   */
  tokenRejected(accessToken) {
    return this.#operation(() => this.#native.tokenRejected(checkString(accessToken, 'accessToken')), Token.fromResult);
  }

  /** Who the client's token is (GET people/me); a 401 leads to one refresh and one retry. */
  whoami() {
    return this.#operation(() => this.#native.whoami(), personFromResult, true);
  }

  /**
   * The client's Service App's token for an org whose Full Admin authorized it; it
   * becomes the client's token. Options: targetOrgId, authorizingToken (an
   * integration's token with spark:applications_token), applicationId (optional); the
   * C names (target_org_id, ...) work too. Missing ones reject with
   * InvalidArgumentError and nothing is sent; an org that did not authorize the app
   * rejects with HttpError (httpStatus 403).
   */
  serviceAppToken(opts) {
    return this.#operation(() => this.#native.serviceAppToken(optionsJson(opts, 'options')), Token.fromResult);
  }

  /**
   * A guest through the client's Service App: options subject (required) and
   * displayName. Resolves with a Guest (its own token; the client's stays). Rejects
   * with InvalidArgumentError on FedRAMP (nothing sent).
   */
  createGuest(opts) {
    return this.#operation(() => this.#native.createGuest(optionsJson(opts, 'options')), Guest.fromResult);
  }

  /**
   * Starts a loopback login (RFC 8252) for a native app: the addon listens on
   * 127.0.0.1 (`port`, default any free one); open `login.url` in a browser and await
   * `login.done`. Options: port, timeoutMs (how long to wait for the browser), and
   * initiateLogin's. Throws synchronously when it cannot start.
   */
  startLoopbackLogin(opts) {
    this.#checkOpen();
    const json = optionsJson(opts, 'options');
    const { op, url } = callNative(() => this.#native.startLoopbackLogin(json));
    const done = this.#track(op, (result) => redirectResult(result));
    return new LoopbackLogin(this, op, url, done);
  }

  /** Starts a device (QR) login. Throws synchronously when it cannot start. */
  startDeviceLogin() {
    this.#checkOpen();
    const op = callNative(() => this.#native.startDeviceLogin());
    const login = new DeviceLogin(this, op);
    this.#devices.set(op, login);
    const done = this.#track(op, Token.fromResult);
    login._attach(done);
    return login;
  }

  /** Cancels an operation by id (a no-op once it has ended). */
  cancel(op) {
    this.#checkOpen();
    if (!Number.isSafeInteger(op) || op <= 0) throw new UnknownOperationError(`operation ${op} is not an id`);
    callNative(() => this.#native.cancel(op));
  }

  /**
   * Cancels every operation and releases the client. Pending Promises reject with
   * CanceledError; no event is emitted once this returns; later calls throw or reject
   * with ClientClosedError. Idempotent.
   */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#native.close();
    } finally {
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      this.#devices.clear();
      busy.delete(this);
      for (const p of pending) p.reject(new CanceledError('the client was closed'));
    }
  }

  [util.inspect.custom](depth, options, inspect) {
    return `Client { ${this.#closed ? 'closed' : `open, ${this.#pending.size} pending`} }`;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(Client.prototype, Symbol.dispose, {
    value: function dispose() {
      this.close();
    },
    writable: true,
    configurable: true,
  });
}

// ---------------------------------------------------------------------------------
// DeviceLogin

class DeviceLogin {
  #client;
  #resolveReady;
  #rejectReady;
  #isReady = false;

  constructor(client, op) {
    this.#client = client;
    /** The operation id. */
    this.op = op;
    this.userCode = null;
    this.verificationUri = null;
    this.verificationUriComplete = null;
    this.expiresIn = null;
    this.interval = null;
    /** Resolves (with this object) once the user code is known. */
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    /** Resolves with the Token once the user approved; rejects on failure/expiry/cancel. */
    this.done = null;
    // Both are observed here too: a login canceled before anyone awaited `ready` (or
    // whose `done` nobody awaits) must not crash the process with an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** @internal */
  _attach(done) {
    this.done = done;
    done.catch(() => {});
    done.then(
      () => this.#resolveReady(this),
      (err) => {
        if (!this.#isReady) this.#rejectReady(err);
      },
    );
  }

  /** @internal */
  _ready(payload) {
    this.userCode = payload.userCode ?? null;
    this.verificationUri = payload.verificationUri ?? null;
    this.verificationUriComplete = payload.verificationUriComplete ?? null;
    this.expiresIn = payload.expiresIn ?? null;
    this.interval = payload.interval ?? null;
    this.#isReady = true;
    this.#resolveReady(this);
  }

  /** Stops polling: `done` rejects with CanceledError after a `pollingCanceled` event. */
  cancel() {
    this.#client.cancel(this.op);
  }

  #uri() {
    if (!this.verificationUriComplete && !this.verificationUri) {
      throw new InvalidArgumentError('the device login has no verification URI yet: await login.ready first');
    }
    return this.verificationUriComplete || this.verificationUri;
  }

  /** The verification URI as a QR code for a terminal (Unicode half blocks). */
  qrText() {
    return qrCode(this.#uri(), 'utf8');
  }

  /** The verification URI as a QR code in SVG. */
  qrSvg() {
    return qrCode(this.#uri(), 'svg');
  }
}

// ---------------------------------------------------------------------------------
// LoopbackLogin

class LoopbackLogin {
  #client;

  constructor(client, op, url, done) {
    this.#client = client;
    /** The operation id. */
    this.op = op;
    /** The authorize URL to open in the browser. */
    this.url = url;
    /** The port the addon listens on (the redirect URI is http://127.0.0.1:PORT/callback). */
    this.port = Number(new URL(new URL(url).searchParams.get('redirect_uri') || 'http://127.0.0.1:0/').port) || 0;
    /** Resolves with { token, cleanUrl, state, orgId, idTokenClaims } once the browser came back. */
    this.done = done;
    // Observed here too: a login canceled or timed out that nobody awaits must not
    // crash the process with an unhandled rejection.
    done.catch(() => {});
  }

  /** Closes the listener: `done` rejects with CanceledError. A no-op once it ended. */
  cancel() {
    if (!this.#client.closed) this.#client.cancel(this.op);
  }
}

// ---------------------------------------------------------------------------------
// Module functions

/**
 * Signs a guest-issuer JWT (HS256) locally. Options take the C names (issuer, secret,
 * subject, display_name, expires_in) or the Webex SDK's (secretId, displayName,
 * expiresIn, sub, name).
 */
function createJwt(opts) {
  checkObject(opts, 'options');
  return callNative(() => native.createJwt(toJson(opts, 'options')));
}

/** Renders `text` as a QR code: `format` "utf8" (terminal) or "svg". */
function qrCode(text, format = 'utf8') {
  checkString(text, 'text');
  checkString(format, 'format');
  return callNative(() => native.qrCode(text, format));
}

/** The engine's version, e.g. "0.1.0". */
function version() {
  return native.version();
}

module.exports = {
  Client,
  DeviceLogin,
  LoopbackLogin,
  Guest,
  Token,
  createJwt,
  qrCode,
  version,
  errorFromResult,
  STATUS_NAMES,
  EVENT_NAMES,
  WebexAuthError,
  InvalidArgumentError,
  ClientClosedError,
  StateMismatchError,
  OAuthError,
  InvalidRequestError,
  InvalidClientError,
  InvalidGrantError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  InvalidScopeError,
  HttpError,
  NetworkError,
  TimeoutError,
  RateLimitedError,
  ExpiredError,
  CanceledError,
  NotAuthorizedError,
  UnknownOperationError,
  InternalError,
  IdTokenError,
};
