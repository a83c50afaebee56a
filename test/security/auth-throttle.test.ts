// Password guessing against the running gateway: failures slow down, then lock out the client address and
// the user name (logged as auth-lockout and counted), the lockout ends on time, and an unknown user and a
// wrong password get the same answer, byte for byte, in about the same time. Concurrent guesses cannot
// outrun the lockout, and agents that use a locked name keep working (issue 16, items 3 and 4). Several
// client addresses are played from this one host by connecting from different 127/8 source addresses.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { connectStatus, rawExchange, type ResponseHead } from '../fixtures/raw-client.js';
import { assertTableAnswer } from '../fixtures/refusal.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const TARGET = 'tunnel.example:443';
const AGENT = { name: 'agent', password: 'Agent-Password-42' };
const LOCKOUT_SECONDS = 2;

async function attempt(gateway: Gateway, from: string, name: string, password: string): Promise<{ head: ResponseHead; ms: number }> {
  const started = performance.now();
  const head = await connectStatus(gateway.port, TARGET, { localAddress: from, headers: { 'Proxy-Authorization': basicCredentials(name, password) } });
  return { head, ms: performance.now() - started };
}

async function startAuthGateway(sink: TcpSink, throttle: Record<string, unknown>, auth: Record<string, unknown> = {}): Promise<Gateway> {
  const configYaml = await basicAuthYaml([AGENT], { workers: 1, inspection: { enabled: false }, auth: { ...auth, throttle } });
  return startGateway({ configYaml, args: ['--allow-host', 'tunnel.example', '--resolve', `tunnel.example=127.0.0.1:${sink.port}`] });
}

describe('failed logins slow down, then lock out', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await startAuthGateway(sink, {
      failuresBeforeDelay: 2,
      delaySeconds: 0.3,
      maxDelaySeconds: 0.6,
      lockoutFailures: 4,
      lockoutSeconds: LOCKOUT_SECONDS,
    });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  test('failures from one address: 407 four times, the last two delayed, then 429 even for the right password', async () => {
    const since = gateway.records.length;
    // Malformed credentials fail without a password check, so the times below are the throttle's alone.
    const failures = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const head = await connectStatus(gateway.port, TARGET, { localAddress: '127.0.0.2', headers: { 'Proxy-Authorization': `Basic !!${i}` } });
      failures.push({ status: head.status, ms: performance.now() - started });
    }
    assert.deepEqual(failures.map((f) => f.status), [407, 407, 407, 407]);
    const [first, second, third, fourth] = failures.map((f) => f.ms) as [number, number, number, number];
    assert.ok(first < 250 && second < 250 && third >= 300 && fourth >= 600, `attempts took ${failures.map((f) => Math.round(f.ms)).join(', ')} ms`);
    const lockout = await gateway.waitForRecord((r) => r.event === 'auth-lockout', 5000, since);
    assert.equal(lockout.eventId, 1401);
    assert.equal(lockout.scope, 'client');
    assert.equal(lockout.clientKey, '127.0.0.2');
    assert.equal(lockout.lockoutSeconds, LOCKOUT_SECONDS);

    const locked = await attempt(gateway, '127.0.0.2', AGENT.name, AGENT.password);
    assert.equal(locked.head.status, 429);
    assert.ok(locked.head.headers['retry-after'] !== undefined);
    assert.equal(locked.head.headers['proxy-authenticate'], undefined);
    assertTableAnswer(locked.head, 'auth-locked');
    const record = await gateway.waitForRecord((r) => r.event === 'auth-failed' && r.reason === 'locked-out', 5000, since);
    assert.equal(record.status, 429);
  });

  test('wrong passwords for one name from many addresses lock the name out', async () => {
    const since = gateway.records.length;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt(gateway, `127.0.0.${10 + i}`, AGENT.name, `guess-${i}`)).head.status);
    assert.deepEqual(statuses, [407, 407, 407, 407]);
    const lockout = await gateway.waitForRecord((r) => r.event === 'auth-lockout' && r.scope === 'user', 5000, since);
    assert.equal(lockout.user, AGENT.name);
    assert.ok(gateway.metricsBaseUrl !== undefined);
    assert.match(await (await fetch(`${gateway.metricsBaseUrl}/metrics`)).text(), /oms_gateway_auth_lockouts_total 2/);
  });

  test('the user name is locked out from every address; another address with no failures is not', async () => {
    assert.equal((await attempt(gateway, '127.0.0.3', AGENT.name, AGENT.password)).head.status, 429);
    assert.equal((await attempt(gateway, '127.0.0.3', 'someone-else', 'whatever')).head.status, 407);
    assert.equal(sink.connections, 0, 'nothing was dialled while locked out');
  });

  test('after lockoutSeconds the right password is accepted again', async () => {
    await sleep(LOCKOUT_SECONDS * 1000 + 200);
    assert.equal((await attempt(gateway, '127.0.0.4', AGENT.name, AGENT.password)).head.status, 200);
    assert.equal(sink.connections, 1);
  });
});

