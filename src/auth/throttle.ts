// Stands in front of the authenticator in basic mode. Failed logins slow down, then lock out, whoever keeps
// failing: the client address (an IPv6 client by its /64, which one host usually owns whole) and the claimed
// user name are tracked apart, so neither one address trying many names nor many addresses trying one name
// get unlimited guesses. An unknown name is tracked like a known one, so the answers and their timing do not
// tell which names exist. Credentials verified recently pass without being checked again, so a lockout of a
// name under attack does not cut off the agents that already use it. The slow path (scrypt) is bounded too:
// how many checks may be pending at once, and how long one may take before the client is told to retry.
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import type { AuthThrottleConfig } from '../config/types.js';
import { embeddedIPv4 } from '../policy/addresses.js';
import { formatIPv6, ipv6Groups } from '../policy/ip.js';
import { claimedUser, type AuthFailure, type AuthResult, type Authenticator } from './authenticator.js';

/** A lockout this attempt started: who (a client address or /64, or a user name), after how many failures. */
export interface Lockout {
  readonly scope: 'client' | 'user';
  readonly key: string;
  readonly failures: number;
  readonly seconds: number;
}

export type ThrottledResult =
  | { readonly ok: true; readonly user: string | undefined }
  | { readonly ok: false; readonly reason: AuthFailure; readonly lockouts: readonly Lockout[] };

export interface SlowPathLimits {
  /** Longest wait for one check, queue included. */
  readonly timeoutMs: number;
  /** Checks running or queued at once. */
  readonly maxPending: number;
}

interface Failures {
  count: number;
  /** Epoch milliseconds; 0 when not locked. */
  lockedUntil: number;
}

const TIMED_OUT = Symbol('timed out');
const NO_LOCKOUTS: readonly Lockout[] = Object.freeze([]);

/** The key a client address is throttled under: IPv4 (also when mapped into IPv6) as is, IPv6 by its /64. */
export function clientKey(address: string): string {
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  return embeddedIPv4(groups) ?? `${formatIPv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

export class AuthThrottle {
  readonly #config: AuthThrottleConfig;
  readonly #slowPath: SlowPathLimits;
  readonly #clients: LRUCache<string, Failures>;
  readonly #users: LRUCache<string, Failures>;
  #pending = 0;

  constructor(config: AuthThrottleConfig, slowPath: SlowPathLimits) {
    this.#config = config;
    this.#slowPath = slowPath;
    this.#clients = new LRUCache({ max: config.maxTracked, ttl: config.windowSeconds * 1000 });
    this.#users = new LRUCache({ max: config.maxTracked, ttl: config.windowSeconds * 1000 });
  }

  /** Password checks running or queued now. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Authenticates `header` for `client` under the throttle. Fails with 'locked-out' while the client or the
   * claimed name is locked out, with 'busy' when the slow path is full or too slow; `lockouts` lists the
   * lockouts this failure started, for the audit log.
   */
  async authenticate(auth: Authenticator, header: string | undefined, client: string): Promise<ThrottledResult> {
    // Anonymous mode checks nothing; a request without credentials asks for the challenge, it guesses nothing.
    if (auth.mode === 'anonymous' || header === undefined) return withoutLockouts(await auth.authenticate(header));
    const known = auth.remembered(header);
    if (known !== undefined) return { ok: true, user: known };

    const keys = { client: clientKey(client), user: claimedUser(header) };
    const records = [this.#clients.get(keys.client), keys.user === undefined ? undefined : this.#users.get(keys.user)];
    const now = Date.now();
    if (records.some((record) => record !== undefined && record.lockedUntil > now)) return refusal('locked-out');
    const wait = Math.max(...records.map((record) => this.#delayMs(record)));
    if (wait > 0) await sleep(wait);
    if (this.#pending >= this.#slowPath.maxPending) return refusal('busy');

    const result = await this.#check(auth, header);
    if (result === TIMED_OUT) return refusal('busy');
    if (result.ok) {
      this.#clients.delete(keys.client);
      return result;
    }
    return { ok: false, reason: result.reason, lockouts: this.#recordFailure(keys) };
  }

  /** Runs the check, counted as pending until scrypt really finishes, even when the caller stopped waiting. */
  async #check(auth: Authenticator, header: string): Promise<AuthResult | typeof TIMED_OUT> {
    this.#pending += 1;
    const checking = auth.authenticate(header);
    const done = (): void => {
      this.#pending -= 1;
    };
    void checking.then(done, done);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#slowPath.timeoutMs);
    });
    try {
      return await Promise.race([checking, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Zero for the first failuresBeforeDelay failures, then delaySeconds doubling per failure up to the cap. */
  #delayMs(record: Failures | undefined): number {
    const { failuresBeforeDelay, delaySeconds, maxDelaySeconds } = this.#config;
    if (record === undefined || record.count < failuresBeforeDelay) return 0;
    const doublings = Math.min(record.count - failuresBeforeDelay, 30);
    return Math.min(delaySeconds * 2 ** doublings, maxDelaySeconds) * 1000;
  }

  /**
   * Counts one failure against the address and the name. The count is kept through a lockout, so once it
   * ends a single further failure locks out again; a key with no failure for windowSeconds starts over.
   */
  #recordFailure(keys: { readonly client: string; readonly user: string | undefined }): readonly Lockout[] {
    const { lockoutFailures, lockoutSeconds, windowSeconds } = this.#config;
    const now = Date.now();
    const lockouts: Lockout[] = [];
    const tracked = [['client', this.#clients, keys.client], ['user', this.#users, keys.user]] as const;
    for (const [scope, cache, key] of tracked) {
      if (key === undefined) continue;
      const record = cache.get(key) ?? { count: 0, lockedUntil: 0 };
      record.count += 1;
      if (lockoutFailures > 0 && record.count >= lockoutFailures) {
        record.lockedUntil = now + lockoutSeconds * 1000;
        lockouts.push({ scope, key, failures: record.count, seconds: lockoutSeconds });
      }
      const lockedFor = Math.max(0, record.lockedUntil - now);
      cache.set(key, record, { ttl: lockedFor + windowSeconds * 1000 });
    }
    return lockouts;
  }
}

function refusal(reason: AuthFailure): ThrottledResult {
  return { ok: false, reason, lockouts: NO_LOCKOUTS };
}

function withoutLockouts(result: AuthResult): ThrottledResult {
  return result.ok ? result : refusal(result.reason);
}
