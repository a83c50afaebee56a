// The DNS cache: addresses as the system resolver gives them (the hosts file wins over DNS), kept for the
// DNS TTL clamped to the floor and ceiling, failures that mean "no such name" remembered briefly and others
// not at all, concurrent look-ups of one name sharing one query, and a per-call timeout.
//
// The TTLs come from a real DNS server on loopback (test/fixtures/dns-server.ts). getaddrinfo cannot be
// pointed at a test server, so the system resolver is used for `localhost` (from /etc/hosts) and, where a
// test needs answers or failures of its own choosing, a table stands in for it.

import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsCache, DnsError, systemLookupAll, type DnsCacheOptions, type DnsObserver, type LookupAll } from '../../src/net/dns-cache.js';
import { startDnsServer, type DnsServer } from '../fixtures/dns-server.js';

const OPTIONS: DnsCacheOptions = { maxEntries: 100, minTtlMs: 100, maxTtlMs: 10_000, negativeTtlMs: 300 };

/** Counts calls of a lookup function. */
function counted(lookupAll: LookupAll): { lookupAll: LookupAll; readonly calls: number } {
  let calls = 0;
  return {
    lookupAll: (host) => {
      calls += 1;
      return lookupAll(host);
    },
    get calls() {
      return calls;
    },
  };
}

/** Stand-in for getaddrinfo: answers from a table; an Error in it is thrown with that code. */
function tableLookup(table: Readonly<Record<string, readonly string[] | string>>, delayMs = 0): LookupAll {
  return async (host) => {
    if (delayMs > 0) await sleep(delayMs);
    const entry = table[host];
    if (typeof entry === 'string') throw Object.assign(new Error(`getaddrinfo ${entry} ${host}`), { code: entry });
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [...entry];
  };
}

function observer(): DnsObserver & { readonly results: string[]; hits: number } {
  const results: string[] = [];
  return {
    results,
    hits: 0,
    dnsLookup(result) {
      results.push(result);
    },
    dnsCacheHit() {
      this.hits += 1;
    },
  };
}

