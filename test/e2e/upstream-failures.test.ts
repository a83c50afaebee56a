// What a client is told when the target cannot be reached: 502 for a name that does not resolve or a
// refused connection, 504 for a connect that never completes, 403 when the name resolves to an address
// the gateway never dials (loopback without an operator mapping).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { startBlackHole, type BlackHole } from '../fixtures/black-hole.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

describe('upstream failures', () => {
  let gateway: Gateway;
  let hole: BlackHole;

  before(async () => {
    hole = await startBlackHole();
    const refused = await closedPort();
    gateway = await startGateway({
      configYaml: 'timeouts:\n  connectSeconds: 1.5\nallowedHosts:\n  - localhost\n',
      args: [
        '--resolve', 'nx.ods.opinsights.azure.com=no-such-host.invalid',
        '--resolve', `refused.ods.opinsights.azure.com=127.0.0.1:${refused}`,
        '--resolve', `blackhole.ods.opinsights.azure.com=127.0.0.1:${hole.port}`,
      ],
    });
  });
  after(async () => {
    await gateway.stop();
    hole.close();
  });

  const cases = [
    { name: 'a name that does not resolve', target: 'nx.ods.opinsights.azure.com:443', status: 502, reason: 'dns-failure' },
    { name: 'a refused connection', target: 'refused.ods.opinsights.azure.com:443', status: 502, reason: 'connect-refused' },
    { name: 'a connect that never completes', target: 'blackhole.ods.opinsights.azure.com:443', status: 504, reason: 'connect-timeout' },
  ] as const;
  for (const c of cases) {
    test(`${c.name} → ${c.status} with a one-line reason and an upstream-error record`, async () => {
      const from = gateway.records.length;
      const started = Date.now();
      const head = await connectStatus(gateway.port, c.target);
      assert.equal(head.status, c.status);
      assert.ok(Date.now() - started < 8000, 'answered within the connect timeout, not hung');
      const record = await gateway.waitForRecord((r) => r.event === 'upstream-error', 5000, from);
      assert.equal(record.eventId, 403);
      assert.equal(record.reason, c.reason);
      assert.equal(record.target, c.target);
    });
  }

  test('an allowed name that resolves to loopback is refused (403 address-not-allowed), never dialled', async () => {
    const from = gateway.records.length;
    const head = await connectStatus(gateway.port, 'localhost:443');
    assert.equal(head.status, 403);
    const record = await gateway.waitForRecord((r) => r.event === 'request-denied', 5000, from);
    assert.equal(record.reason, 'address-not-allowed');
  });
});
