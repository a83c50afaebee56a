// Password guessing against the running gateway: failures slow down, then lock out the client address and
// the user name (logged as auth-lockout and counted), the lockout ends on time, and an unknown user and a
// wrong password get the same answer, byte for byte, in about the same time. Several client addresses are
// played from this one host by connecting from different 127/8 source addresses.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { connectStatus, rawExchange, type ResponseHead } from '../fixtures/raw-client.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const TARGET = 'tunnel.example:443';
const AGENT = { name: 'agent', password: 'Agent-Password-42' };
const LOCKOUT_SECONDS = 2;

async function attempt(gateway: Gateway, from: string, name: string, password: string): Promise<{ head: ResponseHead; ms: number }> {
  const started = performance.now();
  const head = await connectStatus(gateway.port, TARGET, { localAddress: from, headers: { 'Proxy-Authorization': basicCredentials(name, password) } });
  return { head, ms: performance.now() - started };
}

async function startAuthGateway(sink: TcpSink, throttle: Record<string, number>): Promise<Gateway> {
  const configYaml = await basicAuthYaml([AGENT], { workers: 1, inspection: { enabled: false }, auth: { throttle } });
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