describe('an unknown user and a wrong password are indistinguishable', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    // Throttling off, so that only the password check itself is timed.
    gateway = await startAuthGateway(sink, { failuresBeforeDelay: 1000, lockoutFailures: 0 });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  test('the same answer, byte for byte', async () => {
    const answer = async (name: string): Promise<string> =>
      (await rawExchange(gateway.port, `CONNECT ${TARGET} HTTP/1.1\r\nHost: ${TARGET}\r\nProxy-Authorization: ${basicCredentials(name, 'Wrong-Password-1')}\r\n\r\n`, { idleMs: 10_000, maxMs: 15_000 })).text;
    const unknown = await answer('no-such-user');
    const known = await answer(AGENT.name);
    assert.match(known, /^HTTP\/1\.1 407 /);
    assert.equal(unknown, known);
  });

  test('about the same time: both pay one password check', async () => {
    const samples = { unknown: [] as number[], wrong: [] as number[] };
    for (let i = 0; i < 8; i++) {
      samples.unknown.push((await attempt(gateway, '127.0.0.5', `nobody-${i}`, `Guess-${i}`)).ms);
      samples.wrong.push((await attempt(gateway, '127.0.0.5', AGENT.name, `Guess-${i}`)).ms);
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const [unknown, wrong] = [median(samples.unknown), median(samples.wrong)];
    // A check that skipped scrypt for unknown names would answer in well under a millisecond.
    assert.ok(unknown > 20 && wrong > 20, `medians ${unknown} and ${wrong} ms`);
    assert.ok(Math.abs(unknown - wrong) < Math.max(unknown, wrong) * 0.4, `medians ${unknown} and ${wrong} ms`);
  });
});

