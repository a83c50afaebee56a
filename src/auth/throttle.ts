// Stands in front of the authenticator in basic mode. Failed logins slow down, then lock out, whoever keeps
// failing: the client address (an IPv6 client by its /64, which one host usually owns whole) and the claimed
// user name are tracked apart, so neither one address trying many names nor many addresses trying one name
// get unlimited guesses. An unknown name is tracked like a known one, so the answers and their timing do not
// tell which names exist. Credentials verified recently pass without being checked again, and a lockout of
// a name spares the addresses in sources.ts, so a lockout of a name under attack does not cut off the agents
// that already use it. An attempt is counted when it starts, not when its check ends (issue 16, item 3):
// concurrent guesses cannot outrun the lockout, and each address and name has a cap on checks under way.
// The slow path (scrypt) is bounded too: how many checks may be pending at once, and how long one may take
// before the client is told to retry.
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import type { AuthThrottleConfig } from './config-types.js';
import { embeddedIPv4 } from '../policy/addresses.js';
import { formatIPv6, ipv6Groups } from '../policy/ip.js';
import { claimedUser, type AuthFailure, type AuthResult, type Authenticator } from './authenticator.js';
import { LockoutExemptions } from './sources.js';

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

/** The bounds on password checks from the configuration, for the proxy's throttle and the metrics listener's alike. */
export function slowPathLimits(config: {
  readonly timeouts: { readonly authSeconds: number };
  readonly limits: { readonly maxPendingAuthentications: number };
}): SlowPathLimits {
  return { timeoutMs: config.timeouts.authSeconds * 1000, maxPending: config.limits.maxPendingAuthentications };
}

interface Failures {
  count: number;
  /** Epoch milliseconds; 0 when not locked. */
  lockedUntil: number;
}

/** Who an attempt is counted against: the client key, and the claimed name unless the name's lockout spares it. */
interface Keys {
  readonly client: string;
  readonly user: string | undefined;
  /** The name's lockout and caps do not apply to this client (sources.ts); its failures still count. */
  readonly spared: boolean;
}

