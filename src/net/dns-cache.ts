// Name resolution for targets and mapped addresses: answers cached for as long as DNS says (clamped to a
// floor and a ceiling), failures cached briefly, concurrent look-ups of one name sharing one query.
//
// Where the addresses come from: the system resolver (getaddrinfo via dns.lookup), so /etc/hosts and
// nsswitch.conf apply exactly as they do for curl and for the agents themselves. Private Link set-ups without
// a DNS forwarder put endpoint addresses in /etc/hosts, and a gateway that asked DNS first would silently
// send those agents to the public address. getaddrinfo reports no TTL, so a DNS query for the same name's
// A/AAAA records (c-ares, dns.Resolver with {ttl: true}) runs beside it and supplies one: the smallest TTL of
// the families the system answered with. A name DNS does not know (a hosts-file entry) is kept for the floor.
// The TTL query never delays an answer: the entry is stored with the floor and extended when the TTL arrives.

import { lookup as systemLookup, Resolver } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { LRUCache } from 'lru-cache';

export type DnsErrorCode = 'not-found' | 'failed' | 'timeout';

/** A name that did not resolve: 'not-found' (NXDOMAIN or no address), 'failed' (server failure, refused), 'timeout'. */
export class DnsError extends Error {
  readonly code: DnsErrorCode;

  constructor(code: DnsErrorCode, host: string, options?: { cause?: unknown }) {
    super(`cannot resolve ${host}: ${code}`, options);
    this.name = 'DnsError';
    this.code = code;
  }
}

export interface DnsCacheOptions {
  /** Names kept at once; 0 turns caching off (concurrent look-ups are still shared). */
  readonly maxEntries: number;
  /** Floor and ceiling applied to the TTL DNS reports, in milliseconds. */
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  /** How long a name that does not exist stays answered as such; 0 caches no failure. */
  readonly negativeTtlMs: number;
}

/**
 * Counts for metrics (GatewayMetrics has these): one `dnsLookup` per query actually made and per caller that
 * gave up waiting ('timeout'), one `dnsCacheHit` per answer served from the cache.
 */
export interface DnsObserver {
  dnsLookup(result: 'ok' | 'error' | 'timeout'): void;
  dnsCacheHit(): void;
}

/** The system's address list for a name, in its preference order; rejects with the resolver's error. */
export type LookupAll = (host: string) => Promise<string[]>;

/** What entries age by: `performance` unless a test steps time itself. */
export interface Clock {
  now(): number;
}

export interface DnsSources {
  readonly lookupAll: LookupAll;
  /** Asked for TTLs only; its answers never become addresses. */
  readonly resolver: Pick<Resolver, 'resolve4' | 'resolve6'>;
  readonly clock?: Clock;
}

type Answer =
  | { readonly ok: true; readonly addresses: readonly string[] }
  | { readonly ok: false; readonly error: DnsError };

/** getaddrinfo's "no such name" and "no address" codes: safe to remember; anything else may be transient. */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

// One try of two seconds: the TTL is a refinement, and a slow server only leaves an entry at the floor.
const TTL_QUERY = { timeout: 2000, tries: 1 } as const;

export const systemLookupAll: LookupAll = async (host) =>
  (await systemLookup(host, { all: true, verbatim: true })).map((answer) => answer.address);

export function defaultDnsSources(): DnsSources {
  return { lookupAll: systemLookupAll, resolver: new Resolver(TTL_QUERY) };
}

export class DnsCache {
  readonly #options: DnsCacheOptions;
  readonly #sources: DnsSources;
  readonly #cache: LRUCache<string, Answer> | undefined;
  readonly #inFlight = new Map<string, Promise<Answer>>();

