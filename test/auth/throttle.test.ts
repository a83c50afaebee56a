// The throttle in front of the real authenticator (real scrypt hashes): growing delays, lockouts by client
// address and by user name, unknown names treated exactly like known ones, remembered credentials passing a
// lockout, and the bounds on the slow path (pending checks, time per check).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticator.js';
import { hashPassword } from '../../src/auth/password.js';
import { AuthThrottle, clientKey, type SlowPathLimits, type ThrottledResult } from '../../src/auth/throttle.js';
import type { AuthThrottleConfig } from '../../src/auth/config-types.js';
import { basicCredentials } from '../fixtures/users.js';

const AGENT = { name: 'agent', password: 'right-Horse-7' };
const OTHER = { name: 'other', password: 'Other-Secret-3' };
const WRONG = 'wrong-password';

const NO_DELAY: AuthThrottleConfig = {
  failuresBeforeDelay: 1000,
  delaySeconds: 0.1,
  maxDelaySeconds: 1,
  lockoutFailures: 0,
  lockoutSeconds: 60,
  windowSeconds: 600,
  maxTracked: 100,
  maxConcurrentPerClient: 0,
  maxConcurrentPerUser: 0,
  trustedSources: [],
  knownSourceSeconds: 0,
};
const ROOMY: SlowPathLimits = { timeoutMs: 30_000, maxPending: 100 };

let auth: Authenticator;
const freshAuth = (): Authenticator => createAuthenticator(authConfig);
let authConfig: Parameters<typeof createAuthenticator>[0];

before(async () => {
  const users = await Promise.all([AGENT, OTHER].map(async (u) => ({ name: u.name, passwordHash: await hashPassword(u.password) })));
  authConfig = { mode: 'basic', realm: 'oms-gateway', users, cacheMaxEntries: 100, cacheTtlSeconds: 300, throttle: NO_DELAY };
  auth = freshAuth();
});

/** The authenticator, counting the checks the throttle lets through to it. */
function counting(inner: Authenticator): { readonly auth: Authenticator; readonly checks: () => number } {
  let checks = 0;
  const auth: Authenticator = {
    ...inner,
    authenticate: (header) => {
      checks += 1;
      return inner.authenticate(header);
    },
  };
  return { auth, checks: () => checks };
}

const outcome = (result: ThrottledResult): string => (result.ok ? 'ok' : result.reason);

function tally(results: readonly ThrottledResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) counts[outcome(result)] = (counts[outcome(result)] ?? 0) + 1;
  return counts;
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe('clientKey', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
  ];
  for (const [address, key] of cases) {
    test(`${address} is throttled as ${key}`, () => assert.equal(clientKey(address), key));
  }
});

describe('what is not throttled', () => {
  test('anonymous mode admits everything at once', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, lockoutFailures: 1 }, ROOMY);
    const anonymous = createAuthenticator({ ...authConfig, mode: 'anonymous' });
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await throttle.authenticate(anonymous, basicCredentials('x', 'y'), '10.0.0.1'), { ok: true, user: undefined });
    }
  });

  test('a request without credentials asks for the challenge and is not counted as a failure', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, lockoutFailures: 2 }, ROOMY);
    for (let i = 0; i < 5; i++) {
      const result = await throttle.authenticate(auth, undefined, '10.0.0.2');
      assert.deepEqual(result, { ok: false, reason: 'missing', lockouts: [] });
    }
    const ok = await throttle.authenticate(auth, basicCredentials(AGENT.name, AGENT.password), '10.0.0.2');
    assert.deepEqual(ok, { ok: true, user: AGENT.name });
  });
});