/** A clock the test steps: entries age only when it says so, however slow the machine. */
function steppedClock(): { now(): number; advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

/** The resolver the cache asks for TTLs, with a way to wait until every query it was asked has been answered. */
function watched(resolver: Resolver): { resolver: Pick<Resolver, 'resolve4' | 'resolve6'>; answered(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  const track = <T>(query: Promise<T>): Promise<T> => {
    pending.add(query);
    void query.catch(() => undefined).finally(() => pending.delete(query));
    return query;
  };
  return {
    resolver: {
      resolve4: ((host: string, options: { ttl: true }) => track(resolver.resolve4(host, options))) as Resolver['resolve4'],
      resolve6: ((host: string, options: { ttl: true }) => track(resolver.resolve6(host, options))) as Resolver['resolve6'],
    },
    // Then one turn of the event loop, for the cache's own continuation of those answers.
    answered: async () => {
      await Promise.allSettled([...pending]);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('DNS cache', () => {
  let dns: DnsServer;
  let resolver: Resolver;

  before(async () => {
    dns = await startDnsServer({
      // What DNS would say about these names; the system resolver answers `localhost` from /etc/hosts.
      'localhost': [{ address: '10.9.9.9', ttl: 1 }],
      'long.example': [{ address: '10.0.0.1', ttl: 3600 }],
      'zero.example': [{ address: '10.0.0.2', ttl: 0 }],
      'dual.example': [{ address: '10.0.0.3', ttl: 30 }, { address: '2001:db8::3', ttl: 1 }],
    });
    resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${dns.port}`]);
  });
  after(() => dns.close());

  test('addresses come from the system resolver (the hosts file wins), the time to keep them from DNS', async () => {
    const lookup = counted(systemLookupAll);
    const clock = steppedClock();
    const ttls = watched(resolver);
    const cache = new DnsCache(OPTIONS, { lookupAll: lookup.lookupAll, resolver: ttls.resolver, clock });
    const addresses = await cache.resolve('localhost', 1000);
    assert.ok(addresses.includes('127.0.0.1'), `got ${addresses.join(', ')}`);
    assert.ok(!addresses.includes('10.9.9.9'), 'the DNS answer replaced the hosts file entry');
    await ttls.answered();
    clock.advance(300); // past the 100 ms floor, within the 1 s TTL
    await cache.resolve('localhost', 1000);
    assert.equal(lookup.calls, 1, 'asked again within the TTL');
    clock.advance(900); // past the TTL
    await cache.resolve('localhost', 1000);
    assert.equal(lookup.calls, 2, 'not asked again after the TTL');
    assert.ok(dns.queries.includes('localhost A'));
  });

  test('the TTL is clamped: a long one to the ceiling, zero to the floor; the smallest of the families in the answer counts', async () => {
    const cases = [
      { name: 'long.example', addresses: ['10.0.0.1'], options: { maxTtlMs: 300 }, stillCachedAt: 150, expiredAt: 450 },
      { name: 'zero.example', addresses: ['10.0.0.2'], options: { minTtlMs: 300 }, stillCachedAt: 150, expiredAt: 450 },
      // A (30 s) and AAAA (1 s): the AAAA record's TTL ends the entry.
      { name: 'dual.example', addresses: ['2001:db8::3', '10.0.0.3'], options: {}, stillCachedAt: 400, expiredAt: 1150 },
      // DNS has only the A record (30 s), and the system answered with IPv4 only: the 1 s AAAA TTL does not apply.
      { name: 'dual.example', addresses: ['10.0.0.3'], options: {}, stillCachedAt: 1150, expiredAt: undefined },
    ] as const;
    for (const { name, addresses, options, stillCachedAt, expiredAt } of cases) {
      const lookup = counted(tableLookup({ [name]: addresses }));
      const clock = steppedClock();
      const ttls = watched(resolver);
      const cache = new DnsCache({ ...OPTIONS, ...options }, { lookupAll: lookup.lookupAll, resolver: ttls.resolver, clock });
      assert.deepEqual(await cache.resolve(name, 1000), addresses);
      await ttls.answered();
      clock.advance(stillCachedAt);
      await cache.resolve(name, 1000);
      assert.equal(lookup.calls, 1, `${name} ${addresses.join(',')}: asked again after ${stillCachedAt} ms`);
      if (expiredAt === undefined) continue;
      clock.advance(expiredAt - stillCachedAt);
      await cache.resolve(name, 1000);
      assert.equal(lookup.calls, 2, `${name} ${addresses.join(',')}: still cached after ${expiredAt} ms`);
    }
  });

  test('a name only the system knows (DNS says NXDOMAIN) is kept for the floor', async () => {
    const lookup = counted(tableLookup({ 'hosts-only.example': ['192.0.2.7'] }));
    const clock = steppedClock();
    const ttls = watched(resolver);
    const cache = new DnsCache({ ...OPTIONS, minTtlMs: 200 }, { lookupAll: lookup.lookupAll, resolver: ttls.resolver, clock });
    await cache.resolve('hosts-only.example', 1000);
    await ttls.answered();
    await cache.resolve('hosts-only.example', 1000);
    assert.equal(lookup.calls, 1);
    clock.advance(250);
    await cache.resolve('hosts-only.example', 1000);
    assert.equal(lookup.calls, 2);
  });

  test('failures: "no such name" is remembered for the negative TTL, anything else is asked again', async () => {
    const cases = [
      { code: 'ENOTFOUND', error: 'not-found', cached: true },
      { code: 'ENODATA', error: 'not-found', cached: true },
      { code: 'EAI_AGAIN', error: 'failed', cached: false },
      { code: 'ESERVFAIL', error: 'failed', cached: false },
      { code: 'ECONNREFUSED', error: 'failed', cached: false },
    ] as const;
    for (const { code, error, cached } of cases) {
      const lookup = counted(tableLookup({ 'broken.example': code }));
      const seen = observer();
      const cache = new DnsCache(OPTIONS, { lookupAll: lookup.lookupAll, resolver });
      for (let i = 0; i < 2; i += 1) {
        await assert.rejects(cache.resolve('broken.example', 1000, seen), (err: unknown) => err instanceof DnsError && err.code === error, code);
      }
      assert.equal(lookup.calls, cached ? 1 : 2, `${code}: looked up ${lookup.calls} times`);
      assert.equal(seen.hits, cached ? 1 : 0, code);
    }
    const lookup = counted(tableLookup({}));
    const clock = steppedClock();
    const cache = new DnsCache(OPTIONS, { lookupAll: lookup.lookupAll, resolver, clock });
    await assert.rejects(cache.resolve('gone.example', 1000));
    clock.advance(350);
    await assert.rejects(cache.resolve('gone.example', 1000));
    assert.equal(lookup.calls, 2, 'the negative entry outlived negativeTtlMs');
  });

  test('an empty answer is "not found"; negativeTtlMs 0 remembers no failure', async () => {
    const lookup = counted(tableLookup({ 'empty.example': [] }));
    const cache = new DnsCache({ ...OPTIONS, negativeTtlMs: 0 }, { lookupAll: lookup.lookupAll, resolver });
    for (let i = 0; i < 2; i += 1) {
      await assert.rejects(cache.resolve('empty.example', 1000), (err: unknown) => err instanceof DnsError && err.code === 'not-found');
    }
    assert.equal(lookup.calls, 2);
  });

  test('concurrent look-ups of one name share one query; later ones are cache hits', async () => {
    const lookup = counted(tableLookup({ 'busy.example': ['192.0.2.1', '2001:db8::1'] }, 50));
    const seen = observer();
    const cache = new DnsCache(OPTIONS, { lookupAll: lookup.lookupAll, resolver });
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.resolve('busy.example', 1000, seen)));
    assert.equal(lookup.calls, 1);
    for (const answer of answers) assert.deepEqual(answer, ['192.0.2.1', '2001:db8::1']);
    await cache.resolve('busy.example', 1000, seen);
    assert.deepEqual(seen.results, ['ok']);
    assert.equal(seen.hits, 1);
  });

  test('a look-up slower than the caller\'s timeout rejects with "timeout" and goes on for the next caller', async () => {
    // The look-up answers only when the test says so: the first caller can only have been ended by its timeout.
    let answer: (addresses: string[]) => void = () => undefined;
    const held = new Promise<string[]>((resolve) => {
      answer = resolve;
    });
    const lookup = counted(() => held);
    const seen = observer();
    const cache = new DnsCache(OPTIONS, { lookupAll: lookup.lookupAll, resolver });
    await assert.rejects(cache.resolve('slow.example', 50, seen), (err: unknown) => err instanceof DnsError && err.code === 'timeout');
    const second = cache.resolve('slow.example', 1000, seen);
    answer(['192.0.2.9']);
    assert.deepEqual(await second, ['192.0.2.9']);
    assert.equal(lookup.calls, 1, 'the second caller started a second query');
    assert.deepEqual(seen.results, ['timeout', 'ok']);
  });

  test('at most maxEntries names are kept (least recently used goes); maxEntries 0 keeps none', async () => {
    const table = { 'a.example': ['192.0.2.1'], 'b.example': ['192.0.2.2'], 'c.example': ['192.0.2.3'] };
    const lookup = counted(tableLookup(table));
    const cache = new DnsCache({ ...OPTIONS, maxEntries: 2 }, { lookupAll: lookup.lookupAll, resolver });
    for (const name of ['a.example', 'b.example', 'a.example', 'c.example', 'a.example', 'b.example']) await cache.resolve(name, 1000);
    // a, b (miss, miss), a (hit), c (miss: b goes), a (hit), b (miss).
    assert.equal(lookup.calls, 4);
    assert.equal(cache.size, 2);

    const uncached = counted(tableLookup(table));
    const none = new DnsCache({ ...OPTIONS, maxEntries: 0 }, { lookupAll: uncached.lookupAll, resolver });
    await none.resolve('a.example', 1000);
    await none.resolve('a.example', 1000);
    assert.equal(uncached.calls, 2);
    assert.equal(none.size, 0);
  });
});