  constructor(options: DnsCacheOptions, sources: DnsSources = defaultDnsSources()) {
    this.#options = options;
    this.#sources = sources;
    // ttlResolution 0: every read asks the clock, so a stepped clock is seen at once.
    const clock = sources.clock === undefined ? {} : { perf: sources.clock, ttlResolution: 0 };
    this.#cache = options.maxEntries > 0 ? new LRUCache<string, Answer>({ max: options.maxEntries, ...clock }) : undefined;
  }

  /** Cached entries, answers and failures alike. */
  get size(): number {
    return this.#cache?.size ?? 0;
  }

  /**
   * The addresses of `host` in the system's order. Rejects with DnsError; 'timeout' after `timeoutMs`,
   * while the query itself goes on for the callers that come next.
   */
  async resolve(host: string, timeoutMs: number, observer?: DnsObserver): Promise<readonly string[]> {
    const cached = this.#cache?.get(host);
    if (cached !== undefined) {
      observer?.dnsCacheHit();
      return settle(cached);
    }
    let pending = this.#inFlight.get(host);
    if (pending === undefined) {
      pending = this.#query(host, observer).finally(() => this.#inFlight.delete(host));
      this.#inFlight.set(host, pending);
    }
    return settle(await withTimeout(pending, timeoutMs, () => {
      observer?.dnsLookup('timeout');
      return new DnsError('timeout', host);
    }));
  }

  async #query(host: string, observer: DnsObserver | undefined): Promise<Answer> {
    const ttl = this.#cache === undefined ? undefined : this.#dnsTtlSeconds(host);
    let answer: Answer;
    try {
      const addresses = await this.#sources.lookupAll(host);
      answer = addresses.length > 0 ? { ok: true, addresses } : { ok: false, error: new DnsError('not-found', host) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      answer = { ok: false, error: new DnsError(NOT_FOUND.has(code) ? 'not-found' : 'failed', host, { cause: err }) };
    }
    observer?.dnsLookup(answer.ok ? 'ok' : 'error');
    if (answer.ok) this.#remember(host, answer, ttl);
    else if (answer.error.code === 'not-found') this.#store(host, answer, this.#options.negativeTtlMs);
    return answer;
  }

  #remember(host: string, answer: Extract<Answer, { ok: true }>, dnsTtl: Promise<TtlAnswer> | undefined): void {
    const { minTtlMs, maxTtlMs } = this.#options;
    this.#store(host, answer, minTtlMs);
    if (dnsTtl === undefined) return;
    const families = new Set(answer.addresses.map((address) => (isIPv4(address) ? 4 : 6)));
    void dnsTtl.then((ttls) => {
      const known = [...families].map((family) => ttls[family]).filter((ttl): ttl is number => ttl !== undefined);
      if (known.length === 0 || this.#cache?.get(host) !== answer) return;
      const ttlMs = Math.min(Math.max(Math.min(...known) * 1000, minTtlMs), maxTtlMs);
      if (ttlMs > minTtlMs) this.#store(host, answer, ttlMs);
    });
  }

  /** lru-cache reads a TTL of 0 as "forever", so 0 here means "do not store". */
  #store(host: string, answer: Answer, ttlMs: number): void {
    if (ttlMs >= 1) this.#cache?.set(host, answer, { ttl: Math.round(ttlMs) });
  }

  /** The smallest TTL of each family's records; never rejects. */
  async #dnsTtlSeconds(host: string): Promise<TtlAnswer> {
    const { resolver } = this.#sources;
    const smallest = (records: readonly { ttl: number }[]): number | undefined =>
      records.length === 0 ? undefined : Math.min(...records.map((record) => record.ttl));
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host, { ttl: true }), resolver.resolve6(host, { ttl: true })]);
    return {
      4: v4.status === 'fulfilled' ? smallest(v4.value) : undefined,
      6: v6.status === 'fulfilled' ? smallest(v6.value) : undefined,
    };
  }
}

type TtlAnswer = Readonly<Record<4 | 6, number | undefined>>;

function settle(answer: Answer): readonly string[] {
  if (answer.ok) return answer.addresses;
  throw answer.error;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