describe('growing delay', () => {
  test('failures beyond failuresBeforeDelay wait delaySeconds, doubling up to maxDelaySeconds', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, failuresBeforeDelay: 1, delaySeconds: 0.15, maxDelaySeconds: 0.4 }, ROOMY);
    const wrong = basicCredentials(AGENT.name, WRONG);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { value, ms } = await timed(throttle.authenticate(auth, wrong, '10.0.1.1'));
      assert.equal(value.ok, false);
      times.push(ms);
    }
    // Each attempt also pays one scrypt, so only lower bounds are certain: 0, 0.15, 0.3, 0.4 (cap), 0.4.
    const [, second, third, fourth, fifth] = times as [number, number, number, number, number];
    assert.ok(second >= 150, `second attempt took ${second} ms`);
    assert.ok(third >= 300, `third attempt took ${third} ms`);
    assert.ok(fourth >= 400 && fifth >= 400, `attempts took ${times.join(', ')} ms`);
    assert.ok(fifth < fourth + 1000, 'the delay stops growing at maxDelaySeconds');
  });

  test('a right password clears the failures of its client address', async () => {
    // A 5 s delay stands well clear of one scrypt, even on a loaded machine.
    const throttle = new AuthThrottle({ ...NO_DELAY, failuresBeforeDelay: 2, delaySeconds: 5, maxDelaySeconds: 5 }, ROOMY);
    const client = '10.0.1.2';
    for (let i = 0; i < 2; i++) await throttle.authenticate(auth, basicCredentials(OTHER.name, WRONG), client);
    // From another name, so that only the address's record matters.
    assert.equal((await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), client)).ok, true);
    const { ms } = await timed(throttle.authenticate(auth, basicCredentials(AGENT.name, WRONG), client));
    assert.ok(ms < 4000, `the next failure was delayed ${ms} ms`);
  });

  test('failures older than windowSeconds are forgotten', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, failuresBeforeDelay: 1, delaySeconds: 5, maxDelaySeconds: 5, windowSeconds: 0.3 }, ROOMY);
    await throttle.authenticate(auth, basicCredentials(AGENT.name, WRONG), '10.0.1.3');
    await sleep(400);
    const { ms } = await timed(throttle.authenticate(auth, basicCredentials(AGENT.name, WRONG), '10.0.1.3'));
    assert.ok(ms < 4000, `delayed ${ms} ms after the window`);
  });
});

describe('lockout', () => {
  const LOCKING: AuthThrottleConfig = { ...NO_DELAY, lockoutFailures: 3, lockoutSeconds: 60 };

  test('the failure that reaches lockoutFailures locks out the address and the name, and says so', async () => {
    const throttle = new AuthThrottle(LOCKING, ROOMY);
    const client = '10.0.2.1';
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await throttle.authenticate(auth, basicCredentials(AGENT.name, WRONG), client));
    assert.deepEqual(results.map((r) => (r.ok ? 'ok' : r.lockouts.length)), [0, 0, 2]);
    const last = results[2];
    assert.ok(last !== undefined && !last.ok);
    assert.deepEqual(last.lockouts, [
      { scope: 'client', key: client, failures: 3, seconds: 60 },
      { scope: 'user', key: AGENT.name, failures: 3, seconds: 60 },
    ]);

    // Locked out: even the right password is not checked (answered at once, without scrypt).
    const locked = await timed(throttle.authenticate(freshAuth(), basicCredentials(OTHER.name, OTHER.password), client));
    assert.deepEqual(locked.value, { ok: false, reason: 'locked-out', lockouts: [] });
    assert.ok(locked.ms < 50, `answered in ${locked.ms} ms`);
    // The name is locked out from every address.
    const elsewhere = await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.0.2.2');
    assert.deepEqual(elsewhere, { ok: false, reason: 'locked-out', lockouts: [] });
    // Another name from another address is not affected.
    assert.equal((await throttle.authenticate(freshAuth(), basicCredentials(OTHER.name, OTHER.password), '10.0.2.3')).ok, true);
  });

  test('an unknown name is tracked and locked out exactly like a known one', async () => {
    const throttle = new AuthThrottle(LOCKING, ROOMY);
    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      const result = await throttle.authenticate(auth, basicCredentials('no-such-user', WRONG), `10.0.3.${i}`);
      outcomes.push(result.ok ? 'ok' : `${result.reason}/${result.lockouts.map((l) => l.scope).join('+')}`);
    }
    assert.deepEqual(outcomes, ['bad-credentials/', 'bad-credentials/', 'bad-credentials/user', 'locked-out/']);
  });

  test('credentials verified before the lockout still pass, so agents already using the name keep working', async () => {
    const throttle = new AuthThrottle(LOCKING, ROOMY);
    const cached = freshAuth();
    const good = basicCredentials(AGENT.name, AGENT.password);
    assert.equal((await throttle.authenticate(cached, good, '10.0.4.1')).ok, true);
    for (let i = 0; i < 3; i++) await throttle.authenticate(cached, basicCredentials(AGENT.name, WRONG), `10.0.4.${10 + i}`);
    assert.equal((await throttle.authenticate(cached, basicCredentials(AGENT.name, AGENT.password + 'x'), '10.0.4.2')).ok, false);
    assert.deepEqual(await throttle.authenticate(cached, good, '10.0.4.3'), { ok: true, user: AGENT.name });
  });

  test('when a lockout ends, one more failure locks out again', async () => {
    const throttle = new AuthThrottle({ ...LOCKING, lockoutFailures: 2, lockoutSeconds: 0.3 }, ROOMY);
    const client = '10.0.5.1';
    const wrong = basicCredentials(OTHER.name, WRONG);
    for (let i = 0; i < 2; i++) await throttle.authenticate(auth, wrong, client);
    assert.equal((await throttle.authenticate(auth, wrong, client)).ok ? 'ok' : 'refused', 'refused');
    await sleep(400);
    const next = await throttle.authenticate(auth, wrong, client);
    assert.ok(!next.ok && next.reason === 'bad-credentials' && next.lockouts.length === 2, JSON.stringify(next));
    const after = await throttle.authenticate(auth, wrong, client);
    assert.ok(!after.ok && after.reason === 'locked-out');
  });
});

