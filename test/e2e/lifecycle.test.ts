// Start and stop as a service manager and a load balancer see them: SIGTERM drains (open tunnels keep
// working through the grace period, new connections are refused, exit 0), an idle gateway stops at once,
// and health probes that connect and close without a byte leave no warning or error in the log.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type AuditRecord } from '../fixtures/gateway.js';
import { startTlsOrigin } from '../fixtures/origin.js';
import { openTunnel, probeConnect } from '../fixtures/raw-client.js';
import { testPki } from '../fixtures/pki.js';
import { connectTls, getHello } from '../fixtures/tls-client.js';
import { hangBound } from '../fixtures/patience.js';

const HOST = 'ws1.ods.opinsights.azure.com';
const GRACE_SECONDS = 2;

/** Polls until a new connection is refused; bounded by `timeoutMs`. */
async function waitUntilRefused(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await probeConnect(port)) === 'ECONNREFUSED') return true;
    await sleep(20);
  }
  return false;
}

describe('shutdown', () => {
  test('SIGTERM with an open tunnel: the tunnel works through the grace period, new connections are refused, exit 0', { timeout: hangBound(30_000) }, async (t) => {
    const pki = await testPki();
    const origin = await startTlsOrigin();
    t.after(() => origin.close());
    const gateway = await startGateway({
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
      configYaml: `timeouts:\n  shutdownGraceSeconds: ${GRACE_SECONDS}\n`,
    });
    t.after(() => gateway.stop('SIGKILL'));

    const { socket } = await openTunnel(gateway.port, `${HOST}:443`);
    const tls = await connectTls(socket, HOST, pki.caPem);
    await getHello(tls, HOST, 3000);
    const tunnelClosed = once(tls, 'close');

    const signalledAt = Date.now();
    process.kill(gateway.pid, 'SIGTERM');
    assert.ok(await waitUntilRefused(gateway.port, 1500), 'the listener still accepts connections after SIGTERM');
    await getHello(tls, HOST, 3000);
    await sleep(500);
    await getHello(tls, HOST, 3000);

    const status = await gateway.exited;
    const elapsed = Date.now() - signalledAt;
    await tunnelClosed;
    assert.deepEqual(status, { code: 0, signal: null });
    assert.ok(elapsed >= (GRACE_SECONDS - 0.5) * 1000, `exited after ${elapsed} ms, before the grace period ended`);
    assert.ok(elapsed < (GRACE_SECONDS + 5) * 1000, `exited after ${elapsed} ms, long after the grace period`);
    const stopped = gateway.records.find((r) => r.event === 'service-stopped');
    assert.equal(stopped?.eventId, 102);
    assert.ok(gateway.records.some((r) => r.event === 'tunnel-closed' && r.target === `${HOST}:443`), 'the tunnel cut at the deadline was logged');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} with nothing open: exit 0 without waiting for the grace period`, { timeout: hangBound(20_000) }, async (t) => {
      // The default grace period (30 s) is far longer than the bound below.
      const gateway = await startGateway();
      t.after(() => gateway.stop('SIGKILL'));
      const signalledAt = Date.now();
      assert.equal(await gateway.stop(signal), 0);
      assert.ok(Date.now() - signalledAt < 5000, `took ${Date.now() - signalledAt} ms`);
      assert.equal(gateway.records.find((r) => r.event === 'service-stopped')?.eventId, 102);
    });
  }
});

/** A record at warn level or above, whether pino writes the level as a label or as its number. */
function isProblem(record: AuditRecord): boolean {
  const { level } = record;
  return typeof level === 'number' ? level >= 40 : ['warn', 'error', 'fatal'].includes(String(level));
}

describe('load-balancer health probes', () => {
  const probes: readonly { name: string; close: (socket: Socket) => void }[] = [
    { name: 'FIN', close: (socket) => socket.end() },
    { name: 'destroy', close: (socket) => socket.destroy() },
    { name: 'RST', close: (socket) => socket.resetAndDestroy() },
  ];

  test('connect-and-close probes, by FIN, destroy and RST, produce no warning or error record', { timeout: hangBound(20_000) }, async (t) => {
    const gateway = await startGateway();
    t.after(() => gateway.stop());
    const since = gateway.records.length;
    for (let round = 0; round < 5; round += 1) {
      for (const { close } of probes) {
        const socket = connect({ host: '127.0.0.1', port: gateway.port });
        await once(socket, 'connect');
        close(socket);
        await once(socket, 'close');
      }
    }
    // A request after the probes, answered and logged, shows the gateway has handled them all.
    const denied = await openTunnel(gateway.port, 'probe-marker.example.com:443').catch((err: unknown) => err);
    assert.ok(denied instanceof Error);
    await gateway.waitForRecord((r) => r.event === 'request-denied', 5000, since);
    await sleep(200);
    const later = gateway.records.slice(since).filter((r) => r.event !== 'request-denied');
    assert.deepEqual(later.filter(isProblem).map((r) => r.event), [], `probes were logged as problems: ${JSON.stringify(later)}`);
  });
});
