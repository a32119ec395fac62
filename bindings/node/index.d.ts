// Types for webex-auth (the Node binding of the webex-auth engine).
//
// Error convention: methods that return a Promise never throw; every failure, including
// a bad argument, a closed client or a redirect whose state does not match
// (StateMismatchError from handleRedirect), rejects the Promise. Methods that return a
// value synchronously (the constructor, initiateLogin, token, setToken,
// startDeviceLogin, startLoopbackLogin, cancel, createJwt, qrCode) throw instead. Every
// error is a WebexAuthError subclass.

/// <reference types="node" />
import { EventEmitter } from 'node:events';

/** Engine configuration: the same snake_case keys in every language (PROTOCOL.md). */
export interface ClientConfig {
  client_id: string;
  client_secret?: string;
  redirect_uri?: string;
  scope?: string;
  webex_api_url?: string;
  idbroker_url?: string;
  authorize_url?: string;
  token_url?: string;
  device_authorize_url?: string;
  device_token_url?: string;
  jwt_login_url?: string;
  logout_url?: string;
  revoke_url?: string;
  /** "basic" (default) or "body". */
  client_auth?: string;
  self_contained_token?: boolean;
  timeout_ms?: number;
  max_retries?: number;
  refresh_before_expiry_s?: number;
  login_ttl_s?: number;
  /** Pending logins kept per client; the oldest is evicted beyond it. */
  max_pending_logins?: number;
  /** An HTTP(S) proxy URL for non-loopback requests, or "none". */
  proxy?: string;
  /** A PEM file of extra trusted root certificates. */
  ca_file?: string;
  /**
   * Where the token lives between processes: an encrypted file (`path` and `key` or
   * `key_file`) or Redis (`redis`, `key` or `key_file`, `namespace`); `key` is base64 of
   * 32 bytes. Clients sharing it share the token and refresh it once.
   */
  token_store?: TokenStoreConfig;
  /** "commercial" (default) or "fedramp" (Webex for Government: its hosts, no guests). */
  environment?: 'commercial' | 'fedramp';
  /** The JWKS that verifies Login with Webex id_tokens (default: the identity broker's). */
  jwks_url?: string;
  /** Refresh at least this often (seconds) so the refresh token never lapses unused. */
  refresh_keepalive_s?: number;
  issuer?: string;
  guest_issuer?: string;
  guest_secret?: string;
  guest_subject?: string;
  guest_display_name?: string;
  guest_expires_in?: number | string;
}

/** `token_store`: a file or a Redis store. */
export type TokenStoreConfig =
  | { path: string; key?: string; key_file?: string }
  | { redis: string; key?: string; key_file?: string; namespace?: string };

/** Options of initiateLogin. */
export interface LoginOptions {
  /** Hashed into an `emailhash` hint; never sent in clear. */
  email?: string;
  /** An app object carried through the login and returned by handleRedirect. */
  state?: Record<string, unknown>;
  /** With `openid` (e.g. "openid email"), a Login with Webex: the result has idTokenClaims. */
  scope?: string;
  prompt?: string;
  login_hint?: string;
  /** The same as login_hint. */
  loginHint?: string;
}

/** Options of startLoopbackLogin: initiateLogin's, and where and how long to listen. */
export interface LoopbackOptions extends LoginOptions {
  /** The port on 127.0.0.1 (default: any free one). */
  port?: number;
  /** How long to wait for the browser, in ms (default: the config's login_ttl_s). */
  timeoutMs?: number;
  timeout_ms?: number;
}

/**
 * Options of serviceAppToken, in camelCase or with the C names (target_org_id, ...).
 * `targetOrgId`: the org whose Full Admin authorized the Service App; `authorizingToken`:
 * an integration's access token with spark:applications_token (never the client's own);
 * `applicationId`: default derived from the client id.
 */
export type ServiceAppOptions =
  | { targetOrgId: string; authorizingToken: string; applicationId?: string }
  | { target_org_id: string; authorizing_token: string; application_id?: string };

/** Options of createGuest. */
export interface GuestOptions {
  /** Your id for the guest; the same subject again is the same guest. */
  subject: string;
  /** Default: the subject. */
  displayName?: string;
  display_name?: string;
}

/** The supertoken fields. */
export interface TokenFields {
  access_token: string;
  token_type?: string;
  /** Seconds left when the payload was made. */
  expires_in?: number;
  /** Unix ms. */
  expires_at?: number;
  refresh_token?: string;
  /** Unix ms. */
  refresh_token_expires_at?: number;
  scope?: string;
  id_token?: string;
}

/**
 * A token: a plain object with the C keys. `util.inspect`/`console.log` hide the
 * secrets; `JSON.stringify` (toJSON) keeps them, so a saved token restores with setToken.
 */
