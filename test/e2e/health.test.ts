// /healthz and /readyz of the gateway as shipped (default worker processes), as a load balancer and systemd
// see them: ready while serving, "draining" with 503 from the moment SIGTERM arrives while the open tunnel
// keeps flowing, alive throughout.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exchangeOverTunnel, probe, startExchangeOrigin } from '../fixtures/exchange.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';

test('readiness turns to 503 "draining" on SIGTERM while an open tunnel still relays; liveness stays 200', async () => {
  const origin = await startExchangeOrigin();
  let gateway: Gateway | undefined;
  try {
    gateway = await startGateway({
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
      configYaml: 'inspection:\n  enabled: false\ntimeouts:\n  shutdownGraceSeconds: 20\n',
      // Several worker processes start slowly on a loaded CI machine.
      startTimeoutMs: 60_000,
    });
    const base = gateway.metricsBaseUrl;
    assert.ok(base !== undefined);
    const ready = await probe(base, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
    const alive = await probe(base, '/healthz');
    assert.equal(alive.status, 200);
    assert.equal(alive.body.status, 'ok');

    const held = await exchangeOverTunnel(gateway.port, 'ws1.ods.opinsights.azure.com:443', 4, 16);
    const stopped = gateway.stop('SIGTERM', 30_000);
    let draining = await probe(base, '/readyz');
    for (let i = 0; i < 100 && draining.status === 200; i += 1) {
      await sleep(20);
      draining = await probe(base, '/readyz');
    }
    assert.equal(draining.status, 503);
    assert.equal(draining.body.status, 'draining');
    assert.equal((await probe(base, '/healthz')).status, 200);

    // The tunnel opened before the signal still carries bytes to the origin, then ends normally.
    const late = 'more bytes after SIGTERM';
    held.socket.write(late);
    await sleep(200);
    assert.equal(held.socket.destroyed, false, 'the drain cut the open tunnel');
    await held.finish();
    const closed = await gateway.waitForRecord((r) => r.event === 'tunnel-closed', 10_000);
    assert.equal(closed.bytesFromClient, 4 + late.length);
    assert.equal(closed.bytesToClient, 16);
    assert.equal(closed.closedBy, 'client');
    assert.equal(await stopped, 0);
  } finally {
    await gateway?.stop('SIGKILL');
    await origin.close();
  }
});
