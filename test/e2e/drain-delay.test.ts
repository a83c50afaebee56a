// timeouts.drainDelaySeconds, as a load balancer sees it: on SIGTERM /readyz answers 503 at once while the
// proxy listeners keep accepting and serving for the delay, then they close and open tunnels run to their
// end. Without a delay (the default) the listeners close at once. Runs with the default worker processes,
// so the drain goes through the supervisor as in production.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { READY_PATH } from '../../src/observability/metrics-server.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki } from '../fixtures/pki.js';
import { openTunnel, whenRefused } from '../fixtures/raw-client.js';
import { connectTls, getHello } from '../fixtures/tls-client.js';

const DELAY_SECONDS = 1.5;

async function readyz(gateway: Gateway): Promise<{ status: number; body: { status?: unknown } }> {
  const res = await fetch(`${gateway.metricsBaseUrl ?? ''}${READY_PATH}`);
  return { status: res.status, body: (await res.json()) as { status?: unknown } };
}

/** The exit code of a gateway already signalled (a second SIGTERM would force exit 1). */
async function exitCode(gateway: Gateway, limitMs = 10_000): Promise<number | null> {
  const timer = sleep(limitMs, undefined, { ref: false }).then(() => ({ code: -1 }));
  return (await Promise.race([gateway.exited, timer])).code;
}

async function gatewayTo(origin: TlsOrigin, timeouts: string): Promise<Gateway> {
  return startGateway({
    args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
    configYaml: `timeouts:\n${timeouts}`,
  });
}

/** An agent's session: a tunnel, TLS to the service inside it, and a first request. */
async function session(gateway: Gateway, host: string): Promise<TLSSocket> {
  const { socket } = await openTunnel(gateway.port, `${host}:443`);
  const tls = await connectTls(socket, host, (await testPki()).caPem);
  await getHello(tls, host);
  return tls;
}

describe('drain delay', () => {
  test('SIGTERM: not ready at once, still serving new tunnels for the delay, then closed; open tunnels finish', async (t) => {
    const origin = await startTlsOrigin();
    t.after(() => origin.close());
    const gateway = await gatewayTo(origin, `  drainDelaySeconds: ${DELAY_SECONDS}\n  shutdownGraceSeconds: 20\n`);
    t.after(() => gateway.stop('SIGKILL'));
    assert.equal((await readyz(gateway)).status, 200);
    const before = await session(gateway, 'ws1.ods.opinsights.azure.com');

    const from = gateway.records.length;
    process.kill(gateway.pid, 'SIGTERM');
    const started = await gateway.waitForRecord((r) => r.event === 'shutdown-started', 5000, from);
    const signalled = Date.now();
    assert.equal(started.drainDelayMs, DELAY_SECONDS * 1000);

    const probe = await readyz(gateway);
    assert.deepEqual([probe.status, probe.body.status], [503, 'draining']);
    const during = await session(gateway, 'ws2.ods.opinsights.azure.com');

    const elapsed = (await whenRefused(gateway.port, DELAY_SECONDS * 1000 + 5000)) - signalled;
    t.diagnostic(`listeners closed ${elapsed} ms after shutdown-started (drainDelaySeconds ${DELAY_SECONDS})`);
    assert.ok(elapsed >= DELAY_SECONDS * 1000 - 100, `closed after ${elapsed} ms, before the delay`);

    await getHello(before, 'ws1.ods.opinsights.azure.com');
    await getHello(during, 'ws2.ods.opinsights.azure.com');
    assert.equal((await readyz(gateway)).status, 503, 'still not ready while tunnels finish');
    before.end();
    during.end();
    assert.equal(await exitCode(gateway), 0);
    const stopped = await gateway.waitForRecord((r) => r.event === 'service-stopped', 1000, from);
    assert.equal(stopped.outcome, 'drained');
  });

  test('the default (no delay): the listeners close as soon as the drain starts', async (t) => {
    const origin = await startTlsOrigin();
    t.after(() => origin.close());
    const gateway = await gatewayTo(origin, '  shutdownGraceSeconds: 20\n');
    t.after(() => gateway.stop('SIGKILL'));
    const open = await session(gateway, 'ws1.ods.opinsights.azure.com');
    const from = gateway.records.length;
    process.kill(gateway.pid, 'SIGTERM');
    await gateway.waitForRecord((r) => r.event === 'shutdown-started', 5000, from);
    const signalled = Date.now();
    const elapsed = (await whenRefused(gateway.port, 5000)) - signalled;
    assert.ok(elapsed < 1000, `closed ${elapsed} ms after the drain started`);
    await getHello(open, 'ws1.ods.opinsights.azure.com');
    open.end();
    assert.equal(await exitCode(gateway), 0);
  });
});