describe('slow-path bounds', () => {
  test('beyond maxPending checks at once the answer is busy, without waiting', async () => {
    const throttle = new AuthThrottle(NO_DELAY, { timeoutMs: 30_000, maxPending: 1 });
    const fresh = freshAuth();
    const first = throttle.authenticate(fresh, basicCredentials(AGENT.name, AGENT.password), '10.0.6.1');
    assert.equal(throttle.pending, 1);
    const second = await timed(throttle.authenticate(fresh, basicCredentials(OTHER.name, OTHER.password), '10.0.6.2'));
    assert.deepEqual(second.value, { ok: false, reason: 'busy', lockouts: [] });
    assert.ok(second.ms < 50, `answered in ${second.ms} ms`);
    assert.equal((await first).ok, true);
    assert.equal(throttle.pending, 0);
  });

  test('a check slower than the timeout is answered busy and stays counted until scrypt finishes', async () => {
    const throttle = new AuthThrottle(NO_DELAY, { timeoutMs: 1, maxPending: 10 });
    const result = await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.0.7.1');
    assert.deepEqual(result, { ok: false, reason: 'busy', lockouts: [] });
    assert.equal(throttle.pending, 1, 'the abandoned check still runs');
    for (let i = 0; i < 100 && throttle.pending > 0; i++) await sleep(20);
    assert.equal(throttle.pending, 0);
  });
});

describe('concurrent attempts (issue 16, item 3)', () => {
  test('attempts are counted when they start: 20 concurrent guesses get lockoutFailures checks, no more', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, lockoutFailures: 5 }, ROOMY);
    const { auth: counted, checks } = counting(freshAuth());
    const guesses = Array.from({ length: 20 }, (_, i) => throttle.authenticate(counted, basicCredentials(AGENT.name, `guess-${i}`), '10.1.0.1'));
    const results = await Promise.all(guesses);
    assert.equal(checks(), 5);
    assert.deepEqual(tally(results), { 'bad-credentials': 5, 'too-many-attempts': 15 });
    assert.equal(results.flatMap((r) => (r.ok ? [] : r.lockouts)).length, 2, 'the fifth failure locked the address and the name');
    assert.equal(outcome(await throttle.authenticate(counted, basicCredentials(AGENT.name, AGENT.password), '10.1.0.1')), 'locked-out');
    assert.equal(checks(), 5);
  });

  test('maxConcurrentPerClient caps the checks under way from one address, whatever the names', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, maxConcurrentPerClient: 2 }, ROOMY);
    const { auth: counted, checks } = counting(freshAuth());
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => throttle.authenticate(counted, basicCredentials(`user-${i}`, WRONG), '10.1.1.1')));
    assert.deepEqual(tally(results), { 'bad-credentials': 2, 'too-many-attempts': 4 });
    assert.equal(checks(), 2);
    // Once they have ended, the address may try again.
    assert.equal(outcome(await throttle.authenticate(counted, basicCredentials(AGENT.name, AGENT.password), '10.1.1.1')), 'ok');
  });

  test('maxConcurrentPerUser caps the checks under way for one name, whatever the addresses', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, maxConcurrentPerUser: 3 }, ROOMY);
    const { auth: counted, checks } = counting(freshAuth());
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => throttle.authenticate(counted, basicCredentials(AGENT.name, `guess-${i}`), `10.1.2.${i}`)));
    assert.deepEqual(tally(results), { 'bad-credentials': 3, 'too-many-attempts': 5 });
    assert.equal(checks(), 3);
  });

  test('the same credentials at once are one check and one attempt (agents sharing an account start together)', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, maxConcurrentPerClient: 1, maxConcurrentPerUser: 1, lockoutFailures: 2 }, ROOMY);
    const { auth: counted, checks } = counting(freshAuth());
    const good = await Promise.all(Array.from({ length: 10 }, () => throttle.authenticate(counted, basicCredentials(AGENT.name, AGENT.password), '10.1.3.1')));
    assert.deepEqual(tally(good), { ok: 10 });
    const wrong = await Promise.all(Array.from({ length: 10 }, () => throttle.authenticate(counted, basicCredentials(OTHER.name, WRONG), '10.1.3.2')));
    assert.deepEqual(tally(wrong), { 'bad-credentials': 10 });
    assert.equal(checks(), 2);
    // Ten identical failures were one guess: the name is not locked out.
    assert.equal(outcome(await throttle.authenticate(counted, basicCredentials(OTHER.name, OTHER.password), '10.1.3.3')), 'ok');
  });

  test('delays count the attempts under way: concurrent guesses past failuresBeforeDelay wait', async () => {
    const throttle = new AuthThrottle({ ...NO_DELAY, failuresBeforeDelay: 1, delaySeconds: 5, maxDelaySeconds: 5 }, ROOMY);
    const { auth: counted, checks } = counting(freshAuth());
    const first = throttle.authenticate(counted, basicCredentials(AGENT.name, 'guess-a'), '10.1.4.1');
    void throttle.authenticate(counted, basicCredentials(AGENT.name, 'guess-b'), '10.1.4.1');
    await first;
    // The second guess is still in its 5 s delay: it has not been checked.
    assert.equal(checks(), 1);
  });
});

