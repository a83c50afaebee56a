// Proxy authentication (issue 3, item 6): turns a request's Proxy-Authorization header into a user or a
// failure reason. The proxy answers failures with 407 and `proxyAuthenticateHeader(realm)`.

import { isUtf8 } from 'node:buffer';
import { createHmac, randomBytes } from 'node:crypto';
import basicAuth from 'basic-auth';
import { LRUCache } from 'lru-cache';
import type { AuthConfig, AuthMode } from './config-types.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.js';

/**
 * `locked-out`, `too-many-attempts` and `busy` come from the throttle in front of the authenticator
 * (throttle.ts), never from it. `plain-credentials`: Basic credentials on a plain connection of a listener
 * that refuses them (tls/security.ts).
 */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'unsupported-scheme'
  | 'bad-credentials'
  | 'locked-out'
  | 'too-many-attempts'
  | 'busy'
  | 'plain-credentials';

export type AuthResult = { ok: true; user: string | undefined } | { ok: false; reason: AuthFailure };

export interface Authenticator {
  readonly mode: AuthMode;
  readonly realm: string;
  /**
   * `user` is undefined in anonymous mode. Rejects only when scrypt itself fails (for instance out of memory),
   * never for anything a client sends.
   */
  authenticate(proxyAuthorization: string | undefined): Promise<AuthResult>;
  /**
   * The user of credentials verified and last used within the cache TTL, without checking anything now;
   * else undefined. A hit counts as a use.
   */
  remembered(proxyAuthorization: string): string | undefined;
  /** The check of exactly these credentials under way now, which `authenticate` would join; else undefined. */
  checking(proxyAuthorization: string): Promise<AuthResult> | undefined;
}

type Credentials = { readonly name: string; readonly pass: string };

// The cache is keyed by a MAC of the header rather than the header so it never holds credentials; the MAC key
// lives only in this process, so a key seen in a heap dump cannot be tested against guesses elsewhere.
const CACHE_MAC_KEY = randomBytes(32);

const AUTH_SCHEME = /^[ \t]*([^ \t]+)/;

function cacheKey(header: string): string {
  return createHmac('sha256', CACHE_MAC_KEY).update(header, 'utf8').digest('base64');
}

function failure(reason: AuthFailure): AuthResult {
  return { ok: false, reason };
}

/** The user name Basic credentials claim, whether or not it exists and whatever the password. */
export function claimedUser(proxyAuthorization: string): string | undefined {
  const credentials = parseBasic(proxyAuthorization);
  return typeof credentials === 'string' ? undefined : credentials.name;
}

/** RFC 7617: `Basic base64(user-id ":" password)`; the scheme is case-insensitive, the user-id has no colon. */
function parseBasic(header: string): Credentials | AuthFailure {
  const scheme = AUTH_SCHEME.exec(header)?.[1];
  if (scheme === undefined) return 'malformed';
  if (scheme.toLowerCase() !== 'basic') return 'unsupported-scheme';
  const credentials = basicAuth.parse(header);
  if (credentials === undefined) return 'malformed';
  // basic-auth decodes lossily; bytes that are not UTF-8 (RFC 7617 section 2.1) would otherwise surface as
  // U+FFFD and look like a wrong password.
  const token = header.trim().slice(scheme.length).trim();
  if (!isUtf8(Buffer.from(token, 'base64'))) return 'malformed';
  return { name: credentials.name, pass: credentials.pass };
}

function createBasicAuthenticator(config: AuthConfig): Authenticator {
  const hashes = new Map(config.users.map((user) => [user.name, user.passwordHash]));
  const ttlMilliseconds = Math.round(config.cacheTtlSeconds * 1000);
  // lru-cache reads ttl 0 as "never expires", so a zero TTL or size turns caching off instead. The TTL
  // counts from the last use: an agent that keeps working is not checked again (nor cut off by a lockout of
  // its name), and nothing is lost by it, since a changed password or removed user comes with a reload,
  // which builds a new authenticator with an empty cache.
  const verified =
    config.cacheMaxEntries >= 1 && ttlMilliseconds >= 1
      ? new LRUCache<string, string>({ max: config.cacheMaxEntries, ttl: ttlMilliseconds, updateAgeOnGet: true })
      : undefined;
  const inFlight = new Map<string, Promise<AuthResult>>();

  async function verify(header: string): Promise<AuthResult> {
    const credentials = parseBasic(header);
    if (typeof credentials === 'string') return failure(credentials);
    const stored = hashes.get(credentials.name);
    // An unknown name still costs one scrypt, so response time does not tell which names exist.
    const matches = await verifyPassword(credentials.pass, stored ?? DUMMY_PASSWORD_HASH);
    return matches && stored !== undefined ? { ok: true, user: credentials.name } : failure('bad-credentials');
  }

  function authenticate(header: string | undefined): Promise<AuthResult> {
    if (header === undefined) return Promise.resolve(failure('missing'));
    const key = cacheKey(header);
    const user = verified?.get(key);
    if (user !== undefined) return Promise.resolve({ ok: true, user });
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    const started = verify(header)
      .then((result) => {
        if (result.ok && result.user !== undefined) verified?.set(key, result.user);
        return result;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  const remembered = (header: string): string | undefined => verified?.get(cacheKey(header));
  const checking = (header: string): Promise<AuthResult> | undefined => inFlight.get(cacheKey(header));
  return { mode: 'basic', realm: config.realm, authenticate, remembered, checking };
}

const ANONYMOUS: AuthResult = Object.freeze({ ok: true, user: undefined });

export function createAuthenticator(config: AuthConfig): Authenticator {
  switch (config.mode) {
    case 'anonymous':
      return {
        mode: 'anonymous',
        realm: config.realm,
        authenticate: () => Promise.resolve(ANONYMOUS),
        remembered: () => undefined,
        checking: () => undefined,
      };
    case 'basic':
      return createBasicAuthenticator(config);
  }
}

/**
 * `Basic realm="..."` with the realm as an RFC 9110 section 5.6.4 quoted-string: `"` and `\` are escaped, and
 * anything else outside printable ASCII (CR, LF, other controls, non-ASCII, which Node refuses or sends as
 * Latin-1) becomes `?`, so no realm can break or inject a header.
 */
export function proxyAuthenticateHeader(realm: string): string {
  const quoted = realm.replace(/[^\t\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&');
  return `Basic realm="${quoted}"`;
}