describe('concurrent guesses are counted before they are checked (issue 16, item 3)', () => {
  const LOCKOUT_FAILURES = 10;
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    // No delays, so every guess reaches the check at once; the per-address and per-name caps are the defaults.
    gateway = await startAuthGateway(sink, { failuresBeforeDelay: 1000, lockoutFailures: LOCKOUT_FAILURES, lockoutSeconds: 300 });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  /**
   * Sends `count` wrong passwords at once; returns the statuses and the auth-failed records. A record with
   * reason bad-credentials is a password check (scrypt) made; the throttle's refusals make none.
   */
  async function flood(count: number, from: (i: number) => string): Promise<{ statuses: number[]; heads: ResponseHead[]; checked: number; records: Record<string, unknown>[] }> {
    const since = gateway.records.length;
    const heads = await Promise.all(Array.from({ length: count }, (_, i) => attempt(gateway, from(i), AGENT.name, `Guess-${i}-x`)));
    const statuses = heads.map((h) => h.head.status);
    await gateway.waitForRecord(() => gateway.records.slice(since).filter((r) => r.event === 'auth-failed').length >= count, 10_000, since);
    const records = gateway.records.slice(since).filter((r) => r.event === 'auth-failed');
    return { statuses, heads: heads.map((h) => h.head), checked: records.filter((r) => r.reason === 'bad-credentials').length, records };
  }

  test('100 at once from one address: at most lockoutFailures are checked, the rest get 429', async () => {
    const { statuses, heads, checked, records } = await flood(100, () => '127.0.0.40');
    assert.ok(checked >= 1 && checked <= LOCKOUT_FAILURES, `${checked} passwords checked`);
    assert.equal(statuses.filter((s) => s === 407).length, checked);
    assert.equal(statuses.filter((s) => s === 429).length, 100 - checked);
    const turnedAway = heads.find((head) => head.status === 429);
    assert.ok(turnedAway);
    assertTableAnswer(turnedAway, 'auth-concurrent');
    assert.deepEqual(new Set(records.map((r) => r.reason)), new Set(['bad-credentials', 'too-many-attempts']));
    // Every record names the target and the claimed user, never the password.
    for (const record of records) {
      assert.equal(record.target, TARGET);
      assert.equal(record.user, AGENT.name);
      assert.doesNotMatch(JSON.stringify(record), /Guess-/);
    }
  });

  test('100 at once for one name from 100 addresses: at most lockoutFailures are checked', async () => {
    const { statuses, checked } = await flood(100, (i) => `127.0.1.${i + 1}`);
    assert.ok(checked <= LOCKOUT_FAILURES, `${checked} passwords checked`);
    assert.equal(statuses.filter((s) => s === 429).length, 100 - checked);
    assert.equal(sink.connections, 0);
  });
});

describe('agents that use a locked name keep working (issue 16, item 4)', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await startAuthGateway(
      sink,
      { failuresBeforeDelay: 1000, lockoutFailures: 3, lockoutSeconds: 300, trustedSources: ['127.0.2.0/24'] },
      // A one-second verdict cache, so the agents below are checked again while the name is locked.
      { cacheTtlSeconds: 1 },
    );
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  test('an address that logged in, and a trusted range, pass a lockout of the name; a new address does not', async () => {
    assert.equal((await attempt(gateway, '127.0.0.50', AGENT.name, AGENT.password)).head.status, 200);
    const since = gateway.records.length;
    for (let i = 0; i < 3; i++) assert.equal((await attempt(gateway, `127.0.0.${60 + i}`, AGENT.name, `guess-${i}`)).head.status, 407);
    await gateway.waitForRecord((r) => r.event === 'auth-lockout' && r.scope === 'user', 5000, since);
    // Let the verdict cache expire: the agent's password is checked again, from the address it used.
    await sleep(1500);
    assert.equal((await attempt(gateway, '127.0.0.50', AGENT.name, AGENT.password)).head.status, 200);
    assert.equal((await attempt(gateway, '127.0.2.7', AGENT.name, AGENT.password)).head.status, 200);
    await sleep(1500);
    assert.equal((await attempt(gateway, '127.0.0.51', AGENT.name, AGENT.password)).head.status, 429);
    // A wrong password from the trusted range still fails.
    assert.equal((await attempt(gateway, '127.0.2.8', AGENT.name, 'guess-x')).head.status, 407);
  });
});

describe('auth-failed records', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await startAuthGateway(sink, { failuresBeforeDelay: 1000, lockoutFailures: 0 });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  test('name the absolute URI\'s host and the claimed user, escaped, never the password', async () => {
    const since = gateway.records.length;
    const name = 'ops\u2028line\u001b[31m';
    const request = `GET http://tunnel.example:8080/path?q=1 HTTP/1.1\r\nHost: tunnel.example:8080\r\nProxy-Authorization: ${basicCredentials(name, 'Secret-Pass-9')}\r\n\r\n`;
    await rawExchange(gateway.port, request, { idleMs: 5000, maxMs: 10_000 });
    const record = await gateway.waitForRecord((r) => r.event === 'auth-failed', 5000, since);
    assert.equal(record.target, 'tunnel.example:8080');
    assert.equal(record.user, 'ops\\u2028line\\u001b[31m');
    assert.doesNotMatch(JSON.stringify(record), /Secret-Pass/);
  });
});
