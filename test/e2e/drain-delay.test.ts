// timeouts.drainDelaySeconds, as a load balancer sees it: on SIGTERM /readyz answers 503 at once while the
// proxy listeners keep accepting and serving for the delay, then they close and open tunnels run to their
// end. Without a delay (the default) the listeners close at once.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { READY_PATH } from '../../src/observability/metrics-server.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { openTunnel } from '../fixtures/raw-client.js';

const DELAY_SECONDS = 1.5;

/** Whether a TCP connection to the port is accepted (closed again without a byte: a probe, not logged). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls every 25 ms (at most `limitMs`) until the port refuses; returns when that happened. */
async function refusedAt(port: number, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (!(await accepts(port))) return Date.now();
    await sleep(25);
  }
  throw new Error(`port ${port} still accepts after ${limitMs} ms`);
}

async function readyz(gateway: Gateway): Promise<{ status: number; body: { status?: unknown } }> {
  const res = await fetch(`${gateway.metricsBaseUrl ?? ''}${READY_PATH}`);
  return { status: res.status, body: (await res.json()) as { status?: unknown } };
}

async function received(sink: TcpSink, text: string): Promise<void> {
  for (let i = 0; i < 200 && !sink.received.toString('latin1').includes(text); i += 1) await sleep(10);
  assert.ok(sink.received.toString('latin1').includes(text), `the origin never received ${JSON.stringify(text)}`);
}

/** The exit code of a gateway already signalled (a second SIGTERM would force exit 1). */
async function exitCode(gateway: Gateway, limitMs = 10_000): Promise<number | null> {
  const timer = sleep(limitMs, undefined, { ref: false }).then(() => ({ code: -1 }));
  return (await Promise.race([gateway.exited, timer])).code;
}

async function gatewayTo(sink: TcpSink, timeouts: string): Promise<Gateway> {
  return startGateway({
    args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${sink.port}`],
    configYaml: `timeouts:\n${timeouts}`,
  });
}

describe('drain delay', () => {
  test('SIGTERM: not ready at once, still serving new tunnels for the delay, then closed; open tunnels finish', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await gatewayTo(sink, `  drainDelaySeconds: ${DELAY_SECONDS}\n  shutdownGraceSeconds: 20\n`);
    t.after(() => gateway.stop('SIGKILL'));
    assert.equal((await readyz(gateway)).status, 200);
    const before = await openTunnel(gateway.port, 'ws1.ods.opinsights.azure.com:443');

    const from = gateway.records.length;
    process.kill(gateway.pid, 'SIGTERM');
    const started = await gateway.waitForRecord((r) => r.event === 'shutdown-started', 5000, from);
    const signalled = Date.now();
    assert.equal(started.drainDelayMs, DELAY_SECONDS * 1000);

    const probe = await readyz(gateway);
    assert.deepEqual([probe.status, probe.body.status], [503, 'draining']);
    const during = await openTunnel(gateway.port, 'ws2.ods.opinsights.azure.com:443');
    assert.equal(during.head.status, 200, 'a client sent here before the load balancer noticed is served');

    const closed = await refusedAt(gateway.port, DELAY_SECONDS * 1000 + 5000);
    const elapsed = closed - signalled;
    t.diagnostic(`listeners closed ${elapsed} ms after shutdown-started (drainDelaySeconds ${DELAY_SECONDS})`);
    assert.ok(elapsed >= DELAY_SECONDS * 1000 - 100, `closed after ${elapsed} ms, before the delay`);

    before.socket.write('from-before');
    during.socket.write('from-during');
    await received(sink, 'from-before');
    await received(sink, 'from-during');
    assert.equal((await readyz(gateway)).status, 503, 'still not ready while tunnels finish');
    before.socket.end();
    during.socket.end();
    assert.equal(await exitCode(gateway), 0);
    const stopped = await gateway.waitForRecord((r) => r.event === 'service-stopped', 1000, from);
    assert.equal(stopped.outcome, 'drained');
  });

  test('the default (no delay): the listeners close as soon as the drain starts', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await gatewayTo(sink, '  shutdownGraceSeconds: 20\n');
    t.after(() => gateway.stop('SIGKILL'));
    const open = await openTunnel(gateway.port, 'ws1.ods.opinsights.azure.com:443');
    const from = gateway.records.length;
    process.kill(gateway.pid, 'SIGTERM');
    await gateway.waitForRecord((r) => r.event === 'shutdown-started', 5000, from);
    const signalled = Date.now();
    const elapsed = (await refusedAt(gateway.port, 5000)) - signalled;
    assert.ok(elapsed < 1000, `closed ${elapsed} ms after the drain started`);
    open.socket.end();
    assert.equal(await exitCode(gateway), 0);
  });
});