// Declaration merging: the class carries every TokenFields member without restating them.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Token extends TokenFields {}
export class Token {
  constructor(fields?: Partial<TokenFields> & Record<string, unknown>);
  static fromResult(result: Record<string, unknown>): Token;
  /** True when expires_at has passed. */
  readonly expired: boolean;
  /**
   * On the token an operation resolved with: why its new token could not be written to
   * the token_store (the client keeps it and retries). Not saved by toJSON.
   */
  readonly store_error?: string;
  toJSON(): TokenFields & Record<string, unknown>;
}

/** The validated claims of a Login with Webex id_token. */
export interface IdTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  exp: number;
  iat: number;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  nonce?: string;
  [claim: string]: unknown;
}

export interface RedirectResult {
  token: Token;
  /** The redirect URL without code, CSRF token and other sensitive parameters. */
  cleanUrl: string;
  /** The app's own state object given to initiateLogin (`{}` when none). */
  state: Record<string, unknown>;
  /** The org id the code carried, or null. */
  orgId: string | null;
  /** For a login whose scope had `openid`: the id_token's validated claims; else null. */
  idTokenClaims: IdTokenClaims | null;
}

/** Who the client's token is (whoami). */
export interface Person {
  readonly id: string;
  readonly emails: readonly string[];
  readonly displayName: string | null;
  readonly orgId: string | null;
  /** "person" (a user), "bot" (a Service App or client credentials), "appuser" (a guest). */
  readonly type: 'person' | 'bot' | 'appuser' | (string & {}) | null;
}

/** A guest made by the client's Service App; util.inspect hides accessToken. */
export class Guest {
  private constructor();
  readonly id: string | null;
  readonly subject: string | null;
  readonly displayName: string | null;
  readonly email: string | null;
  readonly accessToken: string;
  /** Seconds the token had left when it was made. */
  readonly expiresIn: number | null;
  /** Unix ms. */
  readonly expiresAt: number | null;
  /** The guest's token as a Token, for setToken on a client acting as the guest. */
  readonly token: Token;
}

/** The failure fields of PAYLOADS.md. */
export interface FailureFields {
  ok: false;
  status: StatusName;
  message: string;
  error?: string;
  error_description?: string;
  http_status?: number;
  tracking_id?: string;
}

export type StatusName =
  | 'WXA_OK'
  | 'WXA_PENDING'
  | 'WXA_ERR_INVALID_ARGUMENT'
  | 'WXA_ERR_STATE_MISMATCH'
  | 'WXA_ERR_OAUTH'
  | 'WXA_ERR_HTTP'
  | 'WXA_ERR_NETWORK'
  | 'WXA_ERR_TIMEOUT'
  | 'WXA_ERR_RATE_LIMITED'
  | 'WXA_ERR_EXPIRED'
  | 'WXA_ERR_CANCELED'
  | 'WXA_ERR_NOT_AUTHORIZED'
  | 'WXA_ERR_UNKNOWN_OPERATION'
  | 'WXA_ERR_INTERNAL'
  | 'WXA_ERR_ID_TOKEN';

interface EventBase<T extends string> {
  type: T;
  /** The operation the event belongs to; absent for events of no operation. */
  op?: number;
}

export type DoneEvent = EventBase<'done'> & ({ ok: true; [key: string]: unknown } | FailureFields);
export type TokenRefreshEvent = EventBase<'token:refresh'> & Token;
export type UnauthorizedEvent = EventBase<'unauthorized'> & {
  status: StatusName;
  message: string;
  /**
   * Why, when known: "refresh_token_expired" (its own lifetime passed: log in again),
   * "revoked", or "invalid_grant" (the server refused it without saying which).
   */
  reason?: 'refresh_token_expired' | 'revoked' | 'invalid_grant' | (string & {});
  /** With reason "refresh_token_expired": when it expired (Unix ms). */
  refresh_token_expired_at?: number;
};
export type AuthErrorEvent = EventBase<'auth:error'> & FailureFields;
export type UserCodeEvent = EventBase<'getUserCodeSuccess'> & {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  expiresIn: number;
  interval: number;
};
export type UserCodeFailureEvent = EventBase<'getUserCodeFailure'> & FailureFields;
export type AuthorizationPendingEvent = EventBase<'authorizationPending'> & { interval: number };
export type AuthorizationSuccessEvent = EventBase<'authorizationSuccess'> & Token;
export type AuthorizationFailureEvent = EventBase<'authorizationFailure'> & FailureFields;
export type PollingCanceledEvent = EventBase<'pollingCanceled'>;
export type LogoutEvent = EventBase<'logout'> & {
  /** Set when another instance sharing the token_store logged out. */
  reason?: string;
};
export type JwtRefreshEvent = EventBase<'jwt:refresh'> & { expires_at: number };