describe('who a name lockout spares (issue 16, item 4)', () => {
  const LOCKING: AuthThrottleConfig = { ...NO_DELAY, lockoutFailures: 3, lockoutSeconds: 60, knownSourceSeconds: 3600 };

  async function lockName(throttle: AuthThrottle, prefix: string): Promise<void> {
    for (let i = 0; i < 3; i++) await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, WRONG), `${prefix}.${100 + i}`);
    assert.equal(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), `${prefix}.99`)), 'locked-out');
  }

  test('an address that logged in as the user keeps being checked through the lockout; others are refused', async () => {
    const throttle = new AuthThrottle(LOCKING, ROOMY);
    assert.equal(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.0.1')), 'ok');
    await lockName(throttle, '10.2.0');
    // A fresh authenticator: nothing cached, the password is checked again.
    const { auth: counted, checks } = counting(freshAuth());
    assert.equal(outcome(await throttle.authenticate(counted, basicCredentials(AGENT.name, AGENT.password), '10.2.0.1')), 'ok');
    assert.equal(checks(), 1);
    assert.equal(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.0.2')), 'locked-out');
    // Only for that name: the address is not spared another name's lockout.
    assert.equal(outcome(await throttle.authenticate(counted, basicCredentials(OTHER.name, OTHER.password), '10.2.0.1')), 'ok');
  });

  test('a known address still gets wrong passwords counted: its own lockout applies', async () => {
    const throttle = new AuthThrottle(LOCKING, ROOMY);
    assert.equal(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.1.1')), 'ok');
    await lockName(throttle, '10.2.1');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, `guess-${i}`), '10.2.1.1')));
    assert.deepEqual(results, ['bad-credentials', 'bad-credentials', 'bad-credentials', 'locked-out']);
  });

  test('knownSourceSeconds: 0 spares nobody', async () => {
    const throttle = new AuthThrottle({ ...LOCKING, knownSourceSeconds: 0 }, ROOMY);
    assert.equal(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.2.1')), 'ok');
    await lockName(throttle, '10.2.2');
    assert.equal(outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.2.1')), 'locked-out');
  });

  test('known sources carry over to the throttle a reload builds; failure counts do not', async () => {
    const before = new AuthThrottle(LOCKING, ROOMY);
    assert.equal(outcome(await before.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.3.1')), 'ok');
    const after = new AuthThrottle(LOCKING, ROOMY, before);
    await lockName(after, '10.2.3');
    assert.equal(outcome(await after.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), '10.2.3.1')), 'ok');
  });

  test('trustedSources: addresses in the ranges (IPv4, mapped IPv4, IPv6) are spared; a 6to4 address naming one is not', async () => {
    const throttle = new AuthThrottle({ ...LOCKING, knownSourceSeconds: 0, trustedSources: ['10.9.0.0/16', '2001:db8:9::/48'] }, ROOMY);
    await lockName(throttle, '10.2.4');
    const from = async (client: string): Promise<string> => outcome(await throttle.authenticate(freshAuth(), basicCredentials(AGENT.name, AGENT.password), client));
    assert.equal(await from('10.9.1.1'), 'ok');
    assert.equal(await from('::ffff:10.9.1.2'), 'ok');
    assert.equal(await from('2001:db8:9:1::5'), 'ok');
    assert.equal(await from('10.10.0.1'), 'locked-out');
    assert.equal(await from('2002:a09:101::1'), 'locked-out');
  });
});
