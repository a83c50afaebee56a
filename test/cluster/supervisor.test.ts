// `workers: N` as an operator sees it: one gateway on one (ephemeral) port, served by N processes. Exactly
// one service-started, connections dealt to every worker, one scrape for all of them, a killed worker
// replaced and counted, a SIGHUP reload applied by every worker, and one drain for all on SIGTERM.

import assert from 'node:assert/strict';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { connectStatus, openTunnel } from '../fixtures/raw-client.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';
import { hangBound } from '../fixtures/patience.js';

const HOST = 'ws1.ods.opinsights.azure.com';

/** One short agent session: CONNECT, TLS, GET /hello, close. */
async function hello(gateway: Gateway, pki: TestPki): Promise<void> {
  const { socket } = await openTunnel(gateway.port, `${HOST}:443`);
  const tls = await connectTls(socket, HOST, pki.caPem);
  const res = await requestOver(tls, { method: 'GET', path: '/hello', host: HOST });
  assert.equal(await readText(res), HELLO_BODY);
}

const events = (gateway: Gateway, event: string): AuditRecord[] => gateway.records.filter((r) => r.event === event);

/** Waits until `count` records of `event` exist (from index `since`). */
async function waitForCount(gateway: Gateway, event: string, count: number, since = 0, timeoutMs = 10_000): Promise<AuditRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = gateway.records.slice(since).filter((r) => r.event === event);
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`${found.length} of ${count} ${event} records after ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function scrape(gateway: Gateway): Promise<string> {
  assert.ok(gateway.metricsBaseUrl, 'no metrics-listening record');
  const res = await fetch(`${gateway.metricsBaseUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of one sample line, e.g. `oms_gateway_workers` or `oms_gateway_tunnels_total{outcome="relayed",reason="none"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('workers: 2', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;

  before(async () => {
    pki = await testPki();
    origin = await startTlsOrigin();
    gateway = await startGateway({
      args: ['--workers', '2', '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
      configYaml: 'allowedHosts:\n  - first.example.com\n',
    });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
  });

  test('one service-started with the shared ephemeral port; connections reach every worker', async () => {
    const started = events(gateway, 'service-started');
    assert.equal(started.length, 1);
    assert.equal(started[0]?.workers, 2);
    const since = gateway.records.length;
    for (let i = 0; i < 8; i += 1) await hello(gateway, pki);
    const closed = await waitForCount(gateway, 'tunnel-closed', 8, since);
    const workers = new Set(closed.map((r) => r.worker));
    const pids = new Set(closed.map((r) => r.pid));
    assert.equal(workers.size, 2, `tunnels went to workers ${[...workers].join(', ')}`);
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(gateway.pid), 'a tunnel was served by the supervisor itself');
  });

  test('one scrape covers every worker: counts add up, build_info does not', async () => {
    const before = sample(await scrape(gateway), 'oms_gateway_tunnels_total{outcome="relayed",reason="none"}') ?? 0;
    for (let i = 0; i < 4; i += 1) await hello(gateway, pki);
    await sleep(100);
    const text = await scrape(gateway);
    assert.equal(sample(text, 'oms_gateway_tunnels_total{outcome="relayed",reason="none"}'), before + 4);
    assert.equal(sample(text, 'oms_gateway_workers'), 2);
    const buildInfo = text.split('\n').filter((l) => l.startsWith('oms_gateway_build_info{'));
    assert.equal(buildInfo.length, 1);
    assert.ok(buildInfo[0]?.endsWith(' 1'), buildInfo[0]);
    const perWorker = text.split('\n').filter((l) => l.startsWith('oms_gateway_worker_active_tunnels{'));
    assert.equal(perWorker.length, 2, perWorker.join('\n'));
    assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE oms_gateway_tunnels_total ')).length, 1);
  });

  test('connected clients: a client holding connections on both workers counts once', async () => {
    // Each a TLS session, so the tunnel inspection lets it through and it counts as an active tunnel.
    const open = async (localAddress: string): Promise<TLSSocket> => connectTls((await openTunnel(gateway.port, `${HOST}:443`, { localAddress })).socket, HOST, pki.caPem);
    const tunnels = await Promise.all([...Array.from({ length: 6 }, () => open('127.0.0.1')), ...Array.from({ length: 2 }, () => open('127.0.0.2'))]);
    try {
      const text = await scrape(gateway);
      const perWorker = text.split('\n').filter((l) => l.startsWith('oms_gateway_worker_active_tunnels{'));
      assert.ok(perWorker.every((l) => !l.endsWith(' 0')), `a worker holds no tunnel:\n${perWorker.join('\n')}`);
      assert.equal(sample(text, 'oms_gateway_active_client_connections'), 8);
      assert.equal(sample(text, 'oms_gateway_connected_clients'), 2);
    } finally {
      for (const tunnel of tunnels) tunnel.destroy();
    }
  });

  test('SIGHUP: the supervisor reads the file once and every worker applies it', async () => {
    const beforeDenial = gateway.records.length;
    assert.equal((await connectStatus(gateway.port, 'second.example.com:443')).status, 403);
    // Its record is in before the reload starts, so it cannot be taken for one written after.
    await gateway.waitForRecord((r) => r.event === 'request-denied' && r.target === 'second.example.com:443', 5000, beforeDenial);
    assert.ok(gateway.configFile);
    await writeFile(gateway.configFile, 'allowedHosts:\n  - first.example.com\n  - second.example.com\n');
    const since = gateway.records.length;
    process.kill(gateway.pid, 'SIGHUP');
    await gateway.waitForRecord((r) => r.event === 'config-reloaded', 10_000, since);
    // The name does not resolve here, so an allowed CONNECT ends in 502 and an upstream-error record; a
    // worker still on the old allowlist would answer 403.
    const statuses = await Promise.all(Array.from({ length: 6 }, () => connectStatus(gateway.port, 'second.example.com:443')));
    assert.deepEqual(statuses.map((s) => s.status).filter((s) => s === 403), []);
    await sleep(100);
    const decided = gateway.records.slice(since).filter((r) => r.target === 'second.example.com:443');
    assert.deepEqual(decided.filter((r) => r.event === 'request-denied'), []);
    assert.equal(new Set(decided.map((r) => r.worker)).size, 2, 'the new host was tried on fewer than two workers');
    assert.equal(gateway.records.slice(since).filter((r) => r.event === 'config-reloaded').length, 1, 'the reload was logged more than once');
  });

  test('a worker that dies is replaced and counted, and the gateway keeps serving', async () => {
    const closed = events(gateway, 'tunnel-closed');
    const victim = closed.at(-1)?.pid;
    assert.equal(typeof victim, 'number');
    const since = gateway.records.length;
    process.kill(victim as number, 'SIGKILL');
    const exited = await gateway.waitForRecord((r) => r.event === 'worker-exited', 10_000, since);
    assert.equal(exited.workerPid, victim);
    assert.equal(exited.signal, 'SIGKILL');
    await gateway.waitForRecord((r) => r.event === 'worker-started', 10_000, since);
    const text = await scrape(gateway);
    assert.equal(sample(text, 'oms_gateway_worker_restarts_total'), 1);
    assert.equal(sample(text, 'oms_gateway_workers'), 2);
    const before = gateway.records.length;
    for (let i = 0; i < 6; i += 1) await hello(gateway, pki);
    const served = await waitForCount(gateway, 'tunnel-closed', 6, before);
    assert.ok(!served.some((r) => r.pid === victim));
    assert.equal(new Set(served.map((r) => r.pid)).size, 2);
  });
});

describe('drain and exit with workers', () => {
  test('SIGTERM: every worker drains its tunnels, one shutdown-started and one service-stopped, exit 0', { timeout: hangBound(30_000) }, async (t) => {
    const pki = await testPki();
    const origin = await startTlsOrigin();
    t.after(() => origin.close());
    const gateway = await startGateway({
      args: ['--workers', '2', '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
      configYaml: 'timeouts:\n  shutdownGraceSeconds: 1\n',
    });
    t.after(() => gateway.stop('SIGKILL'));
    const tunnels = await Promise.all(Array.from({ length: 4 }, () => openTunnel(gateway.port, `${HOST}:443`)));
    const sessions = await Promise.all(tunnels.map(({ socket }) => connectTls(socket, HOST, pki.caPem)));
    process.kill(gateway.pid, 'SIGTERM');
    const status = await gateway.exited;
    assert.deepEqual(status, { code: 0, signal: null });
    assert.equal(events(gateway, 'shutdown-started').length, 1);
    const stopped = events(gateway, 'service-stopped');
    assert.equal(stopped.length, 1);
    assert.equal(stopped[0]?.closedTunnels, 4);
    assert.equal(stopped[0]?.outcome, 'grace-expired');
    assert.equal(events(gateway, 'worker-exited').length, 0, 'a draining worker was reported as a crash');
    for (const session of sessions) session.destroy();
  });

  test('a port already in use: exit 1 with the reason', { timeout: hangBound(60_000) }, async () => {
    const holder = await startGateway({ args: ['--workers', '1'] });
    try {
      const clash = await startGateway({ listen: [`127.0.0.1:${holder.port}`], args: ['--workers', '2'] }).then(
        () => undefined,
        (err: Error) => err,
      );
      assert.ok(clash instanceof Error);
      assert.match(clash.message, /exited with code 1/);
      assert.match(clash.message, /cannot start listeners: .*EADDRINUSE/);
    } finally {
      await holder.stop();
    }
  });
});

describe('worker count', () => {
  test('the default is one worker per core; --workers 1 runs in one process', { timeout: hangBound(30_000) }, async () => {
    const cores = availableParallelism();
    const byDefault = await startGateway();
    try {
      const started = events(byDefault, 'service-started')[0];
      assert.equal(started?.workers, cores > 1 ? cores : undefined);
    } finally {
      await byDefault.stop();
    }
    const single = await startGateway({ args: ['--workers', '1'] });
    try {
      assert.equal(events(single, 'service-started')[0]?.workers, undefined);
      assert.equal(single.records.some((r) => r.worker !== undefined), false);
    } finally {
      await single.stop();
    }
  });

  test("workers start with glibc's allocator settings; one the operator set keeps the operator's value", { timeout: hangBound(30_000) }, async () => {
    const gateway = await startGateway({ args: ['--workers', '2'], env: { MALLOC_TOP_PAD_: '0' } });
    try {
      const tasks = await readdir(`/proc/${gateway.pid}/task`);
      const children = await Promise.all(tasks.map((task) => readFile(`/proc/${gateway.pid}/task/${task}/children`, 'utf8')));
      const workerPids = children.join(' ').split(/\s+/).filter(Boolean).map(Number);
      assert.equal(workerPids.length, 2, `the supervisor's children: ${workerPids.join(', ')}`);
      for (const pid of workerPids) {
        const environment = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
        for (const setting of ['MALLOC_TRIM_THRESHOLD_=67108864', 'MALLOC_TOP_PAD_=0', 'MALLOC_ARENA_MAX=2']) {
          assert.ok(environment.includes(setting), `worker ${pid} has no ${setting}`);
        }
      }
    } finally {
      await gateway.stop();
    }
  });
});

