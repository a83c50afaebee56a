// Which clients a lockout of a user name spares (issue 16, item 4). A name lockout stops guessing from
// anywhere, but it also holds a shared account locked for every agent using it, by anyone who can send ten
// wrong passwords. Two kinds of client keep trying their credentials through it (their own address's
// failures still count and still lock that address out): addresses in auth.throttle.trustedSources, and
// addresses that logged in as that user within knownSourceSeconds. Failures from either still count
// against the name, so they can lock it for everyone else.
import type { BlockList } from 'node:net';
import { isIPv4 } from 'node:net';
import { LRUCache } from 'lru-cache';
import type { AuthThrottleConfig } from './config-types.js';
import { compileAddressRules } from '../policy/addresses.js';
import { formatIPv6, ipv6Groups } from '../policy/ip.js';

export class LockoutExemptions {
  readonly #trusted: BlockList | undefined;
  /** `${clientKey} ${user}` of recent logins; client keys hold no space, so the pair is unambiguous. */
  readonly #known: LRUCache<string, true> | undefined;

  /** `previous`: the exemptions of the throttle a reload replaces, whose known sources carry over. */
  constructor(config: AuthThrottleConfig, previous?: LockoutExemptions) {
    this.#trusted = config.trustedSources.length === 0 ? undefined : compileAddressRules(config.trustedSources).blockList;
    const ttl = Math.round(config.knownSourceSeconds * 1000);
    // lru-cache reads ttl 0 as "never expires", so 0 switches the tracking off instead.
    this.#known = ttl >= 1 ? new LRUCache({ max: config.maxTracked, ttl }) : undefined;
    const carried = previous === undefined ? undefined : previous.#known;
    if (this.#known !== undefined && carried !== undefined) this.#known.load(carried.dump());
  }

  /** Whether a lockout of `user` spares `address` (whose throttle key is `key`). */
  spares(user: string, address: string, key: string): boolean {
    return this.#known?.has(`${key} ${user}`) === true || isTrusted(this.#trusted, address);
  }

  /** `user` logged in from the client with throttle key `key` (every success, cached ones included). */
  loggedIn(user: string, key: string): void {
    this.#known?.set(`${key} ${user}`, true);
  }
}

/**
 * IPv4 (also mapped into IPv6, as a dual-stack listener reports it) against the IPv4 ranges, IPv6 against the
 * IPv6 ranges. No other embedded IPv4 counts: a 6to4 or Teredo address is not the IPv4 host it names.
 */
function isTrusted(trusted: BlockList | undefined, address: string): boolean {
  if (trusted === undefined) return false;
  if (isIPv4(address)) return trusted.check(address, 'ipv4');
  const groups = ipv6Groups(address);
  if (groups === undefined) return false;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    return trusted.check([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].join('.'), 'ipv4');
  }
  return trusted.check(formatIPv6(groups), 'ipv6');
}
