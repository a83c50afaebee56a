// Sockets left behind on one close order are the classic proxy leak (proxy-chain #160/#362/#670, Squid
// PR#957, Tinyproxy CLOSE_WAIT). Each order below ends a batch of tunnels; afterwards the gateway's open
// descriptors are back at their level before the batch, its active-tunnel gauge is 0, every tunnel has its
// tunnel-closed record saying who ended it, and a new tunnel still opens. bench/soak.ts runs the same
// orders 100k times.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { activeTunnels, CLOSE_ORDERS, runTunnel, startOrderedUpstream, type CloseOrder } from '../fixtures/close-orders.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { openFds, settle } from '../fixtures/process-stats.js';
import { expectStillServes } from '../fixtures/refusal.js';

const TARGET = 'orders.example:443';
const BATCH = 20;

/** Who the tunnel-closed record may name for each order (a reset shows as an error or as that side's close). */
const CLOSED_BY: Readonly<Record<CloseOrder, readonly string[]>> = {
  'client-fin': ['client'],
  'server-fin': ['upstream'],
  'half-close': ['client'],
  'client-rst': ['error', 'client'],
  'server-rst': ['error', 'upstream'],
  silent: ['half-closed-timeout'],
};

describe('every close order frees both sockets', () => {
  let upstream: Awaited<ReturnType<typeof startOrderedUpstream>>;
  let gateway: Gateway;
  /** Tunnels opened so far; each must have its request-allowed and tunnel-closed record. */
  let opened = 1;
  const allLogged = async (): Promise<void> => {
    const count = (event: string): number => gateway.records.filter((r) => r.event === event).length;
    await settle(() => [count('request-allowed'), count('tunnel-closed')], ([allowed, closed]) => allowed === opened && closed === opened, 5000);
  };
  before(async () => {
    upstream = await startOrderedUpstream();
    // A silent upstream is left after the client goes; one second of half-closed silence ends those tunnels.
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\ntimeouts:\n  tunnelHalfClosedSeconds: 1\n',
      args: ['--allow-host', 'orders.example', '--resolve', `orders.example=127.0.0.1:${upstream.port}`],
    });
    // Load the code paths once, so the descriptor baseline is a warm gateway's.
    assert.equal(await runTunnel(gateway.port, TARGET, 'client-fin'), 'ok');
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
  });

  for (const order of CLOSE_ORDERS) {
    test(`${order}: ${BATCH} tunnels, then descriptors and the active-tunnel gauge back to their baseline`, async () => {
      await allLogged();
      const fdsBefore = openFds(gateway.pid);
      const since = gateway.records.length;
      const outcomes = await Promise.all(Array.from({ length: BATCH }, () => runTunnel(gateway.port, TARGET, order)));
      assert.deepEqual(outcomes, Array(BATCH).fill('ok'));

      const closed = await settle(() => gateway.records.slice(since).filter((r) => r.event === 'tunnel-closed'), (records) => records.length >= BATCH, 5000);
      assert.equal(closed.length, BATCH, 'a tunnel-closed record for every tunnel');
      assert.ok(closed.every((r) => CLOSED_BY[order].includes(String(r.closedBy))), JSON.stringify(closed.map((r) => r.closedBy)));
      const fds = await settle(() => openFds(gateway.pid), (n) => n <= fdsBefore, 5000);
      assert.ok(fds <= fdsBefore, `${fds} descriptors open, ${fdsBefore} before`);
      assert.equal(await activeTunnels(gateway), 0);
      await expectStillServes(gateway, TARGET);
      opened += BATCH + 1;
    });
  }
});