/** PIDs among `pids` holding the listening TCP socket on `port` (from /proc: no tool needed). */
async function listeningHolders(port: number, pids: readonly number[]): Promise<number[]> {
  const table = `${await readFile('/proc/net/tcp', 'utf8')}${await readFile('/proc/net/tcp6', 'utf8').catch(() => '')}`;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells[1]?.endsWith(`:${hexPort}`) && cells[3] === '0A')
    .map((cells) => `socket:[${cells[9]}]`);
  const holders: number[] = [];
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    if (links.some((link) => inodes.includes(link))) holders.push(pid);
  }
  return holders;
}

describe('workerScheduling', () => {
  for (const { scheduling, workersListen } of [
    { scheduling: 'round-robin', workersListen: false },
    { scheduling: 'kernel', workersListen: true },
  ] as const) {
    test(`${scheduling}: the workers ${workersListen ? 'accept from the shared socket themselves' : 'get connections from the supervisor'}`, { timeout: hangBound(30_000) }, async (t) => {
      const pki = await testPki();
      const origin = await startTlsOrigin();
      t.after(() => origin.close());
      const gateway = await startGateway({
        args: ['--workers', '2', '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
        configYaml: `workerScheduling: ${scheduling}\n`,
      });
      t.after(() => gateway.stop());
      const since = gateway.records.length;
      for (let i = 0; i < 4; i += 1) await hello(gateway, pki);
      const served = await waitForCount(gateway, 'tunnel-closed', 4, since);
      const workerPids = [...new Set(served.map((r) => r.pid as number))];
      assert.ok(!workerPids.includes(gateway.pid));
      const holders = await listeningHolders(gateway.port, [gateway.pid, ...workerPids]);
      assert.equal(holders.includes(gateway.pid), true, 'the supervisor always holds the listening socket');
      assert.equal(workerPids.every((pid) => holders.includes(pid)), workersListen, `holders ${holders.join(', ')}; workers ${workerPids.join(', ')}`);
    });
  }
});