type Scope = Lockout['scope'];

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
  readonly #failures: Readonly<Record<Scope, LRUCache<string, Failures>>>;
  /** Attempts under way (in their delay, queued or checked) by key; a key leaves when its last one ends. */
  readonly #underWay: Readonly<Record<Scope, Map<string, number>>> = { client: new Map(), user: new Map() };
  readonly #exemptions: LockoutExemptions;
  #pending = 0;

  /** `previous`: the throttle a reload replaces; failure counts start afresh, known sources carry over. */
  constructor(config: AuthThrottleConfig, slowPath: SlowPathLimits, previous?: AuthThrottle) {
    this.#config = config;
    this.#slowPath = slowPath;
    const tracked = (): LRUCache<string, Failures> => new LRUCache({ max: config.maxTracked, ttl: config.windowSeconds * 1000 });
    this.#failures = { client: tracked(), user: tracked() };
    this.#exemptions = new LockoutExemptions(config, previous === undefined ? undefined : previous.#exemptions);
  }

  /** Password checks running or queued now. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Authenticates `header` for `client` under the throttle. Fails with 'locked-out' while the client or the
   * claimed name is locked out, 'too-many-attempts' when the attempts under way for either leave no room for
   * another, 'busy' when the slow path is full or too slow; `lockouts` lists the lockouts this failure
   * started, for the audit log.
   */
  async authenticate(auth: Authenticator, header: string | undefined, client: string): Promise<ThrottledResult> {
    // Anonymous mode checks nothing; a request without credentials asks for the challenge, it guesses nothing.
    if (auth.mode === 'anonymous' || header === undefined) return withoutLockouts(await auth.authenticate(header));
    const key = clientKey(client);
    const known = auth.remembered(header);
    if (known !== undefined) return this.#succeeded(known, key);
    // The same credentials are being checked already (agents sharing an account start together): their
    // answer is this one's too, at no further cost, so this is not another attempt.
    const joined = auth.checking(header);
    if (joined !== undefined) {
      const result = await this.#withinTime(joined);
      if (result === TIMED_OUT) return refusal('busy');
      return result.ok ? this.#succeeded(result.user, key) : refusal(result.reason);
    }

    const user = claimedUser(header);
    const keys: Keys = { client: key, user, spared: user !== undefined && this.#exemptions.spares(user, client, key) };
    const refused = this.#refusal(keys, Date.now());
    if (refused !== undefined) return refusal(refused);
    const wait = this.#reserve(keys);
    if (wait > 0) await sleep(wait);
    if (this.#pending >= this.#slowPath.maxPending) {
      this.#release(keys);
      return refusal('busy');
    }
    // The reservation lasts as long as scrypt runs, past a timeout too, and a late failure still counts.
    const outcome = this.#check(auth, header).then(
      (result) => this.#settle(keys, result),
      (err: unknown) => {
        this.#release(keys);
        throw err;
      },
    );
    const result = await this.#withinTime(outcome);
    return result === TIMED_OUT ? refusal('busy') : result;
  }

  /** Runs the check, counted as pending until scrypt really finishes, even when the caller stopped waiting. */
  #check(auth: Authenticator, header: string): Promise<AuthResult> {
    this.#pending += 1;
    const checking = auth.authenticate(header);
    const done = (): void => {
      this.#pending -= 1;
    };
    void checking.then(done, done);
    return checking;
  }

  async #withinTime<T>(work: Promise<T>): Promise<T | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#slowPath.timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #succeeded(user: string | undefined, key: string): ThrottledResult {
    if (user !== undefined) this.#exemptions.loggedIn(user, key);
    return { ok: true, user };
  }

  /** The keys an attempt reserves and is refused by: the client, and the name unless it spares this client. */
  *#guarded(keys: Keys): Generator<[Scope, string]> {
    yield ['client', keys.client];
    if (keys.user !== undefined && !keys.spared) yield ['user', keys.user];
  }

  /**
   * Why an attempt may not start: a lockout, or a key with its cap of attempts under way, or with so many
   * under way that, were they all to fail, they would reach lockoutFailures. At least one may always be
   * under way, so a lockout that ended leaves its one further try. Together, the checks made for one key
   * before its lockout are at most lockoutFailures.
   */
  #refusal(keys: Keys, now: number): AuthFailure | undefined {
    const guarded = [...this.#guarded(keys)];
    if (guarded.some(([scope, key]) => (this.#failures[scope].get(key)?.lockedUntil ?? 0) > now)) return 'locked-out';
    const { lockoutFailures, maxConcurrentPerClient, maxConcurrentPerUser } = this.#config;
    const caps: Record<Scope, number> = { client: maxConcurrentPerClient, user: maxConcurrentPerUser };
    for (const [scope, key] of guarded) {
      const underWay = this.#underWay[scope].get(key) ?? 0;
      if (underWay === 0) continue;
      if (caps[scope] > 0 && underWay >= caps[scope]) return 'too-many-attempts';
      const failures = this.#failures[scope].get(key)?.count ?? 0;
      if (lockoutFailures > 0 && failures + underWay >= lockoutFailures) return 'too-many-attempts';
    }
    return undefined;
  }

  /** Counts the attempt as under way; returns how long it waits first, by the attempts before it. */
  #reserve(keys: Keys): number {
    let wait = 0;
    for (const [scope, key] of this.#guarded(keys)) {
      const underWay = this.#underWay[scope].get(key) ?? 0;
      wait = Math.max(wait, this.#delayMs((this.#failures[scope].get(key)?.count ?? 0) + underWay));
      this.#underWay[scope].set(key, underWay + 1);
    }
    return wait;
  }

  #release(keys: Keys): void {
    for (const [scope, key] of this.#guarded(keys)) {
      const underWay = (this.#underWay[scope].get(key) ?? 1) - 1;
      if (underWay > 0) this.#underWay[scope].set(key, underWay);
      else this.#underWay[scope].delete(key);
    }
  }

  /** Records the check's outcome, then ends the reservation (in that order, so no attempt goes uncounted). */
  #settle(keys: Keys, result: AuthResult): ThrottledResult {
    try {
      if (!result.ok) return { ok: false, reason: result.reason, lockouts: this.#recordFailure(keys) };
      this.#failures.client.delete(keys.client);
      return this.#succeeded(result.user, keys.client);
    } finally {
      this.#release(keys);
    }
  }

  /** Zero for the first failuresBeforeDelay attempts, then delaySeconds doubling per attempt up to the cap. */
  #delayMs(attempts: number): number {
    const { failuresBeforeDelay, delaySeconds, maxDelaySeconds } = this.#config;
    if (attempts < failuresBeforeDelay) return 0;
    const doublings = Math.min(attempts - failuresBeforeDelay, 30);
    return Math.min(delaySeconds * 2 ** doublings, maxDelaySeconds) * 1000;
  }

  /**
   * Counts one failure against the address and the name (also where the name's lockout spared the client).
   * The count is kept through a lockout, so once it ends a single further failure locks out again; a key
   * with no failure for windowSeconds starts over. A failure during a lockout does not start another.
   */
  #recordFailure(keys: Keys): readonly Lockout[] {
    const { lockoutFailures, lockoutSeconds, windowSeconds } = this.#config;
    const now = Date.now();
    const lockouts: Lockout[] = [];
    const counted = [['client', keys.client], ['user', keys.user]] as const;
    for (const [scope, key] of counted) {
      if (key === undefined) continue;
      const cache = this.#failures[scope];
      const record = cache.get(key) ?? { count: 0, lockedUntil: 0 };
      record.count += 1;
      if (lockoutFailures > 0 && record.count >= lockoutFailures && record.lockedUntil <= now) {
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
