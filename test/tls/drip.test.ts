// Issue 16 item 2 on the real gateway: 30 tunnels each declare a 60,000-byte ClientHello and drip it in
// 5-byte records. Each is closed at the record cap (inspection.maxHandshakeRecords, 1024 by default: about
// 10 KB into the drip) as too-many-records, counted in the rejection metric, while another client's tunnel
// is served. What the gateway read is judged by what it did (the reason, the count), never by timing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { scrapeMetrics } from '../fixtures/exchange.js';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { expectStillServes } from '../fixtures/refusal.js';
import { clientHelloMessage, records } from '../fixtures/tls-records.js';
import { hangBound } from '../fixtures/patience.js';

const DOMAIN = 'ods.opinsights.azure.com';
const TUNNELS = 30;
const RECORD = 10;
/** Records written per step of the drip. */
const STEP = 32;

/** Drips `bytes` into a tunnel to `host` STEP records at a time until the gateway closes it; resolves with the bytes written. */
async function dripInto(port: number, host: string, bytes: Buffer): Promise<number> {
  const { socket } = await openTunnel(port, `${host}:443`);
  socket.on('error', () => undefined);
  socket.resume();
  let closed = false;
  socket.once('close', () => (closed = true));
  let written = 0;
  while (!closed && written < bytes.length) {
    const piece = bytes.subarray(written, written + STEP * RECORD);
    await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
    written += piece.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!closed) await new Promise((resolve) => socket.once('close', resolve));
  return written;
}

describe('a ClientHello dripped in 5-byte records', () => {
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startTlsOrigin();
    gateway = await startGateway({
      // A deadline far beyond the drip, so a loaded machine cannot turn the cap into a timeout.
      configYaml: 'workers: 1\nlimits: {maxConnectionsPerClient: 0}\ninspection: {timeoutSeconds: 120}\n',
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
  });

  test(`${TUNNELS} tunnels dripping 60,000-byte ClientHellos are each closed at the record cap; another client is served`, { timeout: hangBound(120_000) }, async () => {
    const since = gateway.records.length;
    const drips = Array.from({ length: TUNNELS }, (_, i) => {
      const host = `drip-${i}.${DOMAIN}`;
      const message = clientHelloMessage({ serverName: host, padding: 60_000 - 100 });
      return dripInto(gateway.port, host, records(message, 5));
    });
    await expectStillServes(gateway, `bystander.${DOMAIN}:443`);
    // What the client managed to write before the close depends on the machine's speed (the kernel buffers
    // the rest); the reason below says the gateway stopped at the record cap, long before the message's end.
    await Promise.all(drips);

    const refused = (): number => gateway.records.slice(since).filter(recordMatching({ event: 'tls-parse-error', reason: 'too-many-records' })).length;
    for (let waited = 0; refused() < TUNNELS && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(refused(), TUNNELS);
    const record = gateway.records.slice(since).find(recordMatching({ event: 'tls-parse-error', reason: 'too-many-records' }));
    assert.equal(record?.eventId, 402);
    assert.equal(record?.side, 'client');

    assert.ok(gateway.metricsBaseUrl !== undefined);
    const { text } = await scrapeMetrics(gateway.metricsBaseUrl);
    assert.match(text, new RegExp(`^oms_gateway_rejections_total\\{reason="too-many-records"\\} ${TUNNELS}$`, 'm'));
  });
});