/** Event name -> payload. Names are the payload `type` strings of C-API.md. */
export interface ClientEvents {
  done: DoneEvent;
  'token:refresh': TokenRefreshEvent;
  unauthorized: UnauthorizedEvent;
  'auth:error': AuthErrorEvent;
  getUserCodeSuccess: UserCodeEvent;
  getUserCodeFailure: UserCodeFailureEvent;
  authorizationPending: AuthorizationPendingEvent;
  authorizationSuccess: AuthorizationSuccessEvent;
  authorizationFailure: AuthorizationFailureEvent;
  pollingCanceled: PollingCanceledEvent;
  logout: LogoutEvent;
  'jwt:refresh': JwtRefreshEvent;
}

export type ClientEventName = keyof ClientEvents;

/**
 * A Webex OAuth client. Events arrive on the JS thread in order; no event is emitted
 * after close() returns. An idle client does not keep the event loop alive; a client
 * with operations in flight does.
 */
export class Client extends EventEmitter {
  /** Throws InvalidArgumentError on a bad config. */
  constructor(config: ClientConfig);

  on<K extends ClientEventName>(event: K, listener: (payload: ClientEvents[K]) => void): this;
  once<K extends ClientEventName>(event: K, listener: (payload: ClientEvents[K]) => void): this;
  off<K extends ClientEventName>(event: K, listener: (payload: ClientEvents[K]) => void): this;
  addListener<K extends ClientEventName>(event: K, listener: (payload: ClientEvents[K]) => void): this;
  removeListener<K extends ClientEventName>(event: K, listener: (payload: ClientEvents[K]) => void): this;
  emit<K extends ClientEventName>(event: K, payload: ClientEvents[K]): boolean;

  /** True once close() has been called. */
  readonly closed: boolean;

  /** The authorize URL to open in a browser. Throws on bad options or a closed client. */
  initiateLogin(opts?: LoginOptions): string;
  /** Rejects with StateMismatchError when the redirect's state does not match (nothing is sent). */
  handleRedirect(url: string | URL): Promise<RedirectResult>;
  exchangeCode(code: string, codeVerifier?: string | null): Promise<Token>;
  /** Forced refresh (single-flight). */
  refresh(): Promise<Token>;
  /** The token if valid for minValidS more seconds (default 0), else a refresh. */
  getValidToken(minValidS?: number): Promise<Token>;
  clientCredentials(): Promise<Token>;
  /** Snapshot of the current token (no network), or null. Throws on a closed client. */
  readonly token: Token | null;
  /** Restores a saved token; emits 'token:refresh'. Throws InvalidArgumentError. */
  setToken(token: TokenFields | Token): void;
  /** Revokes and clears the token (cleared locally even when the server fails). */
  logout(): Promise<void>;
  loginWithJwt(jwt: string): Promise<Token>;
  /**
   * Your API call with accessToken got HTTP 401: refreshes it if it is still the
   * client's token (one refresh for all callers; with a token_store, across processes),
   * else resolves at once with the token that replaced it.
   */
  tokenRejected(accessToken: string): Promise<Token>;
  /** Who the client's token is (GET people/me); a 401 leads to one refresh and one retry. */
  whoami(): Promise<Person>;
  /**
   * The client's Service App's token for an org; it becomes the client's token.
   * Missing options: InvalidArgumentError, nothing sent. Not authorized in the org:
   * HttpError (httpStatus 403).
   */
  serviceAppToken(opts: ServiceAppOptions): Promise<Token>;
  /** A guest through the client's Service App. InvalidArgumentError on FedRAMP. */
  createGuest(opts: GuestOptions): Promise<Guest>;
  /** Starts a loopback (RFC 8252) login; throws synchronously when it cannot start. */
  startLoopbackLogin(opts?: LoopbackOptions): LoopbackLogin;
  /** Starts a device (QR) login; throws synchronously when it cannot start. */
  startDeviceLogin(): DeviceLogin;
  /** Cancels an operation by id; a no-op once it has ended. Throws UnknownOperationError. */
  cancel(op: number): void;
  /**
   * Cancels everything. Pending Promises reject with CanceledError; no event is emitted
   * after it returns; later calls throw or reject with ClientClosedError. Idempotent.
   */
  close(): void;
  [Symbol.dispose](): void;
}

/** A device (QR code) login in progress. */
export class DeviceLogin {
  private constructor();
  /** The operation id. */
  readonly op: number;
  /** Set once `ready` resolved. */
  readonly userCode: string | null;
  readonly verificationUri: string | null;
  readonly verificationUriComplete: string | null;
  readonly expiresIn: number | null;
  readonly interval: number | null;
  /** Resolves with this object after getUserCodeSuccess; rejects if the login fails first. */
  readonly ready: Promise<DeviceLogin>;
  /** Resolves with the token once approved; rejects with ExpiredError, CanceledError, OAuthError... */
  readonly done: Promise<Token>;
  /** Stops polling: a 'pollingCanceled' event, then `done` rejects with CanceledError. */
  cancel(): void;
  /** The verification URI as a terminal QR code. Throws before `ready`. */
  qrText(): string;
  /** The verification URI as an SVG QR code. Throws before `ready`. */
  qrSvg(): string;
}

/** A loopback login in progress: the addon listens on 127.0.0.1:port. */
export class LoopbackLogin {
  private constructor();
  /** The operation id. */
  readonly op: number;
  /** The authorize URL to open in the user's browser. */
  readonly url: string;
  /** The port of the redirect URI http://127.0.0.1:PORT/callback. */
  readonly port: number;
  /**
   * Resolves once the browser came back and the code was exchanged; rejects with
   * OAuthError (an error redirect), TimeoutError (timeoutMs), CanceledError, IdTokenError...
   */
  readonly done: Promise<RedirectResult>;
  /** Closes the listener: done rejects with CanceledError. A no-op once it ended. */
  cancel(): void;
}

/** Options of createJwt: the C names or the Webex SDK's. */
export interface CreateJwtOptions {
  issuer: string;
  /** The guest issuer secret, base64 as Webex issues it. */
  secret?: string;
  /** The Webex SDK's name for `secret`. */
  secretId?: string;
  /** Defaults to guest-user-<uuid>. */
  subject?: string;
  sub?: string;
  display_name?: string;
  displayName?: string;
  name?: string;
  /** Seconds, or a string such as "12h", "30m", "7d". */
  expires_in?: number | string;
  expiresIn?: number | string;
}

/** Signs a guest-issuer JWT (HS256) locally. Throws InvalidArgumentError. */
export function createJwt(opts: CreateJwtOptions): string;
/** A QR code of `text`: "utf8" (terminal, the default) or "svg". */
export function qrCode(text: string, format?: 'utf8' | 'svg'): string;
/** The engine version, e.g. "0.1.0". */
export function version(): string;
/** The error class instance for a failure payload. */
export function errorFromResult(result: Partial<FailureFields> & Record<string, unknown>): WebexAuthError;
/** Status names by number, as the engine names them: STATUS_NAMES[4] === 'WXA_ERR_OAUTH'. */
export const STATUS_NAMES: readonly StatusName[];
/** Event names (payload `type`) in number order from `done` (1), as the engine names them. */
export const EVENT_NAMES: readonly ClientEventName[];

/** An error's fields: the camelCase names, or the C/JSON snake_case ones. */
export interface ErrorFields {
  status?: StatusName;
  error?: string | null;
  errorDescription?: string | null;
  error_description?: string | null;
  httpStatus?: number | null;
  http_status?: number | null;
  trackingId?: string | null;
  tracking_id?: string | null;
}

/**
 * Base of every error. The subclass of a status is named by one rule: the status without
 * WXA_ERR_, CamelCased, + "Error" (WXA_ERR_RATE_LIMITED: RateLimitedError); the same rule
 * picks the OAuthError subclass of the server's `error` (invalid_grant: InvalidGrantError).
 */
export class WebexAuthError extends Error {
  constructor(message: string, fields?: ErrorFields);
  /** The C status name, e.g. "WXA_ERR_OAUTH". */
  status: StatusName;
  /** The status number of C-API.md (4 for WXA_ERR_OAUTH), or -1. */
  code: number;
  /** The server's OAuth `error`, e.g. "invalid_grant". */
  error: string | null;
  errorDescription: string | null;
  httpStatus: number | null;
  trackingId: string | null;
}
export class InvalidArgumentError extends WebexAuthError {}
/** A method was called on a closed client. */
export class ClientClosedError extends InvalidArgumentError {}
export class StateMismatchError extends WebexAuthError {}
/** WXA_ERR_OAUTH; the subclasses below refine it by `error`. */
export class OAuthError extends WebexAuthError {}
export class InvalidRequestError extends OAuthError {}
export class InvalidClientError extends OAuthError {}
export class InvalidGrantError extends OAuthError {}
export class UnauthorizedClientError extends OAuthError {}
export class UnsupportedGrantTypeError extends OAuthError {}
export class InvalidScopeError extends OAuthError {}
export class HttpError extends WebexAuthError {}
export class NetworkError extends WebexAuthError {}
export class TimeoutError extends WebexAuthError {}
export class RateLimitedError extends WebexAuthError {}
export class ExpiredError extends WebexAuthError {}
export class CanceledError extends WebexAuthError {}
export class NotAuthorizedError extends WebexAuthError {}
export class UnknownOperationError extends WebexAuthError {}
export class InternalError extends WebexAuthError {}
/** WXA_ERR_ID_TOKEN: a Login with Webex id_token failed validation; nothing was stored. */
export class IdTokenError extends WebexAuthError {}
